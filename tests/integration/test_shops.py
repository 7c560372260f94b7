"""Shops as consumers meet them (docs/protocol.md, "Shops for consumers"): the header's
card, the queue position kept live, a consumer's block of a shop, an image as the very
first message."""

from __future__ import annotations

from tests.integration.harness import Server, consumer, login, png

SHOP1 = 1


async def test_the_card_names_the_shop_and_says_whether_anyone_answers(server: Server) -> None:
    buyer = await consumer(server, "c-card")
    card = await buyer.ok("GET", f"/api/shops/{SHOP1}")
    assert card == {
        "id": SHOP1,
        "name": "飞鸽旗舰店",
        "online": False,  # the demo's agents start offline
        "blocked": False,
        "last_session_id": None,
    }
    agent = await login(server, "shop1_agent1")
    await agent.ok("POST", "/api/agent/status", {"status": "online"})
    assert (await buyer.ok("GET", f"/api/shops/{SHOP1}"))["online"] is True
    ws = await buyer.socket()
    sid = (await ws.send_text("c1", "在吗", shop_id=SHOP1))["session_id"]
    # On break while still serving: somebody still answers.
    await agent.ok("POST", "/api/agent/status", {"status": "break"})
    card = await buyer.ok("GET", f"/api/shops/{SHOP1}")
    assert card["online"] is True and card["last_session_id"] == sid
    await agent.ok("POST", f"/api/sessions/{sid}/close")
    assert (await buyer.ok("GET", f"/api/shops/{SHOP1}"))["online"] is False
    # A member reads another shop's card: name and presence, nothing of any consumer.
    other = await agent.ok("GET", "/api/shops/2")
    assert set(other) == {"id", "name", "online"}
    # An unknown shop is a typed 404, in the caller's language.
    r = await buyer.get("/api/shops/999", headers={"accept-language": "en"})
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    await ws.close()


async def test_queue_positions_reach_each_queued_consumer_as_the_queue_moves(
    server: Server,
) -> None:
    owner = await login(server, "shop1_owner")
    agent = await login(server, "shop1_agent1")
    await owner.ok("PATCH", f"/api/shop/members/{agent.id}", {"capacity": 1})
    await agent.ok("POST", "/api/agent/status", {"status": "online"})
    agent_ws = await agent.socket()
    buyers = [await consumer(server, f"c-queue-{n}") for n in range(4)]
    sockets = [await b.socket() for b in buyers]
    sids = []
    for n, ws in enumerate(sockets):
        sids.append((await ws.send_text(f"q{n}", "你好", shop_id=SHOP1))["session_id"])
    # The first is served; the others queue behind it, each told its place on entering.
    assert (await buyers[0].ok("GET", f"/api/sessions/{sids[0]}"))["queue_position"] is None
    for n in (1, 2, 3):
        entered = await sockets[n].expect(type="session", change="queued")
        assert entered["session"]["queue_position"] == n
        view = await buyers[n].ok("GET", f"/api/sessions/{sids[n]}")
        assert view["state"] == "queued" and view["queue_position"] == n
        listed = await buyers[n].ok("GET", "/api/sessions")
        assert listed[0]["queue_position"] == n
        # The shop's copy of the event carries no position, as the agent's REST view.
        seen = await agent_ws.expect(type="session", change="queued")
        assert seen["session"]["queue_position"] is None
        assert (await agent.ok("GET", f"/api/sessions/{sids[n]}"))["queue_position"] is None

    # The second buyer gives up (blocks the shop): the two behind it move up.
    await buyers[1].ok("POST", f"/api/shops/{SHOP1}/block")
    for n, place in ((2, 1), (3, 2)):
        moved = await sockets[n].expect(type="session", change="queue")
        assert moved["session"]["id"] == sids[n] and moved["session"]["queue_position"] == place
    # Serving the head: the head is assigned, the last one is now first.
    await agent.ok("POST", f"/api/sessions/{sids[0]}/close")
    assigned = await sockets[2].expect(type="session", change="assigned")
    assert assigned["session"]["queue_position"] is None
    moved = await sockets[3].expect(type="session", change="queue")
    assert moved["session"]["queue_position"] == 1
    assert (await buyers[3].ok("GET", f"/api/sessions/{sids[3]}"))["queue_position"] == 1
    # Only queued consumers hear of the queue: the served one got no position event.
    assert not [f for f in sockets[2].seen if f.get("change") == "queue"]
    for ws in [*sockets, agent_ws]:
        await ws.close()


async def test_a_blocked_shop_cannot_reach_the_consumer_until_unblocked(server: Server) -> None:
    agent = await login(server, "shop1_agent1")
    await agent.ok("POST", "/api/agent/status", {"status": "online"})
    agent_ws = await agent.socket()
    buyer = await consumer(server, "c-block")
    ws = await buyer.socket()
    sid = (await ws.send_text("b1", "你好", shop_id=SHOP1))["session_id"]
    await agent_ws.send_text("a1", "您好", session_id=sid)

    blocked = await buyer.ok("POST", f"/api/shops/{SHOP1}/block")
    assert blocked == {"shop_id": SHOP1, "blocked": True}
    # The open session closed (both sides are told), and it is invalid for the figures.
    closed = await agent_ws.expect(type="session", change="closed")
    assert closed["session"]["id"] == sid
    view = await buyer.ok("GET", f"/api/sessions/{sid}")
    assert view["state"] == "closed" and view["invalid"] is True
    owner = await login(server, "shop1_owner")
    events = await owner.ok("GET", f"/api/sessions/{sid}/events")
    assert {"type": "flagged", "reason": "blacklisted"}.items() <= events[-1].items()
    # The shop's agent cannot write to the consumer any more.
    r = await agent.post(
        "/api/messages",
        json={"client_id": "a2", "kind": "text", "content": {"text": "在吗"}, "session_id": sid},
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "session_closed"
    # Nor can the consumer open a new session, by text or by image, until it unblocks.
    await ws.send(
        {
            "op": "send",
            "client_id": "b2",
            "shop_id": SHOP1,
            "kind": "text",
            "content": {"text": "还在吗"},
        }
    )
    assert (await ws.expect(op="error"))["code"] == "shop_blocked"
    r = await buyer.post(
        f"/api/shops/{SHOP1}/images", files={"file": ("a.png", png(), "image/png")}
    )
    assert r.status_code == 403 and r.json()["error"]["code"] == "shop_blocked"
    assert (await buyer.ok("GET", f"/api/shops/{SHOP1}"))["blocked"] is True
    # Blocking twice changes nothing; members and staff may not block.
    await buyer.ok("POST", f"/api/shops/{SHOP1}/block")
    assert (await agent.post(f"/api/shops/{SHOP1}/block")).status_code == 403
    assert (await buyer.post("/api/shops/999/block")).status_code == 404

    assert (await buyer.ok("DELETE", f"/api/shops/{SHOP1}/block"))["blocked"] is False
    again = await ws.send_text("b3", "我又来了", shop_id=SHOP1)
    assert again["session_id"] != sid
    await agent_ws.message(seq=again["seq"], session_id=again["session_id"])
    for c in (ws, agent_ws):
        await c.close()


async def test_an_image_as_the_very_first_message(server: Server) -> None:
    agent = await login(server, "shop1_agent1")
    await agent.ok("POST", "/api/agent/status", {"status": "online"})
    agent_ws = await agent.socket()
    buyer = await consumer(server, "c-first-image")
    ws = await buyer.socket()
    uploaded = await buyer.ok(
        "POST",
        f"/api/shops/{SHOP1}/images",
        params={"entry": "product"},
        files={"file": ("a.png", png(), "image/png")},
    )
    sid = uploaded["session_id"]
    session = await buyer.ok("GET", f"/api/sessions/{sid}")
    assert session["state"] == "assigned" and session["entry"] == "product"
    await ws.send(
        {
            "op": "send",
            "client_id": "i1",
            "session_id": sid,
            "kind": "image",
            "content": {"image_id": uploaded["id"]},
        }
    )
    acked = await ws.expect(op="ack", client_id="i1")
    got = await agent_ws.message(seq=acked["seq"], session_id=sid)
    assert got["kind"] == "image" and got["sender_role"] == "buyer"
    # A second upload while the session is open goes to the same session.
    second = await buyer.ok(
        "POST", f"/api/shops/{SHOP1}/images", files={"file": ("b.png", png(), "image/png")}
    )
    assert second["session_id"] == sid
    # Not an image, or a shop that does not exist: refused, and no session opens.
    r = await buyer.post("/api/shops/2/images", files={"file": ("a.txt", b"hello", "text/plain")})
    assert r.status_code == 422 and r.json()["error"]["code"] == "bad_image"
    r = await buyer.post("/api/shops/999/images", files={"file": ("a.png", png(), "image/png")})
    assert r.status_code == 404
    assert [s["shop_id"] for s in await buyer.ok("GET", "/api/sessions")] == [SHOP1]
    r = await buyer.post(
        f"/api/shops/{SHOP1}/images",
        params={"entry": "nowhere"},
        files={"file": ("a.png", png(), "image/png")},
    )
    assert r.status_code == 422
    for c in (ws, agent_ws):
        await c.close()
