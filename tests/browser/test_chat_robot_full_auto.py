"""The full-auto robot in both faces (docs/robot-modes.md, "Full-auto"): the buyer's chat
window shows the robot's answer labelled as the robot's and a 转人工 button while the robot
serves; pressed, the session goes to a person with a clear notice, and the workbench shows the
robot's earlier conversation and why it was handed over."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser.chat_helpers import open_chat, shown_messages, type_and_send, wait_for_text
from tests.browser.conftest import OpenWindow
from tests.browser.helpers import FACE_TIMEOUT_MS
from tests.browser.test_workbench_robot import MONDAY_10
from tests.browser.workbench_helpers import member, open_workbench, session_item
from tests.integration.harness import FakeClock, Server, fresh_database_url

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
CLOCK = FakeClock(MONDAY_10)


@pytest.fixture(scope="module")
def web_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """This module's demo server runs on the test's clock and ticks the robot often."""
    folder = tmp_path_factory.mktemp("web-full-auto")
    server = Server(
        folder, fresh_database_url(folder), clock=CLOCK, overrides={"robot_tick_seconds": 0.05}
    )
    server.start()
    yield server
    server.stop()


def test_the_buyer_talks_to_the_robot_then_presses_zhuan_ren_gong(
    open_window: OpenWindow, web_server: Server
) -> None:
    owner = member(web_server, "shop1_owner")
    owner.ok("PUT", "/api/robot/mode", json={"mode": "full_auto"})
    member(web_server, "shop1_agent1").ok("POST", "/api/agent/status", json={"status": "online"})
    owner_window, buyer_window = open_window(), open_window()
    workbench, buyer = owner_window.page, buyer_window.page
    open_workbench(workbench, "shop1_owner", status=None)
    open_chat(buyer, "full-auto-buyer", "小李")

    # The robot receives the session and answers, labelled as the robot's.
    type_and_send(buyer, "下单后几天能发货呀")
    wait_for_text(buyer, "下单后几天能发货呀", role="buyer")
    label = buyer.get_by_test_id("robot-label")
    label.wait_for(timeout=30_000)  # the shop's robot is built at its first question
    assert label.inner_text() == "智能客服 · 机器人回复"
    wait_for_text(buyer, "48小时", role="robot")
    button = buyer.get_by_test_id("handover-button")
    button.wait_for(timeout=FACE_TIMEOUT_MS)
    assert button.inner_text().strip() == "转人工"
    session_id = shown_messages(buyer)[-1]["session"]

    # The owner's workbench shows the session the robot serves.
    session_item(workbench, session_id).click()
    workbench.get_by_test_id("robot-serving").wait_for(timeout=FACE_TIMEOUT_MS)

    # 转人工: the button goes, a clear notice shows, the session is a person's.
    CLOCK.advance(5)
    button.click()
    notice = buyer.locator('[data-testid="message"][data-handover="yes"]')
    notice.wait_for(timeout=FACE_TIMEOUT_MS)
    assert "已为您转接人工客服" in notice.inner_text()
    buyer.get_by_test_id("robot-bar").wait_for(state="hidden", timeout=FACE_TIMEOUT_MS)
    session = owner.ok("GET", f"/api/sessions/{session_id}")
    assert session["state"] in ("assigned", "queued", "offline")
    # The picture without the hand-over toast fading out at the top.
    buyer.locator(".el-message").first.wait_for(state="detached", timeout=FACE_TIMEOUT_MS)
    buyer.screenshot(path=str(SCREENSHOTS / "chat-robot-fullauto.png"))  # docs/robot-modes.md

    # The workbench: why it was handed over, above the robot's conversation.
    banner = workbench.get_by_test_id("handover-banner")
    banner.wait_for(timeout=FACE_TIMEOUT_MS)
    assert banner.get_attribute("data-reason") == "button"
    assert "买家点击了转人工" in banner.inner_text()
    workbench.locator('[data-testid="messages"] [data-role="robot"]').first.wait_for()
    assert workbench.get_by_test_id("handover-notice").get_attribute("data-reason") == "button"
    workbench.screenshot(path=str(SCREENSHOTS / "workbench-handover.png"))  # docs/robot-modes.md
    assert owner_window.errors == [] and buyer_window.errors == []
