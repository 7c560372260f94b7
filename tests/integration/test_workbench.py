"""The agent's and the shop's tools: images, quick replies, history search, reports,
blacklist, sub-accounts and shop settings, and what the workbench shows beside a chat
(colleagues' load, a buyer's earlier sessions, the agent's own figures today)."""

from __future__ import annotations

import pytest

from tests.integration.harness import MakeServer, Server, consumer, login, png

SHOP1 = 1


async def _session(server: Server, external: str):  # type: ignore[no-untyped-def]
    agent = await login(server, "shop1_agent1")
    await agent.ok("POST", "/api/agent/status", {"status": "online"})
    buyer = await consumer(server, external)
    ws = await buyer.socket()
    ack = await ws.send_text(
        "o",
        "你好",
        shop_id=SHOP1,
        entry="order",
        entry_card={"kind": "order_card", "order_no": "OD2026112800001"},
    )
    return agent, buyer, ws, ack["session_id"]


async def test_images_are_checked_stored_and_shown_only_to_participants(server: Server) -> None:
    agent, buyer, ws, sid = await _session(server, "c-img")
    r = await buyer.post(
        f"/api/sessions/{sid}/images", files={"file": ("a.png", png(), "image/png")}
    )
    assert r.status_code == 200, r.text
    image = r.json()
    assert image["content_type"] == "image/png" and image["width"] == 8
    await ws.send(
        {
            "op": "send",
            "client_id": "img1",
            "kind": "image",
            "content": {"image_id": image["id"]},
            "session_id": sid,
        }
    )
    ack = await ws.expect(op="ack", client_id="img1")
    assert ack["seq"] > 0
    for viewer in (buyer, agent, await login(server, "reviewer", kind="staff")):
        r = await viewer.get(f"/api/images/{image['id']}")
        assert r.status_code == 200 and r.content == png()
    stranger = await consumer(server, "c-img-stranger")
    assert (await stranger.get(f"/api/images/{image['id']}")).status_code == 404
    other_shop = await login(server, "shop2_owner")
    assert (await other_shop.get(f"/api/images/{image['id']}")).status_code == 404
    # Lies about the type, and oversize files, are refused with a clear error.
    r = await buyer.post(
        f"/api/sessions/{sid}/images",
        files={"file": ("x.png", b"MZ\x90\x00not an image", "image/png")},
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "bad_image"
    big = b"\x89PNG" + b"0" * (server.settings().max_image_bytes + 10)
    r = await buyer.post(
        f"/api/sessions/{sid}/images", files={"file": ("big.png", big, "image/png")}
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "too_large"
    # Someone else's image id cannot be sent in this session.
    stranger_ws = await stranger.socket()
    other_sid = (await stranger_ws.send_text("s", "在吗", shop_id=SHOP1))["session_id"]
    await stranger_ws.send(
        {
            "op": "send",
            "client_id": "steal",
            "kind": "image",
            "content": {"image_id": image["id"]},
            "session_id": other_sid,
        }
    )
    assert (await stranger_ws.expect(op="error"))["code"] == "not_found"


async def test_quick_replies_shop_wide_and_personal_and_searchable(server: Server) -> None:
    owner = await login(server, "shop1_owner")
    a1 = await login(server, "shop1_agent1")
    a2 = await login(server, "shop1_agent2")
    shop_reply = await owner.ok(
        "POST",
        "/api/quick-replies",
        {"title": "包邮", "content": "全场满 99 包邮", "scope": "shop"},
    )
    mine = await a1.ok(
        "POST",
        "/api/quick-replies",
        {"title": "我的问候", "content": "亲，我是小红", "scope": "personal"},
    )
    r = await a1.post("/api/quick-replies", json={"title": "x", "content": "y", "scope": "shop"})
    assert r.status_code == 403  # agents add personal replies only
    a1_list = await a1.ok("GET", "/api/quick-replies")
    assert {shop_reply["id"], mine["id"]} <= {q["id"] for q in a1_list}
    assert mine["id"] not in {q["id"] for q in await a2.ok("GET", "/api/quick-replies")}
    found = await a1.ok("GET", "/api/quick-replies", params={"q": "包邮"})
    assert [q["id"] for q in found] == [shop_reply["id"]]
    assert (await a2.http.delete(f"/api/quick-replies/{mine['id']}")).status_code == 404
    assert (await a1.http.delete(f"/api/quick-replies/{mine['id']}")).status_code == 200
    other = await login(server, "shop2_agent1")
    assert shop_reply["id"] not in {q["id"] for q in await other.ok("GET", "/api/quick-replies")}


async def test_history_search_by_order_number_and_consumer(server: Server) -> None:
    agent, _buyer, ws, sid = await _session(server, "c-search")
    owner = await login(server, "shop1_owner")
    by_order = await owner.ok("GET", "/api/sessions", params={"order_no": "OD2026112800001"})
    assert [s["id"] for s in by_order] == [sid]
    by_consumer = await owner.ok("GET", "/api/sessions", params={"consumer": "c-search"})
    assert [s["id"] for s in by_consumer] == [sid]
    await ws.send(
        {
            "op": "send",
            "client_id": "oc",
            "kind": "order_card",
            "content": {"order_no": "OD999"},
            "session_id": sid,
        }
    )
    await ws.expect(op="ack", client_id="oc")
    assert [
        s["id"] for s in await agent.ok("GET", "/api/sessions", params={"order_no": "OD999"})
    ] == [sid]
    assert (
        await (await login(server, "shop2_owner")).ok(
            "GET", "/api/sessions", params={"order_no": "OD999"}
        )
        == []
    )


async def test_report_and_blacklist_make_sessions_invalid(server: Server) -> None:
    agent, buyer, ws, sid = await _session(server, "c-black")
    r = await agent.post(f"/api/sessions/{sid}/report", json={"reason": ""})
    assert r.status_code == 422
    await agent.ok("POST", f"/api/sessions/{sid}/report", {"reason": "辱骂客服"})
    await agent.ok("POST", f"/api/sessions/{sid}/blacklist", {"reason": "恶意骚扰"})
    owner = await login(server, "shop1_owner")
    # The shop's report and blacklisting count once a reviewer upholds them.
    assert (await owner.ok("GET", f"/api/sessions/{sid}"))["invalid"] is False
    reviewer = await login(server, "reviewer", kind="staff")
    pending = await reviewer.ok(
        "GET", "/api/reviews/reports", params={"status": "pending", "shop_id": 1}
    )
    for kind in ("report", "blacklist"):
        (row,) = [r for r in pending if r["session_id"] == sid and r["kind"] == kind]
        await reviewer.ok(
            "POST", f"/api/reviews/reports/{row['id']}/decision", {"decision": "upheld"}
        )
    events = await owner.ok("GET", f"/api/sessions/{sid}/events")
    assert [e["reason"] for e in events if e["type"] == "flagged"] == ["reported", "blacklisted"]
    assert (await owner.ok("GET", f"/api/sessions/{sid}"))["invalid"] is True
    assert [b["consumer_id"] for b in await owner.ok("GET", "/api/shop/blacklist")] == [buyer.id]
    await ws.send(
        {
            "op": "send",
            "client_id": "after",
            "kind": "text",
            "content": {"text": "为什么"},
            "session_id": sid,
        }
    )
    assert (await ws.expect(op="error"))["code"] == "blacklisted"
    # Blacklisting is per shop: the consumer can still talk to another shop.
    ack = await ws.send_text("shop2", "你好", shop_id=2)
    assert ack["session_id"] != sid


async def test_owner_manages_sub_accounts_and_routing(server: Server) -> None:
    owner = await login(server, "shop1_owner")
    new = await owner.ok(
        "POST",
        "/api/shop/members",
        {"username": "shop1_agent9", "password": "secret99", "display_name": "小九", "capacity": 3},
    )
    assert new["role"] == "agent" and new["capacity"] == 3 and new["status"] == "offline"
    r = await owner.post(
        "/api/shop/members", json={"username": "shop1_agent9", "password": "secret99"}
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "username_unavailable"
    nine = await login(server, "shop1_agent9", password="secret99")
    r = await nine.post("/api/shop/members", json={"username": "sneaky", "password": "secret99"})
    assert r.status_code == 403
    settings = await owner.ok(
        "PATCH", "/api/shop/settings", {"routing_mode": "even", "welcome_message": "欢迎！"}
    )
    assert settings["routing_mode"] == "even"
    await owner.ok("PATCH", f"/api/shop/members/{new['id']}", {"active": False})
    members = await owner.ok("GET", "/api/shop/members")
    assert next(m for m in members if m["id"] == new["id"])["active"] is False
    admin = await login(server, "admin", kind="staff")
    shop = await admin.ok(
        "POST",
        "/api/platform/shops",
        {"name": "新店", "owner_username": "new_owner", "owner_password": "secret99"},
    )
    assert shop["name"] == "新店"
    assert (
        await owner.post(
            "/api/platform/shops",
            json={"name": "x", "owner_username": "zzz", "owner_password": "secret99"},
        )
    ).status_code == 403


async def test_members_list_each_colleagues_load(server: Server) -> None:
    """The transfer dialog chooses by status and load: open sessions per member."""
    agent, _buyer, _ws, sid = await _session(server, "c-load")
    colleague = await login(server, "shop1_agent2")
    members = {m["username"]: m for m in await colleague.ok("GET", "/api/shop/members")}
    assert members["shop1_agent1"]["open_sessions"] == 1
    assert members["shop1_agent1"]["status"] == "online"
    assert members["shop1_agent2"]["open_sessions"] == 0
    assert members["shop1_owner"]["open_sessions"] == 0
    await agent.ok("POST", f"/api/sessions/{sid}/close")
    members = {m["username"]: m for m in await colleague.ok("GET", "/api/shop/members")}
    assert members["shop1_agent1"]["open_sessions"] == 0


async def test_earlier_sessions_of_a_buyer_with_the_shop(server: Server) -> None:
    """buyer1 chatted with several demo shops in the demo's history; the agent sees only its
    own shop's sessions with that buyer, newest first."""
    agent, buyer, ws, sid = await _session(server, "buyer1")
    earlier = await agent.ok("GET", f"/api/sessions/{sid}/earlier")
    assert earlier
    for session in earlier:
        assert session["shop_id"] == SHOP1 and session["consumer_id"] == buyer.id
        assert session["state"] == "closed" and session["id"] != sid
    assert [s["id"] for s in earlier] == sorted((s["id"] for s in earlier), reverse=True)
    owner = await login(server, "shop1_owner")  # an agent's list holds only its own sessions
    owner_view = await owner.ok("GET", "/api/sessions", params={"consumer": "buyer1"})
    assert {s["id"] for s in earlier} == {s["id"] for s in owner_view} - {sid}
    # The buyer sees the same list; a stranger and another shop see no such session.
    assert await buyer.ok("GET", f"/api/sessions/{sid}/earlier") == earlier
    stranger = await consumer(server, "c-earlier-stranger")
    assert (await stranger.get(f"/api/sessions/{sid}/earlier")).status_code == 404
    other_shop = await login(server, "shop2_owner")
    assert (await other_shop.get(f"/api/sessions/{sid}/earlier")).status_code == 404
    # A second session of the same buyer lists the first one, newest first.
    await agent.ok("POST", f"/api/sessions/{sid}/close")
    second = (await ws.send_text("o2", "还在吗", shop_id=SHOP1))["session_id"]
    listed = await agent.ok("GET", f"/api/sessions/{second}/earlier")
    assert [s["id"] for s in listed] == [sid, *(s["id"] for s in earlier)]


async def test_an_agents_own_figures_today(make_server: MakeServer) -> None:
    # Assessment hours all day long: the rounds count whenever the test runs (by default
    # they end at 23:00 platform time, and a round after that counts nowhere).
    server = make_server(assessment_hours_start="00:00:00", assessment_hours_end="23:59:59")
    agent, _buyer, ws, sid = await _session(server, "c-today")
    await agent.ok(
        "POST",
        "/api/messages",
        {"client_id": "t1", "kind": "text", "content": {"text": "您好"}, "session_id": sid},
    )
    mine = await agent.ok("GET", "/api/agent/today")
    assert (mine["sessions"], mine["rounds"], mine["unanswered"]) == (1, 1, 0)
    first = mine["average_response_seconds"]
    assert 0 <= first < 90 and mine["three_minute_rate"] == 1.0
    # The buyer writes again: a round is open, and nobody has answered it yet.
    await ws.send_text("o3", "能便宜点吗", session_id=sid)
    mine = await agent.ok("GET", "/api/agent/today")
    assert (mine["rounds"], mine["unanswered"]) == (2, 1)
    # As if the day ended now: the open round counts 600 s and was not answered in time.
    assert mine["average_response_seconds"] == pytest.approx((first + 600) / 2)
    assert mine["three_minute_rate"] == 0.0
    # Figures are the caller's own: a colleague has none today.
    colleague = await (await login(server, "shop1_agent2")).ok("GET", "/api/agent/today")
    assert colleague["sessions"] == colleague["rounds"] == 0
    assert colleague["average_response_seconds"] is None and colleague["three_minute_rate"] is None
