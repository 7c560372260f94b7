"""An agent's own figures today (``GET /api/agent/today``) read only the agent's sessions:
they must equal that agent's line in the shop's whole day (``/api/metrics/live``), for
every agent, with transfers, answered and open rounds."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from tests.integration.harness import FakeClock, MakeServer, consumer, login

SHOP1 = 1
TEN_AM = datetime(2026, 11, 25, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai")).timestamp()


async def test_each_agents_figures_equal_its_line_in_the_shops_day(
    make_server: MakeServer,
) -> None:
    clock = FakeClock(TEN_AM)
    server = make_server(clock=clock)
    owner = await login(server, "shop1_owner")
    agents = [await login(server, f"shop1_agent{n}") for n in (1, 2, 3)]
    for agent in agents:
        await agent.ok("POST", "/api/agent/status", {"status": "online"})
    sockets = {agent.id: await agent.socket() for agent in agents}
    sessions = []
    for n in range(6):
        buyer = await consumer(server, f"c-today-{n}")
        ws = await buyer.socket()
        sid = (await ws.send_text("q1", f"问题 {n}", shop_id=SHOP1))["session_id"]
        serving = (await owner.ok("GET", f"/api/sessions/{sid}"))["agent_id"]
        sessions.append((ws, sid, serving))
    for n, (ws, sid, serving) in enumerate(sessions):
        clock.advance(20 + 30 * n)
        if n % 3 != 2:  # every third buyer is still waiting for the first answer
            await sockets[serving].send_text(f"a{n}", "您好", session_id=sid)
        if n in (0, 3):  # handed to a colleague, who answers the next round
            other = next(a.id for a in agents if a.id != serving)
            await owner.ok("POST", f"/api/sessions/{sid}/transfer", {"to_agent": other})
            await ws.send_text("q2", "还有一个问题", session_id=sid)
            clock.advance(45)
            await sockets[other].send_text(f"b{n}", "好的", session_id=sid)
        if n == 1:
            await owner.ok("POST", f"/api/sessions/{sid}/close")
    clock.advance(60)

    whole_day = await owner.ok("GET", "/api/metrics/live", params={"period": "today"})
    lines = {line["agent"]: line for line in whole_day["shops"][0]["agents"]}
    assert len([a for a in agents if str(a.id) in lines]) >= 2
    for agent in agents:
        mine = await agent.ok("GET", "/api/agent/today")
        line = lines.get(str(agent.id))
        if line is None:
            assert mine["sessions"] == mine["rounds"] == 0
            continue
        assert mine["sessions"] == line["sessions_assessed"]
        assert mine["rounds"] == line["rounds_assessed"]
        assert mine["unanswered"] == line["extra"]["rounds"]["unanswered"]
        assert mine["average_response_seconds"] == line["metrics"]["avg_response_seconds"]["value"]
        rate = line["metrics"]["three_minute_reply_rate"]["value"]
        assert mine["three_minute_rate"] == rate
        # Open rounds are those still unanswered; the answered average leaves them out.
        assert 0 <= mine["open_rounds"] <= mine["unanswered"]
    waiting = {serving for n, (_, _, serving) in enumerate(sessions) if n % 3 == 2}
    assert sum([(await a.ok("GET", "/api/agent/today"))["open_rounds"] for a in agents]) == 2
    for agent_id in waiting:
        figures = await next(a for a in agents if a.id == agent_id).ok("GET", "/api/agent/today")
        assert figures["open_rounds"] >= 1
        if figures["answered_average_seconds"] is not None:
            assert figures["answered_average_seconds"] < figures["average_response_seconds"]
    for ws, _, _ in sessions:
        await ws.close()
    for sock in sockets.values():
        await sock.close()
