"""Everything a consumer reads passes the compliance engine: cards (as messages and as the
entry card a session opens with), their links, and shop-side text saved for later — welcome
messages and auto-replies, display and shop names, quick replies, transfer notices."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from feige.app import create_app
from feige.config import Settings
from tests.integration.harness import Server, assigned_pair, consumer, fresh_database_url, login

SHOP1 = 1
CONTACT = "加我薇信 abc123"


def product_card(**fields: Any) -> dict[str, Any]:
    return {"product_id": "p-1001", "title": "纯棉T恤", "price": "59.9", **fields}


async def _send_card(ws, ref: str, kind: str, card: dict[str, Any], **target: Any) -> None:  # type: ignore[no-untyped-def]
    await ws.send({"op": "send", "client_id": ref, "kind": kind, "content": card, **target})


# --- cards ------------------------------------------------------------------------------


async def test_a_card_that_breaks_the_rules_is_handled_like_text(server: Server) -> None:
    _agent, buyer, agent_ws, buyer_ws, sid = await assigned_pair(server, "c-card1")
    # The shop's card diverting the buyer (the contact split across two fields): blocked.
    card = product_card(title="加我薇信", price="abc123")
    await _send_card(agent_ws, "pc", "product_card", card, session_id=sid)
    error = await agent_ws.expect(op="error", ref="pc")
    assert error["code"] == "blocked" and "2.2.3" in error["message"]
    history = await buyer.ok("GET", f"/api/sessions/{sid}/messages")
    assert all(m["kind"] == "text" for m in history)  # never delivered
    reviewer = await login(server, "reviewer", kind="staff")
    record = next(v for v in await reviewer.ok("GET", "/api/violations") if v["session_id"] == sid)
    assert record["action"] == "block" and record["categories"] == ["third_party.contact"]
    assert record["original"]["kind"] == "product_card"
    assert record["original"]["title"] == "加我薇信" and record["original"]["price"] == "abc123"
    assert "abc123" in record["original"]["checked_text"]
    # The buyer's order card with its contact: masked field by field, as for text.
    order = {"order_no": "OD2026112900001", "title": "洗衣液 加我薇信 abc123", "status": "待发货"}
    await _send_card(buyer_ws, "oc", "order_card", order, session_id=sid)
    ack = await buyer_ws.expect(op="ack", client_id="oc")
    assert ack["moderation"]["action"] == "mask" and ack["moderation"]["clauses"] == ["2.2.3"]
    shown = (await agent_ws.message(kind="order_card"))["content"]
    assert shown["title"].startswith("洗衣液") and "abc123" not in shown["title"]
    assert "*" in shown["title"]
    assert shown["order_no"] == "OD2026112900001" and shown["status"] == "待发货"
    # A contact inside the order number is masked there too, and the session's order number
    # (what supervisors search by) is the masked one.
    sneaky = {"order_no": "加我薇信abc123", "title": "洗衣液"}
    await _send_card(buyer_ws, "oc2", "order_card", sneaky, session_id=sid)
    assert (await buyer_ws.expect(op="ack", client_id="oc2"))["moderation"]["action"] == "mask"
    stored = await buyer.ok("GET", f"/api/sessions/{sid}")
    assert stored["order_no"] != "加我薇信abc123" and "abc123" not in stored["order_no"]
    # A clean card passes untouched, with no moderation note.
    await _send_card(agent_ws, "ok", "product_card", product_card(), session_id=sid)
    assert "moderation" not in await agent_ws.expect(op="ack", client_id="ok")


async def test_card_links_must_point_to_the_marketplace(server: Server) -> None:
    agent, _buyer, agent_ws, _buyer_ws, sid = await assigned_pair(server, "c-card2")
    for n, url in enumerate(
        (
            "https://evil.example/x.png",
            "https://shop.example@evil.example/x.png",  # user info: the host is evil.example
            "https://shop.example.evil.example/x.png",
            "javascript:alert(1)//shop.example",
            "ftp://img.shop.example/x.png",
            "https://evil.example\\@shop.example/x.png",
            "//img.shop.example/x.png",
        )
    ):
        ref = f"bad{n}"
        await _send_card(agent_ws, ref, "product_card", product_card(image_url=url), session_id=sid)
        error = await agent_ws.expect(op="error", ref=ref)
        assert error["code"] == "card_url_refused", (url, error)
        assert "content.image_url" in error["message"]
    for n, url in enumerate(
        ("https://shop.example/p/1.png", "http://img.shop.example:8080/p/1.png", "")
    ):
        ref = f"good{n}"
        await _send_card(agent_ws, ref, "product_card", product_card(image_url=url), session_id=sid)
        ack = await agent_ws.expect(op="ack", client_id=ref)
        assert ack["message"]["content"]["image_url"] == url
    # Over REST the same refusal is a 422 naming the field.
    r = await agent.post(
        "/api/messages",
        json={
            "client_id": "rest",
            "kind": "product_card",
            "content": product_card(image_url="https://evil.example/x.png"),
            "session_id": sid,
        },
        headers={"accept-language": "en"},
    )
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "card_url_refused"
    assert r.json()["error"]["params"]["field"] == "content.image_url"
    assert "marketplace" in r.json()["error"]["message"]


async def test_card_link_domains_are_a_setting(tmp_path: Path) -> None:
    srv = Server(
        tmp_path,
        fresh_database_url(tmp_path),
        overrides={"card_url_domains": ["cdn.mall.example"]},
    )
    srv.start()
    try:
        _agent, _buyer, agent_ws, _buyer_ws, sid = await assigned_pair(srv, "c-card3")
        await _send_card(
            agent_ws,
            "cdn",
            "product_card",
            product_card(image_url="https://img.cdn.mall.example/1.png"),
            session_id=sid,
        )
        await agent_ws.expect(op="ack", client_id="cdn")
        # The list replaces platform_domains for card links.
        await _send_card(
            agent_ws,
            "plat",
            "product_card",
            product_card(image_url="https://shop.example/1.png"),
            session_id=sid,
        )
        assert (await agent_ws.expect(op="error", ref="plat"))["code"] == "card_url_refused"
    finally:
        srv.stop()


async def test_the_entry_card_a_session_opens_with_is_checked(server: Server) -> None:
    agent = await login(server, "shop1_agent1")
    await agent.ok("POST", "/api/agent/status", {"status": "online"})
    agent_ws = await agent.socket()
    # A link elsewhere on the entry card: refused, naming the field, and no session opens.
    buyer = await consumer(server, "c-entry1")
    buyer_ws = await buyer.socket()
    bad_link = {"kind": "product_card", **product_card(image_url="https://evil.example/a.png")}
    await buyer_ws.send(
        {
            "op": "send",
            "client_id": "e0",
            "kind": "text",
            "content": {"text": "你好"},
            "shop_id": SHOP1,
            "entry": "product",
            "entry_card": bad_link,
        }
    )
    error = await buyer_ws.expect(op="error", ref="e0")
    assert error["code"] == "card_url_refused" and "entry_card.image_url" in error["message"]
    assert await buyer.ok("GET", "/api/sessions") == []
    # Abuse on the entry card: blocked like the message itself; nothing is opened.
    abusive = {"kind": "product_card", **product_card(title="傻逼客服")}
    await buyer_ws.send(
        {
            "op": "send",
            "client_id": "e1",
            "kind": "text",
            "content": {"text": "你好"},
            "shop_id": SHOP1,
            "entry": "product",
            "entry_card": abusive,
        }
    )
    assert (await buyer_ws.expect(op="error", ref="e1"))["code"] == "blocked"
    assert await buyer.ok("GET", "/api/sessions") == []
    # A contact on it: the session opens with the card masked; the message is untouched.
    contact = {"kind": "product_card", **product_card(title=f"T恤 {CONTACT}")}
    ack = await buyer_ws.send_text(
        "e2", "这件有XL吗", shop_id=SHOP1, entry="product", entry_card=contact
    )
    assert ack["moderation"]["action"] == "mask"
    assert ack["message"]["content"]["text"] == "这件有XL吗"
    session = await agent.ok("GET", f"/api/sessions/{ack['session_id']}")
    shown = session["entry_card"]
    assert shown["kind"] == "product_card" and shown["product_id"] == "p-1001"
    assert shown["title"].startswith("T恤") and "abc123" not in shown["title"]
    assert (await agent_ws.message(seq=ack["seq"]))["content"]["text"] == "这件有XL吗"
    reviewer = await login(server, "reviewer", kind="staff")
    record = next(
        v
        for v in await reviewer.ok("GET", "/api/violations")
        if v["session_id"] == ack["session_id"]
    )
    assert record["original"]["entry_card"]["title"] == f"T恤 {CONTACT}"


# --- shop-side text saved for later -------------------------------------------------------


async def test_welcome_message_is_checked_when_saved(server: Server) -> None:
    owner = await login(server, "shop1_owner")
    r = await owner.http.patch("/api/shop/settings", json={"welcome_message": f"欢迎！{CONTACT}"})
    assert r.status_code == 422
    error = r.json()["error"]
    assert error["code"] == "content_refused"
    assert error["params"]["field"] == "welcome_message" and error["params"]["clauses"] == "2.2.3"
    assert "welcome_message" in error["message"] and "2.2.3" in error["message"]
    assert error["message"].startswith("内容未保存")
    english = await owner.http.patch(
        "/api/shop/settings",
        json={"welcome_message": "好评返现，加我私聊"},
        headers={"accept-language": "en"},
    )
    assert english.status_code == 422
    assert english.json()["error"]["message"].startswith("Not saved: welcome_message")
    # A mask-level finding (a link) refuses a save too: saved text must be clean.
    link = await owner.http.patch(
        "/api/shop/settings", json={"welcome_message": "欢迎光临 www.taobao.com"}
    )
    assert link.status_code == 422
    # Nothing changed; a clean one is saved and greets the next buyer.
    assert (await owner.ok("PATCH", "/api/shop/settings", {}))["welcome_message"].startswith(
        "您好，欢迎光临"
    )
    saved = await owner.ok("PATCH", "/api/shop/settings", {"welcome_message": "欢迎光临本店"})
    assert saved["welcome_message"] == "欢迎光临本店"
    _agent, _buyer, _agent_ws, buyer_ws, _sid = await assigned_pair(server, "c-welcome")
    assert (await buyer_ws.message(sender_role="system"))["content"]["text"] == "欢迎光临本店"


@pytest.mark.parametrize("setting", ["default_welcome_message", "offline_prompt", "queue_prompt"])
def test_auto_replies_in_the_settings_are_checked_at_start(tmp_path: Path, setting: str) -> None:
    settings = Settings(data_dir=tmp_path, secret_key="k" * 40, **{setting: f"您好 {CONTACT}"})
    with pytest.raises(ValueError, match=setting) as refused:
        create_app(settings)
    assert "2.2.3" in str(refused.value)


async def test_names_and_quick_replies_are_checked_when_saved(server: Server) -> None:
    owner = await login(server, "shop1_owner")
    bad_member = await owner.post(
        "/api/shop/members",
        json={"username": "agent_x", "password": "secret1", "display_name": CONTACT},
    )
    assert bad_member.status_code == 422
    assert bad_member.json()["error"]["params"]["field"] == "display_name"
    # Without a display name the username is shown: it is checked instead.
    bad_username = await owner.post(
        "/api/shop/members", json={"username": "vx_abc12345", "password": "secret1"}
    )
    assert bad_username.status_code == 422
    assert bad_username.json()["error"]["code"] == "content_refused"
    member = await owner.ok(
        "POST",
        "/api/shop/members",
        {"username": "agent_x", "password": "secret1", "display_name": "小李"},
    )
    r = await owner.http.patch(
        f"/api/shop/members/{member['id']}", json={"display_name": "傻逼客服"}
    )
    assert r.status_code == 422 and r.json()["error"]["params"]["clauses"] == "2.2.4"
    renamed = await owner.ok("PATCH", f"/api/shop/members/{member['id']}", {"display_name": "小王"})
    assert renamed["display_name"] == "小王"
    admin = await login(server, "admin", kind="staff")
    shop = await admin.post(
        "/api/platform/shops",
        json={"name": "加V信abc123优惠店", "owner_username": "own_x", "owner_password": "secret1"},
    )
    assert shop.status_code == 422 and shop.json()["error"]["params"]["field"] == "name"
    agent = await login(server, "shop1_agent1")
    reply = await agent.post(
        "/api/quick-replies", json={"title": "联系方式", "content": f"有问题{CONTACT}"}
    )
    assert reply.status_code == 422 and reply.json()["error"]["params"]["field"] == "content"
    kept = await agent.ok(
        "POST", "/api/quick-replies", {"title": "发货", "content": "亲，今天下午发货哦"}
    )
    assert kept["content"] == "亲，今天下午发货哦"
    replies = await agent.ok("GET", "/api/quick-replies")
    assert all("abc123" not in q["content"] for q in replies)


async def test_transfer_notice_never_shows_a_refused_name(server: Server) -> None:
    a1, buyer, _a1_ws, _buyer_ws, sid = await assigned_pair(server, "c-transfer")
    a2 = await login(server, "shop1_agent2")
    await a2.ok("POST", "/api/agent/status", {"status": "online"})
    # A name stored before names were checked (written straight to the store).
    engine = create_engine(server.database_url)
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE members SET display_name = :n WHERE id = :id"),
            {"n": CONTACT, "id": a2.id},
        )
    engine.dispose()
    await a1.ok("POST", f"/api/sessions/{sid}/transfer", {"to_agent": a2.id})
    history = await buyer.ok("GET", f"/api/sessions/{sid}/messages")
    notices = [m["content"]["text"] for m in history if m["sender_role"] == "system"]
    transferred = [t for t in notices if "转接" in t]
    assert transferred == [f"已为您转接至客服 #{a2.id}"]
    assert all("abc123" not in t for t in notices)
