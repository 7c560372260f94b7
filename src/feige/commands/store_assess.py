"""The store side of ``feige assess`` (no ``--events``), and ``feige run-assessment``."""

from __future__ import annotations

import time
from typing import Any

import orjson
import typer

from feige.metrics import AssessmentConfig, Week, drill_down


def _database() -> Any:
    from feige.config import Settings
    from feige.store import migrate
    from feige.store.db import Database, create_db_engine

    engine = create_db_engine(Settings().effective_database_url)
    migrate.upgrade(engine)
    return Database(engine)


def store_document(week: Week, config: AssessmentConfig) -> dict[str, Any]:
    """The week's assessment from the default database (the same figures as the job)."""
    return store_report(week, config)[0]


def shop_names_sync(conn: Any) -> dict[str, str]:
    """Shop id (as the assessment document spells it) → the shop's name."""
    from feige.store import accounts as account_store

    return {str(row["id"]): row["name"] for row in account_store.list_shops(conn)}


def store_report(week: Week, config: AssessmentConfig) -> tuple[dict[str, Any], dict[str, str]]:
    """The week's assessment document and the names of the store's shops (for the table)."""
    from feige.services.assessment import aggregate_week_sync, refresh_summaries_sync

    db = _database()
    try:
        # A short write for stale summaries, then a read: a running server (whose SQLite
        # writer may be its event loop) never waits long for this command.
        db.write_sync(refresh_summaries_sync, config, 1_000_000)

        def job(conn: Any) -> tuple[dict[str, Any], dict[str, str]]:
            return aggregate_week_sync(conn, week, config), shop_names_sync(conn)

        return db.read_sync(job)  # type: ignore[no-any-return]
    finally:
        db.engine.dispose()


def store_drill(
    week: Week, config: AssessmentConfig, figure: str, shop: str, agent: str | None, day: str | None
) -> dict[str, Any]:
    from feige.services.assessment import refresh_summaries_sync, summaries_sync

    db = _database()
    try:

        def job(conn: Any) -> dict[str, Any]:
            summaries = summaries_sync(
                conn, week.start_us / 1e6, week.end_us / 1e6, config, int(shop)
            )
            return drill_down(summaries, week, figure, shop, config, agent=agent, day=day)

        db.write_sync(refresh_summaries_sync, config, 1_000_000)
        return db.read_sync(job)  # type: ignore[no-any-return]
    finally:
        db.engine.dispose()


def register(app: typer.Typer) -> None:
    @app.command("run-assessment")
    def run_assessment(
        week: str = typer.Option(..., "--week", help="ISO week, e.g. 2026-W47."),
    ) -> None:
        """Run a week's assessment on the store and keep it (what the Tuesday job does):
        results per shop, measures for failed shops, rule 2.2.1 records. Safe to re-run."""
        from feige.commands.progress import meter_for_stderr
        from feige.config import Settings
        from feige.metrics import parse_week
        from feige.services.assessment import (
            metrics_config,
            refresh_summaries_sync,
            save_assessment_sync,
        )

        config = metrics_config(Settings())
        try:
            parsed = parse_week(week, config)
        except ValueError as exc:
            typer.echo(f"feige run-assessment: {exc}", err=True)
            raise typer.Exit(2) from None
        db = _database()
        try:
            with meter_for_stderr() as meter:
                if meter.active:
                    # On a terminal: stale summaries first, in short batches one can watch
                    # (the job would refresh them anyway, in one transaction).
                    meter.phase("更新会话摘要 summarising", None, "sessions")
                    while batch := db.write_sync(refresh_summaries_sync, config, 2000):
                        meter.advance(batch)
                meter.phase(f"考核 assessing {parsed.name}")
                result = db.write_sync(save_assessment_sync, parsed, config, time.time())
        finally:
            db.engine.dispose()
        summary = {
            "week": parsed.name,
            "shops": len(result["document"]["shops"]),
            "failed": sum(s["passed"] is False for s in result["document"]["shops"]),
            "new_measures": result["measures"],
            "no_human_reply_records": result["no_human_reply"],
        }
        typer.echo(orjson.dumps(summary, option=orjson.OPT_INDENT_2).decode())
