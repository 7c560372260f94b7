"""The consumer chat window in a real browser, the shop's side driven over REST and the
socket: text both ways, typing, read receipts, images, cards, refusals, the rating."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser.chat_helpers import (
    Agent,
    open_chat,
    shown_messages,
    type_and_send,
    wait_for_text,
)
from tests.browser.conftest import OpenWindow
from tests.integration.harness import Server, png

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
TIMEOUT = 15_000


@pytest.fixture(scope="module")
def agent(web_server: Server) -> Iterator[Agent]:
    """Shop 1's agent 小红, online, the only one: every new session of shop 1 goes to her."""
    person = Agent(web_server, "shop1_agent1").online().connect()
    yield person
    person.close_socket()


def test_consumer_and_agent_chat_with_typing_and_read_receipts(
    open_window: OpenWindow, agent: Agent
) -> None:
    buyer = open_window()
    page = buyer.page
    open_chat(page, "chat-e2e", "小李")
    page.get_by_test_id("chat-status").get_by_text("有问题随时问我们").wait_for()

    type_and_send(page, "你好，这件外套有黑色 M 码吗？")
    first = agent.message(sender_role="buyer")
    session_id = first["session_id"]
    wait_for_text(page, "你好，这件外套有黑色 M 码吗？", role="buyer")
    # The pending bubble became the stored message: nothing is shown twice.
    assert page.get_by_test_id("pending-message").count() == 0
    # The welcome notice the shop greets with, and the state in the header.
    wait_for_text(page, "欢迎光临飞鸽旗舰店", role="system")
    page.get_by_test_id("chat-status").get_by_text("客服已接入").wait_for()
    # The buyer's message is not read yet.
    own = page.locator('[data-testid="message"][data-role="buyer"]').first
    assert own.get_by_test_id("read-state").inner_text() == "未读"

    agent.send_frame({"op": "typing", "session_id": session_id})
    page.get_by_test_id("agent-typing").wait_for(timeout=TIMEOUT)
    agent.say(session_id, "亲，有现货的，今天 16 点前下单当天发货哦～")
    wait_for_text(page, "今天 16 点前下单当天发货", role="agent")
    # The agent's message stops the typing cue, and the window says it has seen it.
    page.get_by_test_id("agent-typing").wait_for(state="detached", timeout=TIMEOUT)
    said = agent.say(session_id, "请问您平时穿什么尺码？")
    agent.read_receipt(session_id, said["seq"])

    agent.send_frame({"op": "read", "session_id": session_id, "seq": first["seq"]})
    own.get_by_test_id("read-state").get_by_text("已读").wait_for(timeout=TIMEOUT)

    type_and_send(page, "好的，那我现在下单 😊")
    wait_for_text(page, "那我现在下单", role="buyer")
    shown = shown_messages(page)
    assert [m["seq"] for m in shown] == list(range(1, len(shown) + 1))
    assert [m["role"] for m in shown] == ["system", "buyer", "agent", "agent", "buyer"]
    assert page.get_by_test_id("composer-input").input_value() == ""

    page.evaluate("document.fonts.ready")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "chat.png"))
    assert buyer.errors == []
