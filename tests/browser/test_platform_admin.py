"""The platform console's admin pages in a real browser (docs/web.md, "The platform
console"): a reviewer's decision found in the audit log, paged and exported; the weekly
assessments across shops and a week assessed again; the marketplace webhook's outbox."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from playwright.sync_api import expect

from tests.browser.chat_helpers import Agent
from tests.browser.conftest import OpenWindow
from tests.browser.platform_helpers import choose, go, open_console, screenshot
from tests.browser.workbench_helpers import consumer, member
from tests.integration.harness import Server

TIMEOUT = 15_000
MISUSE = "别家都是假货"  # 2.2.10 misuse: delivered, and held for a reviewer


def test_a_reviewers_decision_is_in_the_audit_log_paged_and_exported(
    open_window: OpenWindow, web_server: Server
) -> None:
    buyer = consumer(web_server, "c-plat-audit", "小韩")
    agent = Agent(web_server, "shop1_agent1").online().connect()
    owner = member(web_server, "shop1_owner")
    try:
        session_id = buyer.write("在吗")["session_id"]
        said = agent.say(session_id, f"{MISUSE}，信我")
        # More than a page of the owner's own changes, each audited.
        for n in range(52):
            owner.ok(
                "POST",
                "/api/quick-replies",
                {"title": f"常用语{n}", "content": f"您好，第 {n} 条", "scope": "personal"},
            )

        # The reviewer decides in the console.
        desk = open_window()
        open_console(desk.page)
        rows = desk.page.locator('[data-testid^="queue-violation-"]').filter(has_text=MISUSE)
        rows.first.click()
        evidence = desk.page.get_by_test_id("violation-evidence")
        evidence.wait_for(timeout=TIMEOUT)
        violation_id = evidence.get_attribute("data-id")
        assert evidence.locator('[data-flagged="true"]').get_attribute("data-seq") == str(
            said["seq"]
        )
        desk.page.get_by_test_id("decide-uphold").click()
        dialog = desk.page.get_by_test_id("decision-dialog")
        dialog.get_by_test_id("decision-reason").fill("贬低同行")
        dialog.get_by_test_id("decision-confirm").click()
        desk.page.locator(".el-message--success").wait_for(timeout=TIMEOUT)

        # The admin finds it: staff, the record's number.
        admin = open_window()
        page = admin.page
        open_console(page, "admin")
        go(page, "audit", "audit-page")
        filters = page.get_by_test_id("audit-filters")
        choose(page, "audit-actor-kind", "平台员工", within=filters)
        choose(page, "audit-record-kind", "violation", within=filters)
        filters.get_by_test_id("audit-record-id").fill(str(violation_id))
        filters.get_by_test_id("audit-query").click()
        table = page.get_by_test_id("audit-table")
        table.get_by_test_id("audit-action-cell").filter(has_text="审核违规").wait_for(
            timeout=TIMEOUT
        )
        # Until the filtered answer replaces the list shown before the query.
        expect(table.get_by_test_id("audit-action-cell")).to_have_count(1, timeout=TIMEOUT)
        change = table.get_by_test_id("audit-change").first.inner_text()
        assert "pending → confirmed" in change and "贬低同行" in change, change
        screenshot(page, "platform-audit")
        # The filters asked for are in the address: a reload shows the same entries.
        page.wait_for_url(f"**record_id={violation_id}*", timeout=TIMEOUT)
        page.reload()
        filters = page.get_by_test_id("audit-filters")
        filters.wait_for(timeout=TIMEOUT)
        assert filters.get_by_test_id("audit-record-id").input_value() == str(violation_id)
        table.get_by_test_id("audit-action-cell").filter(has_text="审核违规").wait_for(
            timeout=TIMEOUT
        )
        # Until the filtered answer replaces the list shown before the query.
        expect(table.get_by_test_id("audit-action-cell")).to_have_count(1, timeout=TIMEOUT)

        # Exported as the server's CSV, with the same filters.
        with page.expect_download() as download:
            page.get_by_test_id("audit-export-csv").click()
        text = Path(download.value.path()).read_text(encoding="utf-8")
        exported = list(csv.DictReader(io.StringIO(text)))
        assert [(r["action"], r["record_id"]) for r in exported] == [
            ("violation.review", str(violation_id))
        ]
        assert "贬低同行" in exported[0]["after"]

        # Paged: the owner's quick replies, 50 a page.
        page.get_by_role("button", name="重置").click()
        choose(page, "audit-action", "添加快捷回复", within=filters)
        filters.get_by_test_id("audit-actor-id").fill(str(owner.id))
        filters.get_by_test_id("audit-query").click()
        cells = table.get_by_test_id("audit-action-cell")
        page.wait_for_function(
            "() => document.querySelectorAll('[data-testid=\"audit-action-cell\"]').length === 50"
        )
        assert page.get_by_test_id("audit-prev").is_disabled()
        page.get_by_test_id("audit-next").click()
        page.wait_for_function(
            "() => document.querySelectorAll('[data-testid=\"audit-action-cell\"]').length === 2"
        )
        assert page.get_by_test_id("audit-next").is_disabled()
        assert cells.first.inner_text().strip() == "添加快捷回复"
        page.get_by_test_id("audit-prev").click()
        page.wait_for_function(
            "() => document.querySelectorAll('[data-testid=\"audit-action-cell\"]').length === 50"
        )
        # JSON: every row of the filters, across pages.
        with page.expect_download() as download:
            page.get_by_test_id("audit-export-json").click()
        rows_json = json.loads(Path(download.value.path()).read_text(encoding="utf-8"))
        assert len(rows_json) == 52 and {r["action"] for r in rows_json} == {"quick_reply.create"}
        assert desk.errors == [] and admin.errors == []
    finally:
        agent.close_socket()
        buyer.close()
        owner.close()


def test_an_admin_reads_the_weeks_across_shops_and_assesses_one_again(
    open_window: OpenWindow,
) -> None:
    admin = open_window()
    page = admin.page
    open_console(page, "admin")
    go(page, "assessments", "assessments-page")
    # The demo platform's two assessed weeks: the chart, and a pass rate per metric.
    page.get_by_test_id("pass-rate-chart").locator("canvas").wait_for(timeout=TIMEOUT)
    rates = page.get_by_test_id("pass-rates")
    for metric in ("未服务率", "3 分钟回复率", "平均响应时长", "不满意率"):
        assert metric in rates.inner_text()
    assert "%" in rates.inner_text()
    results = page.get_by_test_id("shop-results")
    results.locator(".el-table__row").first.wait_for()
    shops = results.locator(".el-table__row").count()
    assert shops >= 2
    summary = page.get_by_test_id("week-summary").inner_text()
    assert f"{shops} 家店铺参与考核" in summary
    screenshot(page, "platform-assessments")

    week = page.get_by_test_id("rerun-week").input_value()
    page.get_by_test_id("rerun-submit").click()
    done = page.get_by_test_id("rerun-done")
    done.wait_for(timeout=30_000)
    assert f"{week} 已重新考核" in done.inner_text()
    # A malformed week is refused before it is sent.
    page.get_by_test_id("rerun-week").fill("last week")
    page.get_by_test_id("rerun-submit").click()
    page.get_by_test_id("rerun-error").get_by_text("2026-W47").wait_for()
    assert admin.errors == []


def test_an_admin_reads_the_webhook_outbox(open_window: OpenWindow, web_server: Server) -> None:
    # A shop's report decided: an event for the marketplace (report_decided).
    buyer = consumer(web_server, "c-plat-hook", "小魏")
    owner = member(web_server, "shop1_owner")
    reviewer = member(web_server, "reviewer", kind="staff")
    try:
        session_id = buyer.write("你好")["session_id"]
        report = owner.ok("POST", f"/api/sessions/{session_id}/report", {"reason": "骚扰"})
        reviewer.ok(
            "POST",
            f"/api/reviews/reports/{report['id']}/decision",
            {"decision": "dismissed", "reason": "未见骚扰"},
        )
    finally:
        for person in (buyer, owner, reviewer):
            person.close()

    admin = open_window()
    page = admin.page
    open_console(page, "admin")
    go(page, "webhooks", "webhooks-page")
    table = page.get_by_test_id("webhook-table")
    # No marketplace URL in the demo: the events of the decisions wait in the outbox.
    table.locator('[data-testid^="webhook-"][data-state="waiting"]').first.wait_for(timeout=TIMEOUT)
    table.get_by_text("举报处理结果").first.wait_for()
    page.get_by_test_id("webhook-filter").get_by_text("已送达").click()
    page.wait_for_function(
        '() => !document.querySelector(\'[data-testid="webhook-table"] [data-state="waiting"]\')'
    )
    page.get_by_test_id("webhook-filter").get_by_text("全部").click()
    table.locator('[data-testid^="webhook-"][data-state="waiting"]').first.wait_for(timeout=TIMEOUT)
    screenshot(page, "platform-webhooks")
    assert admin.errors == []
