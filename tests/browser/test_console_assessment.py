"""The shop console's weekly assessment in a real browser (docs/web.md, "The shop console";
docs/metrics.md): the demo's 云端数码专营店 answers slowly, so both its assessed weeks fail
the average response and the 3-minute reply rate; its owner sees the weeks, the four
figures with their standards, pass or fail, and the charts over the weeks."""

from __future__ import annotations

from tests.browser.conftest import OpenWindow
from tests.browser.console_helpers import open_console, shot
from tests.browser.helpers import FACE_TIMEOUT_MS
from tests.browser.workbench_helpers import member
from tests.integration.harness import Server


def test_owner_sees_the_weekly_results(open_window: OpenWindow, web_server: Server) -> None:
    owner = member(web_server, "shop2_owner")
    try:
        weeks = owner.ok("GET", "/api/assessments")
    finally:
        owner.close()
    assert len(weeks) == 2 and not any(w["passed"] for w in weeks), weeks

    window = open_window()
    page = window.page
    open_console(page, "shop2_owner", "assessment")
    rows = page.locator('[data-testid="assessment-week"][data-passed="false"]')
    rows.nth(1).wait_for(timeout=FACE_TIMEOUT_MS)
    shown = rows.evaluate_all("rows => rows.map(r => r.dataset.week)")
    assert shown == sorted((w["week"] for w in weeks), reverse=True), shown
    table = page.get_by_test_id("assessment-table").inner_text()
    assert "未通过" in table and "标准 < 90 s" in table and "标准 ≥ 80%" in table
    # The slow figure is marked failed; the charts are drawn.
    assert page.locator('[data-testid="figure-avg_response_seconds"].fail').count() == 2
    charts = page.locator('[data-testid="line-chart"][data-drawn="true"]')
    charts.nth(1).wait_for(timeout=FACE_TIMEOUT_MS)
    shot(page, "assessment")

    # In English too.
    page.evaluate("localStorage.setItem('feige.locale', 'en')")
    page.reload()
    page.get_by_test_id("assessment-table").get_by_text("Failed").first.wait_for(
        timeout=FACE_TIMEOUT_MS
    )
    assert "Weekly service assessment" in page.locator("body").inner_text()
    assert window.errors == []
