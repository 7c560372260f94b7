"""The per-node SequenceGate (realtime/sequencer.py) against a scripted store: each read of
the store waits until the test lets it answer, so what arrives while a fill is reading is
chosen by the test, not by timing. ``grace`` is 0: a fill starts at the next loop turn."""

from __future__ import annotations

import asyncio

import pytest

from feige.realtime.sequencer import SequenceGate

SESSION = 7
CHANNELS = ("member:1",)


def payload(seq: int) -> bytes:
    return b"m%d" % seq


class Store:
    """Committed messages 1..``last``; ``hold`` makes the next reads wait for ``release``;
    ``fail`` makes the next that many reads raise."""

    def __init__(self, last: int) -> None:
        self.last = last
        self.reads: list[tuple[int, int]] = []
        self.hold = False
        self.fail = 0
        self.reading = asyncio.Event()
        self._release = asyncio.Event()

    def release(self) -> None:
        self._release.set()

    async def fill(self, session_id: int, after: int, upto: int) -> list[tuple[int, bytes]]:
        assert session_id == SESSION
        self.reads.append((after, upto))
        self.reading.set()
        if self.hold:
            await self._release.wait()
            self.hold = False
        if self.fail:
            self.fail -= 1
            raise ConnectionError("store unreachable")
        return [(s, payload(s)) for s in range(after + 1, min(upto, self.last) + 1)]


class Sockets:
    def __init__(self) -> None:
        self.got: list[int] = []

    def deliver(self, channels: tuple[str, ...], data: bytes, exclude: object) -> None:
        assert channels == CHANNELS
        self.got.append(int(data[1:]))


def gate_on(store: Store, sockets: Sockets) -> SequenceGate:
    return SequenceGate(sockets.deliver, store.fill, None, grace=0)


def offer(gate: SequenceGate, *seqs: int) -> None:
    for seq in seqs:
        gate.offer(SESSION, seq, CHANNELS, payload(seq))


async def settle(gate: SequenceGate) -> None:
    """Until no fill is running."""
    for _ in range(200):
        await asyncio.sleep(0)
        if not gate._tasks:
            return
    raise AssertionError("a fill never ended")


async def test_a_gap_that_opens_while_a_fill_reads_is_read_too_never_skipped() -> None:
    """How one seq went missing for a live socket (the multi-node kill test's agent): the
    fill read (2, 3]; while it read, 3 and 4 came through Redis and 6 came locally (the
    agent's reply), 5 still on its way. The range read no longer covers the gap before 6,
    so 5 must be read, not jumped over (it used to be: the late 5 was then dropped as
    already delivered)."""
    store, sockets = Store(last=6), Sockets()
    gate = gate_on(store, sockets)
    offer(gate, 1, 2, 4)  # 3 is late: a fill starts
    store.hold = True
    await store.reading.wait()
    assert store.reads == [(2, 3)]
    offer(gate, 3, 6)  # 3 arrives (3, 4 go out); 6 waits for 5
    store.release()
    await settle(gate)
    offer(gate, 5)  # the late publish of 5: already delivered from the store
    assert sockets.got == [1, 2, 3, 4, 5, 6]
    assert store.reads == [(2, 3), (4, 5)]


async def test_a_failed_read_is_retried_and_skips_nothing() -> None:
    """The store failing for a moment (a dropped connection) delays the gap, never loses it."""
    store, sockets = Store(last=5), Sockets()
    gate = gate_on(store, sockets)
    store.fail = 2
    offer(gate, 1, 2, 5)
    async with asyncio.timeout(10):  # each retry waits a little (a floor: grace is 0)
        while sockets.got != [1, 2, 3, 4, 5]:
            await asyncio.sleep(0.01)
    await settle(gate)
    assert sockets.got == [1, 2, 3, 4, 5]
    assert len(store.reads) == 3


async def test_a_seq_the_store_lacks_is_passed_over_and_still_delivered_if_it_comes() -> None:
    """The store has no 3 (cannot happen for committed messages): later messages are not held
    forever, and 3 still goes out should its publish come after all."""
    store, sockets = Store(last=2), Sockets()
    gate = gate_on(store, sockets)
    offer(gate, 1, 2, 4)
    await settle(gate)
    assert sockets.got == [1, 2, 4]
    offer(gate, 3, 3, 2)  # 3 once; 2 was delivered already
    assert sockets.got == [1, 2, 4, 3]


async def test_a_gap_seen_while_a_catch_up_reads_gets_its_own_fill() -> None:
    """A catch-up holds the session while it reads: a gap revealed meanwhile is filled after
    it, without waiting for yet another message or the next catch-up."""
    store, sockets = Store(last=6), Sockets()

    async def latest(ids: list[int]) -> dict[int, int]:
        return {SESSION: 4}

    gate = SequenceGate(sockets.deliver, store.fill, latest, grace=0)
    offer(gate, 1, 2)
    store.hold = True
    catching_up = asyncio.create_task(gate.catch_up())
    await store.reading.wait()
    offer(gate, 6)  # 5 lost on its way
    store.release()
    assert await catching_up == 2
    await settle(gate)
    assert sockets.got == [1, 2, 3, 4, 5, 6]


@pytest.mark.parametrize("exact_first", [True, False])
async def test_order_and_once_whatever_the_arrival(exact_first: bool) -> None:
    """Crossing publishes and duplicates: every seq once, in order (a session first seen
    mid-stream takes its first seq as it comes)."""
    store, sockets = Store(last=8), Sockets()
    gate = gate_on(store, sockets)
    first = 1 if exact_first else 3
    offer(gate, first)
    offer(gate, *[s for s in (3, 2, 4, 6, 5, 5, 8, 7, 6) if s != first])
    await settle(gate)
    expected = list(range(first, 9)) if exact_first else [3, 2, 4, 5, 6, 7, 8]
    assert sockets.got == expected


async def test_a_message_that_comes_while_its_seq_is_read_keeps_its_exclude() -> None:
    """The sender's own message (its socket has the ack, not the event) reaching the gate
    while a fill reads that very seq goes out as published: not to the sender a second time."""
    store, sockets = Store(last=5), Sockets()
    excluded: list[tuple[int, object]] = []

    def deliver(channels: tuple[str, ...], data: bytes, exclude: object) -> None:
        sockets.deliver(channels, data, exclude)
        excluded.append((int(data[1:]), exclude))

    gate = SequenceGate(deliver, store.fill, None, grace=0)
    offer(gate, 1, 5)
    store.hold = True
    await store.reading.wait()
    assert store.reads == [(1, 4)]
    gate.offer(SESSION, 3, CHANNELS, payload(3), exclude=42)  # the agent's reply, local
    store.release()
    await settle(gate)
    assert sockets.got == [1, 2, 3, 4, 5]
    assert dict(excluded)[3] == 42
