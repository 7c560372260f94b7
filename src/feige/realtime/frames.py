"""The server's frames as the wire carries them (docs/protocol.md). Services return data and
put events in their outbox; the frames around them are built here, by the transport."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

# How a ``revoked`` event begins once framed (a socket recognises it without parsing).
REVOKED_EVENT = b'{"op":"event","type":"revoked"'


def event(body: Mapping[str, Any]) -> bytes:
    """A committed event, serialised once for every socket it goes to."""
    return orjson.dumps({"op": "event", **body})


def ack(sent: Mapping[str, Any]) -> dict[str, Any]:
    """The answer to a send: the socket's ``ack`` frame, and the body of ``POST /api/messages``."""
    return {"op": "ack", **sent}


def suggestions(session_id: int, seq: int, message_id: int, items: list[dict[str, Any]]) -> bytes:
    """The robot's suggestions for a buyer message, for its agent (assist mode)."""
    return event(
        {
            "type": "suggestions",
            "session_id": session_id,
            "seq": seq,
            "message_id": message_id,
            "suggestions": items,
        }
    )


def resync(since: float | None) -> bytes:
    """After a loss between nodes: state other than messages may be stale, fetch it again.
    ``since``: when the loss may have begun (wall clock), None when unknown."""
    return event({"type": "resync", "since": since})
