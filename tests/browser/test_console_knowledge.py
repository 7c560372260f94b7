"""The shop console's knowledge base in a real browser (docs/web.md, "The shop console";
docs/robot.md): an owner creates an entry, is told the clause when an answer would divert
buyers, overrides, disables and restores platform defaults, imports a file with one bad row
(the row's error shown, nothing imported), then a good one, and exports the base."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.browser.conftest import OpenWindow
from tests.browser.console_helpers import open_console, shot
from tests.browser.helpers import FACE_TIMEOUT_MS
from tests.browser.workbench_helpers import member
from tests.integration.harness import Server

HEADER = "question,similar_questions,answer,category\n"


def row(page: Any, question: str) -> Any:
    return page.locator(f'[data-testid="knowledge-row"][data-question="{question}"]')


def row_action(page: Any, question: str, action: str) -> Any:
    """A button of the table row of ``question`` (knowledge-override, -edit, -restore …)."""
    return page.locator("tr").filter(has=row(page, question)).get_by_test_id(f"knowledge-{action}")


def wait_state(page: Any, question: str, state: str) -> None:
    page.locator(
        f'[data-testid="knowledge-row"][data-question="{question}"][data-state="{state}"]'
    ).wait_for(timeout=FACE_TIMEOUT_MS)


def search(page: Any, text: str) -> None:
    box = page.get_by_test_id("knowledge-search")
    box.fill(text)


def own_entries(server: Server) -> list[str]:
    owner = member(server, "shop1_owner")
    try:
        return [e["question"] for e in owner.ok("GET", "/api/knowledge")["entries"]]
    finally:
        owner.close()


def fill_entry(page: Any, question: str | None, answer: str, similar: str = "") -> None:
    dialog = page.get_by_test_id("entry-dialog")
    dialog.wait_for()
    if question is not None:
        dialog.get_by_test_id("entry-question").fill(question)
    if similar:
        dialog.get_by_test_id("entry-similar").fill(similar)
    dialog.get_by_test_id("entry-answer").fill(answer)


def test_owner_edits_the_knowledge_base(open_window: OpenWindow, web_server: Server) -> None:
    window = open_window()
    page = window.page
    open_console(page, "shop1_owner", "knowledge")
    # The platform's defaults are listed before the shop has any entry of its own.
    wait_state(page, "多久发货", "default")
    assert page.locator('[data-testid="knowledge-row"]').count() >= 50
    # A default's many similar questions: the first four, and the rest on demand.
    cell = page.locator("tr").filter(has=row(page, "多久发货")).get_by_test_id("knowledge-similar")
    toggle = cell.get_by_test_id("knowledge-similar-toggle")
    assert "还有" in toggle.inner_text() and "个相似问法" in toggle.inner_text()
    assert cell.inner_text().count("·") == 3
    toggle.click()
    page.wait_for_function(
        "el => el.innerText.split('·').length > 8",
        arg=cell.element_handle(),
        timeout=FACE_TIMEOUT_MS,
    )
    assert toggle.inner_text() == "收起"
    toggle.click()

    # A new entry, with similar questions and a category.
    page.get_by_test_id("knowledge-add").click()
    fill_entry(page, "耳机防水吗", "支持IPX5级防水，不能泡水。", "下雨能戴吗\n游泳能用吗")
    category = page.get_by_test_id("entry-category").locator("input")
    category.fill("商品")
    category.press("Enter")
    page.get_by_test_id("entry-save").click()
    wait_state(page, "耳机防水吗", "own")
    assert "下雨能戴吗" in page.get_by_test_id("knowledge-table").inner_text()

    # The robot answers from it at once.
    page.get_by_test_id("knowledge-try-input").fill("下雨天能戴吗")
    page.get_by_test_id("knowledge-try-ask").click()
    tried = page.locator('[data-testid="knowledge-try-result"][data-reason="answered"]')
    tried.wait_for(timeout=FACE_TIMEOUT_MS)
    assert "耳机防水吗" in tried.inner_text() and "IPX5" in tried.inner_text()

    # An answer that diverts buyers is refused with its clause; what was typed stays.
    page.get_by_test_id("knowledge-add").click()
    fill_entry(page, "怎么联系", "加我微信 abc12345 私聊更便宜")
    page.get_by_test_id("entry-save").click()
    clauses = page.get_by_test_id("entry-clauses")
    clauses.wait_for(timeout=FACE_TIMEOUT_MS)
    assert "违反条款 2.2" in clauses.inner_text()
    assert "未通过合规检查" in page.get_by_test_id("entry-error").inner_text()
    answer = page.get_by_test_id("entry-answer")
    assert answer.input_value() == "加我微信 abc12345 私聊更便宜"
    shot(page, "knowledge-refused")
    page.get_by_test_id("entry-dialog").get_by_role("button", name="取消").click()
    assert "怎么联系" not in own_entries(web_server)

    # Override a default: the dialog starts from the default's answer.
    search(page, "多久发货")
    row(page, "多久发货").wait_for()
    row_action(page, "多久发货", "override").click()
    fill_entry(page, None, "本店现货当天发货。")
    page.get_by_test_id("entry-save").click()
    wait_state(page, "多久发货", "override")

    # Disable a default with its switch, then bring it back.
    search(page, "能便宜点吗")
    wait_state(page, "能便宜点吗", "default")
    page.get_by_test_id("knowledge-enabled-能便宜点吗").click()
    wait_state(page, "能便宜点吗", "disabledDefault")
    assert row(page, "能便宜点吗").get_attribute("data-enabled") == "false"
    row_action(page, "能便宜点吗", "restore").click()
    wait_state(page, "能便宜点吗", "default")

    # Filters: the shop's own rows only, then a category.
    search(page, "")
    page.get_by_test_id("knowledge-source").get_by_text("本店条目").click()
    page.locator('[data-testid="knowledge-row"]').nth(1).wait_for()
    shown = page.locator('[data-testid="knowledge-row"]').evaluate_all(
        "rows => rows.map(r => r.dataset.question)"
    )
    assert shown == ["耳机防水吗", "多久发货"], shown
    page.get_by_test_id("knowledge-source").get_by_text("全部").click()
    page.locator('[data-testid="knowledge-row"]').nth(10).wait_for()
    page.locator(".el-message").last.wait_for(state="detached", timeout=FACE_TIMEOUT_MS)
    shot(page, "knowledge")
    assert sorted(own_entries(web_server)) == sorted(["耳机防水吗", "多久发货"])

    # In English too: the folded similar questions say how many more there are.
    page.evaluate("localStorage.setItem('feige.locale', 'en')")
    page.reload()
    wait_state(page, "发什么快递", "default")
    cell = (
        page.locator("tr").filter(has=row(page, "发什么快递")).get_by_test_id("knowledge-similar")
    )
    more = cell.get_by_test_id("knowledge-similar-toggle").inner_text()
    assert more.startswith("+") and more.endswith("more similar questions"), more
    shot(page, "knowledge-en")
    assert window.errors == [] or all("status of 422" in e for e in window.errors), window.errors


def test_an_import_with_a_bad_row_imports_nothing(
    open_window: OpenWindow, web_server: Server
) -> None:
    window = open_window()
    page = window.page
    open_console(page, "shop1_owner", "knowledge")
    before = own_entries(web_server)
    page.get_by_test_id("knowledge-import").click()
    dialog = page.get_by_test_id("import-dialog")
    dialog.wait_for()
    good_row = "能连两台手机吗,支持双连吗|能同时连电脑吗,支持，可同时连接两台设备。,商品\n"
    bad = HEADER + good_row + ",,没有问题的答案,物流\n"
    dialog.get_by_test_id("import-file").set_input_files(
        {"name": "kb.csv", "mimeType": "text/csv", "buffer": bad.encode()}
    )
    dialog.get_by_text("已选择：kb.csv").wait_for()
    dialog.get_by_test_id("import-start").click()
    errors = dialog.get_by_test_id("import-errors")
    errors.wait_for(timeout=FACE_TIMEOUT_MS)
    assert "未导入任何条目" in errors.inner_text()
    rows = dialog.get_by_test_id("import-error-row").all_inner_texts()
    assert len(rows) == 1 and rows[0].startswith("第 3 行"), rows
    shot(page, "knowledge-import")
    assert own_entries(web_server) == before

    # The same file made right replaces the shop's entries.
    good = HEADER + good_row
    dialog.get_by_test_id("import-file").set_input_files(
        {"name": "kb-fixed.csv", "mimeType": "text/csv", "buffer": good.encode()}
    )
    dialog.get_by_test_id("import-start").click()
    dialog.get_by_test_id("import-done").wait_for(timeout=FACE_TIMEOUT_MS)
    assert errors.count() == 0
    assert own_entries(web_server) == ["能连两台手机吗"]
    dialog.get_by_role("button", name="关闭", exact=True).click()
    wait_state(page, "能连两台手机吗", "own")

    # Export: the file the browser saves is the import format.
    page.get_by_test_id("knowledge-export").click()
    with page.expect_download() as download:
        page.get_by_test_id("knowledge-export-csv").click()
    saved = download.value
    assert saved.suggested_filename == "knowledge.csv"
    text = Path(saved.path()).read_text(encoding="utf-8-sig")
    assert text.startswith("question,similar_questions,answer,category")
    assert "能连两台手机吗,支持双连吗|能同时连电脑吗" in text
    assert all("status of 422" in e for e in window.errors), window.errors
