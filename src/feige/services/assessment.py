"""Service metrics from the store (docs/rules.md §3): session summaries kept up to date, the
weekly assessment and its measures, rule 2.2.1 streaks, live figures, the event-log export.

The arithmetic is all in the pure ``feige.metrics`` core; this module feeds it the store's
session events and keeps its results. The ``*_sync`` functions take a ``Connection`` so the
command line can use them without a server.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import structlog
from sqlalchemy import Connection

from feige.domain import EventType, FlagReason, SenderRole
from feige.metrics import (
    FIGURES,
    AssessmentConfig,
    Event,
    SessionSummary,
    Week,
    WeekAggregator,
    detect_no_human_reply,
    drill_down,
    parse_week,
    result_document,
    summarize_session,
)
from feige.metrics.timeutil import us_to_datetime
from feige.services.context import Context, Principal
from feige.services.errors import Forbidden, Invalid, NotFound
from feige.store import assessments as store
from feige.store import events as event_store
from feige.store import sql
from feige.store.tables import (
    violations,
)

log = structlog.get_logger(__name__)
Row = dict[str, Any]
US = 1_000_000
# Default measure policy (docs/rules.md §4): failed weeks within the window → the measure.
MEASURE_LADDER = ("warning", "points_deduction", "deposit_withholding")
MEASURE_WINDOW_WEEKS = 4


def metrics_config(settings: Any) -> AssessmentConfig:
    return AssessmentConfig.from_settings(settings)


def _us(ts: float) -> int:
    return round(ts * US)


# --- events and summaries -------------------------------------------------------------------


def _event(row: Row, tz: ZoneInfo) -> Event:
    data = row["data"] or {}
    # Each instant converted on its own: the zone's offset at that instant, not in 1970.
    ts = us_to_datetime(_us(row["ts"]), tz)
    type_ = EventType(row["type"])
    role = SenderRole(data["role"]) if "role" in data else None
    reason = FlagReason(data["reason"]) if "reason" in data else None
    return Event(
        ts=ts,
        shop=str(row["shop_id"]),
        session=str(row["session_id"]),
        type=type_,
        consumer=data.get("consumer"),
        entry=data.get("entry"),
        agent=data.get("agent"),
        from_agent=data.get("from"),
        role=role,
        kind=data.get("kind"),
        score=data.get("score"),
        reason=reason,
        seq=row["id"],
    )


def events_by_session(
    conn: Connection, session_ids: list[int], config: AssessmentConfig
) -> dict[int, list[Event]]:
    tz = ZoneInfo(config.timezone)
    out: dict[int, list[Event]] = {}
    for start in range(0, len(session_ids), 500):
        chunk = session_ids[start : start + 500]
        for row in event_store.session_events_for(conn, chunk):
            out.setdefault(row["session_id"], []).append(_event(row, tz))
    return out


def refresh_summaries_sync(conn: Connection, config: AssessmentConfig, limit: int = 2000) -> int:
    """Recompute the summaries of closed sessions that closed or got a late event."""
    dirty = store.dirty_closed_sessions(conn, limit)
    if not dirty:
        return 0
    events = events_by_session(conn, dirty, config)
    now = datetime.now().timestamp()
    for session_id in dirty:
        summary = summarize_session(events[session_id], config)
        values = {
            "shop_id": int(summary.shop),
            "first_event_at": summary.opened_us / US,
            "last_event_at": summary.last_event_us / US,
            "close_at": summary.close_us / US,
            "data": summary.to_dict(),
            "updated_at": now,
        }
        store.put_summary(conn, session_id, values)
    store.mark_summaries_clean(conn, dirty)
    return len(dirty)


def summaries_sync(
    conn: Connection, start: float, end: float, config: AssessmentConfig, shop_id: int | None = None
) -> list[SessionSummary]:
    """Stored summaries for closed sessions, computed on the fly for the rest."""
    ids = store.session_ids_overlapping(conn, start, end, shop_id)
    stored: dict[int, SessionSummary] = {}
    for offset in range(0, len(ids), 500):
        for session_id, data in store.clean_summaries(conn, ids[offset : offset + 500]).items():
            stored[session_id] = SessionSummary.from_dict(data)
    missing = [i for i in ids if i not in stored]
    for session_id, events in events_by_session(conn, missing, config).items():
        stored[session_id] = summarize_session(events, config)
    return [stored[i] for i in ids if i in stored]


def export_events_sync(
    conn: Connection,
    week: Week,
    config: AssessmentConfig,
    progress: Callable[[int, int], None] | None = None,
) -> Iterator[str]:
    """The week's sessions as event-log lines (docs/interfaces.md), session by session.
    ``progress(sessions_done, sessions_total)`` is called before each batch of sessions and
    once at the end."""
    ids = store.session_ids_overlapping(conn, week.start_us / US, week.end_us / US)
    for offset in range(0, len(ids), 500):
        if progress is not None:
            progress(offset, len(ids))
        chunk = ids[offset : offset + 500]
        by_session = events_by_session(conn, chunk, config)
        for session_id in chunk:
            for event in by_session.get(session_id, []):
                yield event.to_line()
    if progress is not None:
        progress(len(ids), len(ids))


def assess_store_sync(conn: Connection, week: Week, config: AssessmentConfig) -> dict[str, Any]:
    """The week's assessment document from the store, same shape as ``--events``."""
    refresh_summaries_sync(conn, config, limit=1_000_000)
    return aggregate_week_sync(conn, week, config)


def aggregate_week_sync(conn: Connection, week: Week, config: AssessmentConfig) -> dict[str, Any]:
    """The assessment over the summaries as they are (read-only: no refresh first)."""
    agg = WeekAggregator(week, config)
    agg.add_all(summaries_sync(conn, week.start_us / US, week.end_us / US, config))
    return result_document(week, agg.shop_results(), config)


# --- the weekly job ---------------------------------------------------------------------------


def _previous_weeks(week: Week, config: AssessmentConfig, count: int) -> list[str]:
    tz = ZoneInfo(config.timezone)
    start = datetime.fromtimestamp(week.start_us / US, tz)
    names = []
    for back in range(count):
        day = (start - timedelta(weeks=back)).date()
        year, number, _ = day.isocalendar()
        names.append(f"{year}-W{number:02d}")
    return names


@dataclass(frozen=True)
class WeekFigures:
    """A week's assessment as computed, before anything is kept: the document and the rule
    2.2.1 findings, both from one load of the week's summaries."""

    document: dict[str, Any]
    findings: list[Any]


def compute_week_sync(conn: Connection, week: Week, config: AssessmentConfig) -> WeekFigures:
    """Read-only: run it on a reader, never inside a write job (on SQLite the writer is the
    event loop, and a large week takes seconds)."""
    summaries = summaries_sync(conn, week.start_us / US, week.end_us / US, config)
    agg = WeekAggregator(week, config)
    agg.add_all(summaries)
    document = result_document(week, agg.shop_results(), config)
    return WeekFigures(document, list(detect_no_human_reply(summaries, config)))


SAVE_SHOPS_PER_JOB = 200


def save_shop_results_sync(
    conn: Connection, week: Week, config: AssessmentConfig, shops: list[Row], now: float
) -> list[Row]:
    """Keep these shops' results (a re-run replaces them) and add a measure for each failed
    one; returns the new measures. Idempotent."""
    window = _previous_weeks(week, config, MEASURE_WINDOW_WEEKS)
    new_measures: list[Row] = []
    for shop in shops:
        shop_id = int(shop["shop"])
        store.put_assessment(conn, shop_id, week.name, shop, now)
        if shop["passed"] is not False:
            continue
        failed = store.failed_weeks(conn, shop_id, window)
        step = min(len(failed), len(MEASURE_LADDER)) - 1
        failed_metrics = [k for k, v in shop["metrics"].items() if v["passed"] is False]
        measure = {
            "shop_id": shop_id,
            "week": week.name,
            "measure": MEASURE_LADDER[step],
            "reason": "assessment",
            "details": {
                "failed_metrics": failed_metrics,
                "failed_weeks": failed,
            },
            "status": "pending",
            "created_at": now,
        }
        if store.add_measure_once(conn, measure):  # a re-run keeps the one already decided
            new_measures.append(measure)
    return new_measures


def save_assessment_sync(
    conn: Connection, week: Week, config: AssessmentConfig, now: float
) -> dict[str, Any]:
    """Assess the week and keep it in one transaction (the command line, beside no server):
    each shop's result, measures for failed shops and rule 2.2.1 records. Idempotent. The
    server uses ``assess_and_save``, which keeps its transactions short."""
    refresh_summaries_sync(conn, config, limit=1_000_000)
    figures = compute_week_sync(conn, week, config)
    measures = save_shop_results_sync(conn, week, config, figures.document["shops"], now)
    streaks = record_no_human_reply_sync(conn, figures.findings, now)
    return {"document": figures.document, "measures": measures, "no_human_reply": streaks}


async def assess_and_save(
    ctx: Context, week: Week, config: AssessmentConfig, now: float
) -> dict[str, Any]:
    """The same as ``save_assessment_sync``, in short steps so that chat never waits on it:
    stale summaries refreshed in small write jobs, the week computed on a reader thread
    (read-only), then the results written a few hundred shops per job."""
    while await ctx.db.write(refresh_summaries_sync, config, 2000) >= 2000:
        pass
    figures: WeekFigures = await ctx.db.read(compute_week_sync, week, config)
    shops = figures.document["shops"]
    measures: list[Row] = []
    for start in range(0, len(shops), SAVE_SHOPS_PER_JOB):
        chunk = shops[start : start + SAVE_SHOPS_PER_JOB]
        measures += await ctx.db.write(save_shop_results_sync, week, config, chunk, now)
    streaks = await ctx.db.write(record_no_human_reply_sync, figures.findings, now)
    return {"document": figures.document, "measures": measures, "no_human_reply": streaks}


def record_no_human_reply_sync(conn: Connection, findings: list[Any], now: float) -> int:
    """Rule 2.2.1: keep each run of ≥ 10 human sessions closing with the buyer unanswered
    (``detect_no_human_reply``) once."""
    created = 0
    for finding in findings:
        key = {"sessions": list(finding.sessions)}
        if key in store.no_human_reply_evidence(conn, int(finding.shop)):
            continue
        sql.insert_row(
            conn,
            violations,
            kind="no_human_reply",
            shop_id=int(finding.shop),
            session_id=None,
            message_id=None,
            sender_role=None,
            sender_id=None,
            categories=["no_human_reply"],
            clauses=["2.2.1"],
            evidence=key,
            action="review",
            original={
                "count": finding.count,
                "first_close_us": finding.first_close_us,
                "last_close_us": finding.last_close_us,
            },
            status="pending",
            created_at=now,
        )
        created += 1
    return created


def last_finished_week(now: float, config: AssessmentConfig) -> str:
    tz = ZoneInfo(config.timezone)
    day = datetime.fromtimestamp(now, tz).date() - timedelta(days=7)
    year, number, _ = day.isocalendar()
    return f"{year}-W{number:02d}"


def next_run_after(now: float, weekday: int, at: str, tz_name: str) -> float:
    """The next ``weekday`` (Monday 0) at ``at`` (HH:MM) local after ``now``."""
    tz = ZoneInfo(tz_name)
    local = datetime.fromtimestamp(now, tz)
    hour, minute = (int(p) for p in at.split(":")[:2])
    candidate = local.replace(hour=hour, minute=minute, second=0, microsecond=0)
    candidate += timedelta(days=(weekday - local.weekday()) % 7)
    if candidate.timestamp() <= now:
        candidate += timedelta(days=7)
    return candidate.timestamp()


async def run_weekly(ctx: Context, week_name: str | None = None) -> dict[str, Any] | None:
    """The Tuesday job: once per week across every node; None when another node did it."""
    config = metrics_config(ctx.settings)
    now = ctx.clock()
    week_name = week_name or last_finished_week(now, config)
    week = parse_week(week_name, config)
    node = f"{socket.gethostname()}:{id(ctx)}"

    lease = ctx.settings.assessment_job_lease_seconds
    if not await ctx.db.write(store.claim_job, "assessment", week.name, now, node, lease):
        return None
    result = await assess_and_save(ctx, week, config, now)
    await ctx.db.write(store.finish_job, "assessment", week.name, ctx.clock())
    if result is not None:
        log.info(
            "weekly_assessment_done",
            week=week.name,
            shops=len(result["document"]["shops"]),
            measures=len(result["measures"]),
        )
    return result


def last_due_week(now: float, settings: Any) -> str:
    """The week whose run was last due at or before ``now``: the week before the latest
    Tuesday 02:00 that has passed. Started on a Monday, a server catches up on the week
    before last, not on the week that just ended: Monday's late ratings and reports still
    belong to that one, and its own run is due on Tuesday (docs/rules.md §3)."""
    s = settings
    coming = next_run_after(now, s.assessment_run_weekday, s.assessment_run_time, s.timezone)
    tz = ZoneInfo(s.timezone)
    due = (datetime.fromtimestamp(coming, tz) - timedelta(days=7)).timestamp()
    return last_finished_week(due, metrics_config(s))


async def scheduler(ctx: Context) -> None:
    """Catch up on a run that was due and missed, then wake every Tuesday 02:00."""
    s = ctx.settings
    while True:
        try:
            await run_weekly(ctx, last_due_week(ctx.clock(), s))
        except Exception:
            log.exception("weekly_assessment_failed")
        wake = next_run_after(
            ctx.clock(), s.assessment_run_weekday, s.assessment_run_time, s.timezone
        )
        await asyncio.sleep(max(1.0, wake - ctx.clock()))


async def refresher(ctx: Context, interval: float) -> None:
    config = metrics_config(ctx.settings)
    while True:
        await asyncio.sleep(interval)
        try:
            await ctx.db.write(refresh_summaries_sync, config)
        except Exception:
            log.exception("summary_refresh_failed")


# --- reading figures ------------------------------------------------------------------------------


def _shop_scope(principal: Principal, shop_id: int | None) -> int | None:
    """Owners and managers read their shop; platform staff any shop or all."""
    if principal.is_staff:
        return shop_id
    if principal.is_supervisor:
        if shop_id is not None and shop_id != principal.shop_id:
            raise NotFound(what="shop")
        return principal.shop_id
    # Every other role may read no shop's figures: a refusal by role, like the agent's.
    raise Forbidden()


def _period(now: float, period: str, config: AssessmentConfig) -> Week:
    tz = ZoneInfo(config.timezone)
    local = datetime.fromtimestamp(now, tz)
    if period == "today":
        start = local.replace(hour=0, minute=0, second=0, microsecond=0)
        end = start + timedelta(days=1)  # wall-clock arithmetic: the next local midnight
        return Week(start.date().isoformat(), _us(start.timestamp()), _us(end.timestamp()))
    if period == "week":
        year, number, _ = local.date().isocalendar()
        return parse_week(f"{year}-W{number:02d}", config)
    raise Invalid(detail="period: today | week")


async def live(
    ctx: Context, principal: Principal, period: str, shop_id: int | None
) -> dict[str, Any]:
    """Figures so far today or this week, computed the same way as the assessment."""
    scope = _shop_scope(principal, shop_id)
    config = metrics_config(ctx.settings)
    span = _period(ctx.clock(), period, config)

    def job(conn: Connection) -> dict[str, Any]:
        summaries = summaries_sync(conn, span.start_us / US, span.end_us / US, config, scope)
        agg = WeekAggregator(span, config)
        agg.add_all(summaries)
        return result_document(span, agg.shop_results(), config)

    document = await ctx.db.read(job)
    document["period"] = period
    return document


async def agent_today(ctx: Context, principal: Principal) -> dict[str, Any]:
    """The signed-in shop member's own figures so far today, attributed to agents as the
    assessment does (docs/rules.md §3 (1)): the workbench shows them to the agent."""
    if principal.kind != "member" or principal.shop_id is None:
        raise Forbidden()
    config = metrics_config(ctx.settings)
    span = _period(ctx.clock(), "today", config)
    shop_id = principal.shop_id

    def job(conn: Connection) -> list[dict[str, Any]]:
        summaries = summaries_sync(conn, span.start_us / US, span.end_us / US, config, shop_id)
        agg = WeekAggregator(span, config)
        agg.add_all(summaries)
        return agg.shop_results()

    mine = str(principal.id)
    shops = await ctx.db.read(job)
    agent = next((a for shop in shops for a in shop["agents"] if a["agent"] == mine), None)
    if agent is None:  # nothing attributed to the agent yet today
        return {
            "date": span.name,
            "sessions": 0,
            "rounds": 0,
            "unanswered": 0,
            "average_response_seconds": None,
            "three_minute_rate": None,
        }
    return {
        "date": span.name,
        "sessions": agent["sessions_assessed"],
        "rounds": agent["rounds_assessed"],
        "unanswered": agent["extra"]["rounds"]["unanswered"],
        "average_response_seconds": agent["metrics"]["avg_response_seconds"]["value"],
        "three_minute_rate": agent["metrics"]["three_minute_reply_rate"]["value"],
    }


async def past(
    ctx: Context, principal: Principal, shop_id: int | None, limit: int = 20
) -> list[Row]:
    scope = _shop_scope(principal, shop_id)
    rows = await ctx.db.read(store.list_assessments, scope, limit)
    return [
        {"week": r["week"], "shop_id": r["shop_id"], "passed": r["passed"], "result": r["result"]}
        for r in rows
    ]


EARLIEST_WEEK = "2000-W01"


def _past_week(ctx: Context, week_name: str, config: AssessmentConfig) -> Week:
    """A week that can have data: a real ISO week from 2000-W01 up to the current one. A
    week in the future would store an assessment of nothing (and weeks near year 9999 do
    not even have a following week)."""
    try:
        week = parse_week(week_name, config)
        earliest = parse_week(EARLIEST_WEEK, config)
    except (ValueError, OverflowError) as exc:
        raise Invalid(detail="week, e.g. 2026-W47") from exc
    if not earliest.start_us <= week.start_us <= ctx.clock() * US:
        raise Invalid(detail=f"week: from {EARLIEST_WEEK} to the current week")
    return week


async def drill(
    ctx: Context,
    principal: Principal,
    week_name: str,
    figure: str,
    shop_id: int | None,
    agent: str | None = None,
    day: str | None = None,
) -> dict[str, Any]:
    """The sessions and rounds behind one figure, so a merchant sees what made it fail."""
    scope = _shop_scope(principal, shop_id)
    if scope is None:
        raise Invalid(detail="shop_id")
    if figure not in FIGURES:
        raise Invalid(detail=f"figure: {', '.join(FIGURES)}")
    config = metrics_config(ctx.settings)
    week = _past_week(ctx, week_name, config)

    def job(conn: Connection) -> dict[str, Any]:
        summaries = summaries_sync(conn, week.start_us / US, week.end_us / US, config, scope)
        return drill_down(summaries, week, figure, str(scope), config, agent=agent, day=day)

    return await ctx.db.read(job)


async def list_measures(ctx: Context, principal: Principal, shop_id: int | None) -> list[Row]:
    scope = _shop_scope(principal, shop_id)
    return await ctx.db.read(store.list_measures, scope)


async def rerun(ctx: Context, principal: Principal, week_name: str) -> dict[str, Any]:
    """Run a week's assessment again by hand (platform admins)."""
    if not principal.is_staff or principal.role != "admin":
        raise Forbidden()
    config = metrics_config(ctx.settings)
    week = _past_week(ctx, week_name, config)
    return await assess_and_save(ctx, week, config, ctx.clock())
