"""The platform console's reviewer pages in a real browser (docs/web.md, "The platform
console"; docs/enforcement.md): a violation decided from its evidence and the message
recalled in the consumer's window; many decided at once; a consumer's ban lifted; shop-side
reports upheld in bulk; an appeal refused to the reviewer whose decision it contests and
granted by another. The data is made through the real API, as shops and consumers make it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.chat_helpers import Agent, open_chat, type_and_send, wait_for_text
from tests.browser.conftest import OpenWindow
from tests.browser.helpers import wait_connected
from tests.browser.platform_helpers import choose, go, open_console, screenshot
from tests.browser.workbench_helpers import Person, consumer, member
from tests.integration.harness import PASSWORD, Server

TIMEOUT = 15_000
MISUSE = "别家都是假货"  # 2.2.10 misuse: delivered, and held for a reviewer
SPAM = "加我刷单返现"  # a buyer's spam: blocked, and a violation for a reviewer
NOTICE_ZH = "该消息因违规已被撤回"


@pytest.fixture
def reviewer(web_server: Server) -> Iterator[Person]:
    person = member(web_server, "reviewer", kind="staff")
    yield person
    person.close()


def pending_of(reviewer: Person, **match: Any) -> list[dict[str, Any]]:
    rows = reviewer.ok("GET", "/api/reviews/violations", params={"status": "pending"})
    return [r for r in rows if all(r.get(k) == v for k, v in match.items())]


def test_a_reviewer_decides_a_violation_from_its_evidence_and_the_message_is_recalled(
    open_window: OpenWindow, web_server: Server, reviewer: Person
) -> None:
    agent = Agent(web_server, "shop1_agent1").online().connect()
    buyer = open_window()
    open_chat(buyer.page, "c-plat-recall", "小林")
    type_and_send(buyer.page, "请问这款还有货吗")
    wait_for_text(buyer.page, "请问这款还有货吗", role="buyer")
    session_id = int(
        buyer.page.locator('[data-testid="message"][data-role="buyer"]').first.get_attribute(
            "data-session"
        )
        or 0
    )
    try:
        said = agent.say(session_id, f"{MISUSE}，只有我们是正品")
    finally:
        agent.close_socket()
    wait_for_text(buyer.page, MISUSE, role="agent")
    (record,) = pending_of(reviewer, message_id=said["id"])

    desk = open_window()
    page = desk.page
    open_console(page)
    # The queue's filters: an agent's message of shop 1.
    filters = page.get_by_test_id("filters-violations")
    choose(page, "filter-role", "商家客服", within=filters)
    filters.get_by_test_id("filter-shop").fill("1")
    filters.get_by_test_id("filter-shop").press("Enter")
    row = page.get_by_test_id(f"queue-violation-{record['id']}")
    row.wait_for(timeout=TIMEOUT)
    assert page.locator('[data-testid^="queue-violation-"]').filter(has_text="消费者").count() == 0
    row.click()

    # The evidence: the original with the engine's finding marked, the clause, the message
    # in its context.
    evidence = page.get_by_test_id("violation-evidence")
    evidence.wait_for(timeout=TIMEOUT)
    assert evidence.get_attribute("data-id") == str(record["id"])
    said_text = f"{MISUSE}，只有我们是正品"
    marked = evidence.get_by_test_id("evidence-span").first.inner_text()
    assert marked and marked in said_text, marked
    assert said_text in evidence.get_by_test_id("evidence-original").inner_text()
    assert "2.2.10" in evidence.inner_text()
    flagged = evidence.locator('[data-testid="context-message"][data-flagged="true"]')
    assert MISUSE in flagged.inner_text()
    assert (
        evidence.locator('[data-testid="context-message"]')
        .filter(has_text="请问这款还有货吗")
        .count()
        == 1
    )
    screenshot(page, "platform-queue")

    # Confirmed with a reason: the consumer's window replaces the words by the notice.
    page.get_by_test_id("decide-uphold").click()
    dialog = page.get_by_test_id("decision-dialog")
    dialog.get_by_test_id("decision-reason").fill("贬低同行，证据确凿")
    dialog.get_by_test_id("decision-confirm").click()
    page.locator(".el-message--success", has_text="已处理 1 条").wait_for(timeout=TIMEOUT)
    buyer.page.get_by_test_id("recalled").get_by_text(NOTICE_ZH).wait_for(timeout=TIMEOUT)
    assert MISUSE not in buyer.page.locator("body").inner_text()

    # The record leaves the pending queue; its evidence now shows the recalled message with
    # the original, here only.
    row.wait_for(state="detached", timeout=TIMEOUT)
    page.locator('[data-testid="violation-evidence"][data-status="confirmed"]').wait_for(
        timeout=TIMEOUT
    )
    recalled = evidence.locator('[data-testid="context-message"][data-flagged="true"]')
    assert recalled.get_attribute("data-kind") == "recalled"
    assert NOTICE_ZH in recalled.inner_text()
    assert MISUSE in recalled.get_by_test_id("recalled-original").inner_text()
    assert desk.errors == [] and buyer.errors == []


def test_many_violations_decided_at_once_then_the_consumers_ban_lifted(
    open_window: OpenWindow, web_server: Server, reviewer: Person
) -> None:
    spammer = consumer(web_server, "c-plat-spam", "刷单小号")
    try:
        spammer.write("在吗")
        for n in range(2):
            answer = spammer.http.post(
                "/api/messages",
                json={
                    "client_id": f"spam-{n}",
                    "kind": "text",
                    "content": {"text": SPAM},
                    "shop_id": 1,
                },
            )
            assert answer.status_code == 403, answer.text  # blocked, with the clause
        records = pending_of(reviewer, sender_role="buyer", sender_id=spammer.id)
        assert len(records) == 2, records

        desk = open_window()
        page = desk.page
        open_console(page)
        choose(page, "filter-role", "消费者", within=page.get_by_test_id("filters-violations"))
        for record in records:
            row = page.get_by_test_id(f"queue-violation-{record['id']}")
            row.wait_for(timeout=TIMEOUT)
            row.get_by_test_id("row-check").click()
        page.locator('[data-testid="checked-count"][data-count="2"]').wait_for()
        page.get_by_test_id("bulk-uphold").click()
        dialog = page.get_by_test_id("decision-dialog")
        assert "确认违规（2 条）" in dialog.inner_text()
        dialog.get_by_test_id("decision-reason").fill("刷单引流，批量处理")
        dialog.get_by_test_id("decision-confirm").click()
        page.locator(".el-message--success", has_text="已处理 2 条").wait_for(timeout=TIMEOUT)
        for record in records:
            page.get_by_test_id(f"queue-violation-{record['id']}").wait_for(
                state="detached", timeout=TIMEOUT
            )
        # Twice verified: muted, then banned (docs/enforcement.md, "Consumers").
        refused = spammer.http.post(
            "/api/messages",
            json={"client_id": "after", "kind": "text", "content": {"text": "在吗"}, "shop_id": 1},
        )
        assert refused.json()["error"]["code"] == "consumer_banned", refused.text

        # The consumer's record, found by its marketplace id: the ban is lifted, then the mute.
        go(page, "consumers", "consumers-page")
        page.get_by_test_id("consumer-search").fill("c-plat-spam")
        page.get_by_test_id("consumer-search-submit").click()
        record_card = page.locator(f'[data-testid="consumer-record"][data-consumer="{spammer.id}"]')
        record_card.and_(page.locator('[data-standing="banned"]')).wait_for(timeout=TIMEOUT)
        assert "刷单小号" in record_card.inner_text()
        assert page.locator('[data-testid^="consumer-violation-"]').count() == 2
        page.locator(".el-message").wait_for(state="detached", timeout=TIMEOUT)
        screenshot(page, "platform-consumer")
        ban = record_card.locator('[data-testid^="restriction-"][data-state="active"]').filter(
            has_text="封禁"
        )
        ban.get_by_test_id("lift").click()
        page.locator(".el-popconfirm:visible").get_by_role("button", name="解除").click()
        page.locator(
            f'[data-testid="consumer-record"][data-consumer="{spammer.id}"][data-standing="muted"]'
        ).wait_for(timeout=TIMEOUT)
        mute = record_card.locator('[data-testid^="restriction-"][data-state="active"]')
        mute.get_by_test_id("lift").click()
        page.locator(".el-popconfirm:visible").get_by_role("button", name="解除").click()
        page.locator(
            f'[data-testid="consumer-record"][data-consumer="{spammer.id}"][data-standing="clear"]'
        ).wait_for(timeout=TIMEOUT)
        # The record's restrictions are read again after the standing: wait for both lifted.
        expect(record_card.locator('[data-state="lifted"]')).to_have_count(2, timeout=TIMEOUT)
        assert spammer.write("现在可以发了吗")["session_id"]
        assert desk.errors == []
    finally:
        spammer.close()


def test_shop_reports_and_blacklists_upheld_in_bulk_leave_the_metrics(
    open_window: OpenWindow, web_server: Server
) -> None:
    buyers = [consumer(web_server, f"c-plat-rep-{n}", f"被举报{n}") for n in range(2)]
    owner = member(web_server, "shop1_owner")
    try:
        sessions = [b.write("你好")["session_id"] for b in buyers]
        reported = owner.ok("POST", f"/api/sessions/{sessions[0]}/report", {"reason": "恶意骚扰"})
        blacklisted = owner.ok(
            "POST", f"/api/sessions/{sessions[1]}/blacklist", {"reason": "辱骂客服"}
        )
        # Both wait for a reviewer: the sessions still count.
        assert not reported["session"]["invalid"] and not blacklisted["invalid"]

        desk = open_window()
        page = desk.page
        open_console(page)
        page.get_by_role("tab", name="店铺举报与拉黑").click()
        page.get_by_test_id("filters-reports").wait_for()
        rows = page.locator('[data-testid^="queue-report-"]')
        for text in ("恶意骚扰", "辱骂客服"):
            rows.filter(has_text=text).first.wait_for(timeout=TIMEOUT)
        row = rows.filter(has_text="恶意骚扰").first
        row.click()
        report = page.get_by_test_id("report-evidence")
        report.wait_for(timeout=TIMEOUT)
        assert "恶意骚扰" in report.get_by_test_id("report-reason").inner_text()
        report.locator('[data-testid="context-message"]').filter(has_text="你好").first.wait_for()

        for text in ("恶意骚扰", "辱骂客服"):
            rows.filter(has_text=text).first.get_by_test_id("row-check").click()
        page.get_by_test_id("bulk-uphold").click()
        dialog = page.get_by_test_id("decision-dialog")
        dialog.get_by_test_id("decision-reason").fill("聊天记录属实")
        dialog.get_by_test_id("decision-confirm").click()
        page.locator(".el-message--success", has_text="已处理 2 条").wait_for(timeout=TIMEOUT)
        rows.filter(has_text="恶意骚扰").wait_for(state="detached", timeout=TIMEOUT)

        choose(page, "filter-status", "已支持", within=page.get_by_test_id("filters-reports"))
        upheld = page.locator('[data-testid^="queue-report-"][data-status="upheld"]')
        upheld.filter(has_text="辱骂客服").wait_for(timeout=TIMEOUT)
        for session_id in sessions:
            assert owner.ok("GET", f"/api/sessions/{session_id}")["invalid"] is True
        assert desk.errors == []
    finally:
        owner.close()
        for b in buyers:
            b.close()


def test_an_appeal_is_refused_to_its_own_reviewer_and_granted_by_another(
    open_window: OpenWindow, web_server: Server, reviewer: Person
) -> None:
    buyer = consumer(web_server, "c-plat-appeal", "小秦")
    agent = Agent(web_server, "shop1_agent1").online().connect()
    owner = member(web_server, "shop1_owner")
    admin = member(web_server, "admin", kind="staff")
    try:
        session_id = buyer.write("这个和别家比怎么样")["session_id"]
        said = agent.say(session_id, f"{MISUSE}，别信他们")
        (record,) = pending_of(reviewer, message_id=said["id"])
        reviewer.ok("POST", f"/api/violations/{record['id']}/review", {"decision": "confirmed"})
        appeal = owner.ok(
            "POST",
            "/api/enforcement/appeals",
            {
                "target_kind": "violation",
                "target_id": record["id"],
                "text": "客服是在提醒顾客注意假货，并非贬低同行，请复核。",
            },
        )

        # The reviewer who confirmed it is refused, in the server's words; the reason stays.
        desk = open_window()
        page = desk.page
        open_console(page)
        go(page, "appeals", "appeals-page")
        page.get_by_test_id(f"appeal-{appeal['id']}").click()
        page.get_by_test_id("appeal-text").get_by_text("提醒顾客注意假货").wait_for()
        appealed = page.get_by_test_id("violation-evidence")
        appealed.wait_for(timeout=TIMEOUT)
        assert MISUSE in appealed.get_by_test_id("recalled-original").inner_text()
        box = page.get_by_test_id("appeal-reason")
        box.fill("复核后认为属于正常提醒")
        page.get_by_test_id("appeal-uphold").click()
        refusal = page.get_by_test_id("appeal-refusal")
        refusal.get_by_text("不能复核自己作出的决定").wait_for(timeout=TIMEOUT)
        assert box.input_value() == "复核后认为属于正常提醒"
        screenshot(page, "platform-appeals")

        # Another reviewer grants it: the penalty is reversed.
        admin.ok(
            "POST",
            "/api/platform/staff",
            {"username": "reviewer2", "password": PASSWORD, "role": "reviewer"},
        )
        second = open_window()
        open_console(second.page, "reviewer2")
        go(second.page, "appeals", "appeals-page")
        second.page.get_by_test_id(f"appeal-{appeal['id']}").click()
        second.page.get_by_test_id("appeal-reason").fill("属于正常提醒，撤销")
        second.page.get_by_test_id("appeal-uphold").click()
        second.page.locator(".el-message--success", has_text="申诉成立").wait_for(timeout=TIMEOUT)
        second.page.locator(
            f'[data-testid="appeal-{appeal["id"]}"][data-status="upheld"]'
        ).wait_for(timeout=TIMEOUT)
        (decided,) = [
            a for a in owner.ok("GET", "/api/enforcement/appeals") if a["id"] == appeal["id"]
        ]
        assert decided["status"] == "upheld" and decided["decision_reason"] == "属于正常提醒，撤销"
        # The browser logs the refused request itself (403), nothing else.
        assert [e for e in desk.errors if "status of 403" not in e] == [], desk.errors
        assert second.errors == []
    finally:
        agent.close_socket()
        for person in (buyer, owner, admin):
            person.close()


def test_a_reviewer_sees_no_admin_pages(open_window: OpenWindow) -> None:
    desk = open_window()
    page = desk.page
    open_console(page)
    nav = page.get_by_test_id("platform-nav")
    assert nav.get_by_test_id("nav-appeals").count() == 1
    assert nav.get_by_test_id("nav-audit").count() == 0
    assert nav.get_by_test_id("nav-webhooks").count() == 0
    page.goto("/platform/audit")
    page.get_by_test_id("review-queue").wait_for(timeout=TIMEOUT)
    assert page.url.endswith("/platform/queue")
    assert desk.errors == []


def selected(page: Any, testid: str, within: Any) -> str:
    """What an Element Plus select shows as chosen ('' when only its placeholder shows)."""
    item = within.get_by_test_id(testid).locator(".el-select__placeholder:not(.is-transparent)")
    return item.first.inner_text() if item.count() else ""


def test_the_reviewers_filters_stay_in_the_url_through_reload_back_and_a_shared_link(
    open_window: OpenWindow, web_server: Server, reviewer: Person
) -> None:
    desk = open_window()
    page = desk.page
    open_console(page)
    filters = page.get_by_test_id("filters-violations")
    choose(page, "filter-status", "全部", within=filters)
    choose(page, "filter-role", "商家客服", within=filters)
    shop_box = filters.get_by_test_id("filter-shop")
    shop_box.fill("1")
    shop_box.press("Enter")
    page.wait_for_url("**/platform/queue?*sender_role=agent*", timeout=TIMEOUT)
    assert "status=&" in page.url + "&" and "shop_id=1" in page.url

    # A reload keeps them: the same choices shown, the same records listed.
    page.reload()
    filters = page.get_by_test_id("filters-violations")
    filters.wait_for(timeout=TIMEOUT)
    assert selected(page, "filter-status", filters) == "全部"
    assert selected(page, "filter-role", filters) == "商家客服"
    assert filters.get_by_test_id("filter-shop").input_value() == "1"
    wanted = reviewer.ok(
        "GET", "/api/reviews/violations", params={"shop_id": 1, "sender_role": "agent"}
    )
    rows = page.locator('[data-testid^="queue-violation-"]')
    if wanted:
        rows.first.wait_for(timeout=TIMEOUT)
    prefix = len("queue-violation-")
    shown = [
        int((rows.nth(i).get_attribute("data-testid") or "")[prefix:]) for i in range(rows.count())
    ]
    assert shown == [r["id"] for r in wanted][:50]

    # The reports tab keeps its own: a shared link opens the same list in another window.
    page.get_by_role("tab", name="店铺举报与拉黑").click()
    reports = page.get_by_test_id("filters-reports")
    choose(page, "filter-kind", "拉黑", within=reports)
    page.wait_for_url("**tab=reports*kind=blacklist*", timeout=TIMEOUT)
    shared = page.url
    screenshot(page, "platform-queue-filters")

    # Another page and back: the queue comes back as it was left.
    go(page, "appeals", "appeals-page")
    choose(page, "filter-status", "全部", within=page.get_by_test_id("appeals-page"))
    page.wait_for_url("**/platform/appeals?status=", timeout=TIMEOUT)
    page.go_back()
    reports = page.get_by_test_id("filters-reports")
    reports.wait_for(timeout=TIMEOUT)
    assert selected(page, "filter-kind", reports) == "拉黑"
    page.go_forward()
    page.get_by_test_id("appeals-page").wait_for(timeout=TIMEOUT)
    assert selected(page, "filter-status", page.get_by_test_id("appeals-page")) == "全部"

    colleague = open_window(locale="en")
    other = colleague.page
    open_console(other)
    other.evaluate("localStorage.setItem('feige.locale', 'en')")  # a colleague who reads English
    other.goto(shared)
    reports = other.get_by_test_id("filters-reports")
    reports.wait_for(timeout=TIMEOUT)
    assert selected(other, "filter-kind", reports) == "Blacklist"
    assert "pending" not in other.url
    screenshot(other, "platform-queue-filters-en")
    assert desk.errors == [] and colleague.errors == []


def test_a_reported_sessions_recalled_message_shows_its_original_to_the_reviewer(
    open_window: OpenWindow, web_server: Server, reviewer: Person
) -> None:
    """A shop reports a session in which a message was recalled for a violation: the
    report's evidence shows the notice and, for the reviewer alone, the original."""
    agent = member(web_server, "shop1_agent1")
    buyer = consumer(web_server, "c-plat-rep-recall", "小吴")
    try:
        agent.ok("POST", "/api/agent/status", {"status": "online"})
        session_id = buyer.write("这个是正品吗")["session_id"]
        said = agent.write(f"{MISUSE}，只有我们是正品", session_id=session_id)
        (record,) = pending_of(reviewer, message_id=said["message_id"])
        reviewer.ok("POST", f"/api/violations/{record['id']}/review", {"decision": "confirmed"})
        agent.ok("POST", f"/api/sessions/{session_id}/report", {"reason": "顾客反复纠缠"})
        assert MISUSE not in str(buyer.ok("GET", f"/api/sessions/{session_id}/messages"))
    finally:
        agent.ok("POST", "/api/agent/status", {"status": "break"})
        agent.close()
        buyer.close()

    for locale in ("zh-CN", "en"):
        desk = open_window()
        page = desk.page
        open_console(page)
        if locale == "en":
            page.evaluate("localStorage.setItem('feige.locale', 'en')")
        page.goto("/platform/queue?tab=reports")
        page.get_by_test_id("filters-reports").wait_for(timeout=TIMEOUT)
        rows = page.locator('[data-testid^="queue-report-"]').filter(has_text="顾客反复纠缠")
        rows.first.click()
        report = page.get_by_test_id("report-evidence")
        original = report.get_by_test_id("recalled-original")
        original.wait_for(timeout=TIMEOUT)
        assert MISUSE in original.inner_text()
        notice = NOTICE_ZH if locale == "zh-CN" else "This message was recalled"
        assert notice in report.inner_text()
        screenshot(page, "platform-report-recalled" + ("" if locale == "zh-CN" else "-en"))
        assert desk.errors == []


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
def test_after_a_resync_the_queue_and_appeals_offer_to_load_again(
    open_window: OpenWindow, locale: str
) -> None:
    """Several nodes: Redis lost events, and the server sends the console's socket a
    ``resync`` (docs/protocol.md §3). The reviewer's lists are not reshuffled under them:
    the queue and the appeals page say records may have arrived meanwhile, and loading
    again clears it. The socket passes through the browser's own route, which adds the
    ``resync`` a node would send."""
    desk = open_window(locale=locale)
    page = desk.page
    routed: list[Any] = []

    def through(ws: Any) -> None:
        ws.connect_to_server()  # the server's frames pass as they are
        routed.append(ws)

    page.route_web_socket("**/ws", through)
    open_console(page)
    if locale == "en":  # a reviewer who reads English
        page.evaluate("localStorage.setItem('feige.locale', 'en')")
        page.reload()
        page.get_by_test_id("review-queue").wait_for(timeout=TIMEOUT)
        wait_connected(page)
    words = "期间可能有新的记录" if locale == "zh-CN" else "may have arrived meanwhile"
    resync = '{"op":"event","type":"resync","since":null}'
    fresh = page.get_by_test_id("queue-fresh")
    expect(fresh).to_have_count(0)
    routed[-1].send(resync)
    expect(fresh).to_contain_text(words, timeout=TIMEOUT)
    screenshot(page, "platform-queue-resync" + ("" if locale == "zh-CN" else "-en"))
    fresh.get_by_role("button").click()  # load again
    expect(fresh).to_have_count(0, timeout=TIMEOUT)
    go(page, "appeals", "appeals-page")  # it loads on opening: nothing to say
    appeals = page.get_by_test_id("appeals-fresh")
    expect(appeals).to_have_count(0)
    routed[-1].send(resync)  # a loss while the appeals page is open
    expect(appeals).to_contain_text(words, timeout=TIMEOUT)
    appeals.get_by_role("button").click()
    expect(appeals).to_have_count(0, timeout=TIMEOUT)
    assert desk.errors == []
