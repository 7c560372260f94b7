"""The loop watchdog: a blocked event loop leaves every thread's stack and a lag figure.

The lag is measured on an injected clock whose time passes only when the watchdog sleeps, so
those tests wait for nothing. The stack dump is faulthandler's own timer thread: only a real
stall shows it, kept short."""

from __future__ import annotations

import asyncio
import io
import time
from pathlib import Path

from feige.app import LOOP_LAG, loop_watchdog


def _lag() -> tuple[float, float]:
    """The lag histogram's (count, sum) so far."""
    samples = {
        sample.name: sample.value for metric in LOOP_LAG.collect() for sample in metric.samples
    }
    return samples["feige_loop_lag_seconds_count"], samples["feige_loop_lag_seconds_sum"]


class ScriptedTime:
    """A clock and a sleep for the watchdog: each sleep lasts its tick plus the next stall of
    the script (how late the loop came back); once the script is played the sleep never
    returns and ``played`` is set."""

    def __init__(self, stalls: list[float]) -> None:
        self.now = 1000.0
        self.stalls = stalls
        self.played = asyncio.Event()

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        if not self.stalls:
            self.played.set()
            await asyncio.Event().wait()
        self.now += seconds + self.stalls.pop(0)
        await asyncio.sleep(0)


async def _watch(stall_seconds: float, stalls: list[float], file: object) -> None:
    script = ScriptedTime(stalls)
    watchdog = asyncio.create_task(
        loop_watchdog(stall_seconds, 0.25, file, clock=script.clock, sleep=script.sleep)
    )
    await asyncio.wait_for(script.played.wait(), 5)
    watchdog.cancel()
    await asyncio.gather(watchdog, return_exceptions=True)


async def test_the_lag_is_how_late_the_loop_came_back(tmp_path: Path) -> None:
    count, total = _lag()
    with (tmp_path / "stacks.txt").open("w") as file:
        await _watch(30.0, [0.0, 0.7, 1.5, 0.0], file)
    new_count, new_total = _lag()
    assert new_count - count == 4
    assert abs((new_total - total) - 2.2) < 1e-6


async def test_a_stderr_without_a_descriptor_keeps_the_lag_figures() -> None:
    count, total = _lag()
    await _watch(0.3, [0.5, 0.0], io.StringIO())  # no dump possible, the watchdog lives on
    new_count, new_total = _lag()
    assert new_count - count == 2
    assert abs((new_total - total) - 0.5) < 1e-6


def _blocking_step() -> None:
    time.sleep(0.4)  # a job that holds the loop, as a slow SQLite batch would


async def _stall_the_loop(tmp_path: Path, stall: float) -> str:
    out = tmp_path / "stacks.txt"
    with out.open("w") as file:
        watchdog = asyncio.create_task(loop_watchdog(stall, tick=0.02, file=file))
        await asyncio.sleep(0)  # let it arm
        _blocking_step()
        watchdog.cancel()
        await asyncio.gather(watchdog, return_exceptions=True)
    return out.read_text()


async def test_a_stalled_loop_dumps_the_stacks(tmp_path: Path) -> None:
    stacks = await _stall_the_loop(tmp_path, stall=0.1)
    assert "_blocking_step" in stacks and "Thread" in stacks


async def test_zero_turns_the_dump_off(tmp_path: Path) -> None:
    assert await _stall_the_loop(tmp_path, stall=0) == ""


async def test_a_turning_loop_dumps_nothing(tmp_path: Path) -> None:
    out = tmp_path / "quiet.txt"
    with out.open("w") as file:
        watchdog = asyncio.create_task(loop_watchdog(0.15, tick=0.02, file=file))
        await asyncio.sleep(0.4)  # longer than the stall limit, but the loop keeps turning
        watchdog.cancel()
        await asyncio.gather(watchdog, return_exceptions=True)
    assert out.read_text() == ""
