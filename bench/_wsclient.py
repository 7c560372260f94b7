"""A minimal WebSocket client for load generation: one asyncio Protocol, no extensions.

The ``websockets`` client spends several coroutine hops and future wake-ups per frame; at tens
of thousands of frames per second on one core that, not the server, becomes the limit. This
client parses frames straight out of ``data_received`` and hands each text payload to a plain
callback, so per-frame work is a few slices and one call. It speaks just what the benchmark
needs (RFC 6455 text frames, masked client frames, ping/pong, close); it negotiates no
permessage-deflate, so neither server under test compresses.
"""

from __future__ import annotations

import asyncio
import base64
import os
import struct
from collections.abc import Callable

FrameHandler = Callable[[bytes], None]


class WSError(Exception):
    pass


class WSClient(asyncio.Protocol):
    """Text frames in through ``on_frame``; ``send(payload)`` out."""

    def __init__(self, host: str, port: int, path: str, on_frame: FrameHandler) -> None:
        self.host, self.port, self.path = host, port, path
        self.on_frame = on_frame
        self.on_close: Callable[[], None] | None = None
        self.transport: asyncio.Transport | None = None
        self.open: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.closed = False
        self._buf = bytearray()
        self._upgraded = False
        self._key = os.urandom(4)
        self._fragments: list[bytes] = []

    # --- asyncio.Protocol ----------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is not a subclass
        key = base64.b64encode(os.urandom(16)).decode()
        request = (
            f"GET {self.path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        transport.write(request.encode())

    def data_received(self, data: bytes) -> None:
        buf = self._buf
        buf += data
        if not self._upgraded:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                return
            status = bytes(buf[: buf.find(b"\r\n")])
            del buf[: end + 4]
            if b" 101 " not in status:
                self._fail(WSError(f"handshake refused: {status.decode(errors='replace')}"))
                return
            self._upgraded = True
            self.open.set_result(None)
        on_frame = self.on_frame
        while True:
            n = len(buf)
            if n < 2:
                return
            b0, b1 = buf[0], buf[1]
            length = b1 & 0x7F
            head = 2
            if length == 126:
                if n < 4:
                    return
                length = (buf[2] << 8) | buf[3]
                head = 4
            elif length == 127:
                if n < 10:
                    return
                (length,) = struct.unpack_from("!Q", buf, 2)
                head = 10
            end = head + length
            if n < end:
                return
            payload = bytes(buf[head:end])
            del buf[:end]
            opcode = b0 & 0x0F
            if opcode in (1, 2, 0):
                if not b0 & 0x80:  # a fragment: keep until the final one
                    self._fragments.append(payload)
                    continue
                if self._fragments:
                    self._fragments.append(payload)
                    payload = b"".join(self._fragments)
                    self._fragments.clear()
                on_frame(payload)
            elif opcode == 9:
                self._write(0xA, payload)
            elif opcode == 8:
                self.close()
                return

    def connection_lost(self, exc: Exception | None) -> None:
        was_closed = self.closed
        self.closed = True
        if not self.open.done():
            self.open.set_exception(exc or WSError("connection lost during handshake"))
        if not was_closed and self.on_close is not None:
            self.on_close()

    # --- sending -------------------------------------------------------------------------

    def send(self, payload: bytes) -> None:
        self._write(0x1, payload)

    def _write(self, opcode: int, payload: bytes) -> None:
        if self.transport is None or self.closed:
            return
        n = len(payload)
        if n < 126:
            head = bytes((0x80 | opcode, 0x80 | n))
        elif n < 65536:
            head = struct.pack("!BBH", 0x80 | opcode, 0xFE, n)
        else:
            head = struct.pack("!BBQ", 0x80 | opcode, 0xFF, n)
        # Masking as RFC 6455 requires, done as one big-integer XOR.
        mask = (self._key * (n // 4 + 1))[:n]
        masked = (int.from_bytes(payload, "big") ^ int.from_bytes(mask, "big")).to_bytes(n, "big")
        self.transport.write(head + self._key + masked)

    def close(self) -> None:
        if self.closed:
            return
        self._write(0x8, struct.pack("!H", 1000))
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    def _fail(self, exc: Exception) -> None:
        if not self.open.done():
            self.open.set_exception(exc)
        self.closed = True
        if self.transport is not None:
            self.transport.close()


async def connect(url: str, on_frame: FrameHandler, timeout: float = 10.0) -> WSClient:
    """Open ``ws://host:port/path`` and return once the upgrade is accepted."""
    if not url.startswith("ws://"):
        raise ValueError("ws:// only")
    hostport, _, path = url[5:].partition("/")
    host, _, port = hostport.partition(":")
    loop = asyncio.get_running_loop()
    _, client = await loop.create_connection(
        lambda: WSClient(host, int(port or 80), "/" + path, on_frame), host, int(port or 80)
    )
    await asyncio.wait_for(asyncio.shield(client.open), timeout)
    return client
