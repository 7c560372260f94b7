"""``feige assess`` and ``feige run-assessment``: the weekly service assessment (docs/rules.md
§3, docs/interfaces.md), of an event log (:mod:`feige.batch.event_log`) or of the store
(:mod:`feige.services.assessment.standalone`), shown by :mod:`feige.commands.assess_table`."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import typer

from feige.batch.event_log import assess_events, drill_events
from feige.batch.progress import meter_for_stderr
from feige.commands.assess_table import print_drill, print_json, print_table
from feige.domain import US_PER_SECOND
from feige.metrics import DEFAULT_CONFIG, FIGURES, AssessmentConfig, EventLogError, parse_week
from feige.metrics.timeutil import LocalClock, week_just_ended

ENGINES = ("auto", "columns", "records")


def load_config() -> AssessmentConfig:
    """Settings → AssessmentConfig (defaults when the settings cannot be read)."""
    try:
        from feige.config import get_settings

        return AssessmentConfig.from_settings(get_settings())
    except Exception:  # pragma: no cover - a broken feige.toml should not hide the figures
        return DEFAULT_CONFIG


def last_week(config: AssessmentConfig, now: datetime | None = None) -> str:
    """The week just ended, in the platform time zone (what the Tuesday run assesses)."""
    moment = now or datetime.now(ZoneInfo(config.timezone))
    return week_just_ended(round(moment.timestamp() * US_PER_SECOND), LocalClock(config.timezone))


def _fail(message: str, code: int) -> typer.Exit:
    typer.echo(f"feige assess: {message}", err=True)
    return typer.Exit(code)


def _show(doc: dict[str, Any], as_json: bool, names: dict[str, str] | None = None) -> None:
    if as_json:
        print_json(doc)
    else:
        print_table(doc, names)


def _show_drill(doc: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print_json(doc)
    else:
        print_drill(doc)


def register(app: typer.Typer) -> None:
    @app.command("assess")
    def assess(
        week: str = typer.Option(
            None, "--week", help="ISO week, e.g. 2026-W47 (default: the week just ended)"
        ),
        events: str = typer.Option(
            None, "--events", help="assess this event log (JSON lines; '-' reads stdin)"
        ),
        as_json: bool = typer.Option(False, "--json", help="print the result as JSON"),
        workers: int = typer.Option(0, "--workers", help="processes for --events (0: one per CPU)"),
        drill: str = typer.Option(
            None, "--drill-down", help=f"list the sessions behind a figure: {', '.join(FIGURES)}"
        ),
        shop: str = typer.Option(None, "--shop", help="the shop for --drill-down"),
        agent: str = typer.Option(None, "--agent", help="narrow --drill-down to one agent"),
        day: str = typer.Option(None, "--day", help="narrow --drill-down to one local date"),
        engine: str = typer.Option(
            "auto", "--engine", help="auto | columns (numpy) | records (per-session replay)"
        ),
    ) -> None:
        """每周服务考核 — weekly service assessment (docs/rules.md §3)."""
        config = load_config()
        try:
            w = parse_week(week or last_week(config), config)
        except ValueError as exc:
            raise _fail(str(exc), 2) from None
        if drill is not None and (drill not in FIGURES or shop is None):
            raise _fail(f"--drill-down needs --shop and one of {FIGURES}", 2)
        if events is None:
            # The store-backed path: the default database's sessions of the week.
            from feige.services.assessment import standalone

            if drill is not None:
                _show_drill(standalone.store_drill(w, config, drill, shop, agent, day), as_json)
                return
            doc, names = standalone.store_report(w, config)
            _show(doc, as_json, names)
            return
        if drill is not None:
            try:
                doc = drill_events(events, w, drill, shop, config, agent=agent, day=day)
            except EventLogError as exc:
                raise _fail(str(exc), 1) from None
            _show_drill(doc, as_json)
            return
        if engine not in ENGINES:
            raise _fail("--engine is auto, columns or records", 2)
        try:
            with meter_for_stderr() as meter:
                doc = assess_events(events, w, config, workers, engine, meter)
        except EventLogError as exc:
            raise _fail(str(exc), 1) from None
        except OSError as exc:
            raise _fail(f"cannot read {events}: {exc}", 1) from None
        _show(doc, as_json)

    @app.command("run-assessment")
    def run_assessment(
        week: str = typer.Option(..., "--week", help="ISO week, e.g. 2026-W47."),
    ) -> None:
        """Run a week's assessment on the store and keep it (what the Tuesday job does):
        results per shop, measures for failed shops, rule 2.2.1 records. Safe to re-run."""
        from feige.config import Settings
        from feige.services.assessment import standalone
        from feige.services.assessment.summaries import metrics_config

        config = metrics_config(Settings())
        try:
            parsed = parse_week(week, config)
        except ValueError as exc:
            typer.echo(f"feige run-assessment: {exc}", err=True)
            raise typer.Exit(2) from None
        with meter_for_stderr() as meter:
            result = standalone.run_assessment(parsed, config, time.time(), meter)
        summary = {
            "week": parsed.name,
            "shops": len(result["document"]["shops"]),
            "failed": sum(s["passed"] is False for s in result["document"]["shops"]),
            "new_measures": result["measures"],
            "no_human_reply_records": result["no_human_reply"],
        }
        typer.echo(orjson.dumps(summary, option=orjson.OPT_INDENT_2).decode())
