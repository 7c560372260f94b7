"""The baseline for bench/chat_throughput.py: a bare relay with Feige's wire format.

Same stack as Feige (FastAPI on uvicorn with uvloop and httptools, orjson, one outbound queue
and writer task per socket), none of the product: no database, no validation beyond JSON, no
sessions table, no moderation. The token *is* the identity (``consumer:7``, ``member:3``). A
consumer's first ``send`` by ``shop_id`` opens a session on the least-loaded connected agent;
every ``send`` is acknowledged to the sender and delivered as a ``message`` event to the
consumer's and the agent's sockets — the same frames, in the same shape, as Feige sends, so
the very same clients run against both.

    python bench/_relay.py --port 8765
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import time
from collections import defaultdict
from typing import Any

import orjson
import uvicorn
from fastapi import FastAPI, WebSocket, WebSocketDisconnect

app = FastAPI()


class Peer:
    def __init__(self, websocket: WebSocket) -> None:
        self.websocket = websocket
        self.queue: asyncio.Queue[bytes] = asyncio.Queue()

    async def pump(self) -> None:
        while True:
            payload = await self.queue.get()
            await self.websocket.send_text(payload.decode())


class Relay:
    def __init__(self) -> None:
        self.sockets: dict[str, set[Peer]] = defaultdict(set)
        self.load: dict[int, int] = {}  # connected agent id → sessions it serves
        self.sessions: dict[int, tuple[int, int, int]] = {}  # id → (consumer, agent, last seq)
        self.open: dict[int, int] = {}  # consumer id → its session id
        self.session_ids = itertools.count(1)
        self.message_ids = itertools.count(1)

    def deliver(self, channel: str, payload: bytes) -> None:
        for peer in self.sockets.get(channel, ()):
            peer.queue.put_nowait(payload)

    def send(self, kind: str, user: int, frame: dict[str, Any]) -> dict[str, Any]:
        session_id = frame.get("session_id")
        if kind != "consumer":
            return {"op": "error", "ref": frame.get("client_id"), "code": "unsupported"}
        if session_id is None:
            session_id = self.open.get(user)
            if session_id is None:
                if not self.load:
                    return {"op": "error", "ref": frame.get("client_id"), "code": "no_agent"}
                agent = min(self.load, key=lambda a: (self.load[a], a))
                self.load[agent] += 1
                session_id = next(self.session_ids)
                self.sessions[session_id] = (user, agent, 0)
                self.open[user] = session_id
        consumer, agent, seq = self.sessions[session_id]
        seq += 1
        self.sessions[session_id] = (consumer, agent, seq)
        message = {
            "id": next(self.message_ids),
            "session_id": session_id,
            "seq": seq,
            "sender_role": "buyer",
            "sender_id": user,
            "kind": frame.get("kind"),
            "content": frame.get("content"),
            "client_id": frame.get("client_id"),
            "created_at": time.time(),
        }
        event = orjson.dumps({"op": "event", "type": "message", "message": message})
        self.deliver(f"consumer:{consumer}", event)
        self.deliver(f"member:{agent}", event)
        return {
            "op": "ack",
            "client_id": message["client_id"],
            "message_id": message["id"],
            "session_id": session_id,
            "seq": seq,
            "created_at": message["created_at"],
            "duplicate": False,
        }


relay = Relay()


@app.websocket("/ws")
async def ws(websocket: WebSocket) -> None:
    await websocket.accept()
    auth = orjson.loads(await websocket.receive_text())
    kind, _, raw_id = str(auth.get("token", "")).partition(":")
    user = int(raw_id)
    channel = f"{kind}:{user}"
    peer = Peer(websocket)
    relay.sockets[channel].add(peer)
    if kind == "member":
        relay.load.setdefault(user, 0)
    pump = asyncio.create_task(peer.pump())
    principal = {"kind": kind, "id": user}
    peer.queue.put_nowait(orjson.dumps({"op": "ready", "principal": principal, "sessions": []}))
    peer.queue.put_nowait(orjson.dumps({"op": "resumed", "count": 0}))
    try:
        while True:
            frame = orjson.loads(await websocket.receive_text())
            if frame.get("op") == "send":
                peer.queue.put_nowait(orjson.dumps(relay.send(kind, user, frame)))
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        relay.sockets[channel].discard(peer)
        pump.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await pump


@app.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        ws_max_size=64 * 1024,
        log_level="warning",
        access_log=False,
    )


if __name__ == "__main__":
    main()
