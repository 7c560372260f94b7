"""Reception as users live it (docs/rules.md 2.2.1): offline messages, assignment, queue, break,
transfer, close, ratings; and the Zulip rule that events bring a client to the same state as
a fresh fetch."""

from __future__ import annotations

from tests.integration.harness import Server, consumer, login

SHOP1 = 1


async def test_offline_message_then_agent_takes_it_and_chat_runs_both_ways(server: Server) -> None:
    buyer = await consumer(server, "c-offline", "小李")
    buyer_ws = await buyer.socket()
    # Nobody online or on break: the buyer's first message opens an offline-message session.
    ack = await buyer_ws.send_text(
        "b1",
        "你好，在吗？",
        shop_id=SHOP1,
        entry="product",
        entry_card={"kind": "product_card", "product_id": "p-1", "title": "T恤"},
    )
    sid = ack["session_id"]
    assert ack["seq"] >= 1 and ack["duplicate"] is False
    session = await buyer.ok("GET", f"/api/sessions/{sid}")
    assert session["state"] == "offline" and session["entry"] == "product"
    assert session["entry_card"]["product_id"] == "p-1"
    history = await buyer.ok("GET", f"/api/sessions/{sid}/messages")
    assert [m["sender_role"] for m in history] == ["system", "buyer"]  # the offline prompt first

    agent = await login(server, "shop1_agent1")
    await agent.ok("POST", "/api/agent/status", {"status": "online"})
    # Coming online does not silently take offline messages; they wait in the list.
    waiting = await agent.ok("GET", "/api/sessions", params={"state": "offline"})
    assert [s["id"] for s in waiting] == [sid]
    agent_ws = await agent.socket()
    taken = await agent.ok("POST", f"/api/sessions/{sid}/take")
    assert taken["state"] == "assigned" and taken["agent_id"] == agent.id
    welcome = await buyer_ws.message(sender_role="system", seq=ack["seq"] + 1)
    assert "欢迎" in welcome["content"]["text"]

    reply = await agent_ws.send_text("a1", "在的，请问有什么可以帮您？", session_id=sid)
    got = await buyer_ws.message(seq=reply["seq"])
    assert got["sender_role"] == "agent" and got["content"]["text"].startswith("在的")
    ack2 = await buyer_ws.send_text("b2", "这件有黑色吗", session_id=sid)
    seen = await agent_ws.message(seq=ack2["seq"])
    assert seen["sender_role"] == "buyer"

    closed = await agent.ok("POST", f"/api/sessions/{sid}/close")
    assert closed["state"] == "closed"
    rated = await buyer.ok("POST", f"/api/sessions/{sid}/rating", {"score": 2})
    rated = await buyer.ok("POST", f"/api/sessions/{sid}/rating", {"score": 5})
    assert rated["rating"] == 5  # the last rating counts

    owner = await login(server, "shop1_owner")
    events = await owner.ok("GET", f"/api/sessions/{sid}/events")
    types = [e["type"] for e in events]
    assert types[:3] == ["open", "offline", "message"]
    assert types.count("rated") == 2 and "assigned" in types and "closed" in types
    assert [e["score"] for e in events if e["type"] == "rated"] == [2, 5]
    # The agent could not go offline while serving; now it holds nothing and may.
    await agent.ok("POST", "/api/agent/status", {"status": "offline"})
    for c in (buyer_ws, agent_ws):
        await c.close()


async def test_capacity_queue_break_transfer_and_drain(server: Server) -> None:
    owner = await login(server, "shop1_owner")
    a1 = await login(server, "shop1_agent1")
    a2 = await login(server, "shop1_agent2")
    await owner.ok("PATCH", f"/api/shop/members/{a1.id}", {"capacity": 1})
    await a1.ok("POST", "/api/agent/status", {"status": "online"})
    await a2.ok("POST", "/api/agent/status", {"status": "break"})

    first = await consumer(server, "c-q1")
    second = await consumer(server, "c-q2")
    ws1, ws2 = await first.socket(), await second.socket()
    s1 = (await ws1.send_text("m", "在吗", shop_id=SHOP1))["session_id"]
    assert (await first.ok("GET", f"/api/sessions/{s1}"))["agent_id"] == a1.id
    # a1 is at capacity, a2 is on break (no new sessions): the next one queues.
    s2 = (await ws2.send_text("m", "你好", shop_id=SHOP1))["session_id"]
    assert (await second.ok("GET", f"/api/sessions/{s2}"))["state"] == "queued"

    # a1 cannot go offline while holding a session.
    r = await a1.post("/api/agent/status", json={"status": "offline"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "has_open_sessions"

    # Closing frees capacity: the queued session goes to a1 first come, first served.
    await a1.ok("POST", f"/api/sessions/{s1}/close")
    s2_view = await second.ok("GET", f"/api/sessions/{s2}")
    assert s2_view["state"] == "assigned" and s2_view["agent_id"] == a1.id

    # Transfer to an agent on break is allowed (docs/rules.md 2.2.1).
    moved = await a1.ok("POST", f"/api/sessions/{s2}/transfer", {"to_agent": a2.id})
    assert moved["agent_id"] == a2.id
    r = await a1.post(f"/api/sessions/{s2}/close")
    assert r.status_code == 404  # no longer a1's session: it cannot even see it
    a2_ws = await a2.socket()
    ack = await a2_ws.send_text("x", "您好，我来为您服务", session_id=s2)
    assert ack["seq"] > 0
    events = await owner.ok("GET", f"/api/sessions/{s2}/events")
    transfer = next(e for e in events if e["type"] == "transferred")
    assert transfer["agent"] == str(a2.id) and transfer["from"] == str(a1.id)
    assert [e["type"] for e in events][:2] == ["open", "queued"]
    for c in (ws1, ws2, a2_ws):
        await c.close()


async def test_priority_routing_returns_consumer_to_last_agent(server: Server) -> None:
    a1 = await login(server, "shop1_agent1")
    a2 = await login(server, "shop1_agent2")
    for a in (a1, a2):
        await a.ok("POST", "/api/agent/status", {"status": "online"})
    buyer = await consumer(server, "c-prio")
    ws = await buyer.socket()
    s1 = (await ws.send_text("1", "第一次", shop_id=SHOP1))["session_id"]
    first_agent = (await buyer.ok("GET", f"/api/sessions/{s1}"))["agent_id"]
    serving = a1 if first_agent == a1.id else a2
    await serving.ok("POST", f"/api/sessions/{s1}/close")
    # Give the other agent fewer sessions than the last one would have: priority still wins.
    s2 = (await ws.send_text("2", "又来了", shop_id=SHOP1))["session_id"]
    assert s2 != s1
    assert (await buyer.ok("GET", f"/api/sessions/{s2}"))["agent_id"] == first_agent
    await ws.close()


async def test_events_bring_clients_to_the_state_of_a_fresh_fetch(server: Server) -> None:
    agent = await login(server, "shop1_agent1")
    owner = await login(server, "shop1_owner")
    await agent.ok("POST", "/api/agent/status", {"status": "online"})
    buyer = await consumer(server, "c-state")
    buyer_ws, agent_ws, owner_ws = await buyer.socket(), await agent.socket(), await owner.socket()
    buyer_ack = await buyer_ws.send_text("1", "你好", shop_id=SHOP1)
    sid = buyer_ack["session_id"]
    agent_ack = await agent_ws.send_text("2", "您好", session_id=sid)
    # A sender's own message comes back in its ack, not as an event on that socket.
    own = {buyer_ws: [buyer_ack], agent_ws: [agent_ack], owner_ws: []}
    await buyer.ok("POST", f"/api/sessions/{sid}/rating", {"score": 4})
    await agent.ok("POST", f"/api/sessions/{sid}/close")
    await buyer.ok("POST", f"/api/sessions/{sid}/report", {"reason": "态度不好"})
    for api, sock in ((buyer, buyer_ws), (agent, agent_ws), (owner, owner_ws)):
        state: dict[int, dict] = {}
        messages: dict[int, dict] = {a["seq"]: a["message"] for a in own[sock]}
        while True:
            try:
                frame = await sock.expect(timeout=0.5, op="event")
            except (AssertionError, TimeoutError):
                break
            if frame["type"] == "session":
                state[frame["session"]["id"]] = frame["session"]
            elif frame["type"] == "message":
                messages[frame["message"]["seq"]] = frame["message"]
        fetched = await api.ok("GET", f"/api/sessions/{sid}")
        assert state[sid] == fetched
        history = await api.ok("GET", f"/api/sessions/{sid}/messages")
        assert [messages[m["seq"]] for m in history] == history
        assert fetched["invalid"] is True and fetched["rating"] == 4
        await sock.close()


async def test_idle_sessions_close_after_the_limit(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from tests.integration.harness import fresh_database_url

    srv = Server(
        tmp_path,
        fresh_database_url(tmp_path),
        overrides={"session_idle_close_seconds": 0.5, "idle_check_interval_seconds": 0.2},
    )
    srv.start()
    try:
        agent = await login(srv, "shop1_agent1")
        await agent.ok("POST", "/api/agent/status", {"status": "online"})
        buyer = await consumer(srv, "c-idle")
        ws = await buyer.socket()
        sid = (await ws.send_text("1", "你好", shop_id=SHOP1))["session_id"]
        frame = await ws.expect(timeout=5, type="session", change="closed")
        assert frame["session"]["id"] == sid
        events = await (await login(srv, "shop1_owner")).ok("GET", f"/api/sessions/{sid}/events")
        assert events[-1]["type"] == "closed"
        await ws.close()
    finally:
        srv.stop()
