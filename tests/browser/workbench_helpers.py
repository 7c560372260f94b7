"""The other people around an agent's workbench, driven through the API as any client would:
consumers writing to a shop (REST), colleagues changing status. The chat window has tests of
its own; these keep the workbench's tests independent of it."""

from __future__ import annotations

import itertools
from typing import Any

import httpx

from tests.browser.helpers import FACE_TIMEOUT_MS, sign_in_staff, wait_connected
from tests.integration.harness import PASSWORD, Server

_ids = itertools.count(1)


class Person:
    """One signed-in account speaking REST, synchronously (Playwright's sync API runs in the
    same thread)."""

    def __init__(self, server: Server, token: str, principal: dict[str, Any]) -> None:
        self.principal = principal
        self.http = httpx.Client(
            base_url=server.base_url, headers={"authorization": f"Bearer {token}"}, timeout=10
        )

    @property
    def id(self) -> int:
        return int(self.principal["id"])

    def ok(self, method: str, path: str, json: Any = None, **kw: Any) -> Any:
        response = self.http.request(method, path, json=json, **kw)
        assert response.status_code == 200, (response.status_code, response.text)
        return response.json()

    def write(self, text: str, shop_id: int = 1, **extra: Any) -> dict[str, Any]:
        """A consumer's text to a shop (opens a session when none is open); ``extra``: the
        send's other fields (``entry``, ``entry_card``, or ``session_id`` instead)."""
        body: dict[str, Any] = {"client_id": f"bt-{next(_ids)}", "kind": "text"}
        body["content"] = {"text": text}
        body.update(extra if "session_id" in extra else {"shop_id": shop_id, **extra})
        return dict(self.ok("POST", "/api/messages", json=body))

    def messages(self, session_id: int, **page: Any) -> list[dict[str, Any]]:
        return list(self.ok("GET", f"/api/sessions/{session_id}/messages", params=page))

    def close(self) -> None:
        self.http.close()


def consumer(server: Server, external_id: str, nickname: str = "") -> Person:
    body = httpx.post(
        f"{server.base_url}/api/auth/demo-consumer",
        json={"external_id": external_id, "nickname": nickname},
        timeout=10,
    ).json()
    return Person(server, body["token"], body["principal"])


def member(server: Server, username: str, kind: str = "member") -> Person:
    """A shop member signed in over REST (``kind="staff"``: platform staff)."""
    body = httpx.post(
        f"{server.base_url}/api/auth/login",
        json={"kind": kind, "username": username, "password": PASSWORD},
        timeout=10,
    ).json()
    return Person(server, body["token"], body["principal"])


def open_workbench(page: Any, username: str, status: str | None = "online") -> None:
    """Signs in on the sign-in page, waits for the socket and sets the status by clicking."""
    sign_in_staff(page, username)
    wait_connected(page)
    switch = page.get_by_test_id("status-switch")
    switch.wait_for(timeout=FACE_TIMEOUT_MS)
    if status is not None:
        page.get_by_test_id(f"status-{status}").click()
        page.locator(f'[data-testid="status-switch"][data-status="{status}"]').wait_for(
            timeout=FACE_TIMEOUT_MS
        )


def session_item(page: Any, session_id: int) -> Any:
    return page.get_by_test_id(f"session-{session_id}")


def chat_texts(page: Any) -> list[str]:
    """The texts of the messages the chat pane shows, in order (pending sends excluded)."""
    return list(
        page.locator(
            '[data-testid="messages"] [data-testid="message"]:not(.pending) span.text'
        ).all_inner_texts()
    )


def reply(page: Any, text: str) -> None:
    """The agent types ``text`` and presses Enter; returns once the server acknowledged it
    (the message is shown as sent, no longer greyed)."""
    page.get_by_test_id("composer-input").fill(text)
    page.get_by_test_id("composer-input").press("Enter")
    page.locator('[data-testid="message"][data-role="agent"]:not(.pending) span.text').filter(
        has_text=text
    ).last.wait_for()
