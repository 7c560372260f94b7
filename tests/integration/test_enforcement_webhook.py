"""A failed week through the real server: each failed metric's measure, the shop told live
and in its inbox, and the marketplace told through the signed webhook, received by a real
HTTP server started here — retried after a failure, with the same idempotency key
(docs/enforcement.md, "Webhook"; docs/rules.md §3, §4)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import orjson
import pytest

from tests.integration.harness import FakeClock, Server, consumer, login
from tests.integration.test_assessment_store import SHOP1, small_platform_server

SECRET = "webhook-secret-for-tests"
WEEK = "2026-W47"


class Receiver:
    """The marketplace's end: records every request; answers 500 to the first one."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                receiver.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(500 if len(receiver.requests) == 1 else 200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.http.server_address[1]}/feige-events"
        threading.Thread(target=self.http.serve_forever, daemon=True).start()

    def events(self) -> list[dict[str, Any]]:
        return [orjson.loads(body) for _, body in self.requests]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.http.shutdown()


@pytest.fixture
def webhook_server(tmp_path: Path, receiver: Receiver) -> Iterator[tuple[Server, FakeClock]]:
    srv, clock = small_platform_server(
        tmp_path,
        marketplace_webhook_url=receiver.url,
        marketplace_webhook_secret=SECRET,
        webhook_retry_seconds=30,
        webhook_poll_seconds=0.05,
    )
    yield srv, clock
    srv.stop()


def signed(headers: dict[str, str], body: bytes) -> bool:
    expected = hmac.new(
        SECRET.encode(), headers["x-feige-timestamp"].encode() + b"." + body, hashlib.sha256
    ).hexdigest()
    return hmac.compare_digest(headers["x-feige-signature"], "sha256=" + expected)


async def until(condition: Any, timeout: float = 10.0) -> None:
    for _ in range(int(timeout / 0.05)):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not met in time")


async def test_a_failed_week_imposes_its_measures_notifies_and_calls_the_webhook(
    webhook_server: tuple[Server, FakeClock], receiver: Receiver
) -> None:
    server, clock = webhook_server
    agent = await login(server, "shop1_agent1")
    await agent.ok("POST", "/api/agent/status", {"status": "online"})
    agent_ws = await agent.socket()
    for n in range(2):  # answered after 10 minutes: the 3-minute rate and the average fail
        buyer = await consumer(server, f"c-slow{n}")
        ws = await buyer.socket()
        sid = (await ws.send_text("q", "在吗？", shop_id=SHOP1))["session_id"]
        clock.advance(600)
        await agent_ws.send_text(f"a{n}", "抱歉久等了", session_id=sid)
        await agent.ok("POST", f"/api/sessions/{sid}/close")
        await ws.close()

    clock.advance(8 * 86400)
    owner = await login(server, "shop1_owner")
    owner_ws = await owner.socket()
    admin = await login(server, "admin", kind="staff")
    run = await admin.ok("POST", f"/api/platform/assessments/{WEEK}/run")
    (shop,) = run["document"]["shops"]
    failed = {k for k, v in shop["metrics"].items() if v["passed"] is False}
    assert {"three_minute_reply_rate", "avg_response_seconds"} <= failed

    # One measure per failed metric: the first failed week is a warning.
    measures = await owner.ok("GET", "/api/enforcement/measures")
    assert {m["details"]["metric"] for m in measures} == failed
    assert {(m["measure"], m["source_kind"]) for m in measures} == {("warning", "assessment")}
    # The shop's supervisors are told live and in the inbox.
    live = await owner_ws.expect(type="notification")
    assert live["notification"]["kind"] == "measure"
    inbox = await owner.ok("GET", "/api/enforcement/inbox", params={"unread": True})
    assert inbox["unread"] == len(failed) == len(inbox["notifications"])
    marked = await owner.ok(
        "POST", "/api/enforcement/inbox/read", {"ids": [inbox["notifications"][0]["id"]]}
    )
    assert marked == {"marked": 1, "unread": len(failed) - 1}
    await owner.ok("POST", "/api/enforcement/inbox/read", {})
    assert (await owner.ok("GET", "/api/enforcement/inbox"))["unread"] == 0
    # Another shop's owner hears nothing and reads nothing of it.
    other = await login(server, "shop2_owner")
    assert (await other.ok("GET", "/api/enforcement/inbox"))["notifications"] == []

    # The marketplace: the first delivery fails (500), and is retried after the backoff.
    await until(lambda: len(receiver.requests) >= 1)
    first_headers, first_body = receiver.requests[0]
    clock.advance(31)
    await until(lambda: len(receiver.requests) >= 1 + len(failed))
    await asyncio.sleep(0.3)  # nothing more arrives: each event is delivered once it succeeded
    deliveries = receiver.requests
    assert all(signed(h, b) for h, b in deliveries)
    assert all(h["idempotency-key"] == orjson.loads(b)["id"] for h, b in deliveries)
    retried = [
        h for h, _ in deliveries[1:] if h["idempotency-key"] == first_headers["idempotency-key"]
    ]
    assert len(retried) == 1  # the failed event, again, under the same key
    events = {e["id"]: e for e in receiver.events()}
    assert len(events) == len(failed)
    assert {e["type"] for e in events.values()} == {"measure"}
    assert {e["data"]["measure"]["details"]["metric"] for e in events.values()} == failed
    outbox = await admin.ok("GET", "/api/platform/webhooks")
    assert all(row["delivered_at"] is not None for row in outbox)
    (once_failed,) = [row for row in outbox if row["attempts"] == 2]
    assert once_failed["event_id"] == first_headers["idempotency-key"]
    # A tampered body would not verify.
    assert not signed(first_headers, first_body + b" ")
