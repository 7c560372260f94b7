"""The merchant's enforcement loop through the real server (docs/enforcement.md; rules §4):
a violation confirmed → the message recalled on both sides + points → thresholds crossed →
measures in effect (a restricted shop really cannot send images), which expire by the clock;
the shop told in its inbox and live."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest

from tests.integration.harness import (
    Api,
    FakeClock,
    MakeServer,
    Server,
    Socket,
    assigned_pair,
    login,
    png,
)

# Low thresholds, so that a few confirmed records walk the whole ladder.
POLICY = """
[measures.restriction]
days = 3
[measures.deposit_withholding]
amount = 10000
[[thresholds]]
points = 2
measure = "warning"
[[thresholds]]
points = 4
measure = "restriction"
[[thresholds]]
points = 6
measure = "deposit_withholding"
[[thresholds]]
points = 8
measure = "order_close"
"""
MISUSE = "别家都是假货"  # 2.2.10 misuse: a shop's message delivered and queued for review
DAY = 86400


@pytest.fixture
def policy_file(tmp_path: Path) -> Path:
    path = tmp_path / "enforcement.toml"
    path.write_text(POLICY, encoding="utf-8")
    return path


async def flagged_message(agent_ws: Socket, sid: int, client_id: str) -> dict[str, Any]:
    ack = await agent_ws.send_text(client_id, MISUSE, session_id=sid)
    assert ack["moderation"]["action"] == "review", ack
    return ack


async def violation_of(reviewer: Api, message_id: int) -> dict[str, Any]:
    rows = await reviewer.ok("GET", "/api/violations", params={"status": "pending", "shop_id": 1})
    (row,) = [r for r in rows if r["message_id"] == message_id]
    return row


async def image_send(agent_ws: Socket, agent: Api, sid: int, client_id: str) -> dict[str, Any]:
    upload = await agent.http.post(
        f"/api/sessions/{sid}/images", files={"file": ("a.png", png(), "image/png")}
    )
    assert upload.status_code == 200, upload.text
    await agent_ws.send(
        {
            "op": "send",
            "client_id": client_id,
            "kind": "image",
            "content": {"image_id": upload.json()["id"]},
            "session_id": sid,
        }
    )
    return await agent_ws._find(
        lambda f: client_id in (f.get("client_id"), f.get("ref")), 5, client_id
    )


async def test_confirmed_violations_recall_add_points_and_walk_the_ladder(
    make_server: MakeServer, policy_file: Path
) -> None:
    clock = FakeClock(time.time())
    server: Server = make_server(enforcement_policy_path=str(policy_file))
    server.ctx.clock = clock
    agent, buyer, agent_ws, buyer_ws, sid = await assigned_pair(server, "c-enforce")
    owner = await login(server, "shop1_owner")
    owner_ws = await owner.socket()
    reviewer = await login(server, "reviewer", kind="staff")

    # 1. A flagged message is delivered; the reviewer confirms it: recalled on both sides.
    ack = await flagged_message(agent_ws, sid, "v1")
    assert (await buyer_ws.message(id=ack["message_id"]))["content"]["text"] == MISUSE
    record = await violation_of(reviewer, ack["message_id"])
    decided = await reviewer.ok(
        "POST", f"/api/violations/{record['id']}/review", {"decision": "confirmed"}
    )
    assert decided["points"] == 2
    assert [m["measure"] for m in decided["measures"]] == ["warning"]
    for ws in (buyer_ws, agent_ws):
        event = await ws.expect(type="recalled", message_id=ack["message_id"])
        assert event["message"]["kind"] == "recalled"
        assert event["message"]["content"]["text"] == "该消息因违规已被撤回"
        assert MISUSE not in str(event)
    history = await buyer.ok("GET", f"/api/sessions/{sid}/messages")
    (recalled,) = [m for m in history if m["id"] == ack["message_id"]]
    assert recalled["kind"] == "recalled" and MISUSE not in str(history)
    assert recalled["content"]["text_en"].startswith("This message was recalled")
    # The original stays for reviewers only; the shop sees its record without it.
    (kept,) = [v for v in await reviewer.ok("GET", "/api/violations") if v["id"] == record["id"]]
    assert kept["original"]["text"] == MISUSE
    assert MISUSE not in str(await owner.ok("GET", "/api/violations"))
    # The shop is told live and in its inbox.
    told = await owner_ws.expect(type="notification")
    assert told["notification"]["kind"] in ("violation_decided", "measure")
    inbox = await owner.ok("GET", "/api/enforcement/inbox")
    assert {n["kind"] for n in inbox["notifications"]} == {"violation_decided", "measure"}
    assert inbox["unread"] == 2

    # 2. The second confirmation crosses 4 points: a restriction, in effect in the product.
    ack = await flagged_message(agent_ws, sid, "v2")
    record = await violation_of(reviewer, ack["message_id"])
    decided = await reviewer.ok(
        "POST", f"/api/violations/{record['id']}/review", {"decision": "confirmed"}
    )
    (restriction,) = decided["measures"]
    assert restriction["measure"] == "restriction" and restriction["in_effect"] is True
    refused = await image_send(agent_ws, agent, sid, "img-refused")
    assert refused["op"] == "error" and refused["code"] == "feature_restricted"
    assert refused["params"]["feature"] == "image" and refused["params"]["until"]
    rest = await agent.post(
        "/api/messages",
        json={
            "client_id": "card-refused",
            "kind": "product_card",
            "content": {"product_id": "p1", "title": "商品", "price": "9.90"},
            "session_id": sid,
        },
    )
    assert rest.status_code == 403 and rest.json()["error"]["code"] == "feature_restricted"
    # Text still goes through.
    await agent_ws.send_text("text-ok", "您好", session_id=sid)
    standing = await owner.ok("GET", "/api/enforcement/standing")
    assert standing["points"] == 4 and standing["refused_features"] == ["card", "image"]

    # 3. The restriction ends by the clock on its own.
    clock.advance(3 * DAY + 60)
    agent = await login(server, "shop1_agent1")  # the earlier token may have expired
    agent_ws = await agent.socket()
    sent = await image_send(agent_ws, agent, sid, "img-after")
    assert sent["op"] == "ack", sent
    owner = await login(server, "shop1_owner")
    assert (await owner.ok("GET", "/api/enforcement/standing"))["refused_features"] == []
    # Its end is told once, by the server's own loop: the inbox (and the marketplace).
    kinds: list[str] = []
    for _ in range(100):
        inbox = await owner.ok("GET", "/api/enforcement/inbox")
        kinds = [n["kind"] for n in inbox["notifications"]]
        if "measure_ended" in kinds:
            break
        await asyncio.sleep(0.05)
    assert kinds.count("measure_ended") == 1
    (ended,) = [n for n in inbox["notifications"] if n["kind"] == "measure_ended"]
    assert ended["body"]["measure"]["id"] == restriction["id"]

    # 4. Two more: deposit withheld, then an order close requested from the marketplace.
    for n in (3, 4):
        ack = await flagged_message(agent_ws, sid, f"v{n}")
        reviewer = await login(server, "reviewer", kind="staff")
        record = await violation_of(reviewer, ack["message_id"])
        await reviewer.ok(
            "POST", f"/api/violations/{record['id']}/review", {"decision": "confirmed"}
        )
    deposit = await owner.ok("GET", "/api/enforcement/deposit")
    assert deposit["balance"] == -10000 and deposit["entries"][0]["measure_id"]
    measures = await owner.ok("GET", "/api/enforcement/measures")
    assert [m["measure"] for m in measures] == [
        "order_close",
        "deposit_withholding",
        "restriction",
        "warning",
    ]
    # Every points entry names the violation it comes from.
    ledger = await owner.ok("GET", "/api/enforcement/points")
    assert ledger["total"] == 8
    assert {e["source_kind"] for e in ledger["entries"]} == {"violation"}
    assert len({e["source_id"] for e in ledger["entries"]}) == 4
    # Another shop sees none of it.
    other = await login(server, "shop2_owner")
    assert (await other.get("/api/enforcement/points", params={"shop_id": 1})).status_code == 404
    assert (await other.ok("GET", "/api/enforcement/points"))["entries"] == []

    # 5. Appeals. The shop appeals the third violation (whose points withheld the deposit)
    #    with text and an image of its own; the reviewer who confirmed it may not decide.
    violations = await reviewer.ok("GET", "/api/violations", params={"shop_id": 1})
    mine = sorted(
        (v for v in violations if v["status"] == "confirmed" and v["kind"] == "message"),
        key=lambda v: v["id"],
    )[-4:]
    third, fourth = mine[2], mine[3]
    upload = await owner.http.post(
        f"/api/sessions/{sid}/images", files={"file": ("proof.png", png(), "image/png")}
    )
    appeal = await owner.ok(
        "POST",
        "/api/enforcement/appeals",
        {
            "target_kind": "violation",
            "target_id": third["id"],
            "text": "该消息是引用顾客原话，并非本店言论",
            "image_ids": [upload.json()["id"]],
        },
    )
    assert appeal["status"] == "pending" and appeal["images"] == [upload.json()["id"]]
    once = await owner.post(
        "/api/enforcement/appeals",
        json={"target_kind": "violation", "target_id": third["id"], "text": "再次申诉"},
    )
    assert once.status_code == 422 and once.json()["error"]["code"] == "appeal_closed"
    decide = f"/api/reviews/appeals/{appeal['id']}/decision"
    own = await reviewer.post(decide, json={"decision": "upheld", "reason": "复核"})
    assert own.status_code == 403 and own.json()["error"]["code"] == "own_decision"
    assert (await owner.post(decide, json={"decision": "upheld", "reason": "x"})).status_code == 403
    admin = await login(server, "admin", kind="staff")
    granted = await admin.ok("POST", decide, {"decision": "upheld", "reason": "引用顾客原话，撤销"})
    assert granted["status"] == "upheld"
    assert [m["measure"] for m in granted["reversed_measures"]] == ["deposit_withholding"]
    # Reversed: the points, the deposit withheld and the measure.
    ledger = await owner.ok("GET", "/api/enforcement/points")
    assert ledger["total"] == 6
    (reversal,) = [e for e in ledger["entries"] if e["source_kind"] == "appeal"]
    assert reversal["points"] == -2 and reversal["source_id"] == appeal["id"]
    assert (await owner.ok("GET", "/api/enforcement/deposit"))["balance"] == 0
    (deposit_measure,) = [
        m
        for m in await owner.ok("GET", "/api/enforcement/measures")
        if m["measure"] == "deposit_withholding"
    ]
    assert deposit_measure["reversed_at"] is not None
    (record,) = [v for v in await owner.ok("GET", "/api/violations") if v["id"] == third["id"]]
    assert record["status"] == "dismissed"
    kinds = [n["kind"] for n in (await owner.ok("GET", "/api/enforcement/inbox"))["notifications"]]
    assert kinds[:2] == ["appeal_decided", "measure_reversed"]

    # A measure can be appealed too; a rejection needs a reason and reverses nothing.
    (order_close,) = [
        m
        for m in await owner.ok("GET", "/api/enforcement/measures")
        if m["measure"] == "order_close"
    ]
    measure_appeal = await owner.ok(
        "POST",
        "/api/enforcement/appeals",
        {"target_kind": "measure", "target_id": order_close["id"], "text": "订单已正常履约"},
    )
    path = f"/api/reviews/appeals/{measure_appeal['id']}/decision"
    assert (await admin.post(path, json={"decision": "rejected", "reason": ""})).status_code == 422
    rejected = await admin.ok("POST", path, {"decision": "rejected", "reason": "证据不足"})
    assert rejected["status"] == "rejected" and rejected["reversed_measures"] == []
    assert (await owner.ok("GET", "/api/enforcement/points"))["total"] == 6
    listed = await owner.ok("GET", "/api/enforcement/appeals")
    assert [a["status"] for a in listed] == ["rejected", "upheld"]

    # Seven days after the decision, the window has closed.
    clock.advance(8 * DAY)
    owner = await login(server, "shop1_owner")
    late = await owner.post(
        "/api/enforcement/appeals",
        json={"target_kind": "violation", "target_id": fourth["id"], "text": "迟到的申诉"},
    )
    assert late.status_code == 422 and late.json()["error"]["code"] == "appeal_closed"


async def test_a_shop_reports_evidence_shows_a_recalled_messages_original_to_reviewers(
    make_server: MakeServer,
) -> None:
    """A session the shop reports holds a message recalled for a violation: the report's
    queue entry (``GET /api/reviews/reports/{id}``) shows reviewers its original, as a
    violation's evidence does; everyone else still reads only the notice."""
    server: Server = make_server()
    agent, buyer, agent_ws, buyer_ws, sid = await assigned_pair(server, "c-report-recall")
    reviewer = await login(server, "reviewer", kind="staff")
    ack = await flagged_message(agent_ws, sid, "r1")
    record = await violation_of(reviewer, ack["message_id"])
    await reviewer.ok("POST", f"/api/violations/{record['id']}/review", {"decision": "confirmed"})
    await buyer_ws.expect(type="recalled", message_id=ack["message_id"])
    await buyer_ws.send_text("b1", "你们怎么回事", session_id=sid)
    report = await agent.ok("POST", f"/api/sessions/{sid}/report", {"reason": "恶意骚扰"})
    (pending,) = [
        r
        for r in await reviewer.ok("GET", "/api/reviews/reports", params={"status": "pending"})
        if r["session_id"] == sid
    ]
    assert report["session"]["id"] == sid

    evidence = await reviewer.ok("GET", f"/api/reviews/reports/{pending['id']}")
    assert evidence["report"]["id"] == pending["id"] and evidence["session"]["id"] == sid
    by_id = {m["id"]: m for m in evidence["messages"]}
    recalled = by_id[ack["message_id"]]
    assert recalled["kind"] == "recalled"
    assert recalled["original"]["text"] == MISUSE
    assert recalled["violation_id"] == record["id"]
    others = [m for m in evidence["messages"] if m["id"] != ack["message_id"]]
    assert others and all("original" not in m for m in others)
    # Not for the shop, nor the buyer: their history keeps the notice only.
    owner = await login(server, "shop1_owner")
    assert (await owner.get(f"/api/reviews/reports/{pending['id']}")).status_code == 403
    assert MISUSE not in str(await owner.ok("GET", f"/api/sessions/{sid}/messages"))
    assert MISUSE not in str(await buyer.ok("GET", f"/api/sessions/{sid}/messages"))
    assert (await reviewer.get("/api/reviews/reports/999999")).status_code == 404
