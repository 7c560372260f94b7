"""Service metrics from the store (docs/rules.md §3): live figures, the weekly assessment with its
measures, and the promise that exporting the store and assessing the file gives the same
result as assessing the store."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Connection
from typer.testing import CliRunner

from feige.cli import app as cli_app
from feige.metrics import assess_log, parse_week
from feige.services.assessment.figures import assess_store_sync
from feige.services.assessment.summaries import export_events_sync, metrics_config
from feige.services.lib.accounts import (
    create_member,
    create_shop,
    create_staff,
    hash_password,
)
from feige.store import migrate
from feige.store.db import create_db_engine
from tests.integration.harness import (
    PASSWORD,
    FakeClock,
    Server,
    consumer,
    fresh_database_url,
    login,
)

TZ = ZoneInfo("Asia/Shanghai")
SHOP1 = 1
MONDAY_10 = datetime(2026, 11, 16, 10, 0, tzinfo=TZ).timestamp()  # inside 2026-W47 hours


def small_platform(conn: Connection) -> None:
    """The platform staff, the shop these tests drive (its owner and one agent) and a second
    shop, and no history but what a test writes: the demo's two assessed weeks would be
    among the weeks these tests read. Started with ``--demo`` on it, the server seeds nothing
    more (it has staff) and signs consumers in with the demo login."""
    password = hash_password(PASSWORD)
    create_staff(conn, "admin", password, "admin", "平台管理员", MONDAY_10)
    create_staff(conn, "reviewer", password, "reviewer", "平台审核员", MONDAY_10)
    for number, name in ((1, "飞鸽旗舰店"), (2, "云端数码专营店")):
        shop = create_shop(
            conn, name, f"shop{number}_owner", password, MONDAY_10, None, "priority", 10
        )
        assert shop["id"] == number
    create_member(
        conn,
        {
            "shop_id": SHOP1,
            "username": "shop1_agent1",
            "password_hash": password,
            "role": "agent",
            "display_name": "小红",
            "status": "offline",
            "capacity": 10,
            "created_at": MONDAY_10,
        },
    )


def small_platform_server(tmp_path: Path, **overrides: Any) -> tuple[Server, FakeClock]:
    """A started server on ``small_platform`` at Monday 10:00 of 2026-W47, on a fake clock."""
    url = fresh_database_url(tmp_path)
    engine = create_db_engine(url)
    migrate.upgrade(engine)
    with engine.begin() as conn:
        small_platform(conn)
    engine.dispose()
    clock = FakeClock(MONDAY_10)
    srv = Server(
        tmp_path, url, clock=clock, overrides={"summary_refresh_seconds": 0.2, **overrides}
    )
    srv.start()
    return srv, clock


@pytest.fixture
def week_server(tmp_path: Path):  # type: ignore[no-untyped-def]
    srv, clock = small_platform_server(tmp_path)
    yield srv, clock
    srv.stop()


async def test_a_week_driven_through_the_product_is_assessed_exactly(week_server) -> None:  # type: ignore[no-untyped-def]
    server, clock = week_server
    agent = await login(server, "shop1_agent1")
    agent_ws = await agent.socket()

    async def chat(external: str, reply_after: float, score: int | None) -> int:
        buyer = await consumer(server, external)
        ws = await buyer.socket()
        sid = (await ws.send_text("q", "请问有货吗", shop_id=SHOP1))["session_id"]
        clock.advance(reply_after)
        await agent_ws.send_text(f"a-{external}", "有的亲", session_id=sid)
        clock.advance(5)
        await agent.ok("POST", f"/api/sessions/{sid}/close")
        if score is not None:
            await buyer.ok("POST", f"/api/sessions/{sid}/rating", {"score": score})
        await ws.close()
        clock.advance(60)
        return sid

    # C: nobody online — an offline message, taken after 20 minutes (no-service condition 1;
    # its round opened at the human entry is answered late: 600 s, and not within 3 minutes).
    late_buyer = await consumer(server, "c-late")
    late_ws = await late_buyer.socket()
    late_sid = (await late_ws.send_text("q", "在吗？", shop_id=SHOP1))["session_id"]
    clock.advance(20 * 60)
    await agent.ok("POST", "/api/agent/status", {"status": "online"})
    await agent.ok("POST", f"/api/sessions/{late_sid}/take")
    clock.advance(10)
    await agent_ws.send_text("late-reply", "抱歉久等了", session_id=late_sid)
    await agent.ok("POST", f"/api/sessions/{late_sid}/close")
    clock.advance(60)
    # A: answered in 60 s, rated 5. B: answered in 200 s, rated 2. D: reported → invalid.
    await chat("c-a", 60, 5)
    await chat("c-b", 200, 2)
    reported = await chat("c-d", 10, 1)
    report = await agent.ok("POST", f"/api/sessions/{reported}/report", {"reason": "恶意骚扰"})
    # The shop's report counts once a reviewer upholds it (docs/rules.md §3 (2) note).
    reviewer = await login(server, "reviewer", kind="staff")
    await reviewer.ok(
        "POST", f"/api/reviews/reports/{report['id']}/decision", {"decision": "upheld"}
    )

    owner = await login(server, "shop1_owner")
    live = await owner.ok("GET", "/api/metrics/live", params={"period": "week"})
    shop = live["shops"][0]
    assert shop["shop"] == "1"
    assert shop["sessions"]["assessed"] == 3 and shop["sessions"]["invalid"] == 1
    m = shop["metrics"]
    assert (m["no_service_rate"]["numerator"], m["no_service_rate"]["denominator"]) == (1, 3)
    assert (
        m["three_minute_reply_rate"]["numerator"],
        m["three_minute_reply_rate"]["denominator"],
    ) == (1, 3)
    assert m["avg_response_seconds"]["denominator"] == 3
    assert m["avg_response_seconds"]["numerator"] == pytest.approx(60 + 200 + 600)
    assert (m["dissatisfaction_rate"]["numerator"], m["dissatisfaction_rate"]["denominator"]) == (
        1,
        2,
    )
    assert shop["passed"] is False
    # Agents of the shop may not read it; another shop answers 404.
    assert (await agent.get("/api/metrics/live")).status_code == 403
    assert (
        await (await login(server, "shop2_owner")).get("/api/metrics/live", params={"shop_id": 1})
    ).status_code == 404

    # Drill-down: which sessions made the 3-minute reply rate fail.
    drill = await owner.ok(
        "GET", "/api/assessments/2026-W47/drilldown", params={"figure": "three_minute_reply_rate"}
    )
    assert drill  # the core's document names the sessions behind the figure
    assert str(late_sid) in str(drill)

    # The week ends; an admin runs the assessment (the Tuesday job does the same).
    clock.advance(8 * 86400)
    admin = await login(server, "admin", kind="staff")
    run = await admin.ok("POST", "/api/platform/assessments/2026-W47/run")
    assert [s["shop"] for s in run["document"]["shops"]] == ["1"]
    assert run["measures"][0]["measure"] == "warning"
    again = await admin.ok("POST", "/api/platform/assessments/2026-W47/run")
    assert again["measures"] == []  # a re-run does not add a second measure
    owner = await login(server, "shop1_owner")  # a week later the old token has expired
    past = await owner.ok("GET", "/api/assessments")
    # The server started on a Monday: W46's run was not due until Tuesday 02:00, so the
    # start-up catch-up left it alone (it caught up W45, which had no sessions).
    assert [(p["week"], p["passed"]) for p in past] == [("2026-W47", False)]
    assert [x["measure"] for x in await owner.ok("GET", "/api/measures")] == ["warning"]

    # Export the store's week and assess the file: the same document as the store's.
    engine = create_db_engine(server.database_url)
    config = metrics_config(server.settings())
    week = parse_week("2026-W47", config)
    with engine.connect() as conn:
        lines = list(export_events_sync(conn, week, config))
    with engine.begin() as conn:
        from_store = assess_store_sync(conn, week, config)
    engine.dispose()
    assert assess_log(lines, "2026-W47", config) == from_store
    assert from_store["shops"][0]["metrics"] == m


def _feige_run(*args: str, env: dict[str, str]) -> Any:
    """The command line in this process (its process contract: ``_feige_process``)."""
    done = CliRunner().invoke(cli_app, list(args), env=env, catch_exceptions=False)
    assert done.exit_code == 0, done.stderr
    return done


def _feige_process(*args: str, env: dict[str, str]) -> Any:
    done = subprocess.run(
        [sys.executable, "-m", "feige", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done


def _feige(*args: str, env: dict[str, str]) -> str:
    return str(_feige_run(*args, env=env).stdout)


async def test_export_events_then_assess_file_matches_the_store(
    week_server, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    """The command-line contract of docs/interfaces.md, end to end on a store the product wrote."""
    import orjson

    server, clock = week_server
    agent = await login(server, "shop1_agent1")
    await agent.ok("POST", "/api/agent/status", {"status": "online"})
    agent_ws = await agent.socket()
    for i, delay in enumerate((30, 170, 190, 700)):
        buyer = await consumer(server, f"c-x{i}")
        ws = await buyer.socket()
        sid = (await ws.send_text("q", "你好", shop_id=SHOP1))["session_id"]
        clock.advance(delay)
        await agent_ws.send_text(f"r{i}", "您好", session_id=sid)
        await buyer.ok("POST", f"/api/sessions/{sid}/rating", {"score": 1 + i})
        await agent.ok("POST", f"/api/sessions/{sid}/close")
        clock.advance(120)
    env = {"FEIGE_DATABASE_URL": server.database_url, "FEIGE_DATA_DIR": str(server.data_dir)}
    log_file = tmp_path / "w47.jsonl"
    exported = _feige_process(
        "export-events", "--week", "2026-W47", "--out", str(log_file), env=env
    )
    lines = log_file.read_text().splitlines()
    # Piped, a long job shows no progress: stderr carries only the closing count.
    assert exported.stderr == f"{len(lines)} events → {log_file}\n"
    again = _feige_run("export-events", "--week", "2026-W47", "--out", str(log_file), env=env)
    assert again.stderr == exported.stderr and log_file.read_text().splitlines() == lines
    assert lines and all(orjson.loads(line)["shop"] == "1" for line in lines)
    from_file = orjson.loads(
        _feige("assess", "--events", str(log_file), "--week", "2026-W47", "--json", env=env)
    )
    engine = create_db_engine(server.database_url)
    config = metrics_config(server.settings())
    with engine.begin() as conn:
        from_store = assess_store_sync(conn, parse_week("2026-W47", config), config)
    engine.dispose()
    assert from_file["shops"] == orjson.loads(orjson.dumps(from_store))["shops"]
    # And `feige assess --week` on the store itself prints the same document.
    store_cli = orjson.loads(_feige("assess", "--week", "2026-W47", "--json", env=env))
    assert store_cli == from_file
    drill = orjson.loads(
        _feige(
            "assess",
            "--week",
            "2026-W47",
            "--drill-down",
            "avg_response_seconds",
            "--shop",
            "1",
            "--json",
            env=env,
        )
    )
    assert drill["denominator"] == 4
    # The readable table names the shop (its name from the store, with its id) in 80 columns.
    from rich.cells import cell_len

    table = _feige("assess", "--week", "2026-W47", env={**env, "COLUMNS": "80"})
    assert "飞鸽旗舰店" in table and "#1" in table and "服务考核" in table
    assert all(cell_len(line) <= 80 for line in table.splitlines()), table
    done = _feige_run("run-assessment", "--week", "2026-W47", env=env)
    assert done.stderr == ""
    ran = orjson.loads(done.stdout)
    assert ran["shops"] == 1 and ran["failed"] == 1
    # Beside no server, the command carries out the failed week's measures too.
    owner = await login(server, "shop1_owner")
    imposed = await owner.ok("GET", "/api/enforcement/measures")
    assert imposed and {m["source_kind"] for m in imposed} == {"assessment"}
    assert len((await owner.ok("GET", "/api/enforcement/inbox"))["notifications"]) == len(imposed)
    avg = from_file["shops"][0]["metrics"]["avg_response_seconds"]
    assert avg["numerator"] == pytest.approx(30 + 170 + 190 + 600)  # 700 s is capped at 600
    three = from_file["shops"][0]["metrics"]["three_minute_reply_rate"]
    assert (three["numerator"], three["denominator"]) == (2, 4)


async def test_ten_unanswered_sessions_in_a_row_make_a_no_human_reply_record(week_server) -> None:  # type: ignore[no-untyped-def]
    """Rule 2.2.1 as docs/rules.md reads it: 10 human sessions in a row closing with the buyer's
    last round unanswered, during assessment hours."""
    server, clock = week_server
    agent = await login(server, "shop1_agent1")
    await agent.ok("POST", "/api/agent/status", {"status": "online"})
    sessions = []
    for i in range(10):
        buyer = await consumer(server, f"c-ignored{i}")
        ws = await buyer.socket()
        sessions.append((await ws.send_text("q", "有人吗？", shop_id=SHOP1))["session_id"])
        clock.advance(30)
        await agent.ok("POST", f"/api/sessions/{sessions[-1]}/close")
        await ws.close()
    clock.advance(8 * 86400)
    admin = await login(server, "admin", kind="staff")
    run = await admin.ok("POST", "/api/platform/assessments/2026-W47/run")
    # The record was raised live at the 10th close (tests/integration/test_robot_mode.py):
    # the weekly run finds the same streak and adds none.
    assert run["no_human_reply"] == 0
    no_service = run["document"]["shops"][0]["metrics"]["no_service_rate"]
    assert (no_service["numerator"], no_service["denominator"]) == (10, 10)  # condition 2 and 3
    reviewer = await login(server, "reviewer", kind="staff")
    records = [
        v for v in await reviewer.ok("GET", "/api/violations") if v["kind"] == "no_human_reply"
    ]
    assert len(records) == 1 and records[0]["clauses"] == ["2.2.1"]
    assert records[0]["evidence"]["sessions"] == [str(s) for s in sessions]
    again = await admin.ok("POST", "/api/platform/assessments/2026-W47/run")
    assert again["no_human_reply"] == 0  # one record per streak, whatever the re-runs
    # The shop is told once, in its inbox (docs/enforcement.md).
    owner = await login(server, "shop1_owner")
    inbox = (await owner.ok("GET", "/api/enforcement/inbox"))["notifications"]
    told = [n for n in inbox if n["kind"] == "no_human_reply"]
    assert [n["body"]["violation"]["id"] for n in told] == [records[0]["id"]]


async def test_weekly_job_runs_once_with_several_server_processes(tmp_path: Path) -> None:
    """Two nodes on one database race for the same week: exactly one assesses it."""
    import asyncio

    from sqlalchemy import func, select

    from feige.app import build_context
    from feige.services.assessment.job import run_weekly
    from feige.store import migrate
    from feige.store.tables import assessments, job_runs

    url = fresh_database_url(tmp_path)
    nodes = [
        build_context(
            Server(tmp_path, url).settings().model_copy(update={"data_dir": tmp_path / f"n{i}"})
        )
        for i in range(2)
    ]
    migrate.upgrade(nodes[0].db.engine)
    tuesday = datetime(2026, 11, 24, 2, 0, tzinfo=TZ).timestamp()
    for node in nodes:
        node.clock = lambda: tuesday
        await node.db.start()
    try:
        results = await asyncio.gather(*(run_weekly(node) for node in nodes))
        assert sorted(r is None for r in results) == [False, True]
        with nodes[0].db.engine.connect() as conn:
            runs = conn.execute(select(job_runs.c.job, job_runs.c.key)).all()
            saved = conn.execute(select(func.count()).select_from(assessments)).scalar_one()
        assert [tuple(r) for r in runs] == [("assessment", "2026-W47")]
        assert saved == 0  # an empty store: nothing to assess, but the week is claimed
        assert await run_weekly(nodes[1]) is None  # and stays done
    finally:
        for node in nodes:
            await node.db.stop()
