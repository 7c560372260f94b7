"""Platform time zones whose offset changed since 1970 (docs/rules.md §3: stored in UTC, judged in
platform time). Each instant the store holds must come out as the same instant, with the
zone's offset at that instant, on the store's path and on the event-log path alike."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import orjson
import pytest

from feige.metrics import assess_log, parse_week
from feige.metrics.timeutil import datetime_to_us
from feige.services.assessment.figures import assess_store_sync
from feige.services.assessment.summaries import export_events_sync, metrics_config
from feige.store.db import create_db_engine
from tests.integration.harness import FakeClock, Server, consumer, fresh_database_url, login

pytestmark = pytest.mark.asyncio

# A summer and a winter Monday, 08:30 local: inside assessment hours (08:00–22:59:59) only if
# the offset of that very day is used.
CASES = [
    ("Europe/Berlin", (2026, 7, 6), "2026-W28"),
    ("Europe/Berlin", (2026, 3, 30), "2026-W14"),  # the day after the spring change
    ("America/New_York", (2026, 7, 6), "2026-W28"),
    ("America/New_York", (2026, 11, 2), "2026-W45"),  # the day after the autumn change
    ("Europe/London", (2026, 11, 2), "2026-W45"),  # London kept +01:00 all of 1970
]


@pytest.mark.parametrize(("zone", "day", "week_name"), CASES)
async def test_rounds_fall_in_the_hours_of_their_own_day(
    tmp_path: Path, zone: str, day: tuple[int, int, int], week_name: str
) -> None:
    tz = ZoneInfo(zone)
    opened = datetime(*day, 8, 30, tzinfo=tz)
    clock = FakeClock(opened.timestamp())
    server = Server(
        tmp_path,
        fresh_database_url(tmp_path),
        clock=clock,
        overrides={"timezone": zone, "assessment_scheduler": False},
    )
    server.start()
    try:
        agent = await login(server, "shop1_agent1")
        await agent.ok("POST", "/api/agent/status", {"status": "online"})
        agent_ws = await agent.socket()
        buyer = await consumer(server, f"tz-{zone}")
        buyer_ws = await buyer.socket()
        sid = (await buyer_ws.send_text("q", "你好", shop_id=1))["session_id"]
        clock.advance(40)
        await agent_ws.send_text("a", "您好", session_id=sid)
        clock.advance(60)
        await agent.ok("POST", f"/api/sessions/{sid}/close")
        config = metrics_config(server.ctx.settings)
    finally:
        server.stop()
    week = parse_week(week_name, config)
    engine = create_db_engine(server.database_url)
    with engine.begin() as conn:
        lines = list(export_events_sync(conn, week, config))
        from_store = assess_store_sync(conn, week, config)
    engine.dispose()

    events = [orjson.loads(line) for line in lines if orjson.loads(line)["session"] == str(sid)]
    first = datetime.fromisoformat(events[0]["ts"])
    # The same instant, written with the offset the zone had on that day.
    assert datetime_to_us(first) == datetime_to_us(opened)
    assert first.utcoffset() == opened.utcoffset()
    assert first.hour == 8 and first.minute == 30
    # Both paths assess the session (its entry is inside the hours) and agree exactly.
    from_log = assess_log(iter(lines), week, config)
    assert (
        orjson.loads(orjson.dumps(from_store))["shops"]
        == orjson.loads(orjson.dumps(from_log))["shops"]
    )
    shop = next(s for s in from_store["shops"] if s["shop"] == "1")
    avg = shop["metrics"]["avg_response_seconds"]
    assert (avg["numerator"], avg["denominator"]) == (40, 1)
