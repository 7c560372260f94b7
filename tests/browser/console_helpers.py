"""The shop console in a browser (docs/web.md, "The shop console"): an owner or manager signs
in, lands on the workbench and follows its header's link to the console, as a person does."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.browser.helpers import FACE_TIMEOUT_MS, sign_in_staff, wait_connected

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def open_console(page: Any, username: str, section: str = "knowledge") -> None:
    """Signs in on the sign-in page, opens the console from the workbench header and goes
    to ``section`` (knowledge, robot, standing, inbox, assessment) by its menu entry."""
    sign_in_staff(page, username)
    page.get_by_test_id("console-link").click()
    page.get_by_test_id("console-face").wait_for(timeout=FACE_TIMEOUT_MS)
    wait_connected(page)
    go(page, section)


def go(page: Any, section: str) -> None:
    page.get_by_test_id(f"console-nav-{section}").click()
    page.locator(f'[data-testid="console-face"][data-page="{section}"]').wait_for(
        timeout=FACE_TIMEOUT_MS
    )


def shot(page: Any, name: str) -> None:
    """``docs/screenshots/console-<name>.png`` for the README and docs/web.md."""
    page.screenshot(path=str(SCREENSHOTS / f"console-{name}.png"))
