"""Enforcement in a real browser (docs/enforcement.md, docs/web.md): a message recalled for a
violation shows the notice on both sides, live and in history; a muted, then banned consumer
is told why and keeps the words typed; a restricted shop's workbench holds the image button
and says until when and why, live, before anyone sends; a chat window opened by a muted or
banned consumer says so at once. The reviewer's side is driven over REST, as the integration
tests do."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest

from tests.browser.chat_helpers import Agent, open_chat, type_and_send, wait_for_text
from tests.browser.conftest import OpenWindow
from tests.browser.workbench_helpers import (
    Person,
    consumer,
    member,
    open_workbench,
    reply,
    session_item,
)
from tests.integration.harness import Server, fresh_database_url, png

TIMEOUT = 15_000
MISUSE = "别家都是假货"  # 2.2.10 misuse: delivered, and held for a reviewer
SPAM = "加我刷单返现"  # a buyer's spam: blocked, and a violation for a reviewer
NOTICE_ZH = "该消息因违规已被撤回"
NOTICE_EN = "This message was recalled for a rule violation"
# Low thresholds: two confirmed records (2 points each) restrict the shop.
POLICY = """
[measures.restriction]
days = 3
features = ["image", "card"]
[[thresholds]]
points = 2
measure = "warning"
[[thresholds]]
points = 4
measure = "restriction"
"""


@pytest.fixture(scope="module")
def web_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The demo server of this module, with the low thresholds above."""
    folder = tmp_path_factory.mktemp("enforcement-web")
    policy = folder / "enforcement.toml"
    policy.write_text(POLICY, encoding="utf-8")
    server = Server(
        folder, fresh_database_url(folder), overrides={"enforcement_policy_path": str(policy)}
    )
    server.start()
    yield server
    server.stop()


@pytest.fixture
def reviewer(web_server: Server) -> Iterator[Person]:
    person = member(web_server, "reviewer", kind="staff")
    yield person
    person.close()


def pending_violation(reviewer: Person, **match: Any) -> dict[str, Any]:
    rows = reviewer.ok("GET", "/api/violations", params={"status": "pending", "shop_id": 1})
    found = [r for r in rows if all(r.get(k) == v for k, v in match.items())]
    assert found, (match, rows)
    return dict(found[0])


def confirm(reviewer: Person, violation_id: int) -> dict[str, Any]:
    return dict(
        reviewer.ok("POST", f"/api/violations/{violation_id}/review", {"decision": "confirmed"})
    )


def test_a_recalled_message_shows_the_notice_in_the_chat_and_the_workbench(
    open_window: OpenWindow, web_server: Server, reviewer: Person
) -> None:
    agent = open_window()
    open_workbench(agent.page, "shop1_agent1")
    buyer = open_window()
    open_chat(buyer.page, "c-recall", "小周")
    type_and_send(buyer.page, "请问有货吗")
    wait_for_text(buyer.page, "请问有货吗", role="buyer")

    session_id = int(
        buyer.page.locator('[data-testid="message"][data-role="buyer"]').first.get_attribute(
            "data-session"
        )
        or 0
    )
    session_item(agent.page, session_id).click()
    reply(agent.page, MISUSE)
    wait_for_text(buyer.page, MISUSE, role="agent")
    record = pending_violation(reviewer, session_id=session_id, sender_role="agent")
    confirm(reviewer, record["id"])

    # Live, on both sides: the notice replaces the words, which are gone from the page.
    for page in (buyer.page, agent.page):
        page.get_by_test_id("recalled").get_by_text(NOTICE_ZH).wait_for(timeout=TIMEOUT)
        assert MISUSE not in page.locator("body").inner_text()
    # In history (a reload), and in English.
    buyer.page.reload()
    buyer.page.get_by_test_id("recalled").get_by_text(NOTICE_ZH).wait_for(timeout=TIMEOUT)
    buyer.page.evaluate("localStorage.setItem('feige.locale', 'en')")
    buyer.page.reload()
    buyer.page.get_by_test_id("recalled").get_by_text(NOTICE_EN).wait_for(timeout=TIMEOUT)
    agent.page.reload()
    session_item(agent.page, session_id).click()
    agent.page.get_by_test_id("recalled").get_by_text(NOTICE_ZH).wait_for(timeout=TIMEOUT)
    assert MISUSE not in agent.page.locator("body").inner_text()
    assert agent.errors == [] and buyer.errors == []


def test_a_muted_then_banned_consumer_is_told_why_and_keeps_the_text(
    open_window: OpenWindow, web_server: Server, reviewer: Person
) -> None:
    buyer = open_window()
    page = buyer.page
    open_chat(page, "c-spammer", "小吴")
    type_and_send(page, "在吗")
    wait_for_text(page, "在吗", role="buyer")

    # Spam is blocked; the reviewer verifies it: the account is muted, told live.
    type_and_send(page, SPAM)
    page.locator('[data-testid="pending-message"][data-state="failed"]').wait_for(timeout=TIMEOUT)
    box = page.get_by_test_id("composer-input")
    box.fill("我想问一下退货")
    decided = confirm(reviewer, pending_violation(reviewer, sender_role="buyer")["id"])
    assert decided["sanction"]["kind"] == "mute"
    hold = page.get_by_test_id("account-hold")
    hold.get_by_text("禁言至").wait_for(timeout=TIMEOUT)
    # The composer is held, and what was typed stays in the box.
    assert box.is_disabled() and box.input_value() == "我想问一下退货"
    assert page.get_by_test_id("composer-send").is_disabled()
    assert page.get_by_test_id("image-button").is_disabled()

    # Lifted: the banner goes, the composer is back, the text still there.
    reviewer.ok("POST", f"/api/reviews/consumer-restrictions/{decided['sanction']['id']}/lift")
    hold.wait_for(state="detached", timeout=TIMEOUT)
    assert box.is_enabled() and box.input_value() == "我想问一下退货"

    # A second verified violation bans the account. A window opened anew reads the account's
    # standing at once (GET /api/me/standing): banned, why, and how to appeal.
    box.fill("")
    type_and_send(page, SPAM)
    failed = page.locator('[data-testid="pending-message"][data-state="failed"]')
    failed.nth(1).wait_for(timeout=TIMEOUT)
    banned = confirm(reviewer, pending_violation(reviewer, sender_role="buyer")["id"])
    assert banned["sanction"]["kind"] == "ban"
    page.reload()
    page.get_by_test_id("chat-face").wait_for(timeout=TIMEOUT)
    hold = page.get_by_test_id("account-hold")
    hold.get_by_text("已被封禁").wait_for(timeout=TIMEOUT)
    said = hold.inner_text()
    assert "原因" in said and "客服" in said, said
    box = page.get_by_test_id("composer-input")
    assert box.is_disabled()
    assert page.get_by_test_id("pending-message").count() == 0
    assert buyer.errors == []


def test_a_restricted_shop_holds_the_image_button_and_says_until_when(
    open_window: OpenWindow, web_server: Server, reviewer: Person
) -> None:
    agent = open_window()
    page = agent.page
    open_workbench(page, "shop1_agent1")
    buyer = consumer(web_server, "c-restricted", "小郑")
    try:
        session_id = buyer.write("你好，在吗")["session_id"]
        session_item(page, session_id).click()
        image_button = page.get_by_test_id("image-button")
        assert image_button.is_enabled()
        for text in (MISUSE, f"{MISUSE}，真的"):
            reply(page, text)
        owner = member(web_server, "shop1_owner")
        for row in owner.ok("GET", "/api/violations", params={"status": "pending"}):
            if row["session_id"] == session_id:
                confirm(reviewer, pending_violation(reviewer, message_id=row["message_id"])["id"])
        standing = owner.ok("GET", "/api/enforcement/standing")
        assert standing["refused_features"] == ["card", "image"], standing

        # The agent hears it at once, before any send (the live `restrictions` event): the
        # image button is held, and a notice says what, until when and why.
        notice = page.get_by_test_id("composer-holds")
        notice.get_by_text("暂不能发送").wait_for(timeout=TIMEOUT)
        said = notice.inner_text()
        assert "图片" in said and "卡片" in said and "违规积分达到 4 分" in said, said
        assert image_button.is_disabled()

        # An image sent anyway (the file input is still there) is refused, with the reason;
        # what was typed stays; the tooltip says until when.
        box = page.get_by_test_id("composer-input")
        box.fill("稍等，我查一下")
        page.locator('.composer input[type="file"]').set_input_files(
            {"name": "a.png", "mimeType": "image/png", "buffer": png()}
        )
        refusal = page.get_by_test_id("composer-refusal")
        refusal.get_by_text("前不能发送图片").wait_for(timeout=TIMEOUT)
        assert box.input_value() == "稍等，我查一下"
        assert image_button.is_disabled()
        slot = page.get_by_test_id("image-button-slot")
        slot.hover()
        tooltip = page.locator(".el-popper").filter(has_text="前不能发送图片")
        tooltip.first.wait_for(timeout=TIMEOUT)
        year = str(date.today().year)
        assert year in (slot.get_attribute("data-held") or "")
        # Text still goes through.
        box.press("Enter")
        page.locator('[data-testid="message"][data-role="agent"]:not(.pending) span.text').filter(
            has_text="稍等，我查一下"
        ).wait_for(timeout=TIMEOUT)

        # A workbench opened later knows it at once, from GET /api/enforcement/restrictions.
        boss = open_window()
        open_workbench(boss.page, "shop1_owner", status=None)
        session_item(boss.page, session_id).click()
        boss_slot = boss.page.get_by_test_id("image-button-slot")
        boss_slot.wait_for(timeout=TIMEOUT)
        held = boss_slot.get_attribute("data-held") or ""
        assert "前不能发送图片" in held and year in held, held
        assert agent.errors == [] and boss.errors == []
    finally:
        buyer.close()


def test_an_owner_hears_notices_live_and_marks_them_read(
    open_window: OpenWindow, web_server: Server, reviewer: Person
) -> None:
    boss = open_window()
    page = boss.page
    open_workbench(page, "shop1_owner", status=None)
    badge = page.get_by_test_id("inbox-badge")
    badge.wait_for(timeout=TIMEOUT)
    before = int(badge.get_attribute("data-unread") or 0)

    agent = Agent(web_server, "shop1_agent1").online().connect()
    buyer = consumer(web_server, "c-inbox", "小冯")
    try:
        session_id = buyer.write("你好")["session_id"]
        said = agent.say(session_id, MISUSE)
        decided = confirm(reviewer, pending_violation(reviewer, message_id=said["id"])["id"])
        told = 1 + len(decided["measures"])  # the decision, and each measure it crossed into
        page.locator(f'[data-testid="inbox-badge"][data-unread="{before + told}"]').wait_for(
            timeout=TIMEOUT
        )
        page.get_by_test_id("inbox-button").click()
        first = page.get_by_test_id("inbox-item").first
        first.wait_for(timeout=TIMEOUT)
        kinds = page.get_by_test_id("inbox-item").evaluate_all(
            "rows => rows.map(row => row.dataset.kind)"
        )
        assert "violation_decided" in kinds[:told], kinds
        page.get_by_test_id("inbox-drawer").get_by_text("违规审核结果").first.wait_for()

        # One read by a click, then all: the badge follows, and so does the server.
        unread = page.locator('[data-testid="inbox-item"][data-read="false"]')
        unread.first.click()
        page.locator(f'[data-testid="inbox-badge"][data-unread="{before + told - 1}"]').wait_for(
            timeout=TIMEOUT
        )
        page.get_by_test_id("inbox-read-all").click()
        page.locator('[data-testid="inbox-badge"][data-unread="0"]').wait_for(timeout=TIMEOUT)
        assert unread.count() == 0
        owner = member(web_server, "shop1_owner")
        assert owner.ok("GET", "/api/enforcement/inbox")["unread"] == 0
        assert boss.errors == []
    finally:
        agent.close_socket()
        buyer.close()
