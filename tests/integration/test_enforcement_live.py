"""Enforcement that the people it touches learn at once (docs/enforcement.md, protocol.md §15):
a shop's agents read what restricts them and hear each measure start, end by the clock or be
reversed; the robot forced on by a measure, which the shop cannot switch off; a consumer's
own standing; a recalled image for reviewers only."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from tests.integration.harness import FakeClock, MakeServer, Server, assigned_pair, login
from tests.integration.test_enforcement_consumers import blocked_violation
from tests.integration.test_enforcement_shop import flagged_message, violation_of

DAY = 86400
# Low thresholds: the first confirmed record (2 points) restricts, the second forces the robot.
POLICY = """
[measures.restriction]
days = 3
[measures.robot_forced]
days = 2
[[thresholds]]
points = 2
measure = "restriction"
[[thresholds]]
points = 4
measure = "robot_forced"
"""


@pytest.fixture
def policy_file(tmp_path: Path) -> Path:
    path = tmp_path / "enforcement.toml"
    path.write_text(POLICY, encoding="utf-8")
    return path


async def test_agents_learn_restrictions_live_and_the_robot_is_forced_on(
    make_server: MakeServer, policy_file: Path
) -> None:
    clock = FakeClock(time.time())
    server: Server = make_server(
        clock=clock,
        enforcement_policy_path=str(policy_file),
        webhook_poll_seconds=0.05,
        token_ttl_seconds=30 * DAY,
    )
    agent, _buyer, agent_ws, _buyer_ws, sid = await assigned_pair(server, "c-live")
    owner = await login(server, "shop1_owner")
    reviewer = await login(server, "reviewer", kind="staff")
    nothing = await agent.ok("GET", "/api/enforcement/restrictions")
    assert nothing["refused_features"] == [] and nothing["robot_forced_until"] is None

    # 1. A confirmed record crosses 2 points: a restriction. The agent (not a supervisor)
    #    hears it at once, before any send is refused, and can read it.
    ack = await flagged_message(agent_ws, sid, "v1")
    record = await violation_of(reviewer, ack["message_id"])
    await reviewer.ok("POST", f"/api/violations/{record['id']}/review", {"decision": "confirmed"})
    started = await agent_ws.expect(type="restrictions", change="started")
    restriction = started["measure"]
    assert restriction["measure"] == "restriction" and restriction["details"]["threshold"] == 2
    now = started["restrictions"]
    assert now["refused_features"] == ["card", "image"]
    assert now["holds"] == {"image": restriction["ends_at"], "card": restriction["ends_at"]}
    assert await agent.ok("GET", "/api/enforcement/restrictions") == now
    # Another shop's members read their own shop's (nothing), never shop 1's.
    other = await login(server, "shop2_agent1")
    assert (await other.ok("GET", "/api/enforcement/restrictions"))["refused_features"] == []
    assert (
        await other.get("/api/enforcement/restrictions", params={"shop_id": 1})
    ).status_code == 404

    # 2. The second crosses 4: the robot forced on. The mode is assist; the owner cannot
    #    switch it off (a clear refusal naming the end).
    ack = await flagged_message(agent_ws, sid, "v2")
    record = await violation_of(reviewer, ack["message_id"])
    await reviewer.ok("POST", f"/api/violations/{record['id']}/review", {"decision": "confirmed"})
    forced = await agent_ws.expect(type="restrictions", change="started")
    assert forced["measure"]["measure"] == "robot_forced"
    forced_until = forced["measure"]["ends_at"]
    assert forced["restrictions"]["robot_forced_until"] == forced_until
    mode = await owner.ok("GET", "/api/robot/mode")
    assert (mode["mode"], mode["manual_mode"], mode["forced_until"]) == (
        "assist",
        "off",
        forced_until,
    )
    assert (await agent.ok("GET", "/api/robot/mode"))["mode"] == "assist"
    refused = await owner.http.put("/api/robot/mode", json={"mode": "off"})
    assert refused.status_code == 409
    error = refused.json()["error"]
    assert error["code"] == "robot_held_by_measure" and error["params"]["until"]
    assert "智能辅助" in error["message"]
    # The shop may still choose full-auto (more robot, not less).
    assert (await owner.ok("PUT", "/api/robot/mode", {"mode": "full_auto"}))["mode"] == "full_auto"
    assert (await owner.ok("PUT", "/api/robot/mode", {"mode": "assist"}))["mode"] == "assist"

    # 3. The shop appeals the restriction; another reviewer grants it: reversed at once, and
    #    the agents hear it.
    appeal = await owner.ok(
        "POST",
        "/api/enforcement/appeals",
        {"target_kind": "measure", "target_id": restriction["id"], "text": "已整改"},
    )
    admin = await login(server, "admin", kind="staff")
    await admin.ok(
        "POST",
        f"/api/reviews/appeals/{appeal['id']}/decision",
        {"decision": "upheld", "reason": "属实"},
    )
    reversed_ = await agent_ws.expect(type="restrictions", change="reversed")
    assert reversed_["measure"]["id"] == restriction["id"]
    assert reversed_["restrictions"]["refused_features"] == []
    assert reversed_["restrictions"]["robot_forced_until"] == forced_until

    # 4. The robot forced on ends by the clock: the shop may switch it off again, and its
    #    end is told once — the agents, the inbox, the marketplace.
    clock.advance(2 * DAY + 60)
    ended = await agent_ws.expect(type="restrictions", change="ended")
    assert ended["measure"]["measure"] == "robot_forced" and ended["measure"]["ended_at"]
    assert ended["restrictions"]["robot_forced_until"] is None
    assert (await owner.ok("GET", "/api/robot/mode"))["forced_until"] is None
    assert (await owner.ok("PUT", "/api/robot/mode", {"mode": "off"}))["mode"] == "off"
    inbox = await owner.ok("GET", "/api/enforcement/inbox")
    assert [n["kind"] for n in inbox["notifications"]].count("measure_ended") == 1
    hooks = await admin.ok("GET", "/api/platform/webhooks")
    assert [h["event_type"] for h in hooks].count("measure_ended") == 1
    # Told once: the reversed restriction's end passes without a second word.
    clock.advance(DAY + 60)
    await asyncio.sleep(0.5)  # the end watch ticks every 0.05 s
    assert not [f for f in agent_ws.seen if f.get("type") == "restrictions"]
    inbox = await owner.ok("GET", "/api/enforcement/inbox")
    assert [n["kind"] for n in inbox["notifications"]].count("measure_ended") == 1


async def test_a_consumer_reads_their_own_standing(server: Server) -> None:
    _agent, buyer, _agent_ws, buyer_ws, sid = await assigned_pair(server, "c-standing")
    clear = await buyer.ok("GET", "/api/me/standing")
    assert clear["state"] == "ok" and clear["restriction"] is None
    assert clear["appeal"]["text"] and clear["appeal"]["text_en"]
    reviewer = await login(server, "reviewer", kind="staff")
    violation = await blocked_violation(buyer_ws, reviewer, sid, "s1", "加我刷单返现")
    decided = await reviewer.ok(
        "POST", f"/api/violations/{violation}/review", {"decision": "confirmed"}
    )
    standing = await buyer.ok("GET", "/api/me/standing")
    assert standing["state"] == "muted"
    held = standing["restriction"]
    assert held["kind"] == "mute" and held["ends_at"] == decided["sanction"]["ends_at"]
    assert held["categories"] == decided["categories"] and held["categories"]
    assert "客服" in standing["appeal"]["text"]
    # Only a consumer has a standing of its own.
    agent = await login(server, "shop1_agent1")
    assert (await agent.get("/api/me/standing")).status_code == 403
    lifted = f"/api/reviews/consumer-restrictions/{held['id']}/lift"
    await reviewer.ok("POST", lifted)
    assert (await buyer.ok("GET", "/api/me/standing"))["state"] == "ok"


async def test_a_recalled_image_opens_for_reviewers_only(server: Server) -> None:
    from tests.moderation.corpus_eval import render

    agent, buyer, agent_ws, buyer_ws, sid = await assigned_pair(server, "c-recall-img")
    data = render({"image_kind": "text", "content": "别家都是假货"})  # 2.2.10: delivered, reviewed
    upload = await agent.post(
        f"/api/sessions/{sid}/images", files={"file": ("a.png", data, "image/png")}
    )
    assert upload.status_code == 200, upload.text
    image_id = upload.json()["id"]
    await agent_ws.send(
        {
            "op": "send",
            "client_id": "img",
            "kind": "image",
            "content": {"image_id": image_id},
            "session_id": sid,
        }
    )
    ack = await agent_ws.expect(op="ack", client_id="img", timeout=20)  # OCR on a busy machine
    assert ack["moderation"]["action"] == "review", ack
    link = await buyer.ok("GET", f"/api/images/{image_id}/url")
    assert (await buyer.get(f"/api/images/{image_id}")).status_code == 200

    reviewer = await login(server, "reviewer", kind="staff")
    record = await violation_of(reviewer, ack["message_id"])
    await reviewer.ok("POST", f"/api/violations/{record['id']}/review", {"decision": "confirmed"})
    await buyer_ws.expect(type="recalled", message_id=ack["message_id"])

    # Gone for the session's participants: by token, by a link made before, by a new one.
    for api in (buyer, agent, await login(server, "shop1_owner")):
        assert (await api.get(f"/api/images/{image_id}")).status_code == 404
        assert (await api.get(f"/api/images/{image_id}/url")).status_code == 404
    assert (await buyer.http.get(link["url"], headers={"authorization": ""})).status_code == 404
    history = await buyer.ok("GET", f"/api/sessions/{sid}/messages")
    assert image_id not in str(history)
    # Reviewers still see the evidence, by token and by their own (scoped) link.
    assert (await reviewer.get(f"/api/images/{image_id}")).status_code == 200
    scoped = await reviewer.ok("GET", f"/api/images/{image_id}/url")
    assert "scope=review" in scoped["url"]
    opened = await buyer.http.get(scoped["url"], headers={"authorization": ""})
    assert opened.status_code == 200 and opened.content == data
    # The scope is signed: added to an ordinary link, it opens nothing.
    forged = await buyer.http.get(link["url"] + "&scope=review", headers={"authorization": ""})
    assert forged.status_code == 403
