"""The robot's mode in the workbench header (docs/robot-modes.md): an owner switches it by
hand, sees the rule switch assist on live (a notification and a badge) and is refused when
turning it off, and hears at once when ten sessions in a row close unanswered. The server's
clock is the test's, so slow answers take no real time."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.browser.conftest import OpenWindow
from tests.browser.helpers import FACE_TIMEOUT_MS
from tests.browser.workbench_helpers import Person, consumer, member, open_workbench
from tests.integration.harness import FakeClock, Server, fresh_database_url

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
# A Monday morning inside assessment hours (docs/rules.md §3), platform time.
MONDAY_10 = datetime(2026, 11, 30, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai")).timestamp()
CLOCK = FakeClock(MONDAY_10)


@pytest.fixture(scope="module")
def web_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """This module's demo server runs on the test's clock and ticks the robot's watch often."""
    folder = tmp_path_factory.mktemp("web-robot")
    server = Server(
        folder, fresh_database_url(folder), clock=CLOCK, overrides={"robot_tick_seconds": 0.05}
    )
    server.start()
    yield server
    server.stop()


def _round(agent: Person, external: str, server: Server, wait: float | None) -> int:
    """A buyer of shop 1 asks; the agent answers after ``wait`` seconds (None: never) and
    ends the session."""
    buyer = consumer(server, external)
    try:
        sid = int(buyer.write("请问今天能发货吗")["session_id"])
    finally:
        buyer.close()
    if wait is not None:
        CLOCK.advance(wait)
        agent.write("可以的亲", session_id=sid)
    CLOCK.advance(10)  # closed before the assist robot (on by then) would answer by itself
    agent.ok("POST", f"/api/sessions/{sid}/close")
    return sid


def test_owner_switches_the_robot_and_hears_the_rule(
    open_window: OpenWindow, web_server: Server
) -> None:
    window = open_window()
    page = window.page
    open_workbench(page, "shop1_owner", status=None)  # the owner watches; agents serve
    control = page.get_by_test_id("robot-mode")
    page.locator('[data-testid="robot-mode"][data-mode="off"]').wait_for(timeout=FACE_TIMEOUT_MS)
    assert page.get_by_test_id("robot-mode-value").inner_text() == "关闭"

    # By hand: assist on, then off again.
    page.get_by_test_id("robot-mode-open").click()
    page.get_by_test_id("robot-mode-assist").click()
    page.locator('[data-testid="robot-mode"][data-mode="assist"]').wait_for()
    page.get_by_test_id("robot-mode-off").click()
    page.locator('[data-testid="robot-mode"][data-mode="off"]').wait_for()
    page.get_by_test_id("robot-mode-open").click()  # close the panel

    agent = member(web_server, "shop1_agent1")
    agent.ok("POST", "/api/agent/status", {"status": "online"})
    try:
        # Five answers after 120 s each: the rolling average is above 90 s.
        for i in range(5):
            _round(agent, f"robot-slow{i}", web_server, 120)
        page.locator('[data-testid="robot-mode"][data-rule="on"]').wait_for(timeout=FACE_TIMEOUT_MS)
        notice = page.locator(".el-notification").filter(has_text="已自动开启智能辅助")
        notice.wait_for()
        assert "120 秒" in notice.inner_text()
        assert page.get_by_test_id("robot-mode-value").inner_text() == "智能辅助"
        assert page.get_by_test_id("robot-mode-rule").inner_text() == "规则开启"
        badge = page.get_by_test_id("robot-alert-badge").locator("sup")
        assert badge.inner_text() == "1"

        # The owner may not turn it off while the rule holds it: the server's reason shows.
        page.get_by_test_id("robot-mode-open").click()
        badge.wait_for(state="hidden")  # seen
        page.get_by_test_id("robot-mode-off").click()
        error = page.get_by_test_id("robot-mode-error")
        error.wait_for()
        assert "不能关闭" in error.inner_text()
        assert control.get_attribute("data-mode") == "assist"
        page.get_by_test_id("robot-mode-open").click()  # close the panel

        # Ten sessions in a row closed without a reply: the alert comes at the tenth.
        for i in range(10):
            _round(agent, f"robot-nobody{i}", web_server, None)
        streak = page.locator(".el-notification").filter(has_text="连续 10 个会话无人回复")
        streak.wait_for(timeout=FACE_TIMEOUT_MS)
        page.get_by_test_id("robot-alert-badge").locator("sup").filter(has_text="1").wait_for()
        page.get_by_test_id("robot-mode-open").click()
        alerts = page.get_by_test_id("robot-alerts").inner_text()
        assert "连续 10 个会话无人回复" in alerts and "已自动开启智能辅助" in alerts
        page.screenshot(path=str(SCREENSHOTS / "workbench-robot.png"))  # docs/robot-modes.md
        assert [e for e in window.errors if "status of 409" not in e] == []
    finally:
        agent.ok("POST", "/api/agent/status", {"status": "break"})
        agent.close()


def test_agents_see_the_mode_but_cannot_switch_it(
    open_window: OpenWindow, web_server: Server
) -> None:
    window = open_window(locale="en")
    page = window.page
    open_workbench(page, "shop1_agent2", status=None)
    page.locator('[data-testid="robot-mode"][data-mode]').first.wait_for(timeout=FACE_TIMEOUT_MS)
    page.get_by_test_id("robot-mode-open").click()
    page.get_by_test_id("robot-mode-panel").wait_for()
    assert page.get_by_test_id("robot-mode-assist").is_disabled()
    assert window.errors == []
