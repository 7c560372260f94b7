"""The Redis broker between two nodes in one process, on a real Redis of the test's own:
fan-out, ``exclude`` only on the publishing node, order and gap filling by sequence."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from typing import Any

import orjson
import pytest
from prometheus_client import REGISTRY

from feige.realtime import frames, redis_broker, resp
from feige.realtime.redis_broker import RedisBroker
from tests.multinode.conftest import RedisServer


class Socket:
    def __init__(self, origin: int) -> None:
        self.origin = origin
        self.got: list[dict[str, Any]] = []

    def deliver(self, payload: bytes) -> None:
        self.got.append(orjson.loads(payload))

    def seqs(self) -> list[int]:
        return [e["message"]["seq"] for e in self.got if e.get("type") == "message"]


def message(session_id: int, seq: int) -> dict[str, Any]:
    return {"id": seq, "session_id": session_id, "seq": seq, "content": {"text": f"m{seq}"}}


def payload(session_id: int, seq: int) -> bytes:
    return frames.event({"type": "message", "message": message(session_id, seq)})


class Store:
    """What the database holds: messages by session (the fill reads it)."""

    def __init__(self) -> None:
        self.last: dict[int, int] = {}
        self.reads = 0

    async def read(self, session_id: int, after: int, upto: int) -> list[dict[str, Any]]:
        self.reads += 1
        top = min(upto, self.last.get(session_id, 0))
        return [message(session_id, s) for s in range(after + 1, top + 1)]

    async def latest(self, ids: list[int]) -> dict[int, int]:
        return {i: self.last[i] for i in ids if i in self.last}


async def wait_for(check: Any, timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.01)


def brokers(url: str, store: Store, **kw: Any) -> tuple[RedisBroker, RedisBroker]:
    prefix = f"feige-scaleout-test:{os.urandom(4).hex()}"
    make = lambda: RedisBroker(  # noqa: E731
        url, prefix=prefix, read_messages=store.read, latest=store.latest, grace=0.05, **kw
    )
    return make(), make()


@pytest.mark.parametrize("sharded", [True, False], ids=["spublish", "publish"])
async def test_events_cross_nodes_and_exclude_applies_only_where_published(
    live_redis: RedisServer, sharded: bool
) -> None:
    store = Store()
    a, b = brokers(live_redis.url, store, sharded=sharded)
    await a.start()
    await b.start()
    try:
        # Origin 1 on both nodes: numbers are per node.
        sender, peer_a, peer_b = Socket(1), Socket(2), Socket(1)
        a.subscribe("consumer:7", sender)
        a.subscribe("shop:1:supervisors", peer_a)
        b.subscribe("member:3", peer_b)
        b.subscribe("shop:1:supervisors", peer_b)  # listens on two channels: gets it once
        assert await a.ready(["consumer:7", "shop:1:supervisors"])
        assert await b.ready(["member:3", "shop:1:supervisors"])
        store.last[10] = 1
        await a.publish(("consumer:7", "member:3", "shop:1:supervisors"), payload(10, 1), exclude=1)
        await wait_for(lambda: peer_b.seqs() == [1])
        assert sender.got == [] and peer_a.seqs() == [1]
        await asyncio.sleep(0.1)
        assert peer_b.seqs() == [1]  # once, though two of its channels carried it
        # A plain event (no seq) crosses too, once.
        await b.publish(("consumer:7",), frames.event({"type": "typing", "session_id": 10}))
        await wait_for(lambda: len(sender.got) == 1)
        # Unsubscribed channels stop reaching the node.
        b.unsubscribe("member:3", peer_b)
        b.unsubscribe("shop:1:supervisors", peer_b)
        await asyncio.sleep(0.1)
        store.last[10] = 2
        await a.publish(("member:3",), payload(10, 2))
        await asyncio.sleep(0.2)
        assert peer_b.seqs() == [1]
    finally:
        await a.stop()
        await b.stop()


async def test_a_lost_publish_is_filled_from_the_store_in_order(live_redis: RedisServer) -> None:
    store = Store()
    a, b = brokers(live_redis.url, store)
    await a.start()
    await b.start()
    try:
        agent = Socket(1)
        b.subscribe("member:3", agent)
        assert await b.ready(["member:3"])
        b.observe(20, 0, ("member:3",))
        store.last[20] = 1
        await a.publish(("member:3",), payload(20, 1))
        await wait_for(lambda: agent.seqs() == [1])
        store.last[20] = 3  # seq 2 was committed but its publish never reached Redis
        await a.publish(("member:3",), payload(20, 3))
        await wait_for(lambda: agent.seqs() == [1, 2, 3])
        # Crossing publishes (4 arrives before 3's late twin, 5 before 4 here) keep order.
        store.last[20] = 5
        await a.publish(("member:3",), payload(20, 5))
        await a.publish(("member:3",), payload(20, 4))
        await a.publish(("member:3",), payload(20, 3))
        await wait_for(lambda: len(agent.seqs()) >= 5)
        await asyncio.sleep(0.2)
        assert agent.seqs() == [1, 2, 3, 4, 5]
    finally:
        await a.stop()
        await b.stop()


async def test_after_redis_restarts_the_node_catches_up(live_redis: RedisServer) -> None:
    store = Store()
    a, b = brokers(live_redis.url, store, catch_up_seconds=60)
    await a.start()
    await b.start()
    try:
        agent = Socket(1)
        b.subscribe("member:3", agent)
        assert await b.ready(["member:3"])
        store.last[30] = 1
        await a.publish(("member:3",), payload(30, 1))
        await wait_for(lambda: agent.seqs() == [1])
        live_redis.kill()
        store.last[30] = 3  # two messages committed while Redis is down; no later one comes
        await a.publish(("member:3",), payload(30, 2))
        await a.publish(("member:3",), payload(30, 3))
        live_redis.start()
        await wait_for(lambda: agent.seqs() == [1, 2, 3], timeout=15)
        await asyncio.sleep(0.3)
        assert agent.seqs() == [1, 2, 3]
    finally:
        await a.stop()
        await b.stop()


async def test_a_node_started_while_redis_is_down_joins_when_it_comes_up(
    live_redis: RedisServer,
) -> None:
    store = Store()
    live_redis.kill()
    a, b = brokers(live_redis.url, store)
    await a.start()  # Redis is down: the node starts anyway
    assert a.sharded is None
    live_redis.start()
    await b.start()
    try:
        agent = Socket(1)
        a.subscribe("member:3", agent)
        assert await a.ready(["member:3"], timeout=10)
        assert a.sharded is not None and a.sharded == b.sharded  # both on the same kind
        store.last[40] = 1
        await b.publish(("member:3",), payload(40, 1))
        await wait_for(lambda: agent.seqs() == [1])
    finally:
        await a.stop()
        await b.stop()


class Repairs:
    """The node's repair, as the broker calls it: records each call, answers with a state."""

    def __init__(self) -> None:
        self.calls: list[tuple[dict[int, tuple[str, ...]], float | None, list[str]]] = []

    async def __call__(
        self, known: dict[int, tuple[str, ...]], since: float | None, accounts: list[str]
    ) -> list[tuple[tuple[str, ...], bytes]]:
        self.calls.append((known, since, accounts))
        event = {"type": "session", "change": "sync", "session": {"id": 50, "state": "closed"}}
        return [(("member:3",), frames.event(event))]

    def since_given(self) -> list[float]:
        return [since for _, since, _ in self.calls if since is not None]


async def test_a_broken_subscription_is_repaired_with_the_state_from_the_store(
    live_redis: RedisServer,
) -> None:
    """The pub/sub connection dropped (Redis kills it): once subscribed again, the node asks
    its repair for the sessions it heard of and those changed since just before the loss,
    and its sockets get what the repair read."""
    import redis

    store, repairs = Store(), Repairs()
    a, _ = brokers(live_redis.url, store, repair=repairs, revocation_poll_seconds=0)
    await a.start()
    try:
        agent = Socket(1)
        a.subscribe("member:3", agent)
        assert await a.ready(["member:3"])
        a.observe(50, 4, ("member:3", "consumer:9"))
        before = time.time()
        redis.Redis.from_url(live_redis.url).client_kill_filter(_type="pubsub")
        await wait_for(lambda: repairs.since_given() != [], timeout=10)
        known, since, accounts = repairs.calls[-1]
        assert since is not None and before - 60 < since < before
        assert known == {50: ("member:3", "consumer:9")}
        assert accounts == ["member:3"]
        await wait_for(lambda: any(e.get("change") == "sync" for e in agent.got))
        # Then one resync per socket: the rest of its state may be stale.
        await wait_for(lambda: any(e.get("type") == "resync" for e in agent.got))
        types = [e.get("type") for e in agent.got]
        assert types.count("resync") == 1 and types.index("resync") > types.index("session")
        assert agent.got[types.index("resync")]["since"] == since
        # The connection is back: events cross again.
        await a.ready(["member:3"], timeout=10)
    finally:
        await a.stop()


async def test_a_node_whose_publish_failed_tells_the_others_once_redis_is_back(
    live_redis: RedisServer,
) -> None:
    repairs_a, repairs_b = Repairs(), Repairs()
    prefix = f"feige-scaleout-test:{os.urandom(4).hex()}"
    a = RedisBroker(live_redis.url, prefix=prefix, repair=repairs_a, revocation_poll_seconds=0)
    b = RedisBroker(live_redis.url, prefix=prefix, repair=repairs_b, revocation_poll_seconds=0)
    await a.start()
    await b.start()
    try:
        sock = Socket(1)
        b.subscribe("member:3", sock)
        assert await b.ready(["member:3", "platform:nodes"])
        a._publish_lost(time.time())  # as after a failed pipeline
        await a.publish(("member:3",), frames.event({"type": "typing", "session_id": 1}))
        # b hears a's word (on platform:nodes) and repairs; a repairs its own sockets too.
        await wait_for(lambda: repairs_b.since_given() != [] and repairs_a.since_given() != [])
        await wait_for(lambda: [e.get("type") for e in sock.got].count("resync") == 1)
        assert a._publish_lost_since is None
    finally:
        await a.stop()
        await b.stop()


async def test_revocations_are_read_back_now_and_then(live_redis: RedisServer) -> None:
    store, repairs = Store(), Repairs()
    a, _ = brokers(live_redis.url, store, repair=repairs, revocation_poll_seconds=0.1)
    await a.start()
    try:
        a.subscribe("consumer:9", Socket(1))
        a.subscribe("shop:1:agents", Socket(2))
        await wait_for(lambda: any(since is None for _, since, _ in repairs.calls))
        polled = [c for c in repairs.calls if c[1] is None]
        assert polled[0][0] == {} and polled[0][2] == ["consumer:9"]  # accounts only
    finally:
        await a.stop()


async def test_the_bare_connection_publishes_a_batch_in_order_and_counts_refusals(
    live_redis: RedisServer,
) -> None:
    """The broker's own RESP connection (realtime/resp.py): a batch packed in one buffer
    arrives whole and in order, whatever bytes the payloads hold; a refused command is
    counted, not mistaken for a publish."""
    channel = f"feige-resp-test:{os.urandom(4).hex()}".encode()
    listener = await resp.RespConnection.open(live_redis.url)
    publisher = await resp.RespConnection.open(live_redis.url)
    try:
        listener.write(resp.pack(b"SUBSCRIBE", channel))
        assert (await listener.reply())[0] == b"subscribe"
        payloads = [
            b"F1 a 1 0 0 x\n{}",
            b"line\r\nbreak",
            b"",
            "两个字".encode(),
            bytes(range(256)),
        ]
        data, count = resp.pack_publishes(b"PUBLISH", ((channel, p) for p in payloads))
        assert count == len(payloads)
        publisher.write(data)
        assert await publisher.count_replies(count) == 0
        got: list[bytes] = []
        while len(got) < len(payloads):
            got += [push[2] for push in await listener.replies()]
        assert got == payloads
        publisher.write(resp.pack(b"NO-SUCH-COMMAND") + resp.pack(b"PING"))
        assert await publisher.count_replies(2) == 1
    finally:
        listener.close()
        publisher.close()


async def test_the_bare_connection_refuses_a_wrong_password(live_redis: RedisServer) -> None:
    url = live_redis.url.replace("redis://", "redis://:not-the-password@")
    with pytest.raises(ConnectionError, match="AUTH"):
        await resp.RespConnection.open(url)


async def test_a_silent_pubsub_connection_is_replaced(
    live_redis: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Redis stops answering without closing the connection (a hung server, a dead link):
    the unanswered PING makes the node open a new connection, which carries on once Redis
    is back."""
    monkeypatch.setattr(redis_broker, "HEALTH_CHECK_SECONDS", 0.3)
    monkeypatch.setattr(redis_broker, "ANSWER_SECONDS", 0.3)
    store = Store()
    a, b = brokers(live_redis.url, store, catch_up_seconds=60)
    await a.start()
    await b.start()
    reconnects = lambda: REGISTRY.get_sample_value("feige_redis_reconnects_total") or 0  # noqa: E731
    try:
        agent = Socket(1)
        b.subscribe("member:3", agent)
        assert await b.ready(["member:3"])
        before = reconnects()
        assert live_redis.proc is not None
        live_redis.proc.send_signal(signal.SIGSTOP)
        try:
            await wait_for(lambda: reconnects() >= before + 2)  # a's and b's connections
        finally:
            live_redis.proc.send_signal(signal.SIGCONT)
        assert await b.ready(["member:3"], timeout=5)
        store.last[50] = 1
        await a.publish(("member:3",), payload(50, 1))
        await wait_for(lambda: agent.seqs() == [1])
    finally:
        await a.stop()
        await b.stop()
