"""Consumers (docs/rules.md 4.2, docs/enforcement.md): a verified violation mutes the
account for a time, a repeat bans it; a muted or banned consumer is refused with a typed
error (REST and socket), told live, and a reviewer can lift it; the record lists it all."""

from __future__ import annotations

import time
from typing import Any

from tests.integration.harness import (
    Api,
    FakeClock,
    MakeServer,
    Socket,
    assigned_pair,
    consumer,
    login,
)

DAY = 86400


async def blocked_violation(buyer_ws: Socket, reviewer: Api, sid: int, ref: str, text: str) -> int:
    await buyer_ws.send(
        {
            "op": "send",
            "client_id": ref,
            "kind": "text",
            "content": {"text": text},
            "session_id": sid,
        }
    )
    assert (await buyer_ws.expect(op="error", ref=ref))["code"] == "blocked"
    rows = await reviewer.ok("GET", "/api/violations", params={"status": "pending", "shop_id": 1})
    return int(next(r["id"] for r in rows if r["sender_role"] == "buyer"))


async def refused(buyer_ws: Socket, sid: int, ref: str) -> dict[str, Any]:
    await buyer_ws.send(
        {
            "op": "send",
            "client_id": ref,
            "kind": "text",
            "content": {"text": "在吗"},
            "session_id": sid,
        }
    )
    return await buyer_ws.expect(op="error", ref=ref)


async def test_consumer_spam_mutes_then_bans_and_a_reviewer_lifts(make_server: MakeServer) -> None:
    clock = FakeClock(time.time())
    server = make_server()
    server.ctx.clock = clock
    _agent, buyer, agent_ws, buyer_ws, sid = await assigned_pair(server, "c-spammer")
    reviewer = await login(server, "reviewer", kind="staff")

    # 1. Blocked spam, verified: the account is muted for the policy's 7 days.
    violation = await blocked_violation(buyer_ws, reviewer, sid, "s1", "加我刷单返现")
    decided = await reviewer.ok(
        "POST", f"/api/violations/{violation}/review", {"decision": "confirmed"}
    )
    assert decided["sanction"]["kind"] == "mute" and decided["sanction"]["in_effect"]
    told = await buyer_ws.expect(type="account_restricted")
    assert told["restriction"]["kind"] == "mute"
    error = await refused(buyer_ws, sid, "after-mute")
    assert error["code"] == "consumer_muted" and error["params"]["until"]
    rest = await buyer.post(
        "/api/messages",
        json={"client_id": "rest1", "kind": "text", "content": {"text": "在吗"}, "session_id": sid},
    )
    assert rest.status_code == 403 and rest.json()["error"]["code"] == "consumer_muted"
    assert "禁言" in rest.json()["error"]["message"]

    # 2. The mute ends by the clock; a second verified violation bans the account.
    clock.advance(7 * DAY + 60)
    reviewer = await login(server, "reviewer", kind="staff")
    buyer = await consumer(server, "c-spammer")  # its earlier token has expired
    buyer_ws = await buyer.socket()
    ack = await buyer_ws.send_text("back", "你好，在吗", session_id=sid)
    assert ack["op"] == "ack"
    violation = await blocked_violation(buyer_ws, reviewer, sid, "s2", "傻逼客服")
    decided = await reviewer.ok(
        "POST", f"/api/violations/{violation}/review", {"decision": "confirmed"}
    )
    ban = decided["sanction"]
    assert ban["kind"] == "ban" and ban["ends_at"] is None
    assert (await refused(buyer_ws, sid, "after-ban"))["code"] == "consumer_banned"
    clock.advance(30 * DAY)  # a ban does not run out
    reviewer = await login(server, "reviewer", kind="staff")
    buyer = await consumer(server, "c-spammer")
    buyer_ws = await buyer.socket()
    assert (await refused(buyer_ws, sid, "still-banned"))["code"] == "consumer_banned"

    # 3. The consumer's record lists both, with the violations; shops may not read it.
    record = await reviewer.ok("GET", f"/api/reviews/consumers/{buyer.id}")
    assert [r["kind"] for r in record["restrictions"]] == ["mute", "ban"]
    assert [r["in_effect"] for r in record["restrictions"]] == [False, True]
    assert {v["status"] for v in record["violations"]} == {"confirmed"}
    owner = await login(server, "shop1_owner")
    assert (await owner.get(f"/api/reviews/consumers/{buyer.id}")).status_code == 403

    # 4. A reviewer lifts the ban: the consumer is told and may write again.
    lifted = await reviewer.ok("POST", f"/api/reviews/consumer-restrictions/{ban['id']}/lift")
    assert lifted["lifted_by"] == reviewer.id and lifted["in_effect"] is False
    await buyer_ws.expect(type="account_restriction_lifted")
    buyer_ws.seen.clear()
    ack = await buyer_ws.send_text("free", "谢谢", session_id=sid)
    assert ack["op"] == "ack"
    again = await reviewer.post(f"/api/reviews/consumer-restrictions/{ban['id']}/lift")
    assert again.status_code == 422
    # The reviewers' acts are in the audit log.
    admin = await login(server, "admin", kind="staff")
    actions = [e["action"] for e in await admin.ok("GET", "/api/platform/audit")]
    assert "consumer.lift" in actions and actions.count("violation.review") >= 2
    del agent_ws
