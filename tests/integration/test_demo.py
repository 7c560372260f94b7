"""The demo shows real figures at whatever hour it starts (services/demo.py): two finished
weeks already assessed, each metric passed by one shop and failed by another, the measures,
the rule 2.2.1 record, the blocked message, the offline message and the transfer."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.integration.harness import (
    Api,
    FakeClock,
    Server,
    consumer,
    fresh_database_url,
    login,
)

pytestmark = pytest.mark.asyncio

ZONE = ZoneInfo("Asia/Shanghai")  # the platform's default time zone
METRICS = (
    "no_service_rate",
    "three_minute_reply_rate",
    "avg_response_seconds",
    "dissatisfaction_rate",
)
# The demo's design, shop by shop (owner login prefix): which metric it passes, both weeks.
PASSES = {
    "shop1": dict.fromkeys(METRICS, True),
    "shop2": {
        "no_service_rate": True,
        "three_minute_reply_rate": False,
        "avg_response_seconds": False,
        "dissatisfaction_rate": True,
    },
    "shop3": {
        "no_service_rate": True,
        "three_minute_reply_rate": True,
        "avg_response_seconds": True,
        "dissatisfaction_rate": False,
    },
    "shop4": {
        "no_service_rate": False,
        "three_minute_reply_rate": False,
        "avg_response_seconds": False,
        "dissatisfaction_rate": True,
    },
}


def iso_week(moment: datetime) -> str:
    year, number, _ = moment.isocalendar()
    return f"{year}-W{number:02d}"


async def shop_ids(server: Server) -> dict[str, int]:
    ids = {}
    for prefix in PASSES:
        owner = await login(server, f"{prefix}_owner")
        ids[prefix] = owner.principal["shop_id"]
        await owner.aclose()
    return ids


async def events_of_shop(owner: Api) -> list[str]:
    types = []
    for session in await owner.ok("GET", "/api/sessions", params={"limit": 200}):
        events = await owner.ok("GET", f"/api/sessions/{session['id']}/events")
        types += [event["type"] for event in events]
    return types


async def enforcement_seeded(server: Server) -> None:
    """The enforcement loop a new user finds on 优品生活馆 (docs/enforcement.md, "The demo")."""
    owner = await login(server, "shop3_owner")
    standing = await owner.ok("GET", "/api/enforcement/standing")
    assert standing["points"] == 24 and standing["deposit_balance"] == -50000
    assert standing["refused_features"] == ["card", "image"]
    measures = await owner.ok("GET", "/api/enforcement/measures")
    assert sorted(m["measure"] for m in measures) == [
        "deposit_withholding",
        "restriction",
        "warning",
    ]
    (appeal,) = await owner.ok("GET", "/api/enforcement/appeals")
    assert appeal["status"] == "pending" and appeal["target_kind"] == "measure"
    inbox = await owner.ok("GET", "/api/enforcement/inbox", params={"unread": True})
    assert inbox["unread"] == 5  # two decisions, three measures
    agent = await login(server, "shop3_agent1")
    held = await agent.ok("GET", "/api/enforcement/restrictions")
    assert set(held["holds"]) == {"image", "card"}
    muted = await consumer(server, "buyer8")
    standing = await muted.ok("GET", "/api/me/standing")
    assert standing["state"] == "muted" and standing["restriction"]["categories"] == ["abuse"]
    # Nothing of it touches the shops the other tests drive.
    flagship = await login(server, "shop1_owner")
    assert (await flagship.ok("GET", "/api/enforcement/inbox"))["notifications"] == []
    for who in (owner, agent, muted, flagship):
        await who.aclose()


# Monday just after midnight, Tuesday before and after the weekly run, a weekday at noon,
# Sunday night: hours at which the old demo showed nothing, and the weekly run's edges.
STARTS = [
    "2026-11-30 00:30",
    "2026-12-01 01:30",
    "2026-12-01 03:00",
    "2026-12-03 12:00",
    "2026-12-06 23:30",
]


@pytest.mark.parametrize("start", STARTS)
async def test_the_demo_shows_each_metric_passed_and_failed(tmp_path: Path, start: str) -> None:
    local = datetime.fromisoformat(start).replace(tzinfo=ZONE)
    last_week, week_before = (
        iso_week(local - timedelta(days=7)),
        iso_week(local - timedelta(days=14)),
    )
    server = Server(tmp_path, fresh_database_url(tmp_path), clock=FakeClock(local.timestamp()))
    server.start()
    try:
        admin = await login(server, "admin", kind="staff")
        ids = await shop_ids(server)
        prefix_of = {shop_id: prefix for prefix, shop_id in ids.items()}
        rows = await admin.ok("GET", "/api/assessments")
        assert {(r["week"], prefix_of[r["shop_id"]]) for r in rows} == {
            (week, prefix) for week in (week_before, last_week) for prefix in PASSES
        }
        for row in rows:
            design = PASSES[prefix_of[row["shop_id"]]]
            metrics: dict[str, Any] = row["result"]["metrics"]
            assert {name: metrics[name]["passed"] for name in METRICS} == design, row
            assert all(metrics[name]["value"] is not None for name in METRICS)
            assert row["passed"] == all(design.values())

        # The measure ladder: a warning for the first failed week, then a points deduction.
        measures = await admin.ok("GET", "/api/measures")
        assert sorted((prefix_of[m["shop_id"]], m["week"], m["measure"]) for m in measures) == [
            (prefix, week, measure)
            for prefix in ("shop2", "shop3", "shop4")
            for week, measure in ((week_before, "warning"), (last_week, "points_deduction"))
        ]

        # Last week's ten unanswered sessions in a row (rule 2.2.1) and the blocked message.
        records = await admin.ok("GET", "/api/violations")
        assert sorted(
            (
                (r["kind"], prefix_of[r["shop_id"]], r["sender_role"] or "", r["action"])
                for r in records
            ),
        ) == [
            ("message", "shop3", "agent", "block"),
            ("message", "shop3", "agent", "block"),
            ("message", "shop3", "buyer", "block"),
            ("no_human_reply", "shop4", "", "review"),
        ]
        blocked = next(r for r in records if r["sender_role"] == "buyer")
        assert blocked["categories"] == ["abuse"] and blocked["session_id"] is not None
        await enforcement_seeded(server)

        # Drill-downs name the sessions behind a failed figure.
        owner = await login(server, "shop4_owner")
        behind = await owner.ok(
            "GET", f"/api/assessments/{last_week}/drilldown", params={"figure": "no_service_rate"}
        )
        reasons = [item["conditions"] for item in behind["items"] if item["counts"]]
        assert len(reasons) == 11  # ten left unanswered, one offline message taken late
        assert sorted(reasons) == [[1]] + [[2, 3]] * 10  # 1: waited too long; 2, 3: no reply
        assert "offline" in await events_of_shop(owner)
        flagship = await login(server, "shop1_owner")
        assert "transferred" in await events_of_shop(flagship)
    finally:
        server.stop()
