"""Feige on several real processes (``feige serve``), one PostgreSQL database and one Redis:
what a consumer and an agent on different nodes see, a node killed, Redis restarted, and a
burst of new sessions arriving at three nodes at once (docs/operations.md)."""

from __future__ import annotations

import asyncio
import os
import time
from collections import Counter
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import create_engine, text

from feige.app import LEASED_JOBS
from tests.multinode.cluster import (
    Client,
    Cluster,
    Node,
    Shop,
    consumer_token,
    login,
    new_shop,
    post,
)
from tests.multinode.conftest import RedisServer


@pytest.fixture(scope="module")
def started_cluster(
    tmp_path_factory: pytest.TempPathFactory, pg_url: str, redis_server: RedisServer
) -> Iterator[Cluster]:
    """Three nodes for the module (starting a process costs seconds): each test gets them
    running, a node a test killed started again."""
    # The background jobs that run on one node at a time tick every second here.
    ticks = {
        "idle_check_interval_seconds": "1",
        "summary_refresh_seconds": "1",
        "upload_sweep_interval_seconds": "1",
        "robot_turn_recovery_seconds": "1",
    }
    nodes = Cluster(tmp_path_factory.mktemp("cluster"), pg_url, redis_server.url, **ticks)
    try:
        nodes.start("a", "b", "c")
        yield nodes
    finally:
        nodes.stop()


@pytest.fixture
def cluster(started_cluster: Cluster, live_redis: RedisServer) -> Cluster:
    started_cluster.revive()
    return started_cluster


_SHOPS: dict[str, Shop] = {}


async def one_agent_shop(node: Node) -> Shop:
    """A shop with one agent online, shared by the tests that need no more (each test's
    consumer opens one session with it; making accounts hashes passwords, which is slow)."""
    if "one" not in _SHOPS:
        _SHOPS["one"] = await new_shop(node, agents=1, capacity=10)
    return _SHOPS["one"]


def rows(url: str, sql: str, **params: object) -> list[tuple[object, ...]]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(sql), params)]
    finally:
        engine.dispose()


def complete(client: Client, session_id: int, last: int) -> bool:
    return client.seqs(session_id) == list(range(1, last + 1))


async def has_all(client: Client, session_id: int, last: int, timeout: float = 15) -> None:
    """The client comes to have every message 1..last of the session."""
    try:
        await client.wait(lambda: complete(client, session_id, last), timeout)
    except AssertionError:
        missing = sorted(set(range(1, last + 1)) - set(client.seqs(session_id)))
        closed = client.closed.is_set()
        resent = [(f["seq"], f["client_id"]) for f in client.frames if f.get("duplicate")]
        errors = [f for f in client.frames if f.get("op") == "error"][:3]
        raise AssertionError(
            f"missing seqs {missing} of {last}; closed={closed}; resent acks {resent}; {errors}"
        ) from None


async def test_consumer_and_agent_on_two_nodes_live_and_a_supervisor_on_a_third(
    cluster: Cluster,
) -> None:
    a, b, c = cluster.nodes
    shop = await one_agent_shop(a)
    buyer = Client(await consumer_token(a, f"mn-{os.urandom(3).hex()}"))
    agent = Client(shop.agents[0][1])
    supervisor = Client(shop.owner_token)
    await buyer.connect(a)
    await agent.connect(b)
    await supervisor.connect(c)

    first = await buyer.send_and_ack("open", "你好，在吗？", shop_id=shop.id, entry="product")
    session = first["session_id"]
    for i in range(10):
        await buyer.send_and_ack(f"b{i}", f"买家消息 {i}", session_id=session)
        await agent.send_and_ack(f"a{i}", f"客服回复 {i}", session_id=session)
    last = max(buyer.seqs(session) + agent.seqs(session))
    # Everyone has every message of the session, in order, nothing twice.
    for client in (buyer, agent, supervisor):
        await has_all(client, session, last)
        assert client.duplicates == 0
        assert client.arrivals[session] == sorted(client.arrivals[session])
    assert agent.texts_from(session, "buyer") == ["你好，在吗？"] + [
        f"买家消息 {i}" for i in range(10)
    ]
    assert buyer.texts_from(session, "agent") == [f"客服回复 {i}" for i in range(10)]
    # The session's other events crossed nodes too: the supervisor saw it assigned.
    changes = [f.get("change") for f in supervisor.frames if f.get("type") == "session"]
    assert "assigned" in changes
    for client in (buyer, agent, supervisor):
        await client.close()


async def test_a_node_killed_mid_stream_loses_and_doubles_nothing(cluster: Cluster) -> None:
    a, b, _ = cluster.nodes
    shop = await one_agent_shop(b)
    buyer = Client(await consumer_token(a, f"mn-{os.urandom(3).hex()}"))
    agent = Client(shop.agents[0][1])
    await buyer.connect(a)
    await agent.connect(b)
    session = (await buyer.send_and_ack("open", "开始", shop_id=shop.id))["session_id"]

    total, window = 120, 8
    sent: set[str] = set()

    async def stream(start: int, stop: int) -> None:
        """Sends with up to ``window`` unacknowledged, the agent answering every tenth."""
        for i in range(start, stop):
            client_id = f"m{i}"
            await buyer.send(client_id, f"消息 {i}", session_id=session)
            sent.add(client_id)
            if i % 10 == 0:
                await agent.send(f"r{i}", f"回复 {i}", session_id=session)
            await buyer.wait(
                lambda: buyer.closed.is_set() or len(sent - buyer.acks.keys()) < window, 10
            )
            if buyer.closed.is_set():
                return

    await stream(0, 50)
    a.kill()  # mid-stream: sends in flight, acks and events unsent
    await buyer.wait(lambda: buyer.closed.is_set(), 10)
    # The consumer reconnects to the node that is left, resumes from the seq it has, and
    # sends again what was never acknowledged (same client ids: the server answers with the
    # stored message instead of storing it twice).
    await buyer.connect(b)
    for client_id in sorted(sent - buyer.acks.keys()):
        await buyer.send(client_id, f"消息 {client_id[1:]}", session_id=session)
    await stream(50, total)
    await buyer.wait(lambda: len(buyer.acks) == total + 1, 20)

    stored = rows(
        cluster.database_url,
        "SELECT client_id, seq FROM messages WHERE session_id = :s AND sender_role = 'buyer'",
        s=session,
    )
    per_client_id = Counter(client_id for client_id, _ in stored)
    expected = [f"{buyer.tag}-m{i}" for i in range(total)] + [f"{buyer.tag}-open"]
    assert per_client_id == Counter(expected)
    last = rows(cluster.database_url, "SELECT last_seq FROM sessions WHERE id = :s", s=session)
    last_seq = int(last[0][0])  # type: ignore[call-overload]
    # The consumer and the agent both have the whole session, each message once.
    await has_all(buyer, session, last_seq, 10)
    await has_all(agent, session, last_seq, 10)
    assert agent.duplicates == 0
    assert agent.arrivals[session] == sorted(agent.arrivals[session])
    for ack in buyer.acks.values():  # every ack names the one stored message
        assert buyer.messages[session][ack["seq"]]["client_id"] == ack["client_id"]
    await buyer.close()
    await agent.close()


async def test_redis_restarted_mid_stream_gaps_are_filled(
    cluster: Cluster, live_redis: RedisServer
) -> None:
    redis_server = live_redis
    a, b, _ = cluster.nodes
    shop = await one_agent_shop(a)
    buyer = Client(await consumer_token(a, f"mn-{os.urandom(3).hex()}"))
    agent = Client(shop.agents[0][1])
    await buyer.connect(a)
    await agent.connect(b)
    session = (await buyer.send_and_ack("open", "开始", shop_id=shop.id))["session_id"]

    for i in range(60):
        if i == 20:
            redis_server.kill()
        if i == 40:
            redis_server.start()
        await buyer.send_and_ack(f"m{i}", f"消息 {i}", session_id=session)
        if i % 5 == 0:
            await agent.send_and_ack(f"r{i}", f"回复 {i}", session_id=session)
        await asyncio.sleep(0.01)
    # The last messages (no later one reveals their gap) while Redis is back but before
    # each node noticed: the catch-up finds them.
    last = rows(cluster.database_url, "SELECT last_seq FROM sessions WHERE id = :s", s=session)
    last_seq = int(last[0][0])  # type: ignore[call-overload]
    await has_all(agent, session, last_seq, 15)
    await has_all(buyer, session, last_seq, 15)
    for client in (agent, buyer):
        assert client.duplicates == 0
        assert client.arrivals[session] == sorted(client.arrivals[session])
    assert agent.texts_from(session, "buyer")[1:] == [f"消息 {i}" for i in range(60)]
    # The sockets stayed open: nothing was resumed by hand.
    assert not agent.closed.is_set() and not buyer.closed.is_set()
    await buyer.close()
    await agent.close()


async def test_a_burst_of_sessions_at_three_nodes_never_overfills_an_agent(
    cluster: Cluster,
) -> None:
    nodes = cluster.nodes
    capacity, agents, consumers = 4, 3, 300
    shop = await new_shop(nodes[0], agents=agents, capacity=capacity)
    tokens = await asyncio.gather(
        *(consumer_token(nodes[i % 3], f"mn-burst-{os.urandom(4).hex()}") for i in range(consumers))
    )
    go = asyncio.Event()

    async def open_session(i: int) -> int:
        await go.wait()
        body = {"client_id": f"open-{i}", "kind": "text", "content": {"text": f"在吗 {i}"}}
        ack = await post(nodes[i % 3], "/api/messages", {**body, "shop_id": shop.id}, tokens[i])
        return int(ack["session_id"])

    tasks = [asyncio.create_task(open_session(i)) for i in range(consumers)]
    await asyncio.sleep(0.2)
    go.set()
    session_ids = await asyncio.gather(*tasks)
    assert len(set(session_ids)) == consumers  # one session per consumer

    url = cluster.database_url
    sessions = rows(
        url,
        "SELECT id, agent_id, state, wait_started_at FROM sessions WHERE shop_id = :s",
        s=shop.id,
    )
    assert len(sessions) == consumers
    load = Counter(agent for _, agent, state, _ in sessions if state == "assigned")
    assert sum(load.values()) == agents * capacity  # every seat taken …
    assert max(load.values()) <= capacity  # … and no agent over capacity
    assigned_events = rows(
        url,
        "SELECT session_id, count(*) FROM session_events WHERE shop_id = :s AND type = 'assigned'"
        " GROUP BY session_id",
        s=shop.id,
    )
    assert all(count == 1 for _, count in assigned_events)  # nobody assigned twice
    assert len(assigned_events) == agents * capacity
    queue = sorted((w, sid) for sid, _, state, w in sessions if state == "queued")
    assert len(queue) == consumers - agents * capacity

    # Capacity frees up on every node at once: the head of the queue is served, in order.
    assigned = [sid for sid, _, state, _ in sessions if state == "assigned"][:6]
    await asyncio.gather(
        *(
            post(nodes[k % 3], f"/api/sessions/{sid}/close", {}, shop.owner_token)
            for k, sid in enumerate(assigned)
        )
    )
    after = dict(
        (sid, state)
        for sid, state in rows(url, "SELECT id, state FROM sessions WHERE shop_id = :s", s=shop.id)
    )
    served_next = {sid for _, sid in queue if after[sid] == "assigned"}
    assert served_next == {sid for _, sid in queue[:6]}
    load = Counter(
        agent
        for (agent,) in rows(
            url,
            "SELECT agent_id FROM sessions WHERE shop_id = :s AND state = 'assigned'",
            s=shop.id,
        )
    )
    assert max(load.values()) <= capacity and sum(load.values()) == agents * capacity
    await login(nodes[0], "admin", "staff")  # the nodes still answer


async def test_signing_out_everywhere_closes_the_sockets_on_every_node(cluster: Cluster) -> None:
    a, b, c = cluster.nodes
    token = await consumer_token(a, f"mn-{os.urandom(3).hex()}")
    on_a, on_c = Client(token), Client(token)
    await on_a.connect(a)
    await on_c.connect(c)
    await post(b, "/api/auth/logout-all", {}, token)  # on the third node
    for client in (on_a, on_c):
        await client.wait(lambda client=client: client.closed.is_set(), 10)
        assert client.ws.close_code == 4401
        assert any(f.get("code") == "token_revoked" for f in client.frames)


async def test_rate_limits_count_across_nodes(cluster: Cluster) -> None:
    """Failed sign-ins for one username (5 per 15 minutes by default), spread over nodes."""
    name = f"mn_nobody_{os.urandom(3).hex()}"
    refused = []
    for attempt in range(7):
        node = cluster.nodes[attempt % 3]
        body = {"kind": "member", "username": name, "password": "wrong-password"}
        async with httpx.AsyncClient(base_url=node.base_url, timeout=30) as http:
            refused.append((await http.post("/api/auth/login", json=body)).status_code)
    assert refused[:5] == [401] * 5
    assert refused[5:] == [429, 429]


def lease_holders(cluster: Cluster) -> dict[str, tuple[Node | None, float]]:
    """Each background job's lease: the running node holding it (None: nobody, or a node
    that is gone) and when it was last renewed."""
    found = rows(
        cluster.database_url,
        "SELECT job, node, started_at FROM job_runs WHERE key = 'lease' AND job = ANY(:jobs)",
        jobs=list(LEASED_JOBS),
    )
    by_pid = {n.proc.pid: n for n in cluster.nodes if n.proc and n.proc.poll() is None}
    # A node's name is host:pid:random (services.context.NODE_NAME).
    return {
        str(job): (by_pid.get(int(str(node).split(":")[1])), float(at))  # type: ignore[arg-type]
        for job, node, at in found
    }


async def wait_held(cluster: Cluster, timeout: float = 20) -> dict[str, tuple[Node, float]]:
    """Every leased job held by a running node (one left by a node a test killed expires)."""
    deadline = time.monotonic() + timeout
    while True:
        holders = lease_holders(cluster)
        if all(holders.get(j, (None, 0))[0] is not None for j in LEASED_JOBS):
            return holders  # type: ignore[return-value]
        assert time.monotonic() < deadline, f"leases not all held by a running node: {holders}"
        await asyncio.sleep(0.25)


async def test_background_jobs_run_on_one_node_and_move_when_it_dies(cluster: Cluster) -> None:
    """The idle close, the summary refresher, the upload sweep and the robot's turn recovery
    each run on the one node holding their lease, which renews it every tick; killed, another
    node takes them over."""
    held = await wait_held(cluster)
    await asyncio.sleep(2.5)  # two more ticks: renewed by the same nodes, never flapping
    again = lease_holders(cluster)
    for job in LEASED_JOBS:
        assert again[job][0] is held[job][0], job
        assert again[job][1] > held[job][1], f"{job} not renewed"
    victim = held["upload_sweep"][0]
    victim.kill()
    # Taken over within the lease (3 ticks, at least 5 s) and a tick.
    moved = await wait_held(cluster, timeout=15)
    for job in LEASED_JOBS:
        assert moved[job][0] is not victim
