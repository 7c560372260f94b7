"""The assist robot in both faces (docs/robot-modes.md, "Assist"): a buyer asks in the chat
window, the agent sees the robot's suggestions live in the workbench and sends one with a
click; nobody answers the next question and after 20 s (the test's clock) the robot does,
labelled to the buyer "此消息由机器人自动回复"."""

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
    folder = tmp_path_factory.mktemp("web-assist")
    server = Server(
        folder, fresh_database_url(folder), clock=CLOCK, overrides={"robot_tick_seconds": 0.05}
    )
    server.start()
    yield server
    server.stop()


def test_the_agent_sends_a_suggestion_and_the_robot_answers_in_time(
    open_window: OpenWindow, web_server: Server
) -> None:
    owner = member(web_server, "shop1_owner")
    owner.ok("PUT", "/api/robot/mode", json={"mode": "assist"})
    agent_window, buyer_window = open_window(), open_window()
    agent, buyer = agent_window.page, buyer_window.page
    open_workbench(agent, "shop1_agent1")
    open_chat(buyer, "assist-buyer", "小王")

    type_and_send(buyer, "下单后几天能发货呀")
    wait_for_text(buyer, "下单后几天能发货呀", role="buyer")
    session_id = shown_messages(buyer)[-1]["session"]
    session_item(agent, session_id).click()
    suggestions = agent.get_by_test_id("robot-suggestions")
    suggestions.wait_for(timeout=30_000)  # the shop's robot is built at its first question
    first = agent.get_by_test_id("suggestion").first
    assert "多久发货" in first.inner_text()
    answer = first.locator(".answer").inner_text()
    assert "48小时" in answer

    # One click: sent as the robot's assist reply under the agent's id (docs/rules.md, sender
    # roles), marked, without the automatic-reply label; the suggestions go away.
    first.click()
    wait_for_text(buyer, answer[:12], role="robot_assist")
    assert buyer.get_by_test_id("auto-reply-label").count() == 0
    suggestions.wait_for(state="hidden")
    sent = [
        m
        for m in owner.messages(session_id)
        if m["sender_role"] == "robot_assist"
        and m["sender_id"] is not None
        and m["content"].get("suggestion") == "多久发货"
    ]
    assert len(sent) == 1

    # Nobody answers the next question: at 20 s the robot does, labelled to the buyer.
    CLOCK.advance(30)
    type_and_send(buyer, "你们默认发哪家快递")
    agent.get_by_test_id("suggestion").filter(has_text="发什么快递").wait_for(
        timeout=FACE_TIMEOUT_MS
    )
    agent.screenshot(path=str(SCREENSHOTS / "workbench-suggestions.png"))  # docs/robot-modes.md
    CLOCK.advance(20)
    label = buyer.get_by_test_id("auto-reply-label")
    label.wait_for(timeout=FACE_TIMEOUT_MS)
    assert label.inner_text() == "此消息由机器人自动回复"
    agent.locator('[data-testid="message"][data-role="robot_assist"]').nth(1).wait_for()
    suggestions.wait_for(state="hidden")
    buyer.screenshot(path=str(SCREENSHOTS / "chat-robot-assist.png"))  # docs/robot-modes.md
    assert agent_window.errors == [] and buyer_window.errors == []
