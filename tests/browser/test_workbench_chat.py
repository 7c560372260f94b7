"""The workbench end to end: a consumer writes (through the API), the agent answers in the
browser; the refused message keeps its text; the waiting cues follow a fast clock."""

from __future__ import annotations

from tests.browser.conftest import OpenWindow
from tests.browser.workbench_helpers import (
    chat_texts,
    consumer,
    open_workbench,
    reply,
    session_item,
)
from tests.integration.harness import Server, png


def test_a_consumer_writes_and_the_agent_answers(
    open_window: OpenWindow, web_server: Server
) -> None:
    agent = open_window()
    page = agent.page
    open_workbench(page, "shop1_agent1")
    buyer = consumer(web_server, "buyer1")
    try:
        sent = buyer.write("你好，这件外套有黑色 M 码吗？", entry="product")
        session_id = sent["session_id"]
        item = session_item(page, session_id)
        item.wait_for()
        assert item.get_attribute("data-unread") == "1"
        item.click()
        page.get_by_test_id("chat-pane").wait_for()
        page.get_by_test_id("messages").get_by_text("你好，这件外套有黑色 M 码吗？").wait_for()

        box = page.get_by_test_id("composer-input")
        box.fill("亲，有现货的")
        box.press("Control+Enter")
        box.type("今天 16 点前下单当天发货哦～")
        box.press("Enter")
        page.locator('[data-testid="message"][data-role="agent"]:not(.pending)').wait_for()
        assert box.input_value() == ""

        history = buyer.messages(session_id)
        answers = [m for m in history if m["sender_role"] == "agent"]
        assert [a["content"]["text"] for a in answers] == [
            "亲，有现货的\n今天 16 点前下单当天发货哦～"
        ]
        # The agent read the buyer's message: no unread left.
        assert item.get_attribute("data-unread") == "0"
        assert "亲，有现货的\n今天 16 点前下单当天发货哦～" in chat_texts(page)
        assert agent.errors == []
    finally:
        buyer.close()


def test_a_refused_message_shows_its_clause_and_stays_in_the_input(
    open_window: OpenWindow, web_server: Server
) -> None:
    agent = open_window()
    page = agent.page
    open_workbench(page, "shop1_agent1")
    buyer = consumer(web_server, "buyer2")
    try:
        session_id = buyer.write("这件衬衫有现货吗")["session_id"]
        session_item(page, session_id).click()
        box = page.get_by_test_id("composer-input")
        refused = "有事打我电话 13812345678"
        box.fill(refused)
        box.press("Enter")
        refusal = page.get_by_test_id("composer-refusal")
        refusal.wait_for()
        # The clause comes from the server's refusal (its params), in the chosen language.
        clause = page.get_by_test_id("refusal-clause").inner_text()
        assert clause.startswith("违反条款 2.2."), clause
        assert clause.split()[-1] in refusal.inner_text()
        assert "消息未发送" in refusal.inner_text()
        assert box.input_value() == refused
        assert all(m["sender_role"] != "agent" for m in buyer.messages(session_id))
        # Edited, it goes out; the notice goes away.
        reply(page, "有事请在这里留言，我们随时为您服务")
        assert refusal.count() == 0 and box.input_value() == ""
        assert [m["content"]["text"] for m in buyer.messages(session_id)][-1] == (
            "有事请在这里留言，我们随时为您服务"
        )
    finally:
        buyer.close()


def test_waiting_cues_follow_the_clock(open_window: OpenWindow, web_server: Server) -> None:
    """The buyer's wait, with a fast clock: colour steps at 1, 2, 3, 5 and 10 minutes."""
    agent = open_window()
    page = agent.page
    page.clock.install()
    open_workbench(page, "shop1_agent1")
    buyer = consumer(web_server, "buyer3")
    try:
        session_id = buyer.write("在吗？想问下尺码")["session_id"]
        timer = session_item(page, session_id).get_by_test_id("waiting-timer")
        timer.wait_for()
        assert timer.get_attribute("data-level") == "0"
        levels = []
        for seconds in (61, 60, 60, 120, 300):
            page.clock.fast_forward(seconds * 1000)
            page.clock.run_for(1000)
            levels.append(timer.get_attribute("data-level"))
        assert levels == ["1", "2", "3", "4", "5"]
        assert timer.inner_text().startswith("10:")
        # The legend says what the steps mean, with the 3-minute and 90-second standards.
        page.get_by_test_id("cue-legend-button").click()
        legend = page.get_by_test_id("cue-legend")
        legend.wait_for()
        assert "三分钟回复率" in legend.inner_text() and "90 秒" in legend.inner_text()
        # An answer ends the wait.
        session_item(page, session_id).click()
        box = page.get_by_test_id("composer-input")
        box.fill("在的，亲")
        box.press("Enter")
        timer.wait_for(state="detached")
    finally:
        buyer.close()


def test_keyboard_sessions_quick_replies_and_help(
    open_window: OpenWindow, web_server: Server
) -> None:
    agent = open_window()
    page = agent.page
    open_workbench(page, "shop1_agent1")
    buyer = consumer(web_server, "buyer4")
    try:
        buyer.write("请问今天能发货吗？")
        items = page.get_by_test_id("section-mine").locator('[data-testid^="session-"]')
        items.nth(1).wait_for()
        order = [item.get_attribute("data-testid") for item in items.all()]
        # Alt+↓ / Alt+↑ walk the list in its order, from anywhere on the page.
        active = page.locator('[data-testid="section-mine"] .item.active')
        page.keyboard.press("Alt+ArrowDown")
        assert active.get_attribute("data-testid") == order[0]
        page.keyboard.press("Alt+ArrowDown")
        assert active.get_attribute("data-testid") == order[1]
        page.keyboard.press("Alt+ArrowUp")
        assert active.get_attribute("data-testid") == order[0]

        # `/` at the start of the input offers the quick replies (the shop's, from the demo).
        box = page.get_by_test_id("composer-input")
        box.fill("/发货")
        menu = page.get_by_test_id("slash-menu")
        menu.wait_for()
        assert "发货时间" in menu.inner_text()
        box.press("Enter")
        assert box.input_value() == "亲，付款后 48 小时内发货，请耐心等待哦～"
        assert menu.count() == 0

        page.get_by_test_id("chat-name").click()
        page.keyboard.press("?")
        help_box = page.get_by_test_id("shortcut-help")
        help_box.wait_for()
        for words in ("Ctrl", "Enter", "Alt", "切换上一个 / 下一个会话", "转接当前会话"):
            assert words in help_box.inner_text()
        page.keyboard.press("Escape")
        help_box.wait_for(state="hidden")
        assert agent.errors == []
    finally:
        buyer.close()


def test_a_buyers_image_and_order_card_show_in_the_chat(
    open_window: OpenWindow, web_server: Server
) -> None:
    agent = open_window()
    page = agent.page
    open_workbench(page, "shop1_agent1")
    buyer = consumer(web_server, "c-picture", "王先生")
    try:
        session_id = buyer.write("收到的杯子有裂纹", entry="order")["session_id"]
        upload = buyer.http.post(
            f"/api/sessions/{session_id}/images",
            files={"file": ("cup.png", png(40, 30, (20, 120, 200)), "image/png")},
        )
        assert upload.status_code == 200, upload.text
        picture = {"image_id": upload.json()["id"]}
        order = {"order_no": "FG20261130000077", "title": "陶瓷马克杯", "status": "已签收"}
        for n, (kind, content) in enumerate((("image", picture), ("order_card", order))):
            body = {"client_id": f"pic-{n}", "kind": kind, "content": content}
            buyer.ok("POST", "/api/messages", json=body | {"session_id": session_id})
        session_item(page, session_id).click()
        image = page.get_by_test_id("messages").locator('[data-testid="chat-image"] img')
        image.wait_for()
        # A signed link, loaded under the page's CSP (no token in the URL, none needed).
        page.wait_for_function(
            "img => img.complete && img.naturalWidth === 40", arg=image.element_handle()
        )
        assert "sig=" in str(image.get_attribute("src"))
        card = page.get_by_test_id("messages").get_by_test_id("order_card")
        assert "FG20261130000077" in card.inner_text() and "已签收" in card.inner_text()
        assert agent.errors == []
    finally:
        buyer.close()
