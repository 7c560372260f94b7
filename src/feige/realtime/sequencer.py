"""Per-session message order on one node, whatever way the events came in.

A node hears a session's ``message`` events from several places: its own commits (local
publish) and every other node (through Redis). Two nodes' publishes may arrive out of order,
and Redis may lose some (a restart, a blip, a subscriber kicked for a full buffer). The
database sequence is the truth: a message event carries ``(session_id, seq)``, and this gate
delivers each session's messages to the node's sockets in ``seq`` order, once each. A
message that arrives with a gap before it waits ``grace`` seconds for the missing ones; if
they have not come by then they are read from the store (``fill``) and delivered first.
``catch_up`` does the same for the sessions whose last message may itself have been lost
(after Redis comes back, and now and then as a safety net).

No I/O of its own: ``fill`` and ``latest`` are given by the node (they read the store).
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field

import structlog

from feige.realtime.broker import Origin

log = structlog.get_logger(__name__)

# (channels, payload, exclude): what a delivery needs.
Delivery = tuple[tuple[str, ...], bytes, Origin | None]
Deliver = Callable[[tuple[str, ...], bytes, Origin | None], None]
# session id, after seq, up to seq (inclusive) → the framed message events, in order.
Fill = Callable[[int, int, int], Awaitable[list[tuple[int, bytes]]]]
# session ids → their last seq in the store.
Latest = Callable[[list[int]], Awaitable[dict[int, int]]]

# How many of a session's seqs below its last one are remembered as delivered, for a
# session first seen mid-stream (whose earlier order the node does not know).
RECENT_SEQS = 64
# A fill whose read fails is tried this many times, waiting longer each time (from the
# grace, at least RETRY_FLOOR seconds, doubling), before the gap is passed over.
FILL_ATTEMPTS = 5
RETRY_FLOOR = 0.05


@dataclass(slots=True)
class _Session:
    last: int
    channels: tuple[str, ...]
    # Known contiguous: every seq up to ``last`` went out (or the sockets had it at connect).
    exact: bool
    touched: float
    pending: dict[int, Delivery] = field(default_factory=dict)
    recent: set[int] = field(default_factory=set)
    filling: bool = False
    # Seqs passed over because the store could not give them: delivered if they still come.
    missed: set[int] | None = None


class SequenceGate:
    """Delivers each session's messages in seq order, once, filling gaps from the store."""

    def __init__(
        self,
        deliver: Deliver,
        fill: Fill | None,
        latest: Latest | None,
        grace: float = 0.25,
        capacity: int = 200_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._deliver = deliver
        self._fill = fill
        self._latest = latest
        self.grace = grace
        self.capacity = capacity
        self._clock = clock
        self._sessions: OrderedDict[int, _Session] = OrderedDict()
        self._tasks: set[asyncio.Task[None]] = set()
        self.filled = 0  # messages read from the store because the broker lost them

    def __len__(self) -> int:
        return len(self._sessions)

    def _state(self, session_id: int) -> _Session | None:
        state = self._sessions.get(session_id)
        if state is not None:
            self._sessions.move_to_end(session_id)
            state.touched = self._clock()
        return state

    def _new(self, session_id: int, last: int, channels: tuple[str, ...], exact: bool) -> _Session:
        state = _Session(last, channels, exact, self._clock())
        self._sessions[session_id] = state
        while len(self._sessions) > self.capacity:
            self._sessions.popitem(last=False)
        return state

    def observe(self, session_id: int, last_seq: int, channels: tuple[str, ...]) -> None:
        """A socket was just given the session up to ``last_seq`` (its ``ready``): from here
        on the node knows the session's order, so a loss after this is noticed."""
        state = self._state(session_id)
        if state is None:
            self._new(session_id, last_seq, channels, exact=True)
        elif not state.exact and not state.pending and last_seq >= state.last:
            # Never moved forward over a gap the node knows of: other sockets of the node
            # may still lack those messages (the new socket drops what it already has).
            state.last, state.exact = last_seq, True

    def offer(
        self,
        session_id: int,
        seq: int,
        channels: tuple[str, ...],
        payload: bytes,
        exclude: Origin | None = None,
    ) -> None:
        state = self._state(session_id)
        if state is None:
            # First sight: a new session starts at 1; one first seen mid-stream is taken as
            # it comes (its sockets had the earlier messages at connect).
            self._new(session_id, seq, channels, exact=seq == 1)
            self._deliver(channels, payload, exclude)
            return
        if seq <= state.last:
            if state.missed is not None and seq in state.missed:  # passed over, now here
                state.missed.discard(seq)
                state.missed = state.missed or None
                self._deliver(channels, payload, exclude)
                return
            if state.exact or seq in state.recent or seq in state.pending:
                return  # already delivered (a late publish after a fill, a second path)
            state.recent.add(seq)
            self._deliver(channels, payload, exclude)
            return
        if seq == state.last + 1 and not state.pending:
            self._advance(state, seq, channels)
            self._deliver(channels, payload, exclude)
            return
        state.pending.setdefault(seq, (channels, payload, exclude))
        self._flush(state)
        if state.pending and not state.filling:
            self._start_fill(session_id, state)

    def _advance(self, state: _Session, seq: int, channels: tuple[str, ...]) -> None:
        if not state.exact:
            state.recent.add(state.last)
            if len(state.recent) > RECENT_SEQS:
                state.recent.discard(min(state.recent))
        state.last = seq
        state.channels = channels

    def _flush(self, state: _Session) -> None:
        """Deliver the pending messages that are next in line."""
        while state.pending:
            nxt = state.pending.pop(state.last + 1, None)
            if nxt is None:
                return
            self._advance(state, state.last + 1, nxt[0])
            self._deliver(*nxt)

    def _start_fill(self, session_id: int, state: _Session) -> None:
        state.filling = True
        task = asyncio.get_running_loop().create_task(self._fill_gap(session_id, state))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _fill_gap(self, session_id: int, state: _Session) -> None:
        failures = 0
        try:
            await asyncio.sleep(self.grace)  # most gaps are two nodes' publishes crossing
            while state.pending:
                after, upto = state.last, min(state.pending) - 1
                if upto > after:
                    try:
                        await self._read(session_id, state, after, upto, state.channels)
                    except Exception:
                        # The store is the truth and every seq before a known one is
                        # committed: wait and read again rather than pass over the gap.
                        failures += 1
                        if failures < FILL_ATTEMPTS:
                            log.warning("gap_fill_retry", session_id=session_id, exc_info=True)
                            await asyncio.sleep(max(self.grace, RETRY_FLOOR) * 2**failures)
                            continue
                        log.exception("gap_fill_failed", session_id=session_id)
                        while state.pending:  # the client resumes the rest
                            self._pass_over(state)
                        return
                # While the read awaited, other publishes may have moved ``last`` past ``upto``
                # and opened a new gap: that one was not read yet, so go round again. Only a
                # seq inside the range just read, and not in it, is one the store lacks.
                if state.pending and state.last + 1 <= upto and min(state.pending) > state.last + 1:
                    self._pass_over(state)
                self._flush(state)
        finally:
            state.filling = False

    def _pass_over(self, state: _Session) -> None:
        """Deliver the pending messages past a gap the store could not fill (cannot happen
        for committed messages, but a stuck session must not hold its later messages
        forever). The seqs passed over stay deliverable, should their publish come late."""
        upto = min(state.pending) - 1
        missed = state.missed if state.missed is not None else set()
        missed.update(range(state.last + 1, min(upto, state.last + RECENT_SEQS) + 1))
        state.missed = missed
        state.last = upto
        self._flush(state)

    async def _read(
        self, session_id: int, state: _Session, after: int, upto: int, channels: tuple[str, ...]
    ) -> None:
        if self._fill is None:
            return
        for seq, payload in await self._fill(session_id, after, upto):
            if seq == state.last + 1:
                self._advance(state, seq, channels)
                held = state.pending.pop(seq, None)
                if held is not None:  # came while reading: as published (its ``exclude``)
                    self._deliver(*held)
                    continue
                self._deliver(channels, payload, None)
                self.filled += 1

    async def catch_up(self, within: float | None = None) -> int:
        """Deliver what the store has past each known session's last seq (after Redis came
        back: the last messages before the break may never have reached this node).
        ``within``: only sessions heard of in that many seconds."""
        if self._latest is None or self._fill is None:
            return 0
        now = self._clock()
        ids = [
            sid
            for sid, state in reversed(self._sessions.items())
            if within is None or now - state.touched <= within
        ]
        before = self.filled
        for chunk in _chunks(ids, 500):
            latest = await self._latest(chunk)
            for sid, last_seq in latest.items():
                state = self._sessions.get(sid)
                if state is None or state.filling or last_seq <= state.last:
                    continue
                state.filling = True
                try:
                    await self._read(sid, state, state.last, last_seq, state.channels)
                    self._flush(state)
                finally:
                    state.filling = False
                    if state.pending:  # a gap seen while this read: no fill started for it
                        self._start_fill(sid, state)
        return self.filled - before

    def heard_since(self, within: float | None) -> dict[int, tuple[str, ...]]:
        """The sessions heard of in the last ``within`` seconds (all with None), with the
        channels their last message went to."""
        now = self._clock()
        found: dict[int, tuple[str, ...]] = {}
        for sid, state in reversed(self._sessions.items()):
            if within is not None and now - state.touched > within:
                break  # most recently touched last: the rest are older
            found[sid] = state.channels
        return found

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)


def _chunks(items: list[int], size: int) -> Iterable[list[int]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
