"""The agent's own figures today in the workbench: a round still waiting for the agent's
answer shows as ongoing, not as the 600 s the assessment would count for it."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from tests.browser.conftest import OpenWindow
from tests.browser.workbench_helpers import consumer, open_workbench, reply, session_item
from tests.integration.harness import Server, fresh_database_url

TIMEOUT = 15_000


@pytest.fixture(scope="module")
def web_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Assessment hours all day long: the figures count whenever the test runs."""
    folder = tmp_path_factory.mktemp("figures")
    server = Server(
        folder,
        fresh_database_url(folder),
        overrides={"assessment_hours_start": "00:00:00", "assessment_hours_end": "23:59:59"},
    )
    server.start()
    yield server
    server.stop()


def test_an_open_round_shows_as_ongoing(open_window: OpenWindow, web_server: Server) -> None:
    agent = open_window()
    page = agent.page
    open_workbench(page, "shop1_agent1")
    average = page.get_by_test_id("figure-average")
    first, second = consumer(web_server, "fig-1"), consumer(web_server, "fig-2")
    try:
        session_id = first.write("你好，在吗？")["session_id"]
        # Only an open round so far: ongoing, not "600 秒".
        average.get_by_text("进行中").wait_for(timeout=TIMEOUT)
        assert "600" not in average.inner_text()
        session_item(page, session_id).click()
        reply(page, "在的，请问有什么可以帮您？")
        page.wait_for_function(
            """() => /^\\d+ 秒$/.test(document.querySelector(
                '[data-testid="figure-average"]')?.textContent?.trim() ?? '')""",
            timeout=TIMEOUT,
        )
        answered = int(average.inner_text().split()[0])
        assert answered < 90
        # A second buyer waits: the answered average stays, the open round shows beside it.
        second.write("请问有优惠吗？")
        page.get_by_test_id("figure-open-rounds").get_by_text("另有 1 轮进行中").wait_for(
            timeout=TIMEOUT
        )
        assert average.inner_text() == f"{answered} 秒"
        # The assessment's own figure (the open round at 600 s) is in the tooltip.
        title = page.locator(".cell", has=average).get_attribute("title") or ""
        assessed = re.search(r"按考核口径 (\d+) 秒", title)
        assert assessed and abs(int(assessed.group(1)) - (answered + 600) / 2) <= 1
    finally:
        first.close()
        second.close()
    assert agent.errors == []
