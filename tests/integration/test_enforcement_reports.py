"""A session reported or blacklisted by the shop leaves the metrics only when a reviewer
upholds it; the consumer's report counts at once; a decision reassesses the week already
assessed (docs/rules.md §3 (2) note, docs/enforcement.md)."""

from __future__ import annotations

from typing import Any

from tests.integration.harness import consumer, login
from tests.integration.test_assessment_store import SHOP1, week_server  # noqa: F401

WEEK = "2026-W47"


async def _late_session(server: Any, clock: Any, agent: Any, agent_ws: Any, external: str) -> int:
    """A session the agent answered after ten minutes: a failed round for the 3-minute rate."""
    buyer = await consumer(server, external)
    ws = await buyer.socket()
    sid = int((await ws.send_text("q", "在吗？", shop_id=SHOP1))["session_id"])
    clock.advance(600)
    await agent_ws.send_text(f"a-{external}", "抱歉久等了", session_id=sid)
    clock.advance(5)
    await agent.ok("POST", f"/api/sessions/{sid}/close")
    await ws.close()
    clock.advance(60)
    return sid


def _three_minute(shop: dict[str, Any]) -> tuple[int, int]:
    m = shop["metrics"]["three_minute_reply_rate"]
    return m["numerator"], m["denominator"]


async def test_a_shop_report_counts_only_once_upheld_and_reassesses_the_week(
    week_server: Any,  # noqa: F811
) -> None:
    server, clock = week_server
    agent = await login(server, "shop1_agent1")
    await agent.ok("POST", "/api/agent/status", {"status": "online"})
    agent_ws = await agent.socket()
    hidden = await _late_session(server, clock, agent, agent_ws, "c-hide")
    blacklisted = await _late_session(server, clock, agent, agent_ws, "c-black")

    # The agent reports and blacklists its own late sessions: they still count.
    report = await agent.ok("POST", f"/api/sessions/{hidden}/report", {"reason": "恶意骚扰"})
    assert report["session"]["invalid"] is False
    await agent.ok("POST", f"/api/sessions/{blacklisted}/blacklist", {"reason": "骚扰"})
    owner = await login(server, "shop1_owner")
    live = (await owner.ok("GET", "/api/metrics/live", params={"period": "week"}))["shops"][0]
    assert live["sessions"]["invalid"] == 0 and _three_minute(live) == (0, 2)

    # The consumer's report counts at once.
    buyer = await consumer(server, "c-buyer")
    buyer_ws = await buyer.socket()
    own = int((await buyer_ws.send_text("q", "你好", shop_id=SHOP1))["session_id"])
    clock.advance(30)
    await agent_ws.send_text("a-own", "您好", session_id=own)
    mine = await buyer.ok("POST", f"/api/sessions/{own}/report", {"reason": "态度差"})
    assert mine["session"]["invalid"] is True
    await agent.ok("POST", f"/api/sessions/{own}/close")

    # The week ends and is assessed with both late sessions in it.
    clock.advance(8 * 86400)
    admin = await login(server, "admin", kind="staff")
    run = await admin.ok("POST", f"/api/platform/assessments/{WEEK}/run")
    assert _three_minute(run["document"]["shops"][0]) == (0, 2)

    # Reviewers see the shop's claims pending; shops and agents may not decide.
    reviewer = await login(server, "reviewer", kind="staff")
    pending = await reviewer.ok("GET", "/api/reviews/reports", params={"status": "pending"})
    assert {(r["session_id"], r["kind"]) for r in pending} == {
        (hidden, "report"),
        (blacklisted, "blacklist"),
    }
    counted = await reviewer.ok("GET", "/api/reviews/reports", params={"status": "counted"})
    assert [r["session_id"] for r in counted] == [own]
    owner = await login(server, "shop1_owner")
    decide = f"/api/reviews/reports/{report['id']}/decision"
    assert (await owner.post(decide, json={"decision": "upheld"})).status_code == 403

    # Upheld: the session leaves the metrics and the assessed week is assessed again.
    decided = await reviewer.ok("POST", decide, {"decision": "upheld", "reason": "证据属实"})
    assert decided["status"] == "upheld" and decided["weeks_reassessed"] == [WEEK]
    (past,) = [p for p in await owner.ok("GET", "/api/assessments") if p["week"] == WEEK]
    assert _three_minute(past["result"]) == (0, 1)
    assert (await owner.ok("GET", f"/api/sessions/{hidden}"))["invalid"] is True
    # Decided once: a second decision is refused.
    assert (await reviewer.post(decide, json={"decision": "dismissed"})).status_code == 422

    # Dismissed: the blacklisted session keeps counting.
    (claim,) = [r for r in pending if r["kind"] == "blacklist"]
    dismissed = await reviewer.ok(
        "POST", f"/api/reviews/reports/{claim['id']}/decision", {"decision": "dismissed"}
    )
    assert dismissed["weeks_reassessed"] == []
    assert (await owner.ok("GET", f"/api/sessions/{blacklisted}"))["invalid"] is False


async def test_the_reviewer_queue_filters_shows_evidence_and_decides_in_bulk(server: Any) -> None:
    from tests.integration.harness import assigned_pair

    _agent, _buyer, agent_ws, _buyer_ws, sid = await assigned_pair(server, "c-queue")
    acks = [await agent_ws.send_text(f"q{n}", "别家都是假货", session_id=sid) for n in range(3)]
    reviewer = await login(server, "reviewer", kind="staff")
    queue = await reviewer.ok(
        "GET",
        "/api/reviews/violations",
        params={"status": "pending", "category": "misuse", "sender_role": "agent", "shop_id": 1},
    )
    ids = [v["id"] for v in queue if v["message_id"] in {a["message_id"] for a in acks}]
    assert len(ids) == 3 and all(v["categories"] == ["misuse"] for v in queue)
    assert await reviewer.ok(
        "GET", "/api/reviews/violations", params={"category": "fraud", "shop_id": 1}
    ) == [
        v
        for v in await reviewer.ok("GET", "/api/reviews/violations", params={"shop_id": 1})
        if "fraud" in v["categories"]
    ]
    # Evidence: the original, the engine's spans and clauses, the message in its context.
    evidence = await reviewer.ok("GET", f"/api/reviews/violations/{ids[-1]}")
    assert evidence["violation"]["original"]["text"] == "别家都是假货"
    assert evidence["violation"]["clauses"] == ["2.2.10"] and evidence["violation"]["evidence"]
    assert evidence["session"]["id"] == sid
    seqs = [m["seq"] for m in evidence["context"]]
    assert acks[0]["seq"] in seqs and seqs == sorted(seqs) and seqs[0] == 1  # from the opening
    owner = await login(server, "shop1_owner")
    assert (await owner.get(f"/api/reviews/violations/{ids[0]}")).status_code == 403
    # One bulk decision; an item already decided is answered as such, the others decided.
    await reviewer.ok("POST", f"/api/violations/{ids[0]}/review", {"decision": "dismissed"})
    items = [{"kind": "violation", "id": i} for i in ids]
    results = await reviewer.ok(
        "POST", "/api/reviews/bulk", {"items": items, "decision": "dismiss", "reason": "引用"}
    )
    assert [r.get("status") for r in results] == [None, "dismissed", "dismissed"]
    assert results[0]["error"]["code"] == "invalid"
