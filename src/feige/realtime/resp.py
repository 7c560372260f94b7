"""A bare Redis connection for the broker's two hot paths: publishing and pub/sub reading.

redis-py wraps every command and every reply in Python (command packing, a retry object, an
``asyncio.timeout`` per reply read): on the message path that was 40 % of the event loop's
time (docs/performance.md, "The send path's CPU"). Here a batch of publishes is packed into
one buffer and written at once, and replies and pushes are parsed by hiredis straight from
the socket's bytes, so the cost per message is a few bytes operations and one C parse.

Only what the broker needs: connect (TCP, TLS or a Unix socket, with ``AUTH`` from the URL),
write packed commands, read replies. Failures raise ``ConnectionError`` (or ``OSError``,
``TimeoutError``); the broker reconnects. redis-py still serves everything else (``INFO``).
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import Iterable
from typing import Any

import hiredis
from redis.asyncio.connection import parse_url

#: Where a reply's error shows: hiredis returns (does not raise) this for ``-ERR …``.
ReplyError = hiredis.ReplyError

READ_CHUNK = 1 << 18


def pack(*args: bytes) -> bytes:
    """One command in RESP: ``*n`` then each argument as a bulk string."""
    out = [b"*%d\r\n" % len(args)]
    for arg in args:
        out.append(b"$%d\r\n%s\r\n" % (len(arg), arg))
    return b"".join(out)


def pack_publishes(command: bytes, items: Iterable[tuple[bytes, bytes]]) -> tuple[bytes, int]:
    """``PUBLISH``/``SPUBLISH`` of each (channel, payload), as one buffer; and how many."""
    head = b"*3\r\n$%d\r\n%s\r\n" % (len(command), command)
    parts: list[bytes] = []
    count = 0
    for channel, payload in items:
        parts += (head, b"$%d\r\n%s\r\n$%d\r\n" % (len(channel), channel, len(payload)))
        parts += (payload, b"\r\n")
        count += 1
    return b"".join(parts), count


def _ssl_context(options: dict[str, Any]) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=options.get("ssl_ca_certs"))
    reqs = options.get("ssl_cert_reqs")
    if isinstance(reqs, str):
        reqs = {"none": ssl.CERT_NONE, "optional": ssl.CERT_OPTIONAL}.get(
            reqs.lower(), ssl.CERT_REQUIRED
        )
    if reqs == ssl.CERT_NONE:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    elif reqs == ssl.CERT_OPTIONAL:
        context.verify_mode = ssl.CERT_OPTIONAL
    return context


class RespConnection:
    """One connection to Redis; not shared between tasks that read."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer
        self._parser = hiredis.Reader()

    @classmethod
    async def open(cls, url: str, timeout: float = 2.0) -> RespConnection:
        """Connect and authenticate as the URL says (the db number does not matter to
        pub/sub, which is global to the server)."""
        options: dict[str, Any] = dict(parse_url(url))
        connection_class = options.get("connection_class")
        kind = getattr(connection_class, "__name__", "")
        if "path" in options:
            opening = asyncio.open_unix_connection(options["path"], limit=READ_CHUNK)
        else:
            tls = _ssl_context(options) if kind == "SSLConnection" else None
            opening = asyncio.open_connection(
                options.get("host", "localhost"),
                int(options.get("port", 6379)),
                ssl=tls,
                limit=READ_CHUNK,
            )
        reader, writer = await asyncio.wait_for(opening, timeout)
        conn = cls(reader, writer)
        password = options.get("password")
        if password is not None:
            username = options.get("username")
            auth = (b"AUTH", username.encode(), password.encode()) if username else None
            conn.write(pack(*auth) if auth else pack(b"AUTH", password.encode()))
            reply = await asyncio.wait_for(conn.reply(), timeout)
            if isinstance(reply, ReplyError):
                conn.close()
                raise ConnectionError(f"redis AUTH refused: {reply}")
        return conn

    def write(self, data: bytes) -> None:
        self._writer.write(data)

    async def drain(self) -> None:
        await self._writer.drain()

    async def replies(self) -> list[Any]:
        """Whatever replies (or pushes) are complete after the next read from the socket: at
        least one; ``ConnectionError`` when Redis closed the connection."""
        parser, out = self._parser, []
        while True:
            reply = parser.gets()
            while reply is not False:
                out.append(reply)
                reply = parser.gets()
            if out:
                return out
            data = await self._reader.read(READ_CHUNK)
            if not data:
                raise ConnectionError("redis closed the connection")
            parser.feed(data)

    async def reply(self) -> Any:
        """The next single reply."""
        reply = self._parser.gets()
        while reply is False:
            data = await self._reader.read(READ_CHUNK)
            if not data:
                raise ConnectionError("redis closed the connection")
            self._parser.feed(data)
            reply = self._parser.gets()
        return reply

    async def count_replies(self, count: int) -> int:
        """Read ``count`` replies; how many of them were errors."""
        parser, errors = self._parser, 0
        while count:
            reply = parser.gets()
            if reply is False:
                data = await self._reader.read(READ_CHUNK)
                if not data:
                    raise ConnectionError("redis closed the connection")
                parser.feed(data)
                continue
            count -= 1
            if isinstance(reply, ReplyError):
                errors += 1
        return errors

    def close(self) -> None:
        self._writer.close()

    async def aclose(self) -> None:
        self._writer.close()
        with contextlib.suppress(OSError, TimeoutError, ConnectionError):
            await asyncio.wait_for(self._writer.wait_closed(), 1.0)
