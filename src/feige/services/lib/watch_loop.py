"""The loop the robot's watches share: step when woken by the message path, else every tick."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

import structlog

log = structlog.get_logger("feige.robot")


async def step_on_wake(
    wake: asyncio.Event,
    tick: float,
    step: Callable[[], Awaitable[None]],
    failure: str,
    gather: float = 0.0,
) -> None:
    """Run ``step`` whenever ``wake`` is set, and at least every ``tick`` seconds, forever.

    ``gather`` waits that long after a wake before stepping, so that texts arriving together
    are handled in one step. A failing step is logged as ``failure`` and the loop goes on:
    the next step retries what the failed one left."""
    while True:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(wake.wait(), tick)
        if gather and wake.is_set():
            await asyncio.sleep(gather)
        wake.clear()
        try:
            await step()
        except Exception:
            log.exception(failure)
