"""The platform console (docs/web.md, "The platform console") as a reviewer or an admin uses
it: signing in on the sign-in page, the console's pages, Element Plus selects."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.browser.helpers import FACE_TIMEOUT_MS, sign_in_staff, wait_connected

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def open_console(page: Any, username: str = "reviewer") -> None:
    """Platform staff signed in on the sign-in page, landing on the review queue with the
    console's socket connected."""
    sign_in_staff(page, username, kind="staff")
    page.get_by_test_id("review-queue").wait_for(timeout=FACE_TIMEOUT_MS)
    wait_connected(page)


def go(page: Any, name: str, ready: str) -> None:
    """Opens a page of the console from its menu and waits for it."""
    page.get_by_test_id(f"nav-{name}").click()
    page.get_by_test_id(ready).wait_for(timeout=FACE_TIMEOUT_MS)


def choose(page: Any, select_testid: str, option: str, within: Any = None) -> None:
    """Picks an option of an Element Plus select (its list opens in a popper on the body)."""
    (within or page).get_by_test_id(select_testid).click()
    page.locator(".el-select-dropdown__item:visible", has_text=option).first.click()


def screenshot(page: Any, name: str) -> None:
    """docs/screenshots/<name>.png, once the fonts are in and nothing is animating."""
    page.evaluate("document.fonts.ready")
    page.wait_for_timeout(300)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))
