"""Both faces in real browsers at once: a consumer in the chat window and an agent in the
workbench, two browser contexts, nothing driven over the API."""

from __future__ import annotations

from tests.browser.chat_helpers import open_chat, shown_messages, type_and_send, wait_for_text
from tests.browser.conftest import OpenWindow
from tests.browser.workbench_helpers import chat_texts, open_workbench, session_item

TIMEOUT = 15_000


def test_a_consumer_and_an_agent_chat_each_in_a_browser(open_window: OpenWindow) -> None:
    agent = open_window()
    open_workbench(agent.page, "shop1_agent1")  # online: the shop's only agent who is
    buyer = open_window()
    open_chat(buyer.page, "two-faces", "小周")

    type_and_send(buyer.page, "请问这双鞋有 42 码吗？")
    wait_for_text(buyer.page, "有 42 码吗", role="buyer")
    session_id = next(m["session"] for m in shown_messages(buyer.page) if m["role"] == "buyer")
    item = session_item(agent.page, session_id)
    item.wait_for(timeout=TIMEOUT)
    assert "小周" in item.inner_text()
    item.click()
    agent.page.get_by_test_id("messages").get_by_text("请问这双鞋有 42 码吗？").wait_for(
        timeout=TIMEOUT
    )

    # The agent has the session open: the buyer's message shows as read on the buyer's side.
    own = buyer.page.locator('[data-testid="message"][data-role="buyer"]').first
    own.get_by_test_id("read-state").get_by_text("已读").wait_for(timeout=TIMEOUT)

    box = agent.page.get_by_test_id("composer-input")
    box.fill("有的亲，42 码现货")
    box.press("Enter")
    wait_for_text(buyer.page, "42 码现货", role="agent")
    agent.page.locator('[data-testid="message"][data-role="agent"]:not(.pending)').wait_for(
        timeout=TIMEOUT
    )

    type_and_send(buyer.page, "好的，谢谢")
    agent.page.get_by_test_id("messages").get_by_text("好的，谢谢").wait_for(timeout=TIMEOUT)

    # Both sides show the same conversation, each message once and in order.
    texts = chat_texts(agent.page)
    assert texts[-3:] == ["请问这双鞋有 42 码吗？", "有的亲，42 码现货", "好的，谢谢"]
    shown = [m for m in shown_messages(buyer.page) if m["role"] != "system"]
    assert [m["text"] for m in shown] == texts[-3:]
    assert [m["seq"] for m in shown] == sorted({m["seq"] for m in shown})
    assert agent.errors == [] and buyer.errors == []
