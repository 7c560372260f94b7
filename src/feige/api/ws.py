"""The WebSocket endpoint; the protocol is documented in docs/protocol.md."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import MutableMapping
from typing import Any

import orjson
import structlog
from fastapi import WebSocket, WebSocketDisconnect
from prometheus_client import Counter, Gauge
from starlette.types import Receive, Scope, Send

from feige import i18n
from feige.api.checks import MAX_ID, odd_text
from feige.realtime import frames
from feige.realtime.broker import Origin
from feige.services import channels
from feige.services.actions import history, receipts, sign_in
from feige.services.actions import send as send_action
from feige.services.context import Context, Principal
from feige.services.errors import ServiceError, Unauthenticated
from feige.services.lib.views import principal_view

log = structlog.get_logger(__name__)

AUTH_TIMEOUT_SECONDS = 10.0
HEARTBEAT_SECONDS = 25
MAX_IN_FLIGHT = 64
COALESCE_LIMIT = 64
SOCKETS = Gauge("feige_websockets", "Open WebSocket connections")
FRAMES = Counter("feige_ws_frames_total", "Frames received", ["op"])
FRAME_COUNTERS = {
    op: FRAMES.labels(op) for op in ("send", "read", "typing", "resume", "ping", "other")
}
SENT = Counter("feige_messages_sent_total", "Messages committed through WebSockets")
TOO_SLOW = Counter(
    "feige_ws_closed_too_slow_total",
    "Sockets closed (4008) for falling behind their outbound limit",
)


# Close codes of our own (4000–4999); docs/protocol.md lists them.
CLOSE_TOO_SLOW = 4008
# How long a closing connection may take to finish the frame it is sending and send its close
# frame (a client that reads nothing never lets it); past that it is dropped.
CLOSE_GRACE_SECONDS = 10.0
# A socket whose account was revoked (or whose token expired) is closed with this code: the
# client must sign in again (docs/protocol.md).
CLOSE_SIGNED_OUT = 4401
# Each socket's origin: what a send passes along so that its socket gets the ack and not the
# message event too (realtime/broker.Origin).
_ORIGINS = itertools.count(1)


class Connection:
    """One socket: a bounded outbound queue and a writer task, so a slow client never stalls
    the broker; a client that falls too far behind is closed and resumes by sequence.

    Everything queued for the socket (events, acks, errors, resume replies) counts against
    ``max_frames`` and ``max_bytes``; the hot path pays one length add per frame."""

    def __init__(
        self,
        websocket: WebSocket,
        max_frames: int = 2000,
        max_bytes: int = 8 * 1024 * 1024,
        token_version: int = 0,
    ) -> None:
        self.origin: Origin = next(_ORIGINS)
        # The version of the token the socket signed in with: a ``revoked`` event closes it
        # only if it revokes that token (a node re-states revocations it may have missed,
        # and a socket signed in since then stays open).
        self.token_version = token_version
        self.websocket = websocket
        self.queue: asyncio.Queue[bytes | None] = asyncio.Queue()
        self.max_frames = max_frames
        self.max_bytes = max_bytes
        self.queued_bytes = 0
        self.closing = False
        self.close_code = 1000
        self.close_reason = ""

    def deliver(self, payload: bytes) -> None:
        if payload.startswith(frames.REVOKED_EVENT):
            version = orjson.loads(payload).get("version")
            if not isinstance(version, int) or version > self.token_version:
                self.sign_out("token_revoked", payload)
            return
        queued = self.queued_bytes + len(payload)
        if queued > self.max_bytes or self.queue.qsize() >= self.max_frames:
            if not self.closing:  # a closing connection has max_bytes -1: nothing fits
                TOO_SLOW.inc()
                self.close(CLOSE_TOO_SLOW, "too slow; resume")
            return
        self.queued_bytes = queued
        self.queue.put_nowait(payload)

    def send(self, frame: dict[str, Any]) -> None:
        self.deliver(orjson.dumps(frame))

    def close(self, code: int, reason: str, *last: bytes) -> None:
        """Close after what the socket is sending now: frames still queued are dropped (the
        client resumes them by sequence), ``last`` goes out before the close frame, and
        nothing is queued any more."""
        if self.closing:
            return
        self.closing = True
        self.max_bytes = -1
        self.close_code, self.close_reason = code, reason
        queue = self.queue
        while not queue.empty():
            queue.get_nowait()
        self.queued_bytes = 0
        for frame in last:
            queue.put_nowait(frame)
        queue.put_nowait(None)

    def sign_out(self, reason: str, *event: bytes) -> None:
        """The account may no longer use this socket (revoked, or its token expired): the
        event that says so and an error frame with the reason, then close code 4401."""
        error = orjson.dumps({"op": "error", **Unauthenticated(reason).to_dict()})
        self.close(CLOSE_SIGNED_OUT, reason, *event, error)

    async def pump(self) -> None:
        queue = self.queue
        while True:
            payload = await queue.get()
            if payload is not None and not queue.empty():
                # Several frames are waiting (a group commit delivers many at once): send them
                # as one JSON array. Each WebSocket send costs far more than its bytes.
                batch = [payload]
                while len(batch) < COALESCE_LIMIT and not queue.empty():
                    nxt = queue.get_nowait()
                    if nxt is None:
                        queue.put_nowait(None)
                        break
                    batch.append(nxt)
                self.queued_bytes -= sum(map(len, batch))
                payload = b"[" + b",".join(batch) + b"]"
            elif payload is not None:
                self.queued_bytes -= len(payload)
            if payload is None:
                await self.websocket.close(code=self.close_code, reason=self.close_reason)
                return
            await self.websocket.send_text(payload.decode())


NUL_ESCAPE, NUL_ESCAPE_BYTES = "\\u0000", b"\\u0000"


def _decode(message: MutableMapping[str, Any]) -> dict[str, Any]:
    """A frame as a JSON object, or a ServiceError saying what is wrong with it."""
    raw: str | bytes | None = message.get("text")
    if raw is None:
        raw = message.get("bytes")
        if raw is None:
            raise ServiceError("malformed", detail="empty frame")
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ServiceError("malformed", detail="invalid UTF-8") from exc
    if len(raw) > 64 * 1024:
        raise ServiceError("too_large", limit="64 KiB")
    try:
        frame = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        detail = "lone UTF-16 surrogate" if "surrogate" in str(exc) else "invalid JSON"
        raise ServiceError("malformed", detail=detail) from exc
    if not isinstance(frame, dict):
        raise ServiceError("malformed", detail="a frame is a JSON object")
    # NUL can only come as a \u0000 escape; the store (PostgreSQL) cannot keep it anywhere.
    if (NUL_ESCAPE_BYTES if isinstance(raw, bytes) else NUL_ESCAPE) in raw and odd_text(frame):
        raise ServiceError("malformed", detail="NUL character")
    return frame


def _resume_map(value: Any, max_sessions: int) -> dict[int, int]:
    """``{"17": 42}`` → ``{17: 42}``; anything else (a key that is not a decimal id, a seq
    that is not a non-negative integer, either past 64 bits) is ``malformed``."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ServiceError("malformed", detail="resume: {session_id: last_seq}")
    if len(value) > max_sessions:
        raise ServiceError("too_large", limit=f"{max_sessions} sessions")
    out: dict[int, int] = {}
    for key, seq in value.items():
        # isascii: str.isdigit() also accepts '²' and other digits int() refuses or reads.
        if not (isinstance(key, str) and key.isascii() and key.isdigit() and len(key) <= 19):
            raise ServiceError("malformed", detail="resume: {session_id: last_seq}")
        session_id = int(key)
        if (
            not 1 <= session_id <= MAX_ID
            or not isinstance(seq, int)
            or isinstance(seq, bool)
            or not 0 <= seq <= MAX_ID
        ):
            raise ServiceError("malformed", detail="resume: {session_id: last_seq}")
        out[session_id] = seq
    return out


async def _resume(
    ctx: Context, conn: Connection, principal: Principal, wanted: dict[int, int]
) -> None:
    """One page of what the client missed: at most ``ws_resume_page`` messages and half the
    socket's byte budget, so a reply always fits in the outbound queue. ``more`` says the
    client should ask again from its new last seq per session."""
    settings = ctx.settings
    page = min(settings.ws_resume_page, conn.max_frames // 2)
    missed, more = await history.missed(ctx, principal, wanted, page)
    budget = settings.ws_outbound_max_bytes // 2
    count = 0
    for message in missed:
        payload = frames.event({"type": "message", "message": message})
        budget -= len(payload)
        if budget < 0 and count:
            more = True
            break
        conn.deliver(payload)
        count += 1
    conn.send({"op": "resumed", "count": count, "more": more})


WS_PATH = "/ws"


async def serve_socket(scope: Scope, receive: Receive, send: Send, ctx: Context) -> None:
    """The socket as a bare ASGI app. Mounted in front of FastAPI rather than as a route:
    every frame sent through a route passes the whole middleware stack, which measured as
    the largest single cost of delivery (docs/performance.md)."""
    await websocket_endpoint(WebSocket(scope, receive, send), ctx)


async def websocket_endpoint(websocket: WebSocket, ctx: Context) -> None:
    await websocket.accept()
    lang = i18n.pick_language(websocket.headers.get("accept-language"))
    try:
        first = await asyncio.wait_for(websocket.receive(), AUTH_TIMEOUT_SECONDS)
        if first["type"] == "websocket.disconnect":
            return
        frame = _decode(first)
        if frame.get("op") != "auth":
            raise Unauthenticated()
        requested_lang = frame.get("lang")
        if requested_lang is not None and not isinstance(requested_lang, str):
            raise ServiceError("malformed", detail="lang: zh-CN | en")
        lang = requested_lang[:16] if requested_lang else lang
        grant = await sign_in.verify_token(ctx, frame.get("token"))
        principal = grant.principal
        resume = _resume_map(frame.get("resume"), ctx.settings.ws_resume_max_sessions)
        socket_id = ctx.limiter.socket_opened(principal)  # too many open: RateLimited
    except (TimeoutError, ServiceError) as exc:
        error = exc if isinstance(exc, ServiceError) else Unauthenticated()
        with contextlib.suppress(Exception):
            await websocket.send_text(orjson.dumps({"op": "error", **error.to_dict(lang)}).decode())
            await websocket.close(code=4429 if error.status == 429 else 4401, reason=error.code)
        return
    except WebSocketDisconnect:
        return

    conn = Connection(
        websocket,
        ctx.settings.ws_outbound_max_frames,
        ctx.settings.ws_outbound_max_bytes,
        principal.token_version,
    )
    subscribed = channels.subscriptions(principal)
    for channel in subscribed:
        ctx.broker.subscribe(channel, conn)
    await ctx.presence.connected(principal.channel)
    SOCKETS.inc()
    # Across nodes: what the socket reads from the store below must not miss a publish
    # made before its node listens on its channels.
    await ctx.broker.ready(subscribed)
    pump = asyncio.create_task(conn.pump())
    # The token's end is the socket's end, even if the client never sends another frame.
    expiry = asyncio.get_running_loop().call_later(
        max(0.0, grant.expires_at - ctx.clock()), conn.sign_out, "token_expired"
    )
    account, token_version = principal.channel, principal.token_version
    in_flight = asyncio.Semaphore(MAX_IN_FLIGHT)
    tasks: set[asyncio.Task[None]] = set()

    async def handle(frame: dict[str, Any]) -> None:
        op = frame.get("op")
        op = op if isinstance(op, str) and len(op) <= 32 else str(op)[:32]
        ref = frame.get("client_id") if isinstance(frame.get("client_id"), str) else None
        try:
            if op == "send":
                conn.send(frames.ack(await send_action.send(ctx, principal, frame, conn.origin)))
                SENT.inc()
            elif op == "read":
                await receipts.mark_read(ctx, principal, frame.get("session_id"), frame.get("seq"))  # type: ignore[arg-type]
            elif op == "typing":
                await receipts.typing(ctx, principal, frame.get("session_id"))  # type: ignore[arg-type]
            elif op == "resume":
                wanted = _resume_map(frame.get("resume"), ctx.settings.ws_resume_max_sessions)
                await _resume(ctx, conn, principal, wanted)
            else:
                raise ServiceError("unknown_op", op=op)
        except ServiceError as exc:
            conn.send({"op": "error", "ref": ref, "for": op, **exc.to_dict(lang)})
        except Exception:
            log.exception("ws_frame_failed", op=op)
            conn.send(
                {
                    "op": "error",
                    "ref": ref,
                    "for": op,
                    "code": "internal",
                    "message": "internal error",
                }
            )
        finally:
            in_flight.release()

    try:
        open_sessions, more_sessions = await _open_sessions(ctx, principal)
        for listed in open_sessions:  # the node notices a later loss of these sessions'
            ctx.broker.observe(listed["id"], listed["last_seq"], (principal.channel,))
        conn.send(
            {
                "op": "ready",
                "principal": principal_view(principal),
                "sessions": open_sessions,
                "sessions_more": more_sessions,
                "heartbeat": HEARTBEAT_SECONDS,
            }
        )
        await _resume(ctx, conn, principal, resume)
        while not pump.done() and not conn.closing:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                break
            try:
                frame = _decode(message)
            except ServiceError as exc:
                conn.send({"op": "error", **exc.to_dict(lang)})
                continue
            if ctx.revocations.is_revoked(account, token_version):
                conn.sign_out("token_revoked")
                break
            if ctx.clock() >= grant.expires_at:
                conn.sign_out("token_expired")
                break
            op = str(frame.get("op"))
            (FRAME_COUNTERS.get(op) or FRAME_COUNTERS["other"]).inc()
            refused = await ctx.limiter.check_frame(principal, socket_id, frame, lang)
            if refused is not None:  # over a send or ping limit: nothing was done
                conn.send(refused)
                continue
            if op == "ping":
                conn.send({"op": "pong", "ts": ctx.clock()})
                continue
            await in_flight.acquire()
            # Started in arrival order, so sends reach the writer queue in order.
            task = asyncio.create_task(handle(frame))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        expiry.cancel()
        ctx.limiter.socket_closed(principal, socket_id)
        for channel in subscribed:
            ctx.broker.unsubscribe(channel, conn)
        await ctx.presence.disconnected(principal.channel)
        SOCKETS.dec()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        if conn.closing:
            # Let the pump send its close frame (after the frame it may be sending now).
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.shield(pump), CLOSE_GRACE_SECONDS)
        pump.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await pump


async def _open_sessions(ctx: Context, principal: Principal) -> tuple[list[dict[str, Any]], bool]:
    """Every open session the caller may see, newest first, page by page (a supervisor of a
    busy shop has more than one page), up to ``ws_ready_max_sessions``; and whether more
    remain (then ``GET /api/sessions?state=open&before_id=…`` pages on)."""
    wanted = ctx.settings.ws_ready_max_sessions
    found: list[dict[str, Any]] = []
    before: int | None = None
    while True:
        size = min(200, wanted - len(found))
        page = await history.list_sessions(
            ctx, principal, state="open", before_id=before, limit=size
        )
        found += [{"id": s["id"], "state": s["state"], "last_seq": s["last_seq"]} for s in page]
        if len(page) < size:
            return found, False
        before = page[-1]["id"]
        if len(found) >= wanted:
            rest = await history.list_sessions(
                ctx, principal, state="open", before_id=before, limit=1
            )
            return found, bool(rest)
