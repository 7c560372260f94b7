"""The WebSocket endpoint; the protocol is documented in docs/protocol.md."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import MutableMapping
from typing import Any

import orjson
import structlog
from fastapi import WebSocket, WebSocketDisconnect
from prometheus_client import Counter, Gauge
from starlette.types import Receive, Scope, Send

from feige import i18n
from feige.services import accounts, chat, sessions
from feige.services.context import Context, Principal
from feige.services.errors import ServiceError, Unauthenticated

log = structlog.get_logger(__name__)

AUTH_TIMEOUT_SECONDS = 10.0
HEARTBEAT_SECONDS = 25
OUTBOUND_QUEUE_LIMIT = 2000
MAX_IN_FLIGHT = 64
COALESCE_LIMIT = 64
SOCKETS = Gauge("feige_websockets", "Open WebSocket connections")
FRAMES = Counter("feige_ws_frames_total", "Frames received", ["op"])
FRAME_COUNTERS = {
    op: FRAMES.labels(op) for op in ("send", "read", "typing", "resume", "ping", "other")
}
SENT = Counter("feige_messages_sent_total", "Messages committed through WebSockets")


class Connection:
    """One socket: a bounded outbound queue and a writer task, so a slow client never stalls
    the broker; a client that falls too far behind is closed and resumes by sequence."""

    def __init__(self, websocket: WebSocket) -> None:
        self.websocket = websocket
        self.queue: asyncio.Queue[bytes | None] = asyncio.Queue()
        self.overflowed = False

    def deliver(self, payload: bytes) -> None:
        if self.queue.qsize() >= OUTBOUND_QUEUE_LIMIT:
            self.overflowed = True
            self.queue.put_nowait(None)
            return
        self.queue.put_nowait(payload)

    def send(self, frame: dict[str, Any]) -> None:
        self.queue.put_nowait(orjson.dumps(frame))

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
                payload = b"[" + b",".join(batch) + b"]"
            if payload is None:
                await self.websocket.close(code=1013, reason="too slow; resume")
                return
            await self.websocket.send_text(payload.decode())


def channels_for(principal: Principal) -> list[str]:
    channels = [principal.channel]
    if principal.kind == "member" and principal.shop_id is not None:
        channels.append(f"shop:{principal.shop_id}:agents")
        if principal.is_supervisor:
            channels.append(f"shop:{principal.shop_id}:supervisors")
    if principal.kind == "staff":
        channels.append("platform:reviewers")
    return channels


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
        raise ServiceError("malformed", detail="invalid JSON") from exc
    if not isinstance(frame, dict):
        raise ServiceError("malformed", detail="a frame is a JSON object")
    return frame


def _resume_map(value: Any) -> dict[int, int]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ServiceError("malformed", detail="resume: {session_id: last_seq}")
    out: dict[int, int] = {}
    for key, seq in value.items():
        if not str(key).isdigit() or not isinstance(seq, int) or seq < 0:
            raise ServiceError("malformed", detail="resume: {session_id: last_seq}")
        out[int(key)] = seq
    return out


async def _resume(
    ctx: Context, conn: Connection, principal: Principal, wanted: dict[int, int]
) -> None:
    missed = await chat.missed(ctx, principal, wanted)
    for message in missed:
        conn.send({"op": "event", "type": "message", "message": message})
    conn.send({"op": "resumed", "count": len(missed)})


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
        lang = str(frame.get("lang") or lang)
        principal = await accounts.authenticate(ctx, frame.get("token"))
        resume = _resume_map(frame.get("resume"))
        socket_id = ctx.limiter.socket_opened(principal)  # too many open: RateLimited
    except (TimeoutError, ServiceError) as exc:
        error = exc if isinstance(exc, ServiceError) else Unauthenticated()
        with contextlib.suppress(Exception):
            await websocket.send_text(orjson.dumps({"op": "error", **error.to_dict(lang)}).decode())
            await websocket.close(code=4429 if error.status == 429 else 4401, reason=error.code)
        return
    except WebSocketDisconnect:
        return

    conn = Connection(websocket)
    channels = channels_for(principal)
    for channel in channels:
        ctx.broker.subscribe(channel, conn)
    await ctx.presence.connected(principal.channel)
    SOCKETS.inc()
    pump = asyncio.create_task(conn.pump())
    in_flight = asyncio.Semaphore(MAX_IN_FLIGHT)
    send_lane = chat.SendLane()
    tasks: set[asyncio.Task[None]] = set()

    async def handle(frame: dict[str, Any]) -> None:
        op = frame.get("op")
        ref = frame.get("client_id") if isinstance(frame.get("client_id"), str) else None
        try:
            if op == "send":
                conn.send(await chat.send(ctx, principal, frame, send_lane, skip=conn))
                SENT.inc()
            elif op == "read":
                await chat.mark_read(ctx, principal, frame.get("session_id"), frame.get("seq"))  # type: ignore[arg-type]
            elif op == "typing":
                await chat.typing(ctx, principal, frame.get("session_id"))  # type: ignore[arg-type]
            elif op == "resume":
                await _resume(ctx, conn, principal, _resume_map(frame.get("resume")))
            else:
                raise ServiceError("unknown_op", op=str(op)[:32])
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
        open_sessions = await _open_sessions(ctx, principal)
        conn.send(
            {
                "op": "ready",
                "principal": accounts.principal_view(principal),
                "sessions": open_sessions,
                "heartbeat": HEARTBEAT_SECONDS,
            }
        )
        await _resume(ctx, conn, principal, resume)
        while not pump.done():
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                break
            try:
                frame = _decode(message)
            except ServiceError as exc:
                conn.send({"op": "error", **exc.to_dict(lang)})
                continue
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
        ctx.limiter.socket_closed(principal, socket_id)
        for channel in channels:
            ctx.broker.unsubscribe(channel, conn)
        await ctx.presence.disconnected(principal.channel)
        SOCKETS.dec()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        pump.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await pump


async def _open_sessions(ctx: Context, principal: Principal) -> list[dict[str, Any]]:
    rows = await sessions.list_sessions(ctx, principal, limit=200)
    return [
        {"id": s["id"], "state": s["state"], "last_seq": s["last_seq"]}
        for s in rows
        if s["state"] != "closed"
    ]
