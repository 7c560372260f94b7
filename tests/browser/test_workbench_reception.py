"""Reception in the workbench: offline messages and the queue with "take", the status switch
refusing offline while serving, and a transfer with Ctrl+R between two agents' browsers."""

from __future__ import annotations

from tests.browser.conftest import OpenWindow
from tests.browser.workbench_helpers import (
    chat_texts,
    consumer,
    member,
    open_workbench,
    reply,
    session_item,
)
from tests.integration.harness import Server

SHOP2 = 2


def test_offline_message_and_queue_then_take(open_window: OpenWindow, web_server: Server) -> None:
    agent = open_window()
    page = agent.page
    open_workbench(page, "shop2_agent1", status=None)  # offline, as every demo agent starts
    early, late = consumer(web_server, "buyer1"), consumer(web_server, "buyer2")
    try:
        # Nobody online or on break: an offline message, waiting for any agent of the shop.
        left = early.write("晚上还有人吗？想改地址", shop_id=SHOP2)["session_id"]
        item = session_item(page, left)
        page.get_by_test_id("section-offline").get_by_test_id(f"session-{left}").wait_for()
        assert item.get_attribute("data-state") == "offline"
        # On a break the agent receives no new session: the next buyer queues.
        page.get_by_test_id("status-break").click()
        page.locator('[data-testid="status-switch"][data-status="break"]').wait_for()
        queued = late.write("这个耳机支持降噪吗", shop_id=SHOP2)["session_id"]
        page.get_by_test_id("section-queued").get_by_test_id(f"session-{queued}").wait_for()
        assert session_item(page, queued).get_by_test_id("waiting-timer").count() == 1

        page.get_by_test_id(f"take-{queued}").click()
        page.get_by_test_id("section-mine").get_by_test_id(f"session-{queued}").wait_for()
        page.locator(f'[data-testid="chat-pane"][data-session="{queued}"]').wait_for()
        assert "这个耳机支持降噪吗" in chat_texts(page)
        reply(page, "支持的，主动降噪")
        assert late.messages(queued)[-1]["content"]["text"] == "支持的，主动降噪"

        page.get_by_test_id(f"take-{left}").click()
        page.get_by_test_id("section-mine").get_by_test_id(f"session-{left}").wait_for()
        assert page.get_by_test_id("section-offline").count() == 0

        assert agent.errors == []
        # Offline is refused while serving, with the server's reason.
        page.get_by_test_id("status-offline").click()
        error = page.get_by_test_id("status-error")
        error.wait_for()
        assert "仍有 2 个进行中的会话，不能下线" in error.inner_text()
        assert page.get_by_test_id("status-switch").get_attribute("data-status") == "break"
        assert [e for e in agent.errors if "status of 422" not in e] == []
    finally:
        early.close()
        late.close()


def test_transfer_with_ctrl_r_to_a_colleague(open_window: OpenWindow, web_server: Server) -> None:
    first, second = open_window(), open_window()
    open_workbench(first.page, "shop1_agent1")
    open_workbench(second.page, "shop1_agent2", status="break")
    buyer = consumer(web_server, "buyer4", "Tom")
    colleague = member(web_server, "shop1_agent2")
    try:
        session_id = buyer.write("Can I change the colour of my order?")["session_id"]
        page = first.page
        session_item(page, session_id).click()
        reply(page, "稍等，我帮您转给负责订单的同事")

        page.get_by_test_id("composer-input").press("Control+r")
        dialog = page.get_by_test_id("transfer-dialog")
        dialog.wait_for()
        target = page.get_by_test_id(f"transfer-to-{colleague.id}")
        assert "小休" in target.inner_text() and "接待 0 / 10" in target.inner_text()
        target.click()
        dialog.press("Enter")
        session_item(page, session_id).wait_for(state="detached")

        other = second.page
        item = session_item(other, session_id)
        other.get_by_test_id("section-mine").get_by_test_id(f"session-{session_id}").wait_for()
        item.click()
        other.get_by_test_id("messages").get_by_text("稍等，我帮您转给负责订单的同事").wait_for()
        assert "Can I change the colour of my order?" in chat_texts(other)
        session = colleague.ok("GET", f"/api/sessions/{session_id}")
        assert session["agent_id"] == colleague.id and session["state"] == "assigned"
        assert first.errors == [] and second.errors == []
    finally:
        buyer.close()
        colleague.close()
