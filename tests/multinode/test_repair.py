"""What Redis loses besides messages, repaired across real nodes (docs/architecture.md,
"Repairing the other events Redis loses"): session state changes and read marks made on
one node while Redis is down reach the clients on the others as the state a fresh fetch
gives; a revocation made while Redis is down, or whose event never went out, still closes
the account's sockets on every node."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import redis
from sqlalchemy import create_engine, text

from tests.multinode.cluster import (
    Client,
    Cluster,
    Node,
    consumer_token,
    http_client,
    new_shop,
    post,
)
from tests.multinode.conftest import RedisServer

# The fields of a session a client keeps (views.session_view, but the consumer's queue place).
KEPT = (
    "state",
    "agent_id",
    "closed_at",
    "last_seq",
    "consumer_read_seq",
    "agent_read_seq",
    "rating",
    "invalid",
)


@pytest.fixture(scope="module")
def started_cluster(
    tmp_path_factory: pytest.TempPathFactory, pg_url: str, redis_server: RedisServer
) -> Iterator[Cluster]:
    # Revocations are polled rarely here: the tests see the loss noticed and repaired, not
    # the poll (one test waits for the poll on purpose).
    nodes = Cluster(
        tmp_path_factory.mktemp("repair"),
        pg_url,
        redis_server.url,
        redis_revocation_poll_seconds="4",
    )
    try:
        nodes.start("a", "b", "c")
        yield nodes
    finally:
        nodes.stop()


@pytest.fixture
def cluster(started_cluster: Cluster, live_redis: RedisServer) -> Cluster:
    started_cluster.revive()
    return started_cluster


async def fetch(node: Node, token: str, session_id: int) -> dict[str, Any]:
    response = await http_client(node).get(
        f"/api/sessions/{session_id}", headers={"authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


def held(client: Client, session_id: int) -> dict[str, Any] | None:
    """The session as the client holds it: the row of the last ``session`` event for it."""
    rows = [
        f["session"]
        for f in client.frames
        if f.get("type") == "session" and f["session"]["id"] == session_id
    ]
    return rows[-1] if rows else None


def same(row: dict[str, Any] | None, fresh: dict[str, Any]) -> bool:
    return row is not None and all(row[k] == fresh[k] for k in KEPT)


async def comes_to(
    client: Client, node: Node, token: str, session_id: int, timeout: float = 20
) -> None:
    """The client comes to hold the session as a fresh fetch gives it (``token``: one that
    may fetch it, a supervisor's for an agent it was transferred away from)."""
    fresh = await fetch(node, token, session_id)
    try:
        await client.wait(lambda: same(held(client, session_id), fresh), timeout)
    except AssertionError:
        row = held(client, session_id)
        diff = {k: (row or {}).get(k) for k in KEPT if not row or row[k] != fresh[k]}
        raise AssertionError(f"held {diff}, fresh { ({k: fresh[k] for k in diff}) }") from None


async def test_state_changes_made_while_redis_is_down_reach_every_node(
    cluster: Cluster, live_redis: RedisServer
) -> None:
    """The consumer on a, agents on b and c, the supervisor on c. While Redis is down, on
    other nodes: a second consumer's session is assigned, a session is transferred from one
    agent to the other, read marks move, and the first session is closed. Once Redis is back
    every client holds each session as a fresh fetch gives it."""
    a, b, c = cluster.nodes
    shop = await new_shop(a, agents=2, capacity=10)
    (first_id, first_token), (second_id, second_token) = shop.agents
    buyer = Client(await consumer_token(a, f"mn-{os.urandom(3).hex()}"))
    other_buyer_token = await consumer_token(a, f"mn-{os.urandom(3).hex()}")
    other_buyer = Client(other_buyer_token)
    first, second = Client(first_token), Client(second_token)
    owner = Client(shop.owner_token)
    await buyer.connect(a)
    await other_buyer.connect(a)
    await first.connect(b)
    await second.connect(c)
    await owner.connect(c)

    opened = await buyer.send_and_ack("open", "你好", shop_id=shop.id)
    session = opened["session_id"]
    served_by = (await fetch(b, shop.owner_token, session))["agent_id"]
    agent, agent_token = (first, first_token) if served_by == first_id else (second, second_token)
    helper_id = second_id if served_by == first_id else first_id
    await agent.wait(lambda: held(agent, session) is not None)
    reply = await agent.send_and_ack("r0", "您好，请讲", session_id=session)
    await buyer.wait(lambda: reply["seq"] in buyer.seqs(session))

    live_redis.kill()
    await asyncio.sleep(0.3)
    # The agent reads the buyer's message (on its node): the buyer's node misses the mark.
    await post(b, f"/api/sessions/{session}/read?seq={reply['seq']}", {}, agent_token)
    # The buyer reads the reply, on its own node a: the agent's node misses the mark.
    buyer_token = buyer.token
    await post(a, f"/api/sessions/{session}/read?seq={reply['seq']}", {}, buyer_token)
    # A new session, opened through node b: its agent (on b or c) and the supervisor (c)
    # never hear of it over Redis.
    second_open = await post(
        b,
        "/api/messages",
        {"client_id": "o1", "kind": "text", "content": {"text": "在吗"}, "shop_id": shop.id},
        other_buyer_token,
    )
    other_session = int(second_open["session_id"])
    # The first session is transferred to the other agent, then closed, by the owner on b.
    await post(b, f"/api/sessions/{session}/transfer", {"to_agent": helper_id}, shop.owner_token)
    await post(b, f"/api/sessions/{session}/close", {}, shop.owner_token)
    await asyncio.sleep(0.5)
    live_redis.start()

    helper = second if agent is first else first
    for client, token in ((buyer, buyer_token), (owner, shop.owner_token)):
        await comes_to(client, c, token, session)
    await comes_to(helper, c, shop.owner_token, session)
    # The agent it was transferred away from may no longer fetch it: its client learnt it
    # went to the other agent (and forgets it, as the web app does).
    await agent.wait(lambda: (held(agent, session) or {}).get("agent_id") == helper_id)
    await comes_to(other_buyer, c, other_buyer_token, other_session)
    await comes_to(owner, c, shop.owner_token, other_session)
    served_other = (await fetch(c, shop.owner_token, other_session))["agent_id"]
    serving = first if served_other == first_id else second
    await comes_to(serving, c, shop.owner_token, other_session)
    for client in (buyer, other_buyer, first, second, owner):
        assert not client.closed.is_set()  # repaired live, nothing resumed by hand
        await client.close()


async def test_a_dropped_subscription_is_repaired(
    cluster: Cluster, live_redis: RedisServer
) -> None:
    """Redis stays up but drops every node's pub/sub connection (as it does to a subscriber
    whose output buffer overflows) just as a session is closed on another node."""
    a, b, _ = cluster.nodes
    shop = await new_shop(a, agents=1, capacity=10)
    buyer = Client(await consumer_token(a, f"mn-{os.urandom(3).hex()}"))
    await buyer.connect(a)
    session = (await buyer.send_and_ack("open", "你好", shop_id=shop.id))["session_id"]
    await buyer.wait(lambda: held(buyer, session) is not None)
    drop = redis.Redis.from_url(live_redis.url)
    try:
        drop.client_kill_filter(_type="pubsub")
        await post(b, f"/api/sessions/{session}/close", {}, shop.owner_token)
        drop.client_kill_filter(_type="pubsub")
    finally:
        drop.close()
    await comes_to(buyer, b, buyer.token, session)
    assert held(buyer, session)["state"] == "closed"  # type: ignore[index]
    await buyer.close()


async def test_a_revocation_made_while_redis_is_down_closes_sockets_on_every_node(
    cluster: Cluster, live_redis: RedisServer
) -> None:
    a, b, c = cluster.nodes
    token = await consumer_token(a, f"mn-{os.urandom(3).hex()}")
    on_a, on_c = Client(token), Client(token)
    await on_a.connect(a)
    await on_c.connect(c)
    live_redis.kill()
    await asyncio.sleep(0.3)
    await post(b, "/api/auth/logout-all", {}, token)  # b's publish of it fails
    await asyncio.sleep(0.5)
    live_redis.start()
    for client in (on_a, on_c):
        await client.wait(lambda client=client: client.closed.is_set(), 15)
        assert client.ws.close_code == 4401
    # A socket opened with a token issued after the revocation stays open.
    fresh = await consumer_token(a, f"mn-{os.urandom(3).hex()}")
    keeps = Client(fresh)
    await keeps.connect(c)
    await asyncio.sleep(1)
    assert not keeps.closed.is_set()
    await keeps.close()


async def test_a_revocation_whose_event_never_went_out_is_found_by_the_poll(
    cluster: Cluster,
) -> None:
    """The token version moved in the database and no event was published at all (the
    worst case of a lost publish nobody noticed): every node's poll closes the sockets."""
    a, _, c = cluster.nodes
    external = f"mn-{os.urandom(3).hex()}"
    token = await consumer_token(a, external)
    on_a, on_c = Client(token), Client(token)
    await on_a.connect(a)
    await on_c.connect(c)
    engine = create_engine(cluster.database_url)
    try:
        with engine.begin() as conn:
            conn.execute(
                text(
                    "UPDATE consumers SET token_version = token_version + 1 WHERE external_id = :e"
                ),
                {"e": external},
            )
    finally:
        engine.dispose()
    for client in (on_a, on_c):
        await client.wait(lambda client=client: client.closed.is_set(), 15)
        assert client.ws.close_code == 4401
    async with httpx.AsyncClient(base_url=a.base_url) as http:  # the token is refused too
        response = await http.get("/api/sessions", headers={"authorization": f"Bearer {token}"})
        assert response.status_code == 401


def resyncs(client: Client) -> int:
    return sum(1 for f in client.frames if f.get("type") == "resync")


async def test_state_besides_sessions_is_fetched_again_after_a_resync(
    cluster: Cluster, live_redis: RedisServer
) -> None:
    """While Redis is down, an agent goes on a break through node b: its own socket (on a)
    and its supervisor's (on c) never hear the ``agent_status`` event. Once Redis is back
    each gets a ``resync`` event, on the socket it had (nothing resumed by hand); fetching
    again, as the web app does on it, gives the status as it is now, and messages still
    arrive once each, in order, on the same sockets."""
    a, b, c = cluster.nodes
    shop = await new_shop(a, agents=1, capacity=10)
    agent_token = shop.agents[0][1]
    agent_id = shop.agents[0][0]
    agent, owner = Client(agent_token), Client(shop.owner_token)
    buyer = Client(await consumer_token(a, f"mn-{os.urandom(3).hex()}"))
    await agent.connect(a)
    await owner.connect(c)
    await buyer.connect(a)
    session = (await buyer.send_and_ack("open", "你好", shop_id=shop.id))["session_id"]
    await agent.wait(lambda: session in agent.messages)
    before = {id(x): resyncs(x) for x in (agent, owner, buyer)}

    live_redis.kill()
    await asyncio.sleep(0.3)
    await post(b, "/api/agent/status", {"status": "break"}, agent_token)
    await asyncio.sleep(0.5)
    live_redis.start()

    for client in (agent, owner, buyer):
        await client.wait(lambda client=client: resyncs(client) > before[id(client)], 20)
    # The event itself was lost: only the fetch the resync asks for can tell.
    statuses = [
        f["status"]
        for x in (agent, owner)
        for f in x.frames
        if f.get("type") == "agent_status" and f["agent_id"] == agent_id
    ]
    assert "break" not in statuses
    response = await http_client(c).get(
        "/api/shop/members", headers={"authorization": f"Bearer {shop.owner_token}"}
    )
    assert response.status_code == 200, response.text
    (row,) = [m for m in response.json() if m["id"] == agent_id]
    assert row["status"] == "break"
    # The sockets are the same ones, and the messages go on from where they were.
    for client in (agent, owner, buyer):
        assert not client.closed.is_set()
        assert sum(1 for f in client.frames if f.get("op") == "resumed") == 1
    reply = await agent.send_and_ack("r1", "在的", session_id=session)
    await buyer.wait(lambda: reply["seq"] in buyer.seqs(session))
    assert buyer.seqs(session) == list(range(1, reply["seq"] + 1))
    assert buyer.duplicates == 0 and agent.duplicates == 0
    for client in (agent, owner, buyer):
        await client.close()
