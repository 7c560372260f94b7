"""The server restarts in the middle of a chat: the workbench reconnects by itself, sends what
the agent wrote meanwhile once, and shows every message once and in order."""

from __future__ import annotations

from tests.browser.conftest import OpenWindow
from tests.browser.helpers import wait_connected
from tests.browser.workbench_helpers import (
    chat_texts,
    consumer,
    open_workbench,
    reply,
    session_item,
)
from tests.integration.harness import Server

# What a browser logs while the server is away; anything else is an error of the app.
WHILE_AWAY = ("ERR_CONNECTION_REFUSED", "WebSocket connection to", "ERR_EMPTY_RESPONSE")


def test_the_workbench_resumes_after_a_restart(open_window: OpenWindow, web_server: Server) -> None:
    agent = open_window()
    page = agent.page
    open_workbench(page, "shop1_agent1")
    buyer = consumer(web_server, "buyer1")
    try:
        session_id = buyer.write("我的快递到哪了？")["session_id"]
        session_item(page, session_id).click()
        reply(page, "我帮您查一下")
        box = page.get_by_test_id("composer-input")

        web_server.stop()
        page.locator('[data-testid="connection-state"][data-state="waiting"]').wait_for()
        # Written while the server is away: shown as being sent, kept until acknowledged.
        box.fill("已经到您所在的城市了")
        box.press("Enter")
        page.locator('[data-testid="message"].pending').wait_for()

        web_server.start()
        wait_connected(page)
        page.locator('[data-testid="message"].pending').wait_for(state="detached")
        buyer.write("好的，谢谢")
        page.get_by_test_id("messages").get_by_text("好的，谢谢").wait_for()

        stored = [m["content"].get("text") for m in buyer.messages(session_id)]
        assert stored[1:] == [
            "我的快递到哪了？",
            "我帮您查一下",
            "已经到您所在的城市了",
            "好的，谢谢",
        ]
        shown = chat_texts(page)
        assert shown == [t for t in stored if t in shown] and len(shown) == len(set(shown))
        assert shown[-4:] == stored[-4:]
        seqs = page.locator('[data-testid="messages"] [data-testid="message"]').evaluate_all(
            "items => items.map(item => Number(item.dataset.seq))"
        )
        assert seqs == sorted(set(seqs))
        assert [e for e in agent.errors if not any(away in e for away in WHILE_AWAY)] == []
    finally:
        buyer.close()
