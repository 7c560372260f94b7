"""Browser tests: Playwright driving Debian's chromium (never a downloaded browser) against a
demo Feige server serving the built web app (docs/web.md)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from feige.web import STATIC_DIR
from tests.integration.harness import Server, fresh_database_url

try:
    from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright
except ImportError:  # in CI this fails the run; elsewhere the reason is shown
    if os.environ.get("CI"):
        raise
    pytest.skip("playwright is not installed: pip install -e '.[dev]'", allow_module_level=True)

CHROMIUM = os.environ.get("FEIGE_CHROMIUM", "/usr/bin/chromium")
# Chromium in this sandbox: no GPU, and none of its background calls to the outside world.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1280, "height": 800}


def missing(reason: str) -> None:
    """In CI a missing prerequisite fails the test (a green run must have run them);
    elsewhere the browser tests are skipped with the reason."""
    if os.environ.get("CI"):
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One chromium per test module: Playwright's sync API keeps an event loop running in
    this thread while it is started, which the async tests of other modules cannot share."""
    if not (Path(CHROMIUM).is_file() or shutil.which(CHROMIUM)):
        missing(f"no chromium at {CHROMIUM}: apt-get install chromium fonts-noto-cjk")
    if not (STATIC_DIR / "index.html").is_file():
        missing("the web app is not built: make web (needs npm)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def web_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One demo server per test module: its tests share the demo accounts and their data."""
    folder = tmp_path_factory.mktemp("web")
    server = Server(folder, fresh_database_url(folder))
    server.start()
    yield server
    server.stop()


class Window:
    """One person's browser: a context of its own (storage, cookies) and one page, which
    records every console error and page error, CSP violations included."""

    def __init__(self, context: BrowserContext) -> None:
        self.context = context
        self.page: Page = context.new_page()
        self.errors: list[str] = []
        self.page.on(
            "console", lambda msg: self.errors.append(msg.text) if msg.type == "error" else None
        )
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))


OpenWindow = Callable[..., Window]


@pytest.fixture
def open_window(browser: Browser, web_server: Server) -> Iterator[OpenWindow]:
    """Opens a window for one more person (Chinese unless asked otherwise); all are closed
    after the test."""
    contexts: list[BrowserContext] = []

    def open_one(locale: str = "zh-CN", **options: Any) -> Window:
        """``options``: more of Playwright's context options (a phone's viewport, touch)."""
        options.setdefault("viewport", VIEWPORT)
        context = browser.new_context(base_url=web_server.base_url, locale=locale, **options)
        contexts.append(context)
        return Window(context)

    yield open_one
    for context in contexts:
        context.close()
