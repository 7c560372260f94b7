"""The consumer chat window in a real browser, the shop's side driven over REST and the
socket: text both ways, typing, read receipts, images, cards, refusals, the rating."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

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
    assert buyer.errors == []


def test_opening_from_a_product_page_shows_and_sends_its_card(
    open_window: OpenWindow, agent: Agent
) -> None:
    buyer = open_window()
    page = buyer.page
    open_chat(
        page,
        "chat-product",
        "小周",
        query="shop=1&product=P1001&title=秋冬加厚羊毛大衣 女 中长款 双面呢&price=399.00",
    )
    banner = page.get_by_test_id("entry-banner")
    banner.get_by_text("秋冬加厚羊毛大衣").wait_for()
    banner.get_by_test_id("send-entry-card").click()

    card = agent.message(kind="product_card", sender_role="buyer")
    assert card["content"]["product_id"] == "P1001"
    session_id = card["session_id"]
    # The card opened the session as its entry: the agent sees where the buyer came from.
    session = agent.ok("GET", f"/api/sessions/{session_id}")
    assert session["entry"] == "product"
    assert session["entry_card"]["product_id"] == "P1001"
    page.locator('[data-testid="message"][data-role="buyer"]').get_by_test_id(
        "product-card"
    ).wait_for()
    page.get_by_test_id("session-start").get_by_text("您正在咨询").wait_for()

    type_and_send(page, "这款大衣有黑色 M 码吗？165 穿会不会太长？")
    agent.message(session_id=session_id, sender_role="buyer", kind="text")
    agent.say(session_id, "亲，黑色 M 码有现货的～165 穿到小腿上方，长度刚好哦")
    said = agent.say(session_id, "今天 16 点前下单，当天就能发货")
    agent.send_frame({"op": "read", "session_id": session_id, "seq": said["seq"]})
    wait_for_text(page, "今天 16 点前下单", role="agent")
    page.get_by_test_id("read-state").get_by_text("已读").first.wait_for(timeout=TIMEOUT)
    type_and_send(page, "好的，谢谢！我这就下单 👍")
    wait_for_text(page, "我这就下单", role="buyer")
    agent.send_frame({"op": "typing", "session_id": session_id})
    page.get_by_test_id("agent-typing").wait_for(timeout=TIMEOUT)
    page.evaluate("document.fonts.ready")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "chat.png"))
    assert buyer.errors == []


def test_images_upload_show_and_enlarge_on_both_sides(
    open_window: OpenWindow, agent: Agent, tmp_path: Path
) -> None:
    buyer = open_window()
    page = buyer.page
    open_chat(page, "chat-images")
    type_and_send(page, "我收到的衣服有个线头，您看下")
    session_id = agent.message(content={"text": "我收到的衣服有个线头，您看下"})["session_id"]

    picture = tmp_path / "photo.png"
    picture.write_bytes(png(120, 80, (40, 120, 200)))
    page.get_by_test_id("image-input").set_input_files(str(picture))
    sent = agent.message(session_id=session_id, kind="image", sender_role="buyer")
    # The agent can open the very picture the buyer picked.
    stored = agent.http.get(f"/api/images/{sent['content']['image_id']}")
    assert stored.status_code == 200
    assert Image.open(io.BytesIO(stored.content)).size == (120, 80)
    mine = page.locator('[data-testid="message"][data-role="buyer"]').get_by_test_id("chat-image")
    mine.locator("img").wait_for()
    assert page.get_by_test_id("pending-message").count() == 0

    upload = agent.ok(
        "POST",
        f"/api/sessions/{session_id}/images",
        files={"file": ("reply.png", png(64, 48, (220, 60, 60)), "image/png")},
    )
    agent.send_frame(
        {
            "op": "send",
            "client_id": "agent-image-1",
            "session_id": session_id,
            "kind": "image",
            "content": {"image_id": upload["id"]},
        }
    )
    theirs = page.locator('[data-testid="message"][data-role="agent"]').get_by_test_id("chat-image")
    theirs.locator("img").wait_for(timeout=TIMEOUT)
    # Loaded through the signed link the API gives (no token in any URL).
    page.wait_for_function(
        """() => [...document.querySelectorAll('[data-role="agent"] img')]
            .some(img => img.complete && img.naturalWidth === 64)"""
    )
    theirs.click()
    page.get_by_test_id("image-viewer").wait_for()
    page.keyboard.press("Escape")
    page.get_by_test_id("image-viewer").wait_for(state="detached")
    assert buyer.errors == []


def test_a_blocked_message_shows_why_and_its_text_stays_for_editing(
    open_window: OpenWindow, agent: Agent
) -> None:
    buyer = open_window()
    page = buyer.page
    open_chat(page, "chat-blocked")
    type_and_send(page, "你好，我想问下优惠")
    session_id = agent.message(content={"text": "你好，我想问下优惠"})["session_id"]

    refused = "你个傻逼客服，快点回复"
    type_and_send(page, refused)
    error = page.get_by_test_id("send-error")
    error.wait_for(timeout=TIMEOUT)
    reason = error.locator(".reason").inner_text()
    assert reason.startswith("消息未发送：违反平台规则") and "2." in reason
    # The words are back in the box, and no retry is offered for a blocked text.
    assert page.get_by_test_id("composer-input").input_value() == refused
    assert error.get_by_test_id("retry").count() == 0
    # Nothing reached the shop.
    history = agent.ok("GET", f"/api/sessions/{session_id}/messages")
    assert all(m["content"].get("text") != refused for m in history)

    error.get_by_test_id("discard").click()
    page.get_by_test_id("pending-message").wait_for(state="detached")
    page.get_by_test_id("composer-input").fill("请问现在有什么优惠吗？")
    page.get_by_test_id("composer-send").click()
    wait_for_text(page, "请问现在有什么优惠吗？", role="buyer")
    assert buyer.errors == []


def test_rating_after_the_agent_closes_and_earlier_sessions(
    open_window: OpenWindow, agent: Agent
) -> None:
    buyer = open_window()
    page = buyer.page
    open_chat(page, "chat-rating")
    type_and_send(page, "你好，我的订单发货了吗？")
    first = agent.message(content={"text": "你好，我的订单发货了吗？"})["session_id"]
    agent.say(first, "亲，已经发货了，顺丰明天送到")
    agent.ok("POST", f"/api/sessions/{first}/close")

    dialog = page.get_by_role("dialog", name="请为本次服务评价")
    dialog.wait_for(timeout=TIMEOUT)
    wait_for_text(page, "会话已结束", role="system")
    dialog.locator('[data-score="4"]').click()
    dialog.get_by_test_id("rating-submit").click()
    dialog.wait_for(state="hidden")
    page.get_by_test_id("after-close").get_by_text("您已评价：4 星").wait_for()
    assert agent.ok("GET", f"/api/sessions/{first}")["rating"] == 4

    # Opened again, the last rating counts.
    page.get_by_test_id("rate-again").click()
    dialog.wait_for()
    dialog.locator('[data-score="5"]').click()
    dialog.get_by_test_id("rating-submit").click()
    page.get_by_test_id("after-close").get_by_text("您已评价：5 星").wait_for()
    assert agent.ok("GET", f"/api/sessions/{first}")["rating"] == 5

    # A new message opens a new session; the earlier one is a tap away after a reload.
    type_and_send(page, "还有一个问题，可以开发票吗？")
    second = agent.message(content={"text": "还有一个问题，可以开发票吗？"})["session_id"]
    assert second != first
    page.reload()
    wait_for_text(page, "可以开发票吗", role="buyer")
    assert {m["session"] for m in shown_messages(page)} == {second}
    page.get_by_test_id("show-earlier").click()
    wait_for_text(page, "顺丰明天送到", role="agent")
    shown = shown_messages(page)
    sessions = [m["session"] for m in shown]
    assert sessions == sorted(sessions) and set(sessions) == {first, second}
    assert buyer.errors == []


def test_report_the_shop(open_window: OpenWindow, agent: Agent) -> None:
    buyer = open_window()
    page = buyer.page
    open_chat(page, "chat-report")
    type_and_send(page, "你好")
    session_id = agent.message(content={"text": "你好"})["session_id"]
    page.get_by_test_id("chat-menu").click()
    page.get_by_test_id("menu-report").click()
    dialog = page.get_by_role("dialog", name="举报店铺")
    dialog.get_by_text("辱骂、骚扰").click()
    dialog.get_by_test_id("report-detail").fill("客服态度很差")
    dialog.get_by_test_id("report-submit").click()
    page.get_by_text("举报已提交").wait_for()
    # The session is invalid for the shop's figures, as a report makes it.
    assert agent.ok("GET", f"/api/sessions/{session_id}")["invalid"] is True
    assert buyer.errors == []


def test_a_phone_sized_window_from_an_order(open_window: OpenWindow, agent: Agent) -> None:
    buyer = open_window(
        viewport={"width": 390, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
    )
    page = buyer.page
    open_chat(
        page,
        "chat-mobile",
        "小陈",
        query="shop=1&order=20251128001&title=秋冬加厚羊毛大衣 黑色 M&amount=399.00&status=已发货",
    )
    page.get_by_test_id("send-entry-card").tap()
    session_id = agent.message(kind="order_card")["session_id"]
    page.get_by_test_id("emoji-button").tap()
    page.get_by_test_id("emoji-picker").get_by_role("option", name="🙏").tap()
    box = page.get_by_test_id("composer-input")
    box.type("物流好几天没更新了，帮忙查一下")
    assert box.input_value() == "🙏物流好几天没更新了，帮忙查一下"
    page.get_by_test_id("composer-send").tap()
    wait_for_text(page, "物流好几天没更新了", role="buyer")
    agent.say(session_id, "亲，帮您查询了，包裹已到达杭州转运中心，预计明天送达～")
    wait_for_text(page, "预计明天送达", role="agent")
    # Nothing is wider than the phone.
    assert page.evaluate("document.scrollingElement.scrollWidth") <= 390
    page.evaluate("document.fonts.ready")
    page.screenshot(path=str(SCREENSHOTS / "chat-mobile.png"))
    assert buyer.errors == []
