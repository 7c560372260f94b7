"""The marketplace webhook (docs/enforcement.md, "Webhook"): the outbox written in the
transaction of each enforcement change, delivered after the commit by this worker, at least
once, with retries and exponential backoff. Each request is signed with HMAC-SHA256 and
carries its event id as the idempotency key the receiver dedupes on."""

from __future__ import annotations

import asyncio
import hashlib
import hmac

import httpx
import orjson
import structlog

from feige.domain import Row
from feige.services.context import Context, Principal
from feige.services.errors import Forbidden
from feige.services.lib import enforcement

log = structlog.get_logger(__name__)
BATCH = 50
MAX_BACKOFF = 3600.0
TIMEOUT = 10.0


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """``sha256=<hex>`` of HMAC-SHA256(secret, timestamp + "." + body): what
    ``X-Feige-Signature`` carries; the receiver recomputes it (and may refuse old stamps)."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def backoff(settings_retry: float, attempts: int) -> float:
    """The wait before the next attempt after ``attempts`` failed ones: doubled each time."""
    return float(min(MAX_BACKOFF, settings_retry * 2 ** max(0, attempts - 1)))


async def deliver_due(ctx: Context, client: httpx.AsyncClient) -> int:
    """One pass: every due delivery claimed and POSTed once; how many were delivered."""
    s = ctx.settings
    if not s.marketplace_webhook_url:
        return 0  # not configured: the events wait in the outbox
    rows = await ctx.db.write(enforcement.claim_due_webhooks, ctx.clock(), BATCH)
    delivered = 0
    for row in rows:
        attempts = int(row["attempts"]) + 1
        body = orjson.dumps(row["payload"])
        stamp = f"{ctx.clock():.3f}"
        headers = {
            "content-type": "application/json",
            "x-feige-event": row["event_type"],
            "x-feige-timestamp": stamp,
            "x-feige-signature": signature(s.marketplace_webhook_secret, stamp, body),
            "idempotency-key": row["event_id"],
        }
        try:
            response = await client.post(s.marketplace_webhook_url, content=body, headers=headers)
            error = None if response.is_success else f"HTTP {response.status_code}"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"
        if error is None:
            await ctx.db.write(enforcement.webhook_delivered, row["id"], attempts, ctx.clock())
            delivered += 1
        else:
            retry_at = ctx.clock() + backoff(s.webhook_retry_seconds, attempts)
            await ctx.db.write(enforcement.webhook_failed, row["id"], attempts, retry_at, error)
            log.warning("webhook_failed", event_id=row["event_id"], attempts=attempts, error=error)
    return delivered


async def worker(ctx: Context) -> None:
    """The node's delivery loop (one per node; deliveries are claimed, so nodes share)."""
    async with httpx.AsyncClient(timeout=TIMEOUT) as client:
        while True:
            try:
                await deliver_due(ctx, client)
            except Exception:  # keep the loop alive; the next tick retries
                log.exception("webhook_worker_failed")
            await asyncio.sleep(ctx.settings.webhook_poll_seconds)


async def outbox(
    ctx: Context, principal: Principal, delivered: bool | None, limit: int
) -> list[Row]:
    """Platform admins: the webhook outbox (pending and delivered events, attempts, errors)."""
    if not principal.is_staff or principal.role != "admin":
        raise Forbidden()
    return await ctx.db.read(enforcement.webhook_outbox, delivered, max(1, min(limit, 500)))
