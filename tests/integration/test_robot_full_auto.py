"""The full-auto robot driven through the real server with its clock moved by the test
(docs/robot-modes.md, "Full-auto"; docs/rules.md 2.1, §3 (1) "At the human entry", §3 note 1):
sessions start with the robot, which answers from the knowledge base; each hand-over trigger
(转人工 in words, an interception word — the shop's own —, two unanswered questions in a row,
anger, the 转人工 button, the shop leaving full-auto) sends the session to an agent; the round
the buyer left pending starts at the human entry; robot-only sessions stay out of the shop's
metrics and their ratings are the robot's own satisfaction."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.integration.harness import Api, FakeClock, Server, Socket, consumer, login
from tests.integration.test_assessment_store import SHOP1
from tests.integration.test_robot_mode import eventually, robot_server

__all__ = ["robot_server"]  # the fixture, shared with the mode's tests

SHIPPING = "下单后几天能发货呀"  # the platform default "多久发货", in the buyer's words
COURIER = "你们默认发哪家快递"  # the platform default "发什么快递"
# Two questions no entry answers (tests/robot/corpus.jsonl: must not be answered).
CHITCHAT = ("今天天气怎么样", "讲个笑话")
# What waiting for a frame that never comes raises.
QUIET = (AssertionError, TimeoutError, asyncio.TimeoutError)


async def _full_auto(server: Server) -> Api:
    owner = await login(server, "shop1_owner")
    mode = await owner.ok("PUT", "/api/robot/mode", {"mode": "full_auto"})
    assert mode["mode"] == "full_auto"
    return owner


async def _online_agent(server: Server) -> tuple[Api, Socket]:
    agent = await login(server, "shop1_agent1")
    await agent.ok("POST", "/api/agent/status", {"status": "online"})
    return agent, await agent.socket()


async def _buyer(server: Server, external: str) -> tuple[Api, Socket]:
    buyer = await consumer(server, external)
    return buyer, await buyer.socket()


async def _robot_answers(ws: Socket, sid: int, timeout: float = 5.0) -> dict[str, Any]:
    return await ws.message(timeout=timeout, session_id=sid, sender_role="robot")


async def _live(owner: Api) -> dict[str, Any]:
    live = await owner.ok("GET", "/api/metrics/live", params={"period": "today"})
    return live["shops"][0] if live["shops"] else {}


async def test_the_robot_receives_answers_and_hands_over_when_asked_the_round_starting_at_entry(
    robot_server: tuple[Server, FakeClock],
) -> None:
    server, clock = robot_server
    owner = await _full_auto(server)
    agent, agent_ws = await _online_agent(server)
    buyer, ws = await _buyer(server, "c-fa-1")

    # The session starts with the robot: state robot, no agent, a greeting notice.
    sent = await ws.send_text("q1", SHIPPING, shop_id=SHOP1)
    sid = int(sent["session_id"])
    session = await buyer.ok("GET", f"/api/sessions/{sid}")
    assert (session["state"], session["agent_id"]) == ("robot", None)
    answer = await _robot_answers(ws, sid, timeout=30)  # the shop's robot is built first
    assert answer["sender_id"] is None and "48小时" in answer["content"]["text"]
    assert answer["content"]["question"] == "多久发货"
    # The robot read the question it answered: 已读 beside it, as after an agent's answer.
    read = await ws.expect(type="read", session_id=sid)
    assert (read["reader"], read["seq"]) == ("member", answer["seq"] - 1)
    assert (await buyer.ok("GET", f"/api/sessions/{sid}"))["agent_read_seq"] == read["seq"]
    # The agent is not told of a session the robot serves; the owner sees it.
    with pytest.raises(QUIET):
        await agent_ws.expect(timeout=0.5, type="session", change="robot")
    assert (await owner.ok("GET", f"/api/sessions/{sid}"))["state"] == "robot"
    assert (await agent.get(f"/api/sessions/{sid}")).status_code == 404

    # A second question, answered too; then the buyer asks for a person in words.
    clock.advance(10)
    await ws.send_text("q2", COURIER, session_id=sid)
    assert (await _robot_answers(ws, sid))["content"]["question"] == "发什么快递"
    clock.advance(10)
    await ws.send_text("q3", "转人工", session_id=sid)
    handover = await ws.expect(type="handover", session_id=sid)
    assert (handover["reason"], handover["pending"]) == ("requested", True)
    assert handover["session"]["state"] == "assigned"
    assert handover["session"]["agent_id"] == agent.id
    entry_at = handover["at"]
    # The agent gets the session, the hand-over's reason, and the robot's conversation.
    await agent_ws.expect(type="handover", session_id=sid, reason="requested")
    history = await agent.ok("GET", f"/api/sessions/{sid}/messages")
    roles = [m["sender_role"] for m in history]
    assert roles[:6] == ["system", "buyer", "robot", "buyer", "robot", "buyer"]
    notice = next(m for m in history if m["content"].get("handover"))
    assert notice["sender_role"] == "system"
    assert notice["content"]["handover"] == {"reason": "requested", "detail": None, "pending": True}
    # The event record: no human entry before the hand-over, then assigned.
    events = await owner.ok("GET", f"/api/sessions/{sid}/events")
    types = [e["type"] for e in events if e["type"] != "message"]
    assert types == ["open", "assigned"]
    assert next(e for e in events if e["type"] == "assigned")["ts"] == entry_at

    # The robot says nothing more; the agent answers 30 s after the entry. The pending round
    # ("转人工", unanswered) started at the entry, not at the buyer's message 0 s before; the
    # robot's earlier rounds count nowhere.
    clock.advance(30)
    await agent_ws.send_text("a1", "您好，我是小红", session_id=sid)
    await ws.message(session_id=sid, sender_role="agent")
    clock.advance(5)
    await ws.send_text("q4", "好的谢谢", session_id=sid)
    with pytest.raises(QUIET):
        await _robot_answers(ws, sid, timeout=0.5)
    await agent.ok("POST", f"/api/sessions/{sid}/close")

    async def counted() -> bool:
        shop = await _live(owner)
        if not shop or shop["sessions"]["assessed"] != 1:
            return False
        assert shop["sessions"]["pure_robot"] == 0 and shop["sessions"]["human"] == 1
        m = shop["metrics"]
        # Rounds: the pending one (30 s) and "好的谢谢", never answered (600 s, note 2).
        assert m["avg_response_seconds"]["denominator"] == 2
        assert m["avg_response_seconds"]["numerator"] == pytest.approx(30 + 600)
        return True

    await eventually(counted, seconds=15)


async def test_every_hand_over_trigger(robot_server: tuple[Server, FakeClock]) -> None:
    server, _ = robot_server
    owner = await _full_auto(server)
    agent, agent_ws = await _online_agent(server)
    # The shop's own interception words replace the platform's: 投诉 no longer intercepts.
    words = await owner.ok("GET", "/api/robot/interception-words")
    assert words["custom"] is False and "投诉" in words["words"]
    put = await owner.ok("PUT", "/api/robot/interception-words", {"words": ["退款太慢", "消协"]})
    assert (put["custom"], put["words"]) == (True, ["退款太慢", "消协"])
    refused = await agent.http.put("/api/robot/interception-words", json={"words": ["x"]})
    assert refused.status_code == 403
    bad = await owner.http.put("/api/robot/interception-words", json={"words": ["x" * 21]})
    assert bad.status_code == 422

    async def opened(external: str, first: str) -> tuple[Api, Socket, int]:
        buyer, ws = await _buyer(server, external)
        sid = int((await ws.send_text("q0", first, shop_id=SHOP1))["session_id"])
        return buyer, ws, sid

    # Warm the shop's robot once (built at its first question).
    _, ws0, sid0 = await opened("c-warm", SHIPPING)
    await _robot_answers(ws0, sid0, timeout=30)

    # An interception word of the shop's.
    _, ws, sid = await opened("c-word", "你们退款太慢了吧")
    event = await ws.expect(type="handover", session_id=sid)
    assert (event["reason"], event["detail"], event["pending"]) == ("intercepted", "退款太慢", True)
    await agent_ws.expect(type="handover", session_id=sid, reason="intercepted")

    # Anger (the anger lexicon, or !!!).
    _, ws, sid = await opened("c-angry", "气死我了，怎么还不发货")
    event = await ws.expect(type="handover", session_id=sid)
    assert (event["reason"], event["detail"]) == ("anger", "气死")
    _, ws, sid = await opened("c-shout", "到底发不发货！！！")
    assert (await ws.expect(type="handover", session_id=sid))["reason"] == "anger"

    # Two questions in a row the robot cannot answer: the first gets a notice (a system
    # message, never a holding reply), the second hands over.
    _, ws, sid = await opened("c-miss", CHITCHAT[0])
    notice = await ws.message(session_id=sid, sender_role="system", seq=3)
    assert "转人工" in notice["content"]["text"]
    await ws.send_text("q1", CHITCHAT[1], session_id=sid)
    event = await ws.expect(type="handover", session_id=sid)
    assert (event["reason"], event["detail"], event["pending"]) == ("unanswered", "2", True)

    # An answer between two misses starts the count again.
    _, ws, reset_sid = await opened("c-reset", CHITCHAT[0])
    await ws.message(session_id=reset_sid, sender_role="system", seq=3)
    await ws.send_text("q1", SHIPPING, session_id=reset_sid)
    await _robot_answers(ws, reset_sid)
    await ws.send_text("q2", CHITCHAT[1], session_id=reset_sid)
    await ws.message(session_id=reset_sid, sender_role="system", seq=7)
    with pytest.raises(QUIET):
        await ws.expect(timeout=0.5, type="handover", session_id=reset_sid)

    # The 转人工 button, after an answered question: nothing is pending.
    buyer, ws, sid = await opened("c-button", SHIPPING)
    await _robot_answers(ws, sid)
    pressed = await buyer.ok("POST", f"/api/sessions/{sid}/handover")
    assert pressed["handover"] == {"reason": "button", "detail": None, "pending": False}
    assert pressed["session"]["state"] == "assigned"
    event = await ws.expect(type="handover", session_id=sid)
    assert event["reason"] == "button"
    again = await buyer.ok("POST", f"/api/sessions/{sid}/handover")  # pressed twice
    assert again["handover"] is None and again["session"]["state"] == "assigned"
    # Not the buyer's to press for a session that never had the robot, nor for an agent.
    assert (await agent.post(f"/api/sessions/{sid}/handover")).status_code == 403
    other, _ = await _buyer(server, "c-other")
    assert (await other.post(f"/api/sessions/{sid}/handover")).status_code == 404

    # 投诉 is no longer an interception word of this shop: the robot reads it as a question.
    _, ws, sid = await opened("c-complain", "投诉")
    with pytest.raises(QUIET):
        await ws.expect(timeout=0.5, type="handover", session_id=sid)

    # The shop leaves full-auto: every session the robot still serves goes to a person.
    await owner.ok("PUT", "/api/robot/mode", {"mode": "off"})
    for waiting in (sid0, reset_sid, sid):
        event = await agent_ws.expect(type="handover", session_id=waiting)
        assert event["reason"] == "mode_changed"
    # A new session is routed as before.
    _, ws, sid = await opened("c-after", SHIPPING)
    session = await owner.ok("GET", f"/api/sessions/{sid}")
    assert (session["state"], session["agent_id"]) == ("assigned", agent.id)

    # The robot's figures: every session received, and hand-overs by reason.
    report = await owner.ok("GET", "/api/robot/satisfaction", params={"period": "today"})
    shop = report["shops"][0]
    assert shop["handovers"] == {
        "anger": 2,
        "button": 1,
        "intercepted": 1,
        "mode_changed": 3,
        "unanswered": 1,
    }
    assert shop["sessions"] == {"received": 8, "robot_only": 0, "handed_over": 8}


async def test_the_pending_round_starts_when_an_agent_takes_the_offline_session(
    robot_server: tuple[Server, FakeClock],
) -> None:
    """Nobody online at the hand-over: the session is an offline message; its human entry
    (docs/rules.md 2.1) and the pending round start then, not at the buyer's question."""
    server, clock = robot_server
    owner = await _full_auto(server)
    _, ws = await _buyer(server, "c-pending")
    sid = int((await ws.send_text("q1", SHIPPING, shop_id=SHOP1))["session_id"])
    await _robot_answers(ws, sid, timeout=30)
    clock.advance(20)
    await ws.send_text("q2", "人工", session_id=sid)
    event = await ws.expect(type="handover", session_id=sid)
    assert (event["session"]["state"], event["pending"]) == ("offline", True)
    clock.advance(40)
    agent, agent_ws = await _online_agent(server)
    await agent.ok("POST", f"/api/sessions/{sid}/take")
    clock.advance(15)
    await agent_ws.send_text("a1", "在的亲", session_id=sid)
    await agent.ok("POST", f"/api/sessions/{sid}/close")

    async def counted() -> bool:
        shop = await _live(owner)
        if not shop or shop["sessions"]["assessed"] != 1:
            return False
        m = shop["metrics"]
        # One round, from the entry (the offline hand-over) to the answer: 40 + 15 s.
        assert m["avg_response_seconds"]["denominator"] == 1
        assert m["avg_response_seconds"]["numerator"] == pytest.approx(55)
        assert m["no_service_rate"]["numerator"] == 0  # taken within 15 minutes
        return True

    await eventually(counted, seconds=15)


async def test_robot_only_sessions_stay_out_of_the_metrics_and_are_rated_apart(
    robot_server: tuple[Server, FakeClock],
) -> None:
    server, clock = robot_server
    owner = await _full_auto(server)
    agent, agent_ws = await _online_agent(server)

    # A robot-only session: answered, rated 2 (dissatisfied), never handed over.
    buyer, ws = await _buyer(server, "c-only")
    robot_sid = int((await ws.send_text("q1", SHIPPING, shop_id=SHOP1))["session_id"])
    await _robot_answers(ws, robot_sid, timeout=30)
    await buyer.ok("POST", f"/api/sessions/{robot_sid}/rating", {"score": 2})

    # A human session (handed over by the button), answered at once and rated 5.
    human, hws = await _buyer(server, "c-human")
    human_sid = int((await hws.send_text("q1", COURIER, shop_id=SHOP1))["session_id"])
    await _robot_answers(hws, human_sid)
    await human.ok("POST", f"/api/sessions/{human_sid}/handover")
    clock.advance(5)
    await hws.send_text("q2", "能发顺丰吗", session_id=human_sid)
    clock.advance(10)
    await agent_ws.send_text("a1", "可以的", session_id=human_sid)
    await human.ok("POST", f"/api/sessions/{human_sid}/rating", {"score": 5})

    await agent.ok("POST", f"/api/sessions/{human_sid}/close")

    async def counted() -> bool:
        shop = await _live(owner)
        if not shop or shop["sessions"]["total"] != 2:
            return False
        assert shop["sessions"]["pure_robot"] == 1
        assert shop["sessions"]["human"] == 1 and shop["sessions"]["assessed"] == 1
        m = shop["metrics"]
        # Only the human session's rating: 0 of 1 dissatisfied; one round of 10 s.
        dissatisfied = m["dissatisfaction_rate"]
        assert (dissatisfied["numerator"], dissatisfied["denominator"]) == (0, 1)
        assert m["avg_response_seconds"]["denominator"] == 1
        assert m["avg_response_seconds"]["numerator"] == pytest.approx(10)
        return True

    await eventually(counted, seconds=15)

    # The robot's own satisfaction: the robot-only session's 2, dissatisfied.
    report = await owner.ok("GET", "/api/robot/satisfaction", params={"period": "today"})
    shop = report["shops"][0]
    assert shop["sessions"] == {"received": 2, "robot_only": 1, "handed_over": 1}
    sat = shop["satisfaction"]
    assert sat["rated"] == 1 and sat["scores"]["2"] == 1
    assert sat["dissatisfaction_rate"]["value"] == 1.0
    assert sat["average_score"]["value"] == 2.0
    # Agents may not read it; another shop's owner reads only its own.
    assert (await agent.get("/api/robot/satisfaction")).status_code == 403
    other = await login(server, "shop2_owner")
    theirs = await other.ok("GET", "/api/robot/satisfaction", params={"period": "today"})
    assert theirs["shops"][0]["sessions"]["received"] == 0
    assert (
        await other.get("/api/robot/satisfaction", params={"shop_id": SHOP1})
    ).status_code == 404

    # The event log of the robot-only session has no human entry: a pure-robot session in
    # the docs/interfaces.md vocabulary.
    events = await owner.ok("GET", f"/api/sessions/{robot_sid}/events")
    assert {e["type"] for e in events} == {"open", "message", "rated"}
    assert {e["role"] for e in events if e["type"] == "message"} == {"system", "buyer", "robot"}
