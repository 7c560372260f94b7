"""Signing in through the sign-in page, as a person does."""

from __future__ import annotations

from typing import Any

from tests.integration.harness import PASSWORD

FACE_TIMEOUT_MS = 15_000


def sign_in_staff(page: Any, username: str, kind: str = "member", password: str = PASSWORD) -> None:
    """A shop member (``kind="member"``), landing on the workbench, or platform staff
    (``"staff"``), landing on the platform console."""
    page.goto("/")
    if kind == "staff":
        page.get_by_test_id("login-kind").get_by_text("平台员工").click()
    page.get_by_test_id("login-username").fill(username)
    page.get_by_test_id("login-password").fill(password)
    page.get_by_test_id("login-submit").click()
    face = "platform-face" if kind == "staff" else "workbench-face"
    page.get_by_test_id(face).wait_for(timeout=FACE_TIMEOUT_MS)


def sign_in_consumer(page: Any, external_id: str, nickname: str = "") -> None:
    """A demo consumer (the demo platform's stand-in for a marketplace-signed token),
    landing on the chat window."""
    page.goto("/")
    page.get_by_role("tab", name="消费者").click()
    page.get_by_test_id("consumer-id").fill(external_id)
    if nickname:
        page.get_by_test_id("consumer-nickname").fill(nickname)
    page.get_by_test_id("consumer-submit").click()
    page.get_by_test_id("chat-face").wait_for(timeout=FACE_TIMEOUT_MS)


def wait_connected(page: Any) -> None:
    """The face's socket has signed in (ready) under the page's CSP."""
    page.locator('[data-testid="connection-state"][data-state="open"]').wait_for(
        timeout=FACE_TIMEOUT_MS
    )
