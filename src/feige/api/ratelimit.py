"""Abuse limits, applied at the edge (REST routes, the socket's frame loop, one middleware).

Counting is the `limits` library's: in this process's memory on one node, in Redis when
``redis_url`` (or ``rate_limit_storage_url``) is set so every node shares the counts. Every
limit is a setting holding a `limits` string; "5 per 15 minutes; 20 per day" applies each part,
so a client that keeps going waits longer each time.

Two counting strategies: failed sign-ins use the *moving window* (exact, so Retry-After says
precisely when the next attempt is allowed), everything on the message path uses the
*sliding window counter* (constant time and memory per key, and it takes a cost, which the
upload byte quota needs). A refused request or frame changed nothing: a send that was refused
was never acknowledged, and the client may resend the same ``client_id`` later.

If the store fails (Redis down), requests are let through and the failure is logged: a rate
limit must not take the service down with it.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import inspect
import itertools
import math
import re
import time
from collections.abc import AsyncIterator, Coroutine
from typing import Any, cast

import orjson
import structlog
from limits import RateLimitItem, parse_many
from limits.aio.storage import MemoryStorage, SlidingWindowCounterSupport, Storage
from limits.aio.strategies import (
    MovingWindowRateLimiter,
    RateLimiter,
    SlidingWindowCounterRateLimiter,
)
from limits.limits import RateLimitItemPerDay
from limits.storage import storage_from_string
from prometheus_client import Counter
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from starlette.types import ASGIApp, Receive, Scope, Send

from feige import i18n
from feige.config import Settings
from feige.services.context import Context, Principal
from feige.services.errors import ServiceError, Unauthenticated

log = structlog.get_logger(__name__)

REFUSED = Counter(
    "feige_rate_limited_total", "Requests and frames refused by a rate limit", ["limit"]
)
STORE_RETRY_SECONDS = 5.0  # after a store failure, let requests through this long unasked
STORE_ERRORS = Counter("feige_rate_limit_store_errors_total", "Rate limit checks that failed open")


SEND_LEASE = 4  # socket sends counted per store hit (see Limiter._socket_send)


def _sender(principal: Principal) -> str:
    return "consumer" if principal.kind == "consumer" else "member"


class RateLimited(ServiceError):
    """429 with ``Retry-After``; on the socket an error frame with ``retry_after``."""

    status = 429
    code = "rate_limited"

    def __init__(self, retry_after: int, code: str | None = None, **params: Any) -> None:
        self.retry_after = max(1, int(retry_after))
        super().__init__(code, retry_after=self.retry_after, **params)

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}

    def to_dict(self, lang: str | None = None) -> dict[str, Any]:
        return {**super().to_dict(lang), "retry_after": self.retry_after}


class _SweptMemoryStorage(MemoryStorage):
    """The library's memory storage, sweeping expired keys at most every few seconds.

    The stock one starts a sweep over *every* key after each hit once the previous sweep is
    done: measured 170 µs per hit with 10,000 keys (more than a whole message costs), 8 µs
    with this. Expired keys are also dropped when read, so a slower sweep only holds memory
    a little longer. Its methods are also the undecorated ones: the library wraps each to
    turn errors into its own when ``wrap_exceptions`` is set (it is not), one more coroutine
    per call, about a third of a hit's cost."""

    SWEEP_SECONDS = 5.0
    _last_sweep = 0.0

    async def _MemoryStorage__schedule_expiry(self) -> None:  # the base class's private hook
        now = time.monotonic()
        if now - self._last_sweep < self.SWEEP_SECONDS or (self.timer and not self.timer.done()):
            return
        self._last_sweep = now
        self.timer = asyncio.create_task(self._MemoryStorage__expire_events())  # type: ignore[attr-defined]


for _name in (
    "incr",
    "get",
    "get_expiry",
    "clear",
    "acquire_entry",
    "get_moving_window",
    "acquire_sliding_window_entry",
    "get_sliding_window",
    "clear_sliding_window",
):
    setattr(_SweptMemoryStorage, _name, inspect.unwrap(getattr(MemoryStorage, _name)))


def storage_url(settings: Settings) -> str:
    if settings.rate_limit_storage_url:
        return settings.rate_limit_storage_url
    if settings.redis_url:
        return re.sub(r"^(rediss?)://", r"async+\1://", settings.redis_url)
    return "async+memory://"


def make_storage(settings: Settings) -> Storage:
    url = storage_url(settings)
    if url.startswith("async+memory") or url.startswith("memory"):
        return _SweptMemoryStorage()
    options: dict[str, Any] = {}
    if url.startswith(("async+redis", "async+rediss")):
        options = {
            "implementation": "redispy",
            "key_prefix": settings.rate_limit_key_prefix,
            # A pooled connection Redis dropped (a restart) is tried again once on a fresh
            # one, at once: without it, each stale connection failed its first command and the
            # limits were let open for STORE_RETRY_SECONDS, again for every stale connection
            # (a multi-node test saw seven failed sign-ins pass right after a Redis restart).
            "retry": Retry(NoBackoff(), 1),
            "retry_on_error": [RedisConnectionError, RedisTimeoutError],
        }
    storage = storage_from_string(url, **options)
    if not isinstance(storage, Storage):
        raise ValueError(f"rate_limit_storage_url must name an async storage: {url}")
    return storage


def sliding_window_wait(
    previous_count: int,
    previous_ttl: float,
    current_count: int,
    current_ttl: float,
    expiry: float,
    amount: int,
    cost: int,
) -> float:
    """Seconds until the sliding window counter admits ``cost``, from its stored counts.

    The counter admits while ``floor(weighted) + cost <= amount``, where ``weighted`` is the
    previous window's count scaled by the part of it still inside the window (its ``ttl``
    over ``expiry``) plus the current window's count. The current window turns into the
    previous one when its ttl falls to ``expiry``; from then on its own count decays."""
    below = amount - cost + 1  # the weighted count must fall under this
    if below <= 0:
        return expiry
    if current_count < below:
        if previous_count <= 0:
            return 0.0
        return max(0.0, previous_ttl - expiry * (below - current_count) / previous_count)
    rolls_in = max(0.0, current_ttl - expiry)
    return rolls_in + expiry * (1 - below / current_count)


def _limits(text: str) -> list[RateLimitItem]:
    return list(parse_many(text)) if text.strip() else []


class Limiter:
    """The node's limits, built once from the settings (a bad limit string fails at start)."""

    def __init__(self, settings: Settings, storage: Storage | None = None) -> None:
        self.settings = settings
        self.enabled = settings.rate_limits_enabled
        self.storage = storage or make_storage(settings)
        self.moving: RateLimiter = MovingWindowRateLimiter(self.storage)
        self.sliding: RateLimiter = SlidingWindowCounterRateLimiter(self.storage)
        # Per-socket limits never need sharing: always this process's memory.
        self.local: RateLimiter = SlidingWindowCounterRateLimiter(_SweptMemoryStorage())
        self.login_user = _limits(settings.login_failures_per_username)
        self.login_address = _limits(settings.login_failures_per_address)
        self.sends = {
            "consumer": _limits(settings.consumer_send_rate),
            "member": _limits(settings.member_send_rate),
        }
        self.upload_count = _limits(settings.upload_count_rate)
        self.upload_bytes: list[RateLimitItem] = (
            [RateLimitItemPerDay(settings.upload_bytes_per_day)]
            if settings.upload_bytes_per_day > 0
            else []
        )
        self.pings = _limits(settings.ping_rate_per_socket)
        self.rest_token = _limits(settings.rest_rate_per_token)
        self.rest_address = _limits(settings.rest_rate_per_address)
        self.sockets: dict[str, int] = {}  # account channel → open sockets on this node
        self._in_flight: dict[tuple[str, ...], int] = {}  # sign-ins being checked right now
        self._socket_numbers = itertools.count(1)
        self._store_down_until = 0.0
        self._send_credits: dict[int, int] = {}  # socket number → leased sends left

    async def _guarded(self, check: Coroutine[Any, Any, bool]) -> bool:
        """The store's answer; True (let it through) when the store fails, and for the next
        few seconds without asking it, so a Redis outage neither slows every request down
        nor fills the log."""
        if time.monotonic() < self._store_down_until:
            check.close()
            return True
        try:
            return await check
        except Exception:
            STORE_ERRORS.inc()
            self._store_down_until = time.monotonic() + STORE_RETRY_SECONDS
            log.warning("rate_limit_store_failed", exc_info=True)
            return True

    async def _retry_after(
        self, strategy: RateLimiter, item: RateLimitItem, *ids: str, cost: int = 1
    ) -> int:
        """Seconds until ``cost`` more fits. The sliding counter's own reset time is when one
        more unit frees: too soon for a cost of many units (an upload's bytes), and a client
        retrying on that very second is still refused."""
        try:
            if isinstance(strategy, SlidingWindowCounterRateLimiter):
                counts = await cast(
                    SlidingWindowCounterSupport, strategy.storage
                ).get_sliding_window(item.key_for(*ids), item.get_expiry())
                # The counter admits only once the weighted count is strictly under the
                # bound: at the exact second it is still refused, so the next one is told.
                wait = sliding_window_wait(*counts, item.get_expiry(), item.amount, cost)
                return math.floor(wait) + 1
            stats = await strategy.get_window_stats(item, *ids)
        except Exception:
            return int(item.get_expiry())
        return max(1, math.ceil(stats.reset_time - time.time()))

    async def hit(
        self, name: str, items: list[RateLimitItem], key: str, cost: int = 1, *, local: bool = False
    ) -> None:
        """Count ``cost`` against every limit of ``items``; RateLimited if one is used up."""
        if not self.enabled or not items:
            return
        strategy = self.local if local else self.sliding
        for item in items:
            if not await self._guarded(strategy.hit(item, name, key, cost=cost)):
                REFUSED.labels(name).inc()
                raise RateLimited(await self._longest_wait(strategy, item, items, name, key, cost))

    async def _longest_wait(
        self,
        strategy: RateLimiter,
        refused: RateLimitItem,
        items: list[RateLimitItem],
        name: str,
        key: str,
        cost: int,
    ) -> int:
        """Seconds until every used-up limit of ``items`` lets the attempt through: a short
        window that frees up first must not send the client back into a longer one."""
        wait = await self._retry_after(strategy, refused, name, key, cost=cost)
        for item in items:
            if item is refused:
                continue
            if cost > item.amount or not await self._guarded(
                strategy.test(item, name, key, cost=cost)
            ):
                wait = max(wait, await self._retry_after(strategy, item, name, key, cost=cost))
        return wait

    # --- sign-in ------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def login_attempt(self, kind: str, username: str, address: str) -> AsyncIterator[None]:
        """Refuse a sign-in while its account or address has failed too often; count it as a
        failure if it raises ``bad_credentials``. Attempts still being checked count as
        failures meanwhile, so a burst of parallel guesses cannot all slip past the limit."""
        if not self.enabled:
            yield
            return
        checks = [
            ("login-user", self.login_user, f"{kind}:{username.lower()}"),
            ("login-address", self.login_address, address),
        ]
        slots = [(name, key) for name, _, key in checks]
        for slot in slots:
            self._in_flight[slot] = self._in_flight.get(slot, 0) + 1
        try:
            for name, items, key in checks:
                cost = self._in_flight[(name, key)]
                for item in items:
                    if cost > item.amount or not await self._guarded(
                        self.moving.test(item, name, key, cost=cost)
                    ):
                        REFUSED.labels(name).inc()
                        wait = await self._longest_wait(self.moving, item, items, name, key, cost)
                        raise RateLimited(wait)
            try:
                yield
            except Unauthenticated as exc:
                if exc.code == "bad_credentials":
                    for name, items, key in checks:
                        for item in items:
                            await self._guarded(self.moving.hit(item, name, key))
                raise
        finally:
            for slot in slots:
                left = self._in_flight[slot] - 1
                if left:
                    self._in_flight[slot] = left
                else:
                    del self._in_flight[slot]

    # --- messages, uploads, sockets -------------------------------------------------------

    async def check_send(self, principal: Principal) -> None:
        await self.hit("send", self.sends[_sender(principal)], principal.channel)

    async def check_upload(self, principal: Principal, size: int) -> None:
        await self.hit("upload", self.upload_count, principal.channel)
        await self.hit("upload-bytes", self.upload_bytes, principal.channel, cost=max(1, size))

    def socket_opened(self, principal: Principal) -> int:
        """Count an authenticated socket, refused past ``max_sockets_per_account``; returns
        the socket's own number, the key of its per-socket limits."""
        limit = self.settings.max_sockets_per_account
        open_now = self.sockets.get(principal.channel, 0)
        if self.enabled and limit > 0 and open_now >= limit:
            REFUSED.labels("sockets").inc()
            raise RateLimited(30, "too_many_sockets", limit=limit)
        self.sockets[principal.channel] = open_now + 1
        return next(self._socket_numbers)

    def socket_closed(self, principal: Principal, socket_id: int) -> None:
        self._send_credits.pop(socket_id, None)
        left = self.sockets.get(principal.channel, 0) - 1
        if left > 0:
            self.sockets[principal.channel] = left
        else:
            self.sockets.pop(principal.channel, None)

    async def check_frame(
        self, principal: Principal, socket_id: int, frame: dict[str, Any], lang: str
    ) -> dict[str, Any] | None:
        """The error frame for a socket frame over its limit, or None to go on."""
        op = frame.get("op")
        try:
            if op == "send":
                await self._socket_send(principal, socket_id)
            elif op == "ping":
                await self.hit("ping", self.pings, str(socket_id), local=True)
        except RateLimited as exc:
            ref = frame.get("client_id") if isinstance(frame.get("client_id"), str) else None
            return {"op": "error", "ref": ref, "for": op, **exc.to_dict(lang)}
        return None

    async def _socket_send(self, principal: Principal, socket_id: int) -> None:
        """A socket's sends count against the account in leases of ``SEND_LEASE``: one
        store hit per lease instead of one per message (a hit costs about 8 µs, a whole
        message about 120). Near the limit, when a lease no longer fits, single sends count
        one by one, so only a lease's unspent rest (at most SEND_LEASE - 1 per open socket)
        can make the account's limit bite a little early; never late."""
        if not self.enabled:
            return
        credits = self._send_credits.get(socket_id, 0)
        if credits > 0:
            self._send_credits[socket_id] = credits - 1
            return
        for item in self.sends[_sender(principal)]:
            lease = self.sliding.hit(item, "send", principal.channel, cost=SEND_LEASE)
            if not await self._guarded(lease):
                await self.check_send(principal)
                return
        self._send_credits[socket_id] = SEND_LEASE - 1

    # --- REST calls -----------------------------------------------------------------------

    async def check_token(self, token: str) -> None:
        digest = hashlib.sha256(token.encode()).hexdigest()[:32]
        await self.hit("rest-token", self.rest_token, digest)

    async def check_address(self, address: str) -> None:
        await self.hit("rest-address", self.rest_address, address)


def client_address(scope: Scope) -> str:
    """The client's address as the server sees it (uvicorn applies X-Forwarded-For from the
    proxies it trusts, ``--forwarded-allow-ips``)."""
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


def _bearer(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            text = value.decode("latin-1")
            if text[:7].lower() == "bearer ":
                return text[7:].strip() or None
    return None


def _language(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == b"accept-language":
            return i18n.pick_language(value.decode("latin-1"))
    return i18n.default_language()


async def send_error(
    send: Send, scope: Scope, error: ServiceError, headers: dict[str, str] | None = None
) -> None:
    """A ServiceError as the JSON error response every route gives, from an ASGI middleware."""
    body = orjson.dumps({"error": error.to_dict(_language(scope))})
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": error.status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


# Sign-in routes count per address whatever the request carries: a made-up bearer header
# must not move them into a per-token count of their own.
ANONYMOUS_PATHS = frozenset(
    {"/api/auth/login", "/api/integration/consumer-token", "/api/auth/demo-consumer"}
)
UNCOUNTED_PATHS = frozenset({"/healthz"})  # load balancers' health checks


class RequestRateLimit:
    """Pure ASGI middleware: every REST call counts per bearer token (``rest_rate_per_token``)
    or, without one, per client address (``rest_rate_per_address``). A made-up token gets
    its own count here, but is refused by authentication, which then counts it against the
    address too (``deps.current_principal``)."""

    def __init__(self, app: ASGIApp, limiter: Limiter) -> None:
        self.app = app
        self.limiter = limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in UNCOUNTED_PATHS:
            await self.app(scope, receive, send)
            return
        token = None if scope["path"] in ANONYMOUS_PATHS else _bearer(scope)
        try:
            if token is not None:
                await self.limiter.check_token(token)
            else:
                await self.limiter.check_address(client_address(scope))
        except RateLimited as exc:
            await send_error(send, scope, exc, exc.headers)
            return
        await self.app(scope, receive, send)


def limiter_of(ctx: Context) -> Limiter:
    limiter: Limiter = ctx.limiter
    return limiter
