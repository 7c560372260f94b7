"""The audit log (docs/enforcement.md, "Audit"): what staff, owners and managers do is kept
with who, what, which record, before/after, when and from where; admins query and export
it; nobody can change it, not even through the database."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError

from tests.integration.harness import PASSWORD, Server, assigned_pair, login

AGENT_UA = {"user-agent": "feige-audit-test/1.0"}


async def test_staff_and_supervisor_actions_are_audited_and_queryable(server: Server) -> None:
    owner = await login(server, "shop1_owner")
    owner.http.headers.update(AGENT_UA)
    member = await owner.ok(
        "POST",
        "/api/shop/members",
        {"username": "audit_agent", "password": PASSWORD, "role": "agent"},
    )
    await owner.ok("PATCH", f"/api/shop/members/{member['id']}", {"capacity": 7})
    await owner.ok("PATCH", "/api/shop/settings", {"welcome_message": "欢迎光临"})
    # An agent's own tools are not audited (its acts are the chat record).
    agent = await login(server, "shop1_agent1")
    await agent.ok(
        "POST", "/api/quick-replies", {"title": "t", "content": "您好", "scope": "personal"}
    )
    admin = await login(server, "admin", kind="staff")
    await admin.ok(
        "POST", "/api/platform/staff", {"username": "audit_reviewer", "password": PASSWORD}
    )

    await admin.ok("POST", "/api/platform/assessments/2026-W47/run")
    reviewer = await login(server, "reviewer", kind="staff")
    assert (await reviewer.get("/api/platform/audit")).status_code == 403
    assert (await owner.get("/api/platform/audit")).status_code == 403

    entries = await admin.ok("GET", "/api/platform/audit", params={"shop_id": 1})
    assert [e["action"] for e in entries][:3] == ["shop.update", "member.update", "member.create"]
    update = entries[1]
    assert update["actor_kind"] == "member" and update["actor_role"] == "owner"
    assert update["record_kind"] == "member" and update["record_id"] == str(member["id"])
    assert update["before"]["capacity"] != 7 and update["after"]["capacity"] == 7
    assert "password_hash" not in update["before"]
    assert update["ip"] == "127.0.0.1" and update["user_agent"] == AGENT_UA["user-agent"]
    assert not [e for e in entries if e["actor_role"] == "agent"]
    (rerun,) = await admin.ok("GET", "/api/platform/audit", params={"record_kind": "week"})
    assert rerun["action"] == "assessment.rerun" and rerun["record_id"] == "2026-W47"
    staff = await admin.ok("GET", "/api/platform/audit", params={"action": "staff.create"})
    assert [e["after"]["username"] for e in staff] == ["audit_reviewer"]

    # Paging: the page after the first entry starts with the second.
    first = await admin.ok("GET", "/api/platform/audit", params={"shop_id": 1, "limit": 1})
    second = await admin.ok(
        "GET", "/api/platform/audit", params={"shop_id": 1, "before_id": first[0]["id"]}
    )
    assert second[0]["id"] == entries[1]["id"]

    # The CSV export holds the same entries.
    response = await admin.get("/api/platform/audit/export", params={"shop_id": 1})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [int(r["id"]) for r in rows] == [e["id"] for e in entries]
    assert rows[0]["action"] == "shop.update" and "欢迎光临" in rows[0]["after"]

    # No route edits it, and the database itself refuses.
    entry = f"/api/platform/audit/{entries[0]['id']}"
    assert (await admin.http.delete(entry)).status_code in (404, 405)
    engine = create_engine(server.database_url)
    try:
        for statement in ("UPDATE audit_log SET action = 'x'", "DELETE FROM audit_log"):
            with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
                conn.execute(text(statement))
    finally:
        engine.dispose()
    assert len(await admin.ok("GET", "/api/platform/audit", params={"shop_id": 1})) == len(entries)


async def test_a_bulk_decisions_reason_is_kept_with_each_violation_in_the_log(
    server: Server,
) -> None:
    """The platform console decides through ``POST /api/reviews/bulk`` with a reason: each
    violation's audit entry keeps it (a single decision without one keeps the status only)."""
    agent, _buyer, _agent_ws, buyer_ws, session_id = await assigned_pair(server, "c-bulk-reason")
    for n in range(2):
        frame = {"op": "send", "client_id": f"spam-{n}", "kind": "text"}
        await buyer_ws.send(
            {**frame, "content": {"text": "加我刷单返现"}, "session_id": session_id}
        )
        assert (await buyer_ws.expect(op="error", ref=f"spam-{n}"))["code"] == "blocked"
    reviewer = await login(server, "reviewer", kind="staff")
    pending = await reviewer.ok(
        "GET",
        "/api/reviews/violations",
        params={"status": "pending", "sender_role": "buyer", "shop_id": 1},
    )
    ids = [row["id"] for row in pending if row["session_id"] == session_id]
    assert len(ids) == 2
    items = [{"kind": "violation", "id": ids[0]}, {"kind": "violation", "id": ids[1]}]
    body = {"items": items, "decision": "uphold", "reason": "刷单引流"}
    answers = await reviewer.ok("POST", "/api/reviews/bulk", body)
    assert [a["status"] for a in answers] == ["confirmed", "confirmed"]

    admin = await login(server, "admin", kind="staff")
    entries = await admin.ok(
        "GET", "/api/platform/audit", params={"action": "violation.review", "actor_kind": "staff"}
    )
    kept = {int(e["record_id"]): e for e in entries if int(e["record_id"]) in ids}
    assert set(kept) == set(ids)
    for entry in kept.values():
        assert entry["before"] == {"status": "pending"}
        assert entry["after"] == {"status": "confirmed", "reason": "刷单引流"}
    await agent.aclose()
