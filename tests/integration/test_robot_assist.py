"""The robot's assist mode driven through the real server with its clock moved by the test
(docs/robot-modes.md, "Assist"; docs/rules.md §3 note 1): the agent's live suggestions, a
suggestion sent with a click, the robot's own reply after the set seconds — once per round —
counted in the live metrics like a human reply; and nothing at all while the robot is off."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from feige.store import migrate
from feige.store.db import create_db_engine
from tests.integration.harness import (
    Api,
    FakeClock,
    Server,
    Socket,
    consumer,
    fresh_database_url,
    login,
)
from tests.integration.test_assessment_store import MONDAY_10, SHOP1, small_platform
from tests.integration.test_robot_mode import LIVE, eventually, robot_server

__all__ = ["robot_server"]  # the fixture, shared with the mode's tests

SHIPPING = "下单后几天能发货呀"  # the platform default "多久发货", in the buyer's words
COURIER = "你们默认发哪家快递"  # the platform default "发什么快递"


async def _online_agent(server: Server) -> tuple[Api, Socket]:
    agent = await login(server, "shop1_agent1")
    await agent.ok("POST", "/api/agent/status", {"status": "online"})
    return agent, await agent.socket()


async def _quiet(ws: Socket, seconds: float = 0.6, **match: Any) -> None:
    """Nothing matching arrives for a while (the watch ticks every 0.05 s in these tests)."""
    with pytest.raises((AssertionError, TimeoutError, asyncio.TimeoutError)):
        await ws.expect(timeout=seconds, **match)


async def test_assist_suggests_the_agent_sends_one_and_the_robot_answers_once_in_time(
    robot_server: tuple[Server, FakeClock],
) -> None:
    server, clock = robot_server
    owner = await login(server, "shop1_owner")
    await owner.ok("PUT", "/api/robot/mode", {"mode": "assist"})
    agent, agent_ws = await _online_agent(server)
    buyer = await consumer(server, "c-assist")
    buyer_ws = await buyer.socket()

    # A buyer question: its suggestions reach the agent live, best first.
    sent = await buyer_ws.send_text("q1", SHIPPING, shop_id=SHOP1)
    sid = int(sent["session_id"])
    # (The shop's robot is built at its first question: allow a loaded machine time for it.)
    event = await agent_ws.expect(timeout=30, type="suggestions", session_id=sid)
    assert (event["seq"], event["message_id"]) == (sent["seq"], sent["message_id"])
    top = event["suggestions"][0]
    assert top["question"] == "多久发货" and "48小时" in top["answer"]
    confidences = [s["confidence"] for s in event["suggestions"]]
    assert confidences == sorted(confidences, reverse=True) and 0 < confidences[0] <= 1

    # The agent sends it with a click: the robot's reply in assist mode (docs/rules.md, sender
    # roles), under the agent's id, marked with the suggestion's question.
    clock.advance(5)
    ack = await agent_ws.send_text("a1", top["answer"], session_id=sid, suggestion=top["question"])
    assert ack["message"]["sender_role"] == "robot_assist"
    assert ack["message"]["sender_id"] == agent.id
    assert ack["message"]["content"] == {"text": top["answer"], "suggestion": "多久发货"}
    got = await buyer_ws.message(sender_role="robot_assist")
    assert got["content"]["suggestion"] == "多久发货"
    # Sent again under the same client id (a retry), it is the same message, not a second one.
    again = await agent_ws.send_text(
        "a1", top["answer"], session_id=sid, suggestion=top["question"]
    )
    assert again["duplicate"] is True and again["message_id"] == ack["message_id"]
    # A consumer cannot mark a message so; nor is a non-text a suggestion.
    await buyer_ws.send(
        {
            "op": "send",
            "client_id": "bad",
            "kind": "text",
            "content": {"text": "hi"},
            "session_id": sid,
            "suggestion": "多久发货",
        }
    )
    refused = await buyer_ws.expect(op="error", ref="bad")
    assert refused["code"] == "malformed"

    # Nobody answers the next question: after 20 s the robot does, as robot_assist, once.
    clock.advance(30)
    await buyer_ws.send_text("q2", COURIER, session_id=sid)
    event = await agent_ws.expect(type="suggestions", session_id=sid)
    assert event["suggestions"][0]["question"] == "发什么快递"
    clock.advance(19)
    await _quiet(buyer_ws, sender_role="robot_assist")
    clock.advance(1)
    reply = await buyer_ws.message(sender_role="robot_assist")
    assert reply["content"]["text"] == event["suggestions"][0]["answer"]
    assert reply["content"]["suggestion"] == "发什么快递"
    await agent_ws.message(sender_role="robot_assist")  # the agent sees it too
    clock.advance(60)
    await _quiet(buyer_ws, sender_role="robot_assist")  # never twice for one round

    # An agent who answers in time leaves the robot silent.
    await buyer_ws.send_text("q3", SHIPPING, session_id=sid)
    await agent_ws.expect(type="suggestions", session_id=sid, seq=sent["seq"] + 4)
    clock.advance(3)
    await agent_ws.send_text("a3", "亲，今天就发", session_id=sid)
    clock.advance(30)
    await _quiet(buyer_ws, sender_role="robot_assist")

    # The live metrics count the robot's reply as a human one: rounds of 5 s, 20 s and 3 s;
    # left unanswered, its round would count 600 s (docs/rules.md §3 note 2).
    await agent.ok("POST", f"/api/sessions/{sid}/close")
    clock.advance(5)

    async def counted() -> bool:
        live = await owner.ok("GET", "/api/metrics/live", params={"period": "today"})
        shops = live["shops"]
        if not shops or shops[0]["sessions"]["assessed"] != 1:
            return False
        m = shops[0]["metrics"]
        assert m["avg_response_seconds"]["denominator"] == 3
        assert m["avg_response_seconds"]["numerator"] == pytest.approx(5 + 20 + 3)
        assert m["no_service_rate"]["numerator"] == 0
        assert m["three_minute_reply_rate"]["numerator"] == 1
        return True

    await eventually(counted, seconds=15)


async def test_with_the_robot_off_nothing_is_suggested_nor_answered(
    robot_server: tuple[Server, FakeClock],
) -> None:
    server, clock = robot_server
    _, agent_ws = await _online_agent(server)
    buyer = await consumer(server, "c-off")
    buyer_ws = await buyer.socket()
    sid = (await buyer_ws.send_text("q1", SHIPPING, shop_id=SHOP1))["session_id"]
    await _quiet(agent_ws, type="suggestions")
    clock.advance(60)
    await _quiet(buyer_ws, sender_role="robot_assist")
    await _quiet(agent_ws, session_id=sid, type="message")


async def test_suggestions_fill_the_entry_card_and_follow_the_shops_knowledge(
    robot_server: tuple[Server, FakeClock],
) -> None:
    server, clock = robot_server
    owner = await login(server, "shop1_owner")
    await owner.ok("PUT", "/api/robot/mode", {"mode": "assist"})
    entry = {
        "question": "这款有现货吗",
        "similar_questions": ["有货吗", "还有库存吗"],
        "answer": "亲，{商品标题}现在有现货，{商品价格}元，今天下单今天发。",
        "category": "库存",
    }
    await owner.ok("PUT", "/api/knowledge", entry)
    _, agent_ws = await _online_agent(server)
    buyer = await consumer(server, "c-card")
    buyer_ws = await buyer.socket()
    card = {"kind": "product_card", "product_id": "p-1", "title": "羊毛围巾", "price": "199"}
    sent = await buyer_ws.send_text(
        "q1", "这个还有货吗", shop_id=SHOP1, entry="product", entry_card=card
    )
    sid = int(sent["session_id"])
    event = await agent_ws.expect(timeout=30, type="suggestions", session_id=sid)
    top = event["suggestions"][0]
    assert top["question"] == "这款有现货吗"
    assert top["answer"] == "亲，羊毛围巾现在有现货，199元，今天下单今天发。"

    # The shop changes the entry: the next question gets the new answer (the robot rebuilt).
    await owner.ok("PUT", "/api/knowledge", {**entry, "answer": "亲，{商品标题}已经卖完了。"})
    clock.advance(5)
    sent = await buyer_ws.send_text("q2", "还有库存吗", session_id=sid)
    event = await agent_ws.expect(timeout=30, type="suggestions", seq=sent["seq"])
    assert event["suggestions"][0]["answer"] == "亲，羊毛围巾已经卖完了。"


@pytest.fixture
def sweeping_server(tmp_path: Path) -> Iterator[tuple[Server, FakeClock]]:
    """The robot server, its sweep of what a dead node left (the ``robot_turns`` lease's
    job) running every 0.2 s."""
    url = fresh_database_url(tmp_path)
    engine = create_db_engine(url)
    migrate.upgrade(engine)
    with engine.begin() as conn:
        small_platform(conn)
    engine.dispose()
    clock = FakeClock(MONDAY_10)
    srv = Server(tmp_path, url, clock=clock, overrides={**LIVE, "robot_turn_recovery_seconds": 0.2})
    srv.start()
    yield srv, clock
    srv.stop()


async def test_a_reply_whose_timer_was_lost_is_given_by_the_sweep_once(
    sweeping_server: tuple[Server, FakeClock],
) -> None:
    """The node's timers are gone (as when the node that held them died): the sweep finds
    the round still the buyer's in the store once the reply is ``recovery`` seconds overdue,
    answers it once, and leaves alone the round an agent answered meanwhile."""
    server, clock = sweeping_server
    owner = await login(server, "shop1_owner")
    await owner.ok("PUT", "/api/robot/mode", {"mode": "assist"})
    _, agent_ws = await _online_agent(server)
    left, answered = await consumer(server, "c-left"), await consumer(server, "c-answered")
    left_ws, answered_ws = await left.socket(), await answered.socket()
    first = await left_ws.send_text("q1", SHIPPING, shop_id=SHOP1)
    second = await answered_ws.send_text("q2", SHIPPING, shop_id=SHOP1)
    suggested = await agent_ws.expect(
        timeout=30, type="suggestions", session_id=first["session_id"]
    )
    await agent_ws.expect(timeout=30, type="suggestions", session_id=second["session_id"])
    watch = server.app.state.ctx.robot_assist
    assert set(watch.pending) == {first["session_id"], second["session_id"]}
    watch.pending.clear()  # the timers die with their node

    clock.advance(3)
    await agent_ws.send_text("a2", "亲，今天就发", session_id=second["session_id"])
    clock.advance(17.1)  # 20.1 s: due, but only the sweep can answer now, 0.2 s later
    await _quiet(left_ws, sender_role="robot_assist")
    clock.advance(0.2)
    reply = await left_ws.message(timeout=10, sender_role="robot_assist")
    assert reply["content"] == {
        "text": suggested["suggestions"][0]["answer"],
        "suggestion": suggested["suggestions"][0]["question"],
    }
    for _ in range(3):  # more sweeps, later: never a second reply, none for the answered one
        clock.advance(5)
        await _quiet(left_ws, sender_role="robot_assist")
    await _quiet(answered_ws, sender_role="robot_assist")
