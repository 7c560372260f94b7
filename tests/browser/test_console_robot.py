"""The shop console's robot page in a real browser (docs/web.md, "The shop console";
docs/robot-modes.md): an owner switches the mode by hand, then slow answers make rule 2.2.1
switch assist on (the owner is refused turning it off), calm lets it go, slow answers switch
it on again: every switch is a record, and the rule's averages are drawn as a line. The
server's clock is the test's, so slow answers take no real time."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.browser.conftest import OpenWindow
from tests.browser.console_helpers import open_console, shot
from tests.browser.helpers import FACE_TIMEOUT_MS
from tests.browser.workbench_helpers import Person, consumer, member
from tests.integration.harness import FakeClock, Server, fresh_database_url

# A Monday morning inside assessment hours (docs/rules.md §3), platform time.
MONDAY_10 = datetime(2026, 11, 30, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai")).timestamp()
CLOCK = FakeClock(MONDAY_10)


@pytest.fixture(scope="module")
def web_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("console-robot")
    server = Server(
        folder, fresh_database_url(folder), clock=CLOCK, overrides={"robot_tick_seconds": 0.05}
    )
    server.start()
    yield server
    server.stop()


def slow_rounds(agent: Person, server: Server, tag: str, wait: float) -> None:
    """Five buyers of shop 1 each answered after ``wait`` seconds, then closed."""
    for i in range(5):
        buyer = consumer(server, f"console-{tag}{i}")
        try:
            sid = int(buyer.write("请问今天能发货吗")["session_id"])
        finally:
            buyer.close()
        CLOCK.advance(wait)
        agent.write("可以的亲", session_id=sid)
        CLOCK.advance(10)
        agent.ok("POST", f"/api/sessions/{sid}/close")


def current(page: Any, **state: str) -> None:
    """Waits for the page to show the robot's mode (``mode=``) and the rule (``rule=on|off``)."""
    attrs = "".join(f'[data-{k}="{v}"]' for k, v in state.items())
    page.locator(f'[data-testid="robot-current"]{attrs}').wait_for(timeout=FACE_TIMEOUT_MS)


def test_owner_runs_the_robot_and_sees_its_switches(
    open_window: OpenWindow, web_server: Server
) -> None:
    window = open_window()
    page = window.page
    open_console(page, "shop1_owner", "robot")
    current(page, mode="off", rule="off")
    assert "近 60 分钟平均响应" in page.get_by_test_id("robot-window").inner_text()

    # By hand: assist on, then off again; each is a record.
    page.get_by_test_id("robot-choose-assist").click()
    current(page, mode="assist")
    page.get_by_test_id("robot-choose-off").click()
    current(page, mode="off")
    causes = page.get_by_test_id("robot-switch-cause")
    causes.nth(1).wait_for()
    assert causes.all_inner_texts() == ["手动", "手动"]
    page.get_by_test_id("robot-chart-few").wait_for()

    agent = member(web_server, "shop1_agent1")
    agent.ok("POST", "/api/agent/status", {"status": "online"})
    try:
        # Slow answers: the rule switches assist on; off is refused while it holds.
        slow_rounds(agent, web_server, "slow", 120)
        current(page, mode="assist", rule="on")
        page.get_by_test_id("robot-choose-off").click()
        error = page.get_by_test_id("robot-error")
        error.wait_for()
        assert "不能关闭" in error.inner_text()

        # Two calm hours: the rule lets go; slow answers again: on again, at 150 s.
        CLOCK.advance(2 * 3600 + 60)
        current(page, mode="off", rule="off")
        slow_rounds(agent, web_server, "slower", 150)
        current(page, mode="assist", rule="on")
    finally:
        agent.ok("POST", "/api/agent/status", {"status": "break"})
        agent.close()

    page.locator('[data-testid="line-chart"][data-drawn="true"]').wait_for(timeout=FACE_TIMEOUT_MS)
    causes = page.get_by_test_id("robot-switch-cause").all_inner_texts()
    assert causes == ["规则", "规则", "规则", "手动", "手动"], causes
    table = page.get_by_test_id("robot-switches").inner_text()
    assert "150 秒" in table and "120 秒" in table
    shot(page, "robot")
    assert [e for e in window.errors if "status of 409" not in e] == []
