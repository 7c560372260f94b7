"""The weekly assessment job (docs/rules.md §3): Tuesday 02:00 platform time, for the week just
ended, once across every node; a rerun by hand; the background refresh of summaries."""

from __future__ import annotations

import asyncio
import multiprocessing
import socket
from datetime import date, datetime, timedelta
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

import structlog
from sqlalchemy import Connection

from feige.domain import US_PER_SECOND, Row
from feige.enforcement import EnforcementPolicy
from feige.metrics import AssessmentConfig, Week, parse_week
from feige.metrics.timeutil import LocalClock, iso_week_name, week_just_ended
from feige.services.assessment.figures import (
    EVERY_STALE_SUMMARY,
    WeekFigures,
    assessable_week,
    compute_week_apart,
    compute_week_sync,
)
from feige.services.assessment.policy import (
    ladder_window,
    record_no_human_reply_sync,
    save_shop_results_sync,
)
from feige.services.assessment.summaries import metrics_config, refresh_summaries_sync
from feige.services.context import Context, Outbox, Principal
from feige.services.errors import Forbidden
from feige.services.lib import audit, enforcement
from feige.store import assessments as store

log = structlog.get_logger(__name__)
REFRESH_PER_JOB = 2000  # stale summaries recomputed in one write job
PROCESS_FROM_SESSIONS = 20_000  # a week this large is computed in a process of its own
SAVE_SHOPS_PER_JOB = 10  # a shop's result, and its measure, are a few ms to write
ANSWER_SHOPS_PER_SLICE = 20  # the computing process's answer, unpickled a slice at a time


def save_assessment_sync(
    conn: Connection,
    week: Week,
    config: AssessmentConfig,
    now: float,
    policy: EnforcementPolicy | None = None,
) -> dict[str, Any]:
    """Assess the week and keep it in one transaction (the command line, beside no server):
    each shop's result, measures for failed shops and rule 2.2.1 records. Idempotent. The
    server uses ``assess_and_save``, which keeps its transactions short. With ``policy`` the
    measures are carried out too (inbox and webhook outbox rows; no server to tell live)."""
    refresh_summaries_sync(conn, config, limit=EVERY_STALE_SUMMARY)
    figures = compute_week_sync(conn, week, config)
    measures = save_shop_results_sync(conn, week, config, figures.document["shops"], now)
    streaks = record_no_human_reply_sync(conn, figures.findings, now)
    reversed_measures: list[Row] = []
    if policy is not None:
        # A week that now passes a metric it failed: what that failure imposed is reversed.
        shops = figures.document["shops"]
        reversed_measures = enforcement.reverse_passed_assessment(
            conn, Outbox(), week.name, shops, now
        )
    if policy is not None and (measures or streaks):
        window = ladder_window(week, config, policy.assessment_window_weeks)
        enforcement.apply_assessment_measures(conn, Outbox(), measures, window, policy, now)
    return {
        "document": figures.document,
        "measures": measures,
        "no_human_reply": streaks,
        "reversed_measures": reversed_measures,
    }


async def assess_and_save(
    ctx: Context, week: Week, config: AssessmentConfig, now: float
) -> dict[str, Any]:
    """The same as ``save_assessment_sync``, in short steps so that chat never waits on it:
    stale summaries refreshed in small write jobs, the week computed read-only in a process
    of its own, then the results written a few shops per job."""
    while await ctx.db.write(refresh_summaries_sync, config, REFRESH_PER_JOB) >= REFRESH_PER_JOB:
        pass
    figures = await _compute_week(ctx, week, config)
    shops = figures.document["shops"]
    measures: list[Row] = []
    reversed_measures: list[Row] = []
    # A rerun that now passes a metric reverses what its failure imposed: the shops with a
    # measure record of the week are checked (a first run has none: no job more).
    recheck = set(await ctx.db.read(enforcement.shops_to_recheck, week.name))
    for start in range(0, len(shops), SAVE_SHOPS_PER_JOB):
        chunk = shops[start : start + SAVE_SHOPS_PER_JOB]
        measures += await ctx.db.write(save_shop_results_sync, week, config, chunk, now)
        rechecked = [shop for shop in chunk if int(shop["shop"]) in recheck]
        if rechecked:
            reversed_measures += await ctx.write_and_publish(
                enforcement.reverse_passed_assessment, week.name, rechecked, now
            )
    streaks = await ctx.db.write(record_no_human_reply_sync, figures.findings, now)
    if measures or streaks:  # carried out and told (docs/enforcement.md)
        policy = enforcement.policy_of(ctx.settings)
        window = ladder_window(week, config, policy.assessment_window_weeks)
        # A few shops per job, like the results: a platform-wide failed week in one job kept
        # the writer, and so every chat message's commit, waiting for seconds.
        for start in range(0, max(len(measures), 1), SAVE_SHOPS_PER_JOB):
            await ctx.write_and_publish(
                enforcement.apply_assessment_measures,
                measures[start : start + SAVE_SHOPS_PER_JOB],
                window,
                policy,
                now,
                start == 0,
            )
    return {
        "document": figures.document,
        "measures": measures,
        "no_human_reply": streaks,
        "reversed_measures": reversed_measures,
    }


async def _compute_week(ctx: Context, week: Week, config: AssessmentConfig) -> WeekFigures:
    """A large week in a spawned process that reads the store itself (a fork of a process
    with threads could inherit a held lock), so that the event loop keeps the GIL; a small
    one on a reader, faster than a process starts."""
    span = (week.start_us / US_PER_SECOND, week.end_us / US_PER_SECOND)
    if await ctx.db.read(store.count_sessions_overlapping, *span) < PROCESS_FROM_SESSIONS:
        return await ctx.db.read(compute_week_sync, week, config)
    url = ctx.db.engine.url.render_as_string(hide_password=False)
    spawn = multiprocessing.get_context("spawn")
    receive, send = spawn.Pipe(duplex=False)
    process = spawn.Process(
        target=compute_week_apart,
        args=(send, url, week, config, ANSWER_SHOPS_PER_SLICE),
        daemon=True,
    )
    process.start()
    send.close()  # the child's copy alone: its exit ends the pipe
    try:
        figures: WeekFigures = await asyncio.to_thread(_receive, receive)
        while (shops := await asyncio.to_thread(_receive, receive)) is not None:
            figures.document["shops"] += shops
        return figures
    finally:
        receive.close()
        if process.is_alive():  # cancelled (the server stops), or closing after its answer
            process.terminate()
        await asyncio.to_thread(process.join)


def _receive(receive: Any) -> Any:
    """One slice of the answer of ``compute_week_apart``."""
    try:
        return receive.recv()
    except EOFError:
        raise RuntimeError("the week's computation ended without an answer") from None


def last_finished_week(now: float, config: AssessmentConfig) -> str:
    return week_just_ended(round(now * US_PER_SECOND), LocalClock(config.timezone))


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


async def refresh_summaries(ctx: Context) -> None:
    """Bring closed sessions' stale summaries up to date (a batch of them): every
    ``summary_refresh_seconds``, on one node at a time (app.py, ``on_one_node``)."""
    await ctx.db.write(refresh_summaries_sync, metrics_config(ctx.settings))


def weeks_touching(start: float, end: float, config: AssessmentConfig) -> list[str]:
    """The assessment weeks a session alive from ``start`` to ``end`` (epoch s) may count in."""
    clock = LocalClock(config.timezone)
    first = clock.day(round(start * US_PER_SECOND)) - config.week_start
    last = clock.day(round(end * US_PER_SECOND)) - config.week_start
    epoch = date(1970, 1, 1)
    days = range(first, max(first, min(last, first + 62)) + 1)
    return list(dict.fromkeys(iso_week_name(epoch + timedelta(days=d)) for d in days))


async def rerun_assessed_weeks(ctx: Context, shop_id: int, span: tuple[float, float]) -> list[str]:
    """A decision changed which of a shop's sessions count (a report upheld, an appeal
    granted): assess again the weeks of ``span`` that were already assessed for the shop;
    a week not assessed yet gets the change in its own run. Returns the weeks rerun."""
    config = metrics_config(ctx.settings)
    return await rerun_weeks(ctx, shop_id, weeks_touching(span[0], span[1], config))


async def rerun_weeks(ctx: Context, shop_id: int, weeks: list[str]) -> list[str]:
    """Assess again those of ``weeks`` already assessed for the shop; returns them."""
    config = metrics_config(ctx.settings)
    assessed = await ctx.db.read(store.assessed_weeks, shop_id, weeks)
    for name in assessed:
        await assess_and_save(ctx, parse_week(name, config), config, ctx.clock())
    return list(assessed)


async def rerun(ctx: Context, principal: Principal, week_name: str) -> dict[str, Any]:
    """Run a week's assessment again by hand (platform admins)."""
    if not principal.is_staff or principal.role != "admin":
        raise Forbidden()
    config = metrics_config(ctx.settings)
    week = assessable_week(week_name, config, ctx.clock())
    result = await assess_and_save(ctx, week, config, ctx.clock())
    after = {"shops": len(result["document"]["shops"]), "measures": len(result["measures"])}
    await ctx.db.write(
        partial(audit.record, now=ctx.clock(), after=after),
        principal,
        "assessment.rerun",
        "week",
        week.name,
    )
    return result
