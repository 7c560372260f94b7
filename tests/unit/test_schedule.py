"""The weekly assessment: Tuesday 02:00 platform time, for the week just ended
(docs/rules.md §3)."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import text

from feige.app import build_context
from feige.config import Settings
from feige.metrics import AssessmentConfig
from feige.services.assessment import (
    last_due_week,
    last_finished_week,
    next_run_after,
    scheduler,
)
from feige.store import migrate

TZ = ZoneInfo("Asia/Shanghai")


def at(*args: int) -> float:
    return datetime(*args, tzinfo=TZ).timestamp()


def test_next_run_is_the_coming_tuesday_two_oclock_local() -> None:
    monday = at(2026, 11, 23, 15, 0)
    assert next_run_after(monday, 1, "02:00", "Asia/Shanghai") == at(2026, 11, 24, 2, 0)
    just_before = at(2026, 11, 24, 1, 59, 59)
    assert next_run_after(just_before, 1, "02:00", "Asia/Shanghai") == at(2026, 11, 24, 2, 0)
    on_time = at(2026, 11, 24, 2, 0)
    assert next_run_after(on_time, 1, "02:00", "Asia/Shanghai") == at(2026, 12, 1, 2, 0)


def test_the_week_just_ended_in_platform_time() -> None:
    config = AssessmentConfig()
    # Tuesday 2026-11-24 02:00 Shanghai is Monday 18:00 UTC: the week just ended is W47.
    assert last_finished_week(at(2026, 11, 24, 2, 0), config) == "2026-W47"
    assert last_finished_week(at(2026, 11, 23, 0, 0), config) == "2026-W47"
    assert last_finished_week(at(2026, 11, 22, 23, 59), config) == "2026-W46"
    assert last_finished_week(at(2027, 1, 5, 2, 0), config) == "2026-W53"


def test_a_server_started_early_in_the_week_does_not_assess_the_week_just_ended() -> None:
    settings = Settings()
    # Monday 10:00 and Tuesday 01:59: the run for W47 is not due yet; the last due run was
    # for W46 (it is a no-op when W46 was done, and a catch-up when it was missed).
    assert last_due_week(at(2026, 11, 30, 10, 0), settings) == "2026-W47"
    assert last_due_week(at(2026, 11, 23, 10, 0), settings) == "2026-W46"
    assert last_due_week(at(2026, 11, 24, 1, 59, 59), settings) == "2026-W46"
    # From Tuesday 02:00 on, the week just ended is due.
    assert last_due_week(at(2026, 11, 24, 2, 0), settings) == "2026-W47"
    assert last_due_week(at(2026, 11, 29, 23, 0), settings) == "2026-W47"


async def test_the_scheduler_started_on_monday_leaves_the_week_just_ended_for_tuesday(
    tmp_path: Path,
) -> None:
    monday = at(2026, 11, 23, 10, 0)
    ctx = build_context(Settings(data_dir=tmp_path, secret_key="k" * 40))
    ctx.clock = lambda: monday
    await asyncio.to_thread(migrate.upgrade, ctx.db.engine)
    await ctx.db.start()
    try:
        task = asyncio.create_task(scheduler(ctx))
        await asyncio.sleep(0.3)
        task.cancel()
        rows = await ctx.db.read(
            lambda conn: conn.execute(text("SELECT key FROM job_runs")).scalars().all()
        )
        assert list(rows) == ["2026-W46"]
    finally:
        await ctx.db.stop()
