"""A client id names one message: a true resend gets the same ack, a reuse for another target
or content is refused (never acknowledged with the other message's ack, never lost silently)."""

from __future__ import annotations

from typing import Any

from tests.integration.harness import Server, assigned_pair, consumer


def text_send(client_id: str, text: str, **target: Any) -> dict[str, Any]:
    return {
        "op": "send",
        "client_id": client_id,
        "kind": "text",
        "content": {"text": text},
        **target,
    }


async def test_reusing_a_client_id_for_another_message_is_a_conflict(server: Server) -> None:
    _agent, buyer, agent_ws, buyer_ws, sid = await assigned_pair(server, "c-reuse")
    first = await buyer_ws.send_text("r1", "第一条", session_id=sid)
    assert first["duplicate"] is False

    # A true resend: same target, kind and content → the same ack, marked duplicate.
    again = await buyer_ws.send_text("r1", "第一条", session_id=sid)
    assert again["duplicate"] is True and again["message_id"] == first["message_id"]
    # The same session named by its shop is the same target.
    by_shop = await buyer_ws.send_text("r1", "第一条", shop_id=1)
    assert by_shop["duplicate"] is True and by_shop["message_id"] == first["message_id"]

    # Different content, kind or target under the same client id: a clear error each time.
    other_shop = await consumer(server, "c-reuse")  # the same consumer, another session
    reuses = [
        text_send("r1", "第二条", session_id=sid),
        {
            "op": "send",
            "client_id": "r1",
            "kind": "order_card",
            "session_id": sid,
            "content": {"order_no": "A1"},
        },
        text_send("r1", "第一条", shop_id=2),
    ]
    for frame in reuses:
        await buyer_ws.send(frame)
        error = await buyer_ws.expect(op="error", ref="r1")
        assert error["code"] == "idempotency_conflict" and error["for"] == "send", frame
        assert error["message"]
    # Over REST: 409 with the same code; a true resend is still the duplicate ack.
    r = await other_shop.post("/api/messages", json={**text_send("r1", "第二条", session_id=sid)})
    assert r.status_code == 409 and r.json()["error"]["code"] == "idempotency_conflict"
    r = await other_shop.post("/api/messages", json={**text_send("r1", "第一条", session_id=sid)})
    assert r.status_code == 200 and r.json()["duplicate"] is True

    # Nothing else was stored, and no shop-2 session was opened by the refused send.
    history = await buyer.ok("GET", f"/api/sessions/{sid}/messages")
    assert [m["client_id"] for m in history if m["sender_role"] == "buyer"] == ["open", "r1"]
    assert [s["shop_id"] for s in await buyer.ok("GET", "/api/sessions")] == [1]

    # The agent's client ids are its own: the same id in the same session is not a conflict
    # with the buyer's.
    ack = await agent_ws.send_text("r1", "您好", session_id=sid)
    assert ack["duplicate"] is False


async def test_a_masked_message_sent_again_is_a_duplicate(server: Server) -> None:
    _agent, _buyer, _agent_ws, buyer_ws, sid = await assigned_pair(server, "c-reuse-mask")
    ack = await buyer_ws.send_text("m1", "加我薇信 abc123", session_id=sid)
    assert ack["moderation"]["action"] == "mask"
    again = await buyer_ws.send_text("m1", "加我薇信 abc123", session_id=sid)
    assert again["duplicate"] is True and again["message_id"] == ack["message_id"]
    await buyer_ws.send(text_send("m1", "加我薇信 xyz789", session_id=sid))
    assert (await buyer_ws.expect(op="error", ref="m1"))["code"] == "idempotency_conflict"
