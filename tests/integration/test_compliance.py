"""Every message goes through the compliance engine before delivery (docs/rules.md 2.2.3–2.2.10)."""

from __future__ import annotations

import io

import zxingcpp
from PIL import Image

from tests.integration.harness import Server, assigned_pair, login

SHOP1 = 1


async def test_merchant_diverting_buyer_is_blocked_and_kept_for_reviewers(server: Server) -> None:
    agent, buyer, agent_ws, _buyer_ws, sid = await assigned_pair(server, "c-mod1")
    await agent_ws.send(
        {
            "op": "send",
            "client_id": "wx",
            "kind": "text",
            "content": {"text": "加我薇信 abc123 私聊优惠"},
            "session_id": sid,
        }
    )
    error = await agent_ws.expect(op="error", ref="wx")
    assert error["code"] == "blocked" and "2.2.3" in error["message"]
    # Resending the same message: the same answer, and still one record.
    await agent_ws.send(
        {
            "op": "send",
            "client_id": "wx",
            "kind": "text",
            "content": {"text": "加我薇信 abc123 私聊优惠"},
            "session_id": sid,
        }
    )
    assert (await agent_ws.expect(op="error", ref="wx"))["code"] == "blocked"
    history = await buyer.ok("GET", f"/api/sessions/{sid}/messages")
    assert all("abc123" not in str(m["content"]) for m in history)  # never delivered
    reviewer = await login(server, "reviewer", kind="staff")
    pending = await reviewer.ok("GET", "/api/violations", params={"status": "pending"})
    assert len([v for v in pending if v["session_id"] == sid]) == 1
    record = next(v for v in pending if v["session_id"] == sid)
    assert record["action"] == "block" and record["categories"] == ["third_party.contact"]
    assert record["original"]["text"] == "加我薇信 abc123 私聊优惠"
    assert record["sender_role"] == "agent" and record["message_id"] is None
    # The shop sees its record, never the original; agents and other shops see nothing.
    owner = await login(server, "shop1_owner")
    shop_view = await owner.ok("GET", "/api/violations")
    assert [v["id"] for v in shop_view] == [record["id"]] and "original" not in shop_view[0]
    assert (await agent.get("/api/violations")).status_code == 403
    assert await (await login(server, "shop2_owner")).ok("GET", "/api/violations") == []
    done = await reviewer.ok(
        "POST", f"/api/violations/{record['id']}/review", {"decision": "confirmed"}
    )
    assert done["status"] == "confirmed"
    again = await reviewer.post(
        f"/api/violations/{record['id']}/review", json={"decision": "dismissed"}
    )
    assert again.status_code == 422
    assert (
        await owner.post(f"/api/violations/{record['id']}/review", json={"decision": "dismissed"})
    ).status_code == 403


async def test_buyer_contact_is_masked_and_abuse_marks_the_session_risky(server: Server) -> None:
    _agent, buyer, agent_ws, buyer_ws, sid = await assigned_pair(server, "c-mod2")
    ack = await buyer_ws.send_text("m1", "加我薇信 abc123", session_id=sid)
    assert ack["moderation"]["action"] == "mask"
    delivered = await agent_ws.message(seq=ack["seq"])
    assert "abc123" not in delivered["content"]["text"] and "*" in delivered["content"]["text"]
    assert (await buyer.ok("GET", f"/api/sessions/{sid}"))["invalid"] is False
    # A buyer's own phone number to the shop it buys from passes.
    ok = await buyer_ws.send_text("m2", "我的手机号 13812345678 请尽快发货", session_id=sid)
    assert "moderation" not in ok
    await buyer_ws.send(
        {
            "op": "send",
            "client_id": "m3",
            "kind": "text",
            "content": {"text": "傻逼客服"},
            "session_id": sid,
        }
    )
    assert (await buyer_ws.expect(op="error", ref="m3"))["code"] == "blocked"
    assert (await buyer.ok("GET", f"/api/sessions/{sid}"))["invalid"] is True
    owner = await login(server, "shop1_owner")
    events = await owner.ok("GET", f"/api/sessions/{sid}/events")
    assert [e["reason"] for e in events if e["type"] == "flagged"] == ["risky"]


async def test_qr_code_images_are_caught(server: Server) -> None:
    agent, _buyer, agent_ws, _buyer_ws, sid = await assigned_pair(server, "c-mod3")
    matrix = zxingcpp.create_barcode("https://u.wechat.com/abc", zxingcpp.BarcodeFormat.QRCode)
    image = Image.fromarray(matrix.to_image(scale=6, add_quiet_zones=True))
    buf = io.BytesIO()
    image.convert("RGB").save(buf, "PNG")
    r = await agent.post(
        f"/api/sessions/{sid}/images", files={"file": ("qr.png", buf.getvalue(), "image/png")}
    )
    assert r.status_code == 200, r.text
    await agent_ws.send(
        {
            "op": "send",
            "client_id": "qr",
            "kind": "image",
            "content": {"image_id": r.json()["id"]},
            "session_id": sid,
        }
    )
    error = await agent_ws.expect(op="error", ref="qr")
    assert error["code"] == "blocked"
    reviewer = await login(server, "reviewer", kind="staff")
    record = (await reviewer.ok("GET", "/api/violations"))[0]
    assert "third_party.qr_code" in record["categories"]


async def test_contact_split_over_messages_is_blocked_on_the_last_piece(server: Server) -> None:
    """A phone number in three messages: the first two pieces are delivered (alone they are
    nothing), the one that completes the number is blocked, and the record names the pieces:
    their texts and the ids of the messages they were stored as."""
    _agent, buyer, agent_ws, _buyer_ws, sid = await assigned_pair(server, "c-mod4")
    delivered = []
    for n, piece in enumerate(("138", "1234")):
        ack = await agent_ws.send_text(f"p{n}", piece, session_id=sid)
        assert "moderation" not in ack
        delivered.append(ack["message_id"])
    await agent_ws.send(
        {
            "op": "send",
            "client_id": "p2",
            "kind": "text",
            "content": {"text": "5678"},
            "session_id": sid,
        }
    )
    error = await agent_ws.expect(op="error", ref="p2")
    assert error["code"] == "blocked" and "2.2.3" in error["message"]
    reviewer = await login(server, "reviewer", kind="staff")
    pending = await reviewer.ok("GET", "/api/violations", params={"status": "pending"})
    record = next(v for v in pending if v["session_id"] == sid)
    assert record["original"]["text"] == "5678"
    assert record["original"]["pieces"] == ["138", "1234"]
    # The pieces by the stored messages they are, not only by their text.
    assert record["original"]["piece_message_ids"] == delivered
    texts = [
        m["content"].get("text") for m in await buyer.ok("GET", f"/api/sessions/{sid}/messages")
    ]
    assert "5678" not in texts


async def test_text_inside_an_image_is_read(server: Server) -> None:
    from tests.moderation.corpus_eval import render

    agent, _buyer, agent_ws, _buyer_ws, sid = await assigned_pair(server, "c-mod5")
    data = render({"image_kind": "text", "content": "加微信 meimei8821 领券"})
    r = await agent.post(
        f"/api/sessions/{sid}/images", files={"file": ("card.png", data, "image/png")}
    )
    assert r.status_code == 200, r.text
    await agent_ws.send(
        {
            "op": "send",
            "client_id": "img",
            "kind": "image",
            "content": {"image_id": r.json()["id"]},
            "session_id": sid,
        }
    )
    error = await agent_ws.expect(op="error", ref="img", timeout=20)  # OCR on a busy machine
    assert error["code"] == "blocked"


def test_policy_table_and_lexicons_come_from_settings(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Operators change actions and add words without code (docs/rules.md 2.2.3–2.2.10, actions)."""
    from feige.config import Settings
    from feige.services.lib.screening import build_moderator

    default = build_moderator(Settings(data_dir=tmp_path))
    assert default.check_text("加我薇信 abc123", role="buyer").action == "mask"
    strict = build_moderator(
        Settings(data_dir=tmp_path, moderation_policy={"third_party.contact:buyer": "block"})
    )
    assert strict.check_text("加我薇信 abc123", role="buyer").action == "block"
    import pytest

    with pytest.raises(ValueError):
        build_moderator(Settings(data_dir=tmp_path, moderation_policy={"nonsense:buyer": "block"}))
