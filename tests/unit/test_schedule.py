"""The weekly assessment: Tuesday 02:00 platform time, for the week just ended
(docs/rules.md §3)."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Connection, text

from feige.app import build_context
from feige.config import Settings
from feige.metrics import AssessmentConfig
from feige.services.assessment import job
from feige.services.assessment.job import (
    last_due_week,
    last_finished_week,
    next_run_after,
    run_weekly,
    scheduler,
)
from feige.services.demo import History, Visit
from feige.services.lib.accounts import consumer_signed_in, create_member, create_shop
from feige.store import migrate
from feige.store.assessments import claim_job, finish_job
from feige.store.db import create_db_engine

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


def test_a_claim_left_unfinished_is_taken_over_after_its_lease(tmp_path: Path) -> None:
    """A node that died mid-run must not leave the week unassessed for good."""
    engine = create_db_engine(f"sqlite:///{tmp_path / 'jobs.db'}")
    migrate.upgrade(engine)
    with engine.begin() as conn:
        assert claim_job(conn, "assessment", "2026-W47", 1000.0, "a", lease=600)
        assert not claim_job(conn, "assessment", "2026-W47", 1500.0, "b", lease=600)
        assert claim_job(conn, "assessment", "2026-W47", 1700.0, "b", lease=600)  # a died
        assert not claim_job(conn, "assessment", "2026-W47", 1800.0, "c", lease=600)
        finish_job(conn, "assessment", "2026-W47", 1900.0)
        assert not claim_job(conn, "assessment", "2026-W47", 99_999.0, "c", lease=600)
    engine.dispose()


def two_shops_chatting_in_w47(conn: Connection, settings: Settings) -> None:
    """A session in each of two shops on Thursday of W47, played as the demo plays its own."""
    buyer = consumer_signed_in(conn, "buyer", "buyer", 0)["id"]
    history = History(conn, settings, None, [buyer])
    for n in (1, 2):
        shop = create_shop(conn, f"店{n}", f"owner{n}", "-", 0, None, "priority", 10)
        agent = create_member(
            conn,
            {
                "shop_id": shop["id"],
                "username": f"agent{n}",
                "password_hash": "-",
                "role": "agent",
                "display_name": f"agent{n}",
                "status": "online",
                "capacity": 10,
                "created_at": 0,
            },
        )
        history.play(shop, [agent["id"]], Visit(0), at(2026, 11, 19, 10 + n, 0))


async def _run_week_with_spies(tmp_path: Path) -> tuple[list[str], list[str], list[int]]:
    """W47 of the demo run by the weekly job: the read and write jobs it ran, the shops kept."""
    ctx = build_context(Settings(data_dir=tmp_path, secret_key="k" * 40))
    await asyncio.to_thread(migrate.upgrade, ctx.db.engine)
    await ctx.db.start()
    writes: list[str] = []
    reads: list[str] = []
    write, read = ctx.db.write, ctx.db.read

    async def spy_write(job: Any, *args: Any, **kwargs: Any) -> Any:
        writes.append(getattr(job, "__name__", repr(job)))
        return await write(job, *args, **kwargs)

    async def spy_read(job: Any, *args: Any) -> Any:
        reads.append(getattr(job, "__name__", repr(job)))
        return await read(job, *args)

    await ctx.db.write(two_shops_chatting_in_w47, ctx.settings)
    ctx.db.write, ctx.db.read = spy_write, spy_read  # type: ignore[method-assign]
    try:
        ctx.clock = lambda: at(2026, 11, 24, 3, 0)
        await run_weekly(ctx, "2026-W47")
        kept = await read(
            lambda conn: list(
                conn.execute(text("SELECT shop_id FROM assessments ORDER BY shop_id")).scalars()
            )
        )
    finally:
        await ctx.db.stop()
    return reads, writes, kept


async def test_a_rerun_computes_the_week_on_a_reader_and_writes_in_short_jobs(
    tmp_path: Path,
) -> None:
    """On SQLite a write job runs on the event loop: the week's computation must not."""
    reads, writes, kept = await _run_week_with_spies(tmp_path)
    assert "compute_week_sync" in reads
    assert "compute_week_sync" not in writes and "save_assessment_sync" not in writes
    assert {"claim_job", "finish_job", "save_shop_results_sync"} <= set(writes)
    assert kept == [1, 2]  # and the results were kept


async def test_a_large_week_is_computed_in_a_process_of_its_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past PROCESS_FROM_SESSIONS, neither the loop nor a reader thread of the server computes
    the week (a reader would hold the GIL beside the loop); the results are kept all the same."""
    monkeypatch.setattr(job, "PROCESS_FROM_SESSIONS", 0)
    monkeypatch.setattr(job, "ANSWER_SHOPS_PER_SLICE", 1)  # its answer in one slice per shop
    reads, writes, kept = await _run_week_with_spies(tmp_path)
    assert "count_sessions_overlapping" in reads
    assert "compute_week_sync" not in reads and "compute_week_sync" not in writes
    assert {"claim_job", "finish_job", "save_shop_results_sync"} <= set(writes)
    assert kept == [1, 2]
