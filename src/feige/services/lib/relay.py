"""What a node reads to repair its fan-out (realtime/sequencer.py): messages a broker lost,
and sessions' last seqs. The node's own plumbing, for no principal: what it reads goes only
to sockets that already listen on the session's channels."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection

from feige.services.lib.views import message_view
from feige.store import messages as message_store
from feige.store import sessions as session_store


def messages_between(
    conn: Connection, session_id: int, after_seq: int, upto_seq: int
) -> list[dict[str, Any]]:
    """The session's messages with ``after_seq < seq <= upto_seq``, in order."""
    limit = max(0, upto_seq - after_seq)
    rows = message_store.messages_page(conn, session_id, after_seq, None, limit)
    return [message_view(row) for row in rows if row["seq"] <= upto_seq]


def last_seqs(conn: Connection, session_ids: Sequence[int]) -> dict[int, int]:
    return session_store.last_seqs(conn, session_ids)
