"""HTTP hardening as pure ASGI middleware: response headers, request body limits, and the
guard in front of ``/metrics`` (docs/security.md)."""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from feige.api.ratelimit import client_address, send_error
from feige.config import Settings
from feige.services.errors import Forbidden, NotFound, ServiceError, Unauthenticated

# The web app's policy: nothing from other origins but card pictures (below), no inline
# script, images also from data: and blob: URLs (previews), the socket over ws:/wss:, inline
# styles (Element Plus positions popups with style attributes).
APP_CSP = (
    "default-src 'self'; img-src 'self' data: blob:{card_hosts}; connect-src 'self' ws: wss:; "
    "style-src 'self' 'unsafe-inline'; script-src 'self'; object-src 'none'; base-uri 'self'"
)
HOST_NAME = re.compile(r"^[a-z0-9-]+(\.[a-z0-9-]+)*$")
# /docs and /redoc are served with their assets from the package (fastapi-offline, no CDN);
# their pages start Swagger UI and ReDoc with an inline script, and ReDoc runs a blob: worker.
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; worker-src 'self' blob:; connect-src 'self'; "
    "object-src 'none'; base-uri 'self'"
)
DOCS_PATHS = frozenset({"/docs", "/redoc", "/docs/oauth2-redirect"})


def app_policy(settings: Settings) -> str:
    """APP_CSP with the hosts of card pictures: a product card's ``image_url`` may point to
    the marketplace's own domains and their subdomains (``card_url_domains``, by default
    ``platform_domains``), and the chat shows it. Host sources without a scheme follow the
    page's (https stays https)."""
    domains = (
        d.strip().lower().strip(".") for d in settings.card_url_domains or settings.platform_domains
    )
    hosts = "".join(f" {d} *.{d}" for d in domains if HOST_NAME.match(d))
    return APP_CSP.format(card_hosts=hosts)


def frame_headers(frame_ancestors: list[str]) -> tuple[str, str | None]:
    """The CSP ``frame-ancestors`` directive and the matching ``X-Frame-Options`` for older
    browsers (which cannot name other origins: then only the CSP speaks)."""
    sources = [s.strip() for s in frame_ancestors if s.strip()] or ["'none'"]
    directive = "frame-ancestors " + " ".join(sources)
    if sources == ["'none'"]:
        return directive, "DENY"
    if sources == ["'self'"]:
        return directive, "SAMEORIGIN"
    return directive, None


class SecurityHeaders:
    """Adds the security headers to every HTTP response (errors and 413/429 included)."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        ancestors, frame_options = frame_headers(settings.frame_ancestors)
        common = [
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"no-referrer"),
        ]
        if frame_options:
            common.append((b"x-frame-options", frame_options.encode()))
        self.app_headers = [
            *common,
            (b"content-security-policy", f"{app_policy(settings)}; {ancestors}".encode()),
        ]
        self.docs_headers = [
            *common,
            (b"content-security-policy", f"{DOCS_CSP}; {ancestors}".encode()),
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = self.docs_headers if scope["path"] in DOCS_PATHS else self.app_headers

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {extra_name for extra_name, _ in extra}
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() not in names]
                message = {**message, "headers": headers + extra}
            await send(message)

        await self.app(scope, receive, send_with_headers)


class _BodyTooLarge(Exception):
    pass


UPLOAD_PATH = re.compile(r"^/api/sessions/[^/]+/images/?$")
MULTIPART_OVERHEAD = 64 * 1024  # boundaries and part headers around the file


class BodyLimit:
    """Refuses request bodies over the limit with 413, before they are read: a declared
    ``Content-Length`` over it at once, a chunked body as soon as the bytes received pass
    it (so an upload never fills a temporary file beyond the limit). Uploads may carry
    ``max_image_bytes`` plus the multipart framing, every other route ``max_json_body_bytes``."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.json_limit = settings.max_json_body_bytes
        self.upload_limit = settings.max_image_bytes + MULTIPART_OVERHEAD

    def limit_for(self, scope: Scope) -> int:
        if scope["method"] == "POST" and UPLOAD_PATH.match(scope["path"]):
            return self.upload_limit
        return self.json_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope)
        too_large = ServiceError("request_too_large", limit=_size(limit))
        too_large.status = 413
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = 0  # the server has refused a malformed length already
                if declared > limit:
                    await send_error(send, scope, too_large, {"Connection": "close"})
                    return
        received = 0
        exceeded = False
        started = False

        async def counting_receive() -> Message:
            nonlocal received, exceeded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    exceeded = True
                    raise _BodyTooLarge()
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if exceeded:  # the app answered the broken body somehow: ours replaces it
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except Exception:
            if not exceeded:
                raise
        if exceeded and not started:
            await _discard_rest(receive)
            await send_error(send, scope, too_large, {"Connection": "close"})


DISCARD_BYTES = 1024 * 1024
DISCARD_SECONDS = 1.0


async def _discard_rest(receive: Receive) -> None:
    """Read what is left of a refused body, without keeping it, up to a megabyte and a
    second: closing a connection with unread bytes makes the kernel reset it, and the reset
    can destroy the 413 before the client reads it. A longer body is cut off regardless."""
    deadline = asyncio.get_running_loop().time() + DISCARD_SECONDS
    discarded = 0
    while discarded < DISCARD_BYTES:
        remaining = deadline - asyncio.get_running_loop().time()
        if remaining <= 0:
            return
        try:
            message = await asyncio.wait_for(receive(), remaining)
        except Exception:  # a timeout, or the client is gone
            return
        if message["type"] != "http.request":
            return
        discarded += len(message.get("body", b""))
        if not message.get("more_body", False):
            return


def _size(limit: int) -> str:
    if limit >= 1024 * 1024 and limit % (1024 * 1024) == 0:
        return f"{limit // (1024 * 1024)} MiB"
    return f"{limit // 1024} KiB" if limit >= 1024 else f"{limit} B"


def is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def metrics_refusal(settings: Settings, scope: Scope) -> ServiceError | None:
    """Why this request may not read ``/metrics``, or None. Off when ``metrics_enabled`` is
    false (404); with ``metrics_token`` set, only for requests that carry it as a bearer
    token (401 otherwise); without one, only for loopback clients (403 otherwise): a scraper
    on the same host, or one that comes through a proxy adding the token."""
    if not settings.metrics_enabled:
        return NotFound(what="/metrics")
    if settings.metrics_token:
        given = ""
        for name, value in scope.get("headers", ()):
            if name == b"authorization":
                text = value.decode("latin-1")
                if text[:7].lower() == "bearer ":
                    given = text[7:].strip()
        if not hmac.compare_digest(given.encode(), settings.metrics_token.encode()):
            return Unauthenticated()
        return None
    if not is_loopback(client_address(scope)):
        return Forbidden()
    return None
