"""A rerun that makes a failed week pass reverses what the failure imposed — the deposit
withheld, the points deducted, a restriction — each audited and told (docs/enforcement.md,
"A rerun that passes")."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.harness import FakeClock, Server, consumer, login
from tests.integration.test_assessment_store import SHOP1, small_platform_server

WEEK = "2026-W47"
# Each metric the slow sessions fail imposes a different measure, so one rerun reverses all.
POLICY = """
[measures.restriction]
days = 30
[assessment]
ladder = ["deposit_withholding"]
[assessment.metrics]
three_minute_reply_rate = ["points_deduction"]
avg_response_seconds = ["restriction"]
"""


@pytest.fixture
def rerun_server(tmp_path: Path) -> Iterator[tuple[Server, FakeClock]]:
    policy = tmp_path / "enforcement.toml"
    policy.write_text(POLICY, encoding="utf-8")
    srv, clock = small_platform_server(
        tmp_path, enforcement_policy_path=str(policy), token_ttl_seconds=30 * 86400
    )
    yield srv, clock
    srv.stop()


async def _session(
    server: Server, clock: FakeClock, agent: Any, agent_ws: Any, who: str, wait: int
) -> int:
    buyer = await consumer(server, who)
    ws = await buyer.socket()
    sid = int((await ws.send_text("q", "在吗？", shop_id=SHOP1))["session_id"])
    clock.advance(wait)
    await agent_ws.send_text(f"a-{who}", "您好，在的", session_id=sid)
    clock.advance(5)
    await agent.ok("POST", f"/api/sessions/{sid}/close")
    await ws.close()
    clock.advance(60)
    return sid


async def test_a_rerun_that_passes_the_week_reverses_its_measures(
    rerun_server: tuple[Server, FakeClock],
) -> None:
    server, clock = rerun_server
    agent = await login(server, "shop1_agent1")
    await agent.ok("POST", "/api/agent/status", {"status": "online"})
    agent_ws = await agent.socket()
    late = [await _session(server, clock, agent, agent_ws, f"c-late{n}", 600) for n in range(2)]
    for n in range(2):
        await _session(server, clock, agent, agent_ws, f"c-quick{n}", 10)
    # The agent reports its late sessions (a shop-side report: pending until a reviewer).
    reports = [
        await agent.ok("POST", f"/api/sessions/{sid}/report", {"reason": "恶意骚扰"})
        for sid in late
    ]
    assert all(r["session"]["invalid"] is False for r in reports)

    # The week fails: each failed metric its measure.
    clock.advance(8 * 86400)
    admin = await login(server, "admin", kind="staff")
    run = await admin.ok("POST", f"/api/platform/assessments/{WEEK}/run")
    (shop,) = run["document"]["shops"]
    failed = {k for k, v in shop["metrics"].items() if v["passed"] is False}
    assert {"three_minute_reply_rate", "avg_response_seconds"} <= failed
    owner = await login(server, "shop1_owner")
    measures = await owner.ok("GET", "/api/enforcement/measures")
    by_metric = {m["details"]["metric"]: m for m in measures}
    assert set(by_metric) == failed
    assert by_metric["three_minute_reply_rate"]["measure"] == "points_deduction"
    assert by_metric["avg_response_seconds"]["measure"] == "restriction"
    assert (await owner.ok("GET", "/api/enforcement/points"))["total"] == 2
    withheld = -50000 * (len(failed) - 2)  # the other failed metrics' deposit withholdings
    assert (await owner.ok("GET", "/api/enforcement/deposit"))["balance"] == withheld
    restricted = await agent.ok("GET", "/api/enforcement/restrictions")
    assert restricted["refused_features"] == ["card", "image"]
    owner_ws = await owner.socket()

    # A reviewer upholds both reports: the late sessions leave the metrics, the week is
    # assessed again and passes — everything its failure imposed is reversed.
    reviewer = await login(server, "reviewer", kind="staff")
    pending = await reviewer.ok("GET", "/api/reviews/reports", params={"status": "pending"})
    assert len(pending) == 2
    results = await reviewer.ok(
        "POST",
        "/api/reviews/bulk",
        {
            "items": [{"kind": "report", "id": r["id"]} for r in pending],
            "decision": "uphold",
            "reason": "骚扰属实",
        },
    )
    assert all(r["status"] == "upheld" for r in results)
    assert [WEEK] in [r["weeks_reassessed"] for r in results]
    (past,) = await owner.ok("GET", "/api/assessments")
    assert past["passed"] is not False

    measures = await owner.ok("GET", "/api/enforcement/measures")
    assert all(m["reversed_at"] is not None and not m["in_effect"] for m in measures)
    ledger = await owner.ok("GET", "/api/enforcement/points")
    assert ledger["total"] == 0
    (reversal,) = [e for e in ledger["entries"] if e["points"] < 0]
    assert reversal["source_kind"] == "rerun"
    assert reversal["source_id"] == by_metric["three_minute_reply_rate"]["id"]
    assert (await owner.ok("GET", "/api/enforcement/deposit"))["balance"] == 0
    assert (await agent.ok("GET", "/api/enforcement/restrictions"))["refused_features"] == []
    assert (await agent_ws.expect(type="restrictions", change="reversed"))["measure"][
        "id"
    ] == by_metric["avg_response_seconds"]["id"]
    told = await owner_ws._find(
        lambda f: (
            f.get("type") == "notification" and f["notification"]["kind"] == "measure_reversed"
        ),
        5.0,
        "measure_reversed",
    )
    assert told["notification"]["body"]["measure"]["reversed_at"] is not None
    inbox = await owner.ok("GET", "/api/enforcement/inbox")
    assert [n["kind"] for n in inbox["notifications"]].count("measure_reversed") == len(failed)
    hooks = await admin.ok("GET", "/api/platform/webhooks")
    assert [h["event_type"] for h in hooks].count("measure_reversed") == len(failed)
    # Audited, by the system, naming the week.
    audit = await admin.ok("GET", "/api/platform/audit", params={"action": "measure.reverse"})
    assert {(a["actor_kind"], a["record_id"]) for a in audit} == {
        ("system", str(m["id"])) for m in measures
    }
    assert all(a["after"]["week"] == WEEK and a["before"]["reversed_at"] is None for a in audit)
    weekly = await owner.ok("GET", "/api/measures")
    assert [w["status"] for w in weekly if w["week"] == WEEK] == ["reversed"]

    # A second rerun reverses nothing twice.
    again = await admin.ok("POST", f"/api/platform/assessments/{WEEK}/run")
    assert again["reversed_measures"] == []
    assert (await owner.ok("GET", "/api/enforcement/deposit"))["balance"] == 0


async def test_a_partial_rerun_refreshes_what_the_weekly_record_says_failed(
    rerun_server: tuple[Server, FakeClock],
) -> None:
    """A rerun that passes one metric and still fails another: the passed metric's measure
    is reversed, and the weekly record names only what still fails, with this run's figures
    (not the earlier run's)."""
    server, clock = rerun_server
    agent = await login(server, "shop1_agent1")
    await agent.ok("POST", "/api/agent/status", {"status": "online"})
    agent_ws = await agent.socket()
    late = [await _session(server, clock, agent, agent_ws, f"c-late{n}", 600) for n in range(2)]
    await _session(server, clock, agent, agent_ws, "c-slow", 170)  # within 3 min, yet slow
    for n in range(6):
        await _session(server, clock, agent, agent_ws, f"c-quick{n}", 10)
    (report,) = [await agent.ok("POST", f"/api/sessions/{late[0]}/report", {"reason": "恶意骚扰"})]
    assert report["session"]["invalid"] is False

    clock.advance(8 * 86400)
    admin = await login(server, "admin", kind="staff")
    await admin.ok("POST", f"/api/platform/assessments/{WEEK}/run")
    owner = await login(server, "shop1_owner")
    (weekly,) = [w for w in await owner.ok("GET", "/api/measures") if w["week"] == WEEK]
    assert set(weekly["details"]["failed_metrics"]) == {
        "three_minute_reply_rate",
        "avg_response_seconds",
    }
    first = weekly["details"]["figures"]
    assert first["three_minute_reply_rate"]["numerator"] == 7  # of 9 within 3 minutes
    assert first["three_minute_reply_rate"]["denominator"] == 9
    assert first["avg_response_seconds"]["denominator"] == 9

    # One late session leaves the metrics: 7 of 8 within 3 minutes passes; the average
    # response time still fails.
    reviewer = await login(server, "reviewer", kind="staff")
    (pending,) = await reviewer.ok("GET", "/api/reviews/reports", params={"status": "pending"})
    decided = await reviewer.ok(
        "POST",
        f"/api/reviews/reports/{pending['id']}/decision",
        {"decision": "upheld", "reason": "骚扰属实"},
    )
    assert decided["weeks_reassessed"] == [WEEK]

    (weekly,) = [w for w in await owner.ok("GET", "/api/measures") if w["week"] == WEEK]
    assert weekly["status"] != "reversed"
    assert weekly["details"]["failed_metrics"] == ["avg_response_seconds"]
    figures = weekly["details"]["figures"]
    assert set(figures) == {"avg_response_seconds"}
    assert figures["avg_response_seconds"]["denominator"] == 8
    assert figures["avg_response_seconds"]["value"] < first["avg_response_seconds"]["value"]
    measures = {
        m["details"]["metric"]: m for m in await owner.ok("GET", "/api/enforcement/measures")
    }
    assert measures["three_minute_reply_rate"]["reversed_at"] is not None
    assert measures["avg_response_seconds"]["reversed_at"] is None
    assert measures["avg_response_seconds"]["in_effect"]
