"""The shop's side of a chat, driven over REST and the socket from the test (not through the
workbench), and what the consumer's chat window shows, read from its DOM."""

from __future__ import annotations

import json
import time
from contextlib import ExitStack
from typing import Any

import httpx
from websockets.sync.client import ClientConnection, connect

from tests.browser.helpers import FACE_TIMEOUT_MS, sign_in_consumer, wait_connected
from tests.integration.harness import PASSWORD, Server


class Agent:
    """A shop member signed in over HTTP with one socket; frames it was not waiting for are
    kept, in order, for later ``expect`` calls."""

    def __init__(self, server: Server, username: str) -> None:
        self.server = server
        self.username = username
        answer = httpx.post(
            f"{server.base_url}/api/auth/login",
            json={"kind": "member", "username": username, "password": PASSWORD},
        )
        answer.raise_for_status()
        body = answer.json()
        self.token: str = body["token"]
        self.id: int = body["principal"]["id"]
        self.http = httpx.Client(
            base_url=server.base_url, headers={"authorization": f"Bearer {self.token}"}, timeout=10
        )
        self.seen: list[dict[str, Any]] = []
        self.ws: ClientConnection | None = None
        self._sockets = ExitStack()
        self.sent = 0

    def ok(self, method: str, path: str, body: Any = None, **kw: Any) -> Any:
        answer = self.http.request(method, path, json=body, **kw)
        assert answer.status_code == 200, (answer.status_code, answer.text)
        return answer.json()

    def online(self) -> Agent:
        self.ok("POST", "/api/agent/status", {"status": "online"})
        return self

    def connect(self) -> Agent:
        self.seen.clear()
        self.ws = self._sockets.enter_context(connect(self.server.ws_url, max_size=2**20))
        self.send_frame({"op": "auth", "token": self.token})
        self.expect(op="ready")
        return self

    def close_socket(self) -> None:
        self._sockets.close()
        self.ws = None

    def send_frame(self, frame: dict[str, Any]) -> None:
        assert self.ws is not None
        self.ws.send(json.dumps(frame))

    def expect(self, timeout: float = 10.0, **match: Any) -> dict[str, Any]:
        """The first frame (seen before or arriving) with these fields."""
        return self._find(lambda f: all(f.get(k) == v for k, v in match.items()), timeout, match)

    def message(self, timeout: float = 10.0, **match: Any) -> dict[str, Any]:
        """The next ``message`` event whose message has these fields."""
        frame = self._find(
            lambda f: (
                f.get("type") == "message"
                and all(f["message"].get(k) == v for k, v in match.items())
            ),
            timeout,
            match,
        )
        return frame["message"]  # type: ignore[no-any-return]

    def _find(self, wanted: Any, timeout: float, what: Any) -> dict[str, Any]:
        assert self.ws is not None
        deadline = time.monotonic() + timeout
        while True:
            for index, frame in enumerate(self.seen):
                if wanted(frame):
                    return self.seen.pop(index)
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no frame matching {what}; seen {self.seen[-5:]}")
            try:
                data = json.loads(self.ws.recv(timeout=left))
            except TimeoutError:
                continue
            self.seen.extend(data if isinstance(data, list) else [data])

    def read_receipt(self, session_id: int, at_least: int) -> dict[str, Any]:
        """The consumer's read receipt once it covers ``at_least``."""
        return self._find(
            lambda f: (
                f.get("type") == "read"
                and f["session_id"] == session_id
                and f["reader"] == "consumer"
                and f["seq"] >= at_least
            ),
            10.0,
            ("read", session_id, at_least),
        )

    def say(self, session_id: int, text: str) -> dict[str, Any]:
        """Sends a text and waits for its ack; returns the stored message."""
        self.sent += 1
        client_id = f"{self.username}-{self.sent}-{time.monotonic_ns()}"
        self.send_frame(
            {
                "op": "send",
                "client_id": client_id,
                "session_id": session_id,
                "kind": "text",
                "content": {"text": text},
            }
        )
        return self.expect(op="ack", client_id=client_id)["message"]  # type: ignore[no-any-return]

    def say_over_rest(self, session_id: int, text: str) -> dict[str, Any]:
        self.sent += 1
        body = {
            "client_id": f"{self.username}-rest-{self.sent}-{time.monotonic_ns()}",
            "session_id": session_id,
            "kind": "text",
            "content": {"text": text},
        }
        return self.ok("POST", "/api/messages", body)  # type: ignore[no-any-return]


def open_chat(page: Any, external_id: str, nickname: str = "", query: str = "shop=1") -> None:
    """A consumer signed in (demo sign-in) with the chat window open on a shop."""
    sign_in_consumer(page, external_id, nickname)
    page.goto(f"/chat?{query}")
    page.get_by_test_id("chat-face").wait_for(timeout=FACE_TIMEOUT_MS)
    wait_connected(page)


def type_and_send(page: Any, text: str) -> None:
    box = page.get_by_test_id("composer-input")
    box.fill(text)
    box.press("Enter")


def shown_messages(page: Any) -> list[dict[str, Any]]:
    """Every stored message the window shows, in the order shown: session, seq, role, text."""
    return page.eval_on_selector_all(  # type: ignore[no-any-return]
        '[data-testid="message"]',
        """rows => rows.map(row => ({
            session: Number(row.dataset.session),
            seq: Number(row.dataset.seq),
            role: row.dataset.role,
            text: row.querySelector('.text')?.textContent ?? null,
        }))""",
    )


def wait_for_text(page: Any, text: str, role: str | None = None) -> None:
    selector = '[data-testid="message"]' + (f'[data-role="{role}"]' if role else "")
    page.locator(selector, has_text=text).first.wait_for(timeout=FACE_TIMEOUT_MS)
