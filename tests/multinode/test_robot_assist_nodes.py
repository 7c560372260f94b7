"""The assist robot's own reply across real nodes (docs/robot-modes.md, "Scale-out"): the
timer of a round lives on the node that committed the buyer's text; when that node is
killed before it fires, another node (the holder of the ``robot_turns`` lease) gives the
reply, once, and never for a round an agent answered meanwhile. Two nodes giving the same
reply at the same instant give it once (the session's row is held, on PostgreSQL)."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import create_engine

import feige.services.lib.robot_mode  # noqa: F401  (loaded first, as the app does: a cycle)
from feige.services.context import Outbox
from feige.services.lib import robot_assist
from tests.multinode.cluster import Client, Cluster, Node, consumer_token, http_client, new_shop
from tests.multinode.conftest import RedisServer
from tests.multinode.test_robot_nodes import rows

REPLY_SECONDS = 3  # robot_assist_reply_seconds, short for the test
SHIPPING = "下单后几天能发货呀"  # the platform default "多久发货", in the buyer's words


@pytest.fixture(scope="module")
def cluster(
    tmp_path_factory: pytest.TempPathFactory, pg_url: str, redis_server: RedisServer
) -> Iterator[Cluster]:
    settings = {
        "robot_assist_reply_seconds": str(REPLY_SECONDS),
        "robot_turn_recovery_seconds": "1",
    }
    nodes = Cluster(tmp_path_factory.mktemp("assist"), pg_url, redis_server.url, **settings)
    try:
        nodes.start("a", "b")
        yield nodes
    finally:
        nodes.stop()


async def put_mode(node: Node, token: str, mode: str) -> None:
    response = await http_client(node).put(
        "/api/robot/mode", json={"mode": mode}, headers={"authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200, response.text


def suggestions(client: Client, session_id: int) -> dict[str, Any] | None:
    found = [
        f for f in client.frames if f.get("type") == "suggestions" and f["session_id"] == session_id
    ]
    return found[0] if found else None


def assist_replies(url: str, session_id: int) -> list[tuple[Any, ...]]:
    return rows(
        url,
        "SELECT seq, content, created_at FROM messages WHERE session_id = :s"
        " AND sender_role = 'robot_assist' ORDER BY seq",
        s=session_id,
    )


async def test_an_auto_reply_left_by_a_killed_node_is_given_once(cluster: Cluster) -> None:
    """Two buyers write through node a, their agent is on b; a is killed (SIGKILL) before
    the replies are due. The agent answers one round; the other gets the robot's reply
    from b, once, after its due time, and its buyer finds it once on b."""
    a, b = cluster.nodes
    url = cluster.database_url
    shop = await new_shop(b, agents=1, capacity=10)
    await put_mode(b, shop.owner_token, "assist")
    agent = Client(shop.agents[0][1])
    await agent.connect(b)
    left = Client(await consumer_token(b, f"mn-{os.urandom(3).hex()}"))
    answered = Client(await consumer_token(b, f"mn-{os.urandom(3).hex()}"))
    await left.connect(a)
    await answered.connect(a)
    try:
        first = await left.send_and_ack("q1", SHIPPING, shop_id=shop.id)
        second = await answered.send_and_ack("q2", SHIPPING, shop_id=shop.id)
        s1, s2 = first["session_id"], second["session_id"]
        # Node a ranked both (its suggestions reached the agent): its timers are running.
        await agent.wait(
            lambda: suggestions(agent, s1) is not None and suggestions(agent, s2) is not None, 30
        )
        a.kill()
        killed_at = time.time()
        assert killed_at - first["message"]["created_at"] < REPLY_SECONDS
        await agent.send_and_ack("r2", "亲，今天就发", session_id=s2)

        deadline = time.monotonic() + 30
        while not assist_replies(url, s1):
            assert time.monotonic() < deadline, "the dead node's auto-reply was never given"
            await asyncio.sleep(0.25)
        await asyncio.sleep(4)  # more sweeps, on every node left: no second reply
        (reply,) = assist_replies(url, s1)
        top = suggestions(agent, s1)["suggestions"][0]  # type: ignore[index]
        assert reply[1] == {"text": top["answer"], "suggestion": top["question"]}
        assert reply[2] - first["message"]["created_at"] >= REPLY_SECONDS
        assert assist_replies(url, s2) == []  # the agent answered that round

        # The buyer, reconnected to b, resumes: the reply is there once.
        await left.connect(b)
        await left.wait(lambda: reply[0] in left.seqs(s1), 15)
        assert left.texts_from(s1, "robot_assist") == [top["answer"]]
        assert left.duplicates == 0
    finally:
        for client in (agent, left, answered):
            await client.close()
        cluster.revive()


async def test_two_nodes_replying_at_once_reply_once(cluster: Cluster) -> None:
    """The same round's reply given by two transactions at the same instant (a node's timer
    and another's sweep), on PostgreSQL: the second waits for the session's row, then finds
    the round answered."""
    _, b = cluster.nodes
    url = cluster.database_url
    shop = await new_shop(b, agents=1, capacity=10)
    await put_mode(b, shop.owner_token, "assist")
    buyer = Client(await consumer_token(b, f"mn-{os.urandom(3).hex()}"))
    await buyer.connect(b)
    # A text no suggestion is confident for: no node replies to it by itself.
    sent = await buyer.send_and_ack("q", f"嗯 {os.urandom(2).hex()}", shop_id=shop.id)
    await buyer.close()
    session, seq = sent["session_id"], sent["seq"]
    engine = create_engine(url)
    results: list[Any] = []
    try:
        holder = engine.connect()
        first_tx = holder.begin()
        now = time.time()
        got = robot_assist.auto_reply(holder, Outbox(), session, seq, "q", "答", now)
        assert got is not None

        def second() -> None:
            with engine.begin() as conn:
                results.append(
                    robot_assist.auto_reply(conn, Outbox(), session, seq, "q", "答", now)
                )

        racer = threading.Thread(target=second)
        racer.start()
        await asyncio.sleep(1)
        assert racer.is_alive()  # waiting for the first transaction's hold on the row
        first_tx.commit()
        holder.close()
        racer.join(10)
        assert results == [None]
        assert len(assist_replies(url, session)) == 1
    finally:
        engine.dispose()
