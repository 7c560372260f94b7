"""The robot across real nodes (docs/robot-modes.md, "Across nodes"): the rolling window of
rule 2.2.1 is the store's, whichever nodes the buyer's message and the answer went through,
and one node decides the switch; a full-auto turn whose node died before taking it is taken
by another node, once."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
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

CAP = 4  # seconds an unanswered round counts (response_cap_seconds), short for the test


@pytest.fixture(scope="module")
def cluster(
    tmp_path_factory: pytest.TempPathFactory, pg_url: str, redis_server: RedisServer
) -> Iterator[Cluster]:
    settings = {
        "assessment_hours_start": "00:00:00",  # every round is inside assessment hours
        "assessment_hours_end": "23:59:59",
        "response_cap_seconds": str(CAP),
        "robot_switch_on_above_seconds": "2",
        "robot_switch_off_at_or_below_seconds": "1",
        "robot_window_min_rounds": "3",
        "robot_turn_recovery_seconds": "1",
    }
    nodes = Cluster(tmp_path_factory.mktemp("robot"), pg_url, redis_server.url, **settings)
    try:
        nodes.start("a", "b", "c")
        yield nodes
    finally:
        nodes.stop()


async def get(node: Node, path: str, token: str) -> Any:
    response = await http_client(node).get(path, headers={"authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    return response.json()


def rows(url: str, sql: str, **params: object) -> list[tuple[Any, ...]]:
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            return [tuple(r) for r in conn.execute(text(sql), params)]
    finally:
        engine.dispose()


async def test_rounds_answered_on_another_node_never_switch_the_robot_on(
    cluster: Cluster,
) -> None:
    """Buyers write through node a, the agent answers at once through node b: node a alone
    would see every round unanswered (and switch assist on after the cap); the store's
    window, the same on every node, sees them answered."""
    a, b, c = cluster.nodes
    shop = await new_shop(a, agents=1, capacity=10)
    agent = Client(shop.agents[0][1])
    await agent.connect(b)
    for i in range(4):
        buyer = Client(await consumer_token(a, f"mn-{os.urandom(3).hex()}"))
        await buyer.connect(a)
        session = (await buyer.send_and_ack("open", f"在吗 {i}", shop_id=shop.id))["session_id"]
        await agent.wait(lambda s=session: s in agent.messages)
        await agent.send_and_ack(f"r{i}", "在的，您说", session_id=session)
        await buyer.close()
    # Every node's figure comes to the store's (rebuilt every 10 s by default) …
    deadline = time.monotonic() + 30
    for node in cluster.nodes:
        while (mode := await get(node, "/api/robot/mode", shop.owner_token))["window"][
            "rounds"
        ] < 4:
            assert time.monotonic() < deadline, mode
            await asyncio.sleep(0.5)
        assert mode["window"]["rounds"] == 4, mode
        assert mode["window"]["average_seconds"] < 2, mode
    await asyncio.sleep(CAP + 2)  # … and unanswered rounds would have expired by now
    for node in cluster.nodes:
        assert (await get(node, "/api/robot/mode", shop.owner_token))["rule_on"] is False
    assert await get(c, "/api/robot/switches", shop.owner_token) == []
    await agent.close()


async def test_slow_rounds_spread_over_nodes_switch_it_on_once(cluster: Cluster) -> None:
    """Three buyers, each through another node, left unanswered: no node alone has the
    rule's three rounds; the store has, and one node switches assist on, once."""
    shop = await new_shop(cluster.nodes[0], agents=1, capacity=10)
    for node in cluster.nodes:
        token = await consumer_token(node, f"mn-{os.urandom(3).hex()}")
        body = {"client_id": "q", "kind": "text", "content": {"text": "请问发货了吗"}}
        await post(node, "/api/messages", {**body, "shop_id": shop.id}, token)
    deadline = time.monotonic() + CAP + 20
    while True:
        mode = await get(cluster.nodes[1], "/api/robot/mode", shop.owner_token)
        if mode["rule_on"]:
            break
        assert time.monotonic() < deadline, mode
        await asyncio.sleep(0.5)
    await asyncio.sleep(3)  # every node has had its chance to decide
    switches = await get(cluster.nodes[2], "/api/robot/switches", shop.owner_token)
    by_rule = [s for s in switches if s["cause"] == "rule"]
    assert len(by_rule) == 1 and by_rule[0]["rule_on"] is True, switches
    assert by_rule[0]["rounds"] == 3 and by_rule[0]["average_seconds"] > 2, switches
    deadline = time.monotonic() + 15
    for node in cluster.nodes:  # the same figure everywhere (at most 10 s old)
        while (mode := await get(node, "/api/robot/mode", shop.owner_token))["window"][
            "rounds"
        ] != 3:
            assert time.monotonic() < deadline, mode
            await asyncio.sleep(0.5)
        assert mode["rule_on"] is True


async def test_a_full_auto_turn_left_by_a_dead_node_is_taken_once(cluster: Cluster) -> None:
    a, b, _ = cluster.nodes
    shop = await new_shop(b, agents=0, capacity=10)
    await put_mode(b, shop.owner_token, "full_auto")
    buyer = Client(await consumer_token(b, f"mn-{os.urandom(3).hex()}"))
    await buyer.connect(b)
    opened = await buyer.send_and_ack("open", "发货要多久", shop_id=shop.id)
    session = opened["session_id"]
    await buyer.wait(lambda: max(buyer.seqs(session)) > opened["seq"], 15)  # the robot's turn
    # Node a commits the buyer's next message and dies before the robot's turn: as it
    # leaves the store (the session row and the message, in one transaction).
    url = cluster.database_url
    (last,) = rows(url, "SELECT last_seq FROM sessions WHERE id = :s", s=session)[0]
    seq, now = int(last) + 1, time.time()
    rows(
        url,
        "WITH s AS (UPDATE sessions SET last_seq = :seq, last_activity_at = :now WHERE id = :s"
        " RETURNING consumer_id)"
        " INSERT INTO messages (session_id, seq, sender_role, sender_id, kind, content,"
        " client_id, created_at) SELECT :s, :seq, 'buyer', consumer_id, 'text',"
        " CAST(:content AS json), 'lost-turn', :now FROM s RETURNING id",
        s=session,
        seq=seq,
        now=now,
        content=orjson.dumps({"text": "什么时候发货"}).decode(),
    )
    a.kill()
    try:
        # Another node takes the turn: an answer (or the robot's notice) follows the message.
        deadline = time.monotonic() + 20
        while not rows(
            url, "SELECT 1 FROM messages WHERE session_id = :s AND seq > :q", s=session, q=seq
        ):
            assert time.monotonic() < deadline, "the lost turn was never taken"
            await asyncio.sleep(0.25)
        taken = rows(url, "SELECT seq FROM messages WHERE session_id = :s", s=session)
        await asyncio.sleep(3)  # more sweeps: the turn is not taken again
        after = rows(
            url,
            "SELECT sender_role, content FROM messages WHERE session_id = :s AND seq > :q",
            s=session,
            q=seq,
        )
        assert len(rows(url, "SELECT seq FROM messages WHERE session_id = :s", s=session)) == len(
            taken
        )
        answers = [c for role, c in after if role == "robot" and c.get("reply_to") == seq]
        assert len(answers) <= 1 and (answers or after[0][0] == "system"), after
        (turn_seq,) = rows(
            url, "SELECT last_turn_seq FROM robot_sessions WHERE session_id = :s", s=session
        )[0]
        assert turn_seq == seq
        await buyer.wait(lambda: seq + 1 in buyer.seqs(session), 10)  # and the buyer sees it
    finally:
        await buyer.close()
        cluster.revive()


async def put_mode(node: Node, token: str, mode: str) -> None:
    response = await http_client(node).put(
        "/api/robot/mode", json={"mode": mode}, headers={"authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200, response.text
