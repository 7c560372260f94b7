"""The server restarts in the middle of a chat: the consumer's window reconnects by itself,
sends what was typed meanwhile, catches up on what the agent said, and shows every message
exactly once, in order."""

from __future__ import annotations

from tests.browser.chat_helpers import (
    Agent,
    open_chat,
    shown_messages,
    type_and_send,
    wait_for_text,
)
from tests.browser.conftest import OpenWindow
from tests.browser.helpers import wait_connected
from tests.integration.harness import Server

TIMEOUT = 30_000


def test_the_window_resumes_after_a_server_restart_without_losing_or_doubling(
    open_window: OpenWindow, web_server: Server
) -> None:
    agent = Agent(web_server, "shop1_agent1").online().connect()
    buyer = open_window()
    page = buyer.page
    open_chat(page, "chat-restart")
    type_and_send(page, "你好，我想改一下收货地址")
    session_id = agent.message(content={"text": "你好，我想改一下收货地址"})["session_id"]
    agent.say(session_id, "亲，请把新地址发给我")
    wait_for_text(page, "请把新地址发给我", role="agent")

    agent.close_socket()
    web_server.stop()
    page.locator('[data-testid="connection-state"]:not([data-state="open"])').wait_for()
    page.get_by_test_id("connection-notice").wait_for()
    # Typed while the server is away: shown as being sent, in order.
    type_and_send(page, "杭州市西湖区文三路 100 号")
    type_and_send(page, "收件人不变")
    assert page.locator('[data-testid="pending-message"][data-state="sending"]').count() == 2

    web_server.start()
    # The agent speaks at once, before or after the window is back: either way it arrives once.
    agent.say_over_rest(session_id, "好的，已为您修改")
    wait_connected(page)
    agent.connect()
    agent.say(session_id, "还有其他需要帮忙的吗？")
    wait_for_text(page, "还有其他需要帮忙的吗", role="agent")
    wait_for_text(page, "收件人不变", role="buyer")
    page.get_by_test_id("pending-message").wait_for(state="detached", timeout=TIMEOUT)
    page.get_by_test_id("connection-notice").wait_for(state="detached")

    stored = agent.ok("GET", f"/api/sessions/{session_id}/messages", params={"limit": 100})
    shown = shown_messages(page)
    assert [(m["seq"], m["text"]) for m in shown] == [
        (m["seq"], m["content"].get("text")) for m in stored
    ]
    texts = [m["text"] for m in shown]
    # The buyer's two messages were stored once each, in the order typed.
    assert texts.count("杭州市西湖区文三路 100 号") == 1 and texts.count("收件人不变") == 1
    assert texts.index("杭州市西湖区文三路 100 号") < texts.index("收件人不变")
    assert [m["seq"] for m in shown] == list(range(1, len(shown) + 1))
    agent.close_socket()
    # The page logged the lost connection (the browser reports refused sockets); nothing else.
    assert [e for e in buyer.errors if "WebSocket" not in e] == []
