"""The robot's mode and the live side of rule 2.2.1 (docs/rules.md 2.2.1, "The robot and its
automatic switch-on" and "10 in a row"), driven through the real server with its clock
moved by the test: the automatic switch on and off, the refused manual off, the records,
the supervisors' events, the windows rebuilt after a restart, and the live 10-in-a-row alert
that the weekly run does not repeat."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from feige.config import Settings
from feige.services.assessment.summaries import metrics_config
from feige.services.lib import robot_mode
from feige.store import migrate
from feige.store.db import create_db_engine
from tests.integration.harness import (
    Api,
    FakeClock,
    Server,
    Socket,
    consumer,
    fresh_database_url,
    login,
)
from tests.integration.test_assessment_store import MONDAY_10, SHOP1, small_platform

LIVE = {"summary_refresh_seconds": 0.2, "robot_tick_seconds": 0.05}


@pytest.fixture
def robot_server(tmp_path: Path) -> Iterator[tuple[Server, FakeClock]]:
    url = fresh_database_url(tmp_path)
    engine = create_db_engine(url)
    migrate.upgrade(engine)
    with engine.begin() as conn:
        small_platform(conn)
    engine.dispose()
    clock = FakeClock(MONDAY_10)
    srv = Server(tmp_path, url, clock=clock, overrides=LIVE)
    srv.start()
    yield srv, clock
    srv.stop()


async def _round(
    server: Server,
    clock: FakeClock,
    agent: tuple[Api, Socket],
    external: str,
    wait: float | None,
    close: bool = True,
    full_auto: bool = False,
) -> int:
    """A buyer asks; the agent answers after ``wait`` seconds (None: never) and, when it
    answered and ``close``, ends the session (an agent holds at most 10). ``full_auto``: the
    robot receives the session and the buyer asks for a person at once; the round pending
    at the hand-over starts then (docs/robot-modes.md, "Full-auto")."""
    buyer = await consumer(server, external)
    ws = await buyer.socket()
    text = "转人工" if full_auto else "请问有货吗"
    sid = int((await ws.send_text("q", text, shop_id=SHOP1))["session_id"])
    if full_auto:
        await ws.expect(timeout=30, type="handover", session_id=sid)
    if wait is not None:
        clock.advance(wait)
        await agent[1].send_text(f"a-{external}", "有的亲", session_id=sid)
        if close:
            await agent[0].ok("POST", f"/api/sessions/{sid}/close")
    await ws.close()
    return sid


async def _agent(server: Server) -> tuple[Api, Socket]:
    agent = await login(server, "shop1_agent1")
    await agent.ok("POST", "/api/agent/status", {"status": "online"})
    return agent, await agent.socket()


async def eventually(check: Callable[[], Awaitable[bool]], seconds: float = 5.0) -> None:
    """The live side works after the commit: wait for it, a little at a time."""
    for _ in range(int(seconds / 0.05)):
        if await check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("never happened")


async def _mode(api: Api, **params: Any) -> dict[str, Any]:
    return await api.ok("GET", "/api/robot/mode", params=params)  # type: ignore[no-any-return]


async def test_slow_answers_switch_assist_on_and_a_calm_hour_switches_it_off(
    robot_server: tuple[Server, FakeClock],
) -> None:
    server, clock = robot_server
    agent, agent_ws = await _agent(server)
    owner = await login(server, "shop1_owner")
    owner_ws = await owner.socket()
    assert (await _mode(owner))["mode"] == "off"

    # Four slow rounds: above 90 s, but fewer than 5 rounds never switch.
    for i in range(4):
        await _round(server, clock, (agent, agent_ws), f"slow{i}", 120)
        clock.advance(10)
    mode = await _mode(owner)
    assert (mode["mode"], mode["rule_on"]) == ("off", False)
    assert mode["window"]["rounds"] == 4 and mode["window"]["average_seconds"] == 120
    # The fifth: 5 rounds averaging 120 s > 90 s — assist is switched on, live.
    await _round(server, clock, (agent, agent_ws), "slow4", 120)
    event = await owner_ws.expect(type="robot_mode", rule_on=True)
    assert (event["mode"], event["manual_mode"]) == ("assist", "off")
    switch = event["switch"]
    assert (switch["cause"], switch["mode_before"], switch["mode_after"]) == (
        "rule",
        "off",
        "assist",
    )
    assert (switch["average_seconds"], switch["rounds"]) == (120, 5)
    switched_on_at = clock.now
    # The switch-on is told like every measure (docs/enforcement.md, "Notifications"): the
    # supervisors live and in the inbox, and the marketplace through the webhook outbox.
    told = await owner_ws.expect(type="notification")
    assert told["notification"]["kind"] == "robot_switched_on"
    assert told["notification"]["body"]["switch"]["id"] == switch["id"]
    inbox = await owner.ok("GET", "/api/enforcement/inbox", params={"unread": True})
    assert [n["kind"] for n in inbox["notifications"]] == ["robot_switched_on"]
    admin = await login(server, "admin", kind="staff")
    (hook,) = await admin.ok("GET", "/api/platform/webhooks")
    assert hook["event_type"] == "robot_switched_on"
    assert hook["payload"]["data"]["shop_id"] == SHOP1
    assert hook["payload"]["data"]["mode"]["mode"] == "assist"

    # Agents read the mode; only supervisors set it; nobody turns assist off while the rule
    # holds it on — a clear refusal in the caller's language.
    assert (await _mode(agent))["mode"] == "assist"
    refused = await agent.http.put("/api/robot/mode", json={"mode": "off"})
    assert refused.status_code == 403
    refused = await owner.http.put(
        "/api/robot/mode", json={"mode": "off"}, headers={"accept-language": "en"}
    )
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "robot_held_by_rule"
    assert "cannot be turned off" in refused.json()["error"]["message"]
    zh = await owner.http.put("/api/robot/mode", json={"mode": "off"})
    assert "不能关闭" in zh.json()["error"]["message"]

    # A restart rebuilds the window from the store: the same figure, still held on.
    await owner_ws.close()
    await agent_ws.close()
    server.stop()
    server.boot()
    owner = await login(server, "shop1_owner")
    agent, agent_ws = await _agent(server)
    owner_ws = await owner.socket()
    mode = await _mode(owner)
    assert (mode["mode"], mode["rule_on"], mode["rule_since"]) == ("assist", True, switched_on_at)
    assert mode["window"]["rounds"] == 5 and mode["window"]["average_seconds"] == 120

    # Quick answers: (5 × 120 + 6 × 10) / 11 = 60 s, at the calm limit from the sixth on.
    for i in range(6):
        await _round(server, clock, (agent, agent_ws), f"quick{i}", 10)
    calm_from = clock.now
    assert (await _mode(owner))["window"]["calm_since"] == calm_from
    clock.advance(3590)  # the slow rounds age out on the way: still calm, not yet an hour
    await asyncio.sleep(0.2)  # ticks run
    mode = await _mode(owner)
    assert mode["rule_on"] is True and mode["window"]["calm_since"] == calm_from
    clock.advance(10)
    event = await owner_ws.expect(type="robot_mode", rule_on=False)
    assert (event["mode"], event["switch"]["cause"], event["switch"]["mode_after"]) == (
        "off",
        "rule",
        "off",
    )
    assert (await _mode(owner))["mode"] == "off"

    records = await owner.ok("GET", "/api/robot/switches")
    assert [(r["cause"], r["mode_after"], r["rule_on"]) for r in records] == [
        ("rule", "off", False),
        ("rule", "assist", True),
    ]
    # Only the switch-on is a notice: the inbox still holds the one.
    inbox = await owner.ok("GET", "/api/enforcement/inbox")
    assert [n["kind"] for n in inbox["notifications"]] == ["robot_switched_on"]
    assert records[1]["at"] == switched_on_at and records[0]["at"] >= calm_from + 3600
    # Platform staff read any shop's records; another shop's owner gets not-found.
    reviewer = await login(server, "reviewer", kind="staff")
    assert await reviewer.ok("GET", "/api/robot/switches", params={"shop_id": SHOP1}) == records
    other = await login(server, "shop2_owner")
    assert (await other.get("/api/robot/switches", params={"shop_id": SHOP1})).status_code == 404
    assert (await reviewer.get("/api/robot/mode")).status_code == 422  # staff name a shop


async def test_expired_rounds_count_and_assist_chosen_by_hand_stays_on(
    robot_server: tuple[Server, FakeClock],
) -> None:
    """Unanswered rounds enter the window when they expire (600 s, docs/rules.md §3 note 2),
    with no message to trigger it; a merchant who turned assist on by hand keeps it when the
    rule lets go."""
    server, clock = robot_server
    agent, agent_ws = await _agent(server)
    owner = await login(server, "shop1_owner")
    owner_ws = await owner.socket()
    waiting = [
        await _round(server, clock, (agent, agent_ws), f"ignored{i}", None) for i in range(5)
    ]
    clock.advance(599)
    assert (await _mode(owner))["window"]["rounds"] == 0  # open rounds count only once expired
    clock.advance(2)
    event = await owner_ws.expect(type="robot_mode", rule_on=True)
    assert (event["switch"]["average_seconds"], event["switch"]["rounds"]) == (600, 5)

    # The owner chooses assist by hand while the rule holds it: a record, no change of mode.
    chosen = await owner.ok("PUT", "/api/robot/mode", {"mode": "assist"})
    assert (chosen["mode"], chosen["manual_mode"], chosen["rule_on"]) == ("assist", "assist", True)
    by_hand = await owner_ws.expect(type="robot_mode", manual_mode="assist")
    assert by_hand["switch"]["cause"] == "hand" and by_hand["switch"]["member_id"] == owner.id
    # Late answers change nothing: those rounds counted 600 s when they expired.
    for sid in waiting:
        await agent_ws.send_text(f"late{sid}", "抱歉久等", session_id=sid)
    assert (await _mode(owner))["window"]["average_seconds"] == 600

    clock.advance(3600)  # the expired rounds leave the window: empty, calm from then
    clock.advance(3600)
    event = await owner_ws.expect(type="robot_mode", rule_on=False)
    assert (event["mode"], event["manual_mode"]) == ("assist", "assist")  # kept: chosen by hand
    assert (await owner.ok("PUT", "/api/robot/mode", {"mode": "off"}))["mode"] == "off"


async def test_full_auto_is_never_switched_and_the_rule_resumes_after_it(
    robot_server: tuple[Server, FakeClock],
) -> None:
    server, clock = robot_server
    agent, agent_ws = await _agent(server)
    owner = await login(server, "shop1_owner")
    assert (await owner.ok("PUT", "/api/robot/mode", {"mode": "full_auto"}))["mode"] == "full_auto"
    for i in range(5):  # handed over by the full-auto robot, then answered slowly
        await _round(server, clock, (agent, agent_ws), f"slow{i}", 200, full_auto=True)
    clock.advance(1)
    mode = await _mode(owner)
    assert mode["window"]["average_seconds"] == 200 and mode["window"]["rounds"] == 5
    assert (mode["mode"], mode["rule_on"]) == ("full_auto", False)
    # Back to off by hand: the rule takes it from there, at the next tick.
    owner_ws = await owner.socket()
    await owner.ok("PUT", "/api/robot/mode", {"mode": "off"})
    event = await owner_ws.expect(type="robot_mode", rule_on=True)
    assert event["switch"]["cause"] == "rule"
    records = await owner.ok("GET", "/api/robot/switches")
    assert [r["cause"] for r in records] == ["rule", "hand", "hand"]


async def test_ten_sessions_in_a_row_without_a_reply_alert_at_once_and_once(
    robot_server: tuple[Server, FakeClock],
) -> None:
    """Rule 2.2.1: the moment the 10th session in a row closes with the buyer unanswered,
    the shop's supervisors and the platform's reviewers hear it, and the record is there;
    the run going on extends that record, and the weekly run adds no second one."""
    server, clock = robot_server
    agent, agent_ws = await _agent(server)
    owner = await login(server, "shop1_owner")
    owner_ws = await owner.socket()
    reviewer = await login(server, "reviewer", kind="staff")
    reviewer_ws = await reviewer.socket()

    async def unanswered(i: int) -> int:
        sid = await _round(server, clock, (agent, agent_ws), f"nobody{i}", None)
        clock.advance(30)
        await agent.ok("POST", f"/api/sessions/{sid}/close")
        return sid

    run = [await unanswered(i) for i in range(9)]

    async def records() -> Any:
        return await reviewer.ok("GET", "/api/violations")

    assert [v for v in await records() if v["kind"] == "no_human_reply"] == []
    run.append(await unanswered(9))
    alert = await owner_ws.expect(type="no_human_reply_alert")
    assert alert["count"] == 10 and alert["sessions"] == [str(s) for s in run]
    assert (await reviewer_ws.expect(type="no_human_reply_alert"))["violation_id"] == alert[
        "violation_id"
    ]
    found = [v for v in await records() if v["kind"] == "no_human_reply"]
    assert [v["id"] for v in found] == [alert["violation_id"]]
    assert found[0]["clauses"] == ["2.2.1"] and found[0]["status"] == "pending"
    # The 11th goes on the same record.
    run.append(await unanswered(10))

    async def extended() -> bool:
        found = [v for v in await records() if v["kind"] == "no_human_reply"]
        return bool(found[0]["evidence"]["sessions"] == [str(s) for s in run])

    await eventually(extended)
    # An answered session ends the run: nine more unanswered make no new record.
    await _round(server, clock, (agent, agent_ws), "answered", 20)
    for i in range(9):
        await unanswered(100 + i)
    clock.advance(8 * 86400)
    admin = await login(server, "admin", kind="staff")
    weekly = await admin.ok("POST", "/api/platform/assessments/2026-W47/run")
    assert weekly["no_human_reply"] == 0  # the live record is that streak's record
    reviewer = await login(server, "reviewer", kind="staff")  # a week later: signed in again
    found = [v for v in await records() if v["kind"] == "no_human_reply"]
    assert len(found) == 1 and found[0]["evidence"]["sessions"] == [str(s) for s in run]


async def test_a_rebuild_reads_again_only_the_sessions_whose_record_grew(
    robot_server: tuple[Server, FakeClock],
) -> None:
    """The windows' rebuild (every 10 s across nodes) keeps the rounds it read: it
    summarises again only sessions with a new message or event, and its result is the one
    a rebuild from nothing gives, through answers, closes and rounds left unanswered."""
    server, clock = robot_server
    agent = await _agent(server)
    config = metrics_config(Settings())
    engine = create_db_engine(server.database_url)
    cache = robot_mode.RoundsCache()

    def both() -> tuple[Any, Any]:
        now = clock.now
        since = now - 3600
        with engine.connect() as conn:
            cached = robot_mode.recent_rounds(conn, since, now, config, cache)
            fresh = robot_mode.recent_rounds(conn, since, now, config)
        return cached, fresh

    try:
        answered = await _round(server, clock, agent, "rb-1", wait=30)
        left = await _round(server, clock, agent, "rb-2", wait=None)
        cached, fresh = both()
        assert cached == fresh and len(cached.counted) == 1
        first = cache.summarised
        assert first >= 2
        clock.advance(5)
        cached, fresh = both()  # nothing new: nothing read again
        assert cached == fresh and cache.summarised == first
        await agent[1].send_text("a-rb-2", "有的亲", session_id=left)  # one session grows
        await _round(server, clock, agent, "rb-3", wait=100, close=False)  # one is new
        cached, fresh = both()
        assert cached == fresh and len(cached.counted) == 3
        assert cache.summarised == first + 2
        clock.advance(8000)  # past the window: the closed session leaves the cache
        cached, fresh = both()
        assert cached == fresh and answered not in cache.by_session
    finally:
        engine.dispose()
