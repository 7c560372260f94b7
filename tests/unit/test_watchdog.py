"""The loop watchdog: a blocked event loop leaves every thread's stack and a lag figure."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from feige.app import LOOP_LAG, loop_watchdog


def _lag_count() -> float:
    return sum(
        sample.value
        for metric in LOOP_LAG.collect()
        for sample in metric.samples
        if sample.name.endswith("_count")
    )


def _blocking_step() -> None:
    time.sleep(0.8)  # a job that holds the loop, as a slow SQLite batch would


async def _run(tmp_path: Path, stall: float) -> str:
    out = tmp_path / "stacks.txt"
    with out.open("w") as file:
        watchdog = asyncio.create_task(loop_watchdog(stall, tick=0.05, file=file))
        await asyncio.sleep(0.12)
        _blocking_step()
        await asyncio.sleep(0.12)
        watchdog.cancel()
        await asyncio.gather(watchdog, return_exceptions=True)
    return out.read_text()


async def test_a_stalled_loop_dumps_the_stacks(tmp_path: Path) -> None:
    before = _lag_count()
    stacks = await _run(tmp_path, stall=0.3)
    assert "_blocking_step" in stacks and "Thread" in stacks
    assert _lag_count() > before


async def test_a_turning_loop_dumps_nothing(tmp_path: Path) -> None:
    out = tmp_path / "quiet.txt"
    with out.open("w") as file:
        watchdog = asyncio.create_task(loop_watchdog(0.5, tick=0.05, file=file))
        await asyncio.sleep(0.8)  # longer than the stall limit, but the loop keeps turning
        watchdog.cancel()
        await asyncio.gather(watchdog, return_exceptions=True)
    assert out.read_text() == ""


async def test_zero_turns_the_dump_off(tmp_path: Path) -> None:
    assert await _run(tmp_path, stall=0) == ""


async def test_a_stderr_without_a_descriptor_keeps_the_lag_figures(tmp_path: Path) -> None:
    import io

    before = _lag_count()
    watchdog = asyncio.create_task(loop_watchdog(0.3, tick=0.05, file=io.StringIO()))
    await asyncio.sleep(0.2)
    assert not watchdog.done()  # no dump possible, but the watchdog lives on
    watchdog.cancel()
    await asyncio.gather(watchdog, return_exceptions=True)
    assert _lag_count() > before
