"""Message rows: the hot path's insert and idempotency lookup as plain SQL on the driver, and
the pages a client reads."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection, select

from feige.domain import Row
from feige.store.sql import all_rows, json_in, json_out, raw
from feige.store.tables import messages


def insert_message(
    conn: Connection,
    *,
    session_id: int,
    seq: int,
    sender_role: str,
    sender_id: int | None,
    kind: str,
    content: Row,
    client_id: str | None,
    created_at: float,
) -> int:
    cursor = raw(
        conn,
        "INSERT INTO messages (session_id, seq, sender_role, sender_id, kind, content,"
        " client_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        (session_id, seq, sender_role, sender_id, kind, json_in(content), client_id, created_at),
    )
    return int(cursor.fetchall()[0][0])  # run to completion, as in next_seq


_MESSAGE_COLUMNS = tuple(c.name for c in messages.columns)


_SELECT_BY_CLIENT_ID = (
    f"SELECT {', '.join(_MESSAGE_COLUMNS)} FROM messages"
    " WHERE sender_role = ? AND sender_id = ? AND client_id = ?"
)


def message_by_client_id(
    conn: Connection, sender_role: str, sender_id: int, client_id: str
) -> Row | None:
    """The message a sender already sent with this client id (for idempotent resends)."""
    row = raw(conn, _SELECT_BY_CLIENT_ID, (sender_role, sender_id, client_id)).fetchone()
    if row is None:
        return None
    message = dict(zip(_MESSAGE_COLUMNS, row, strict=True))
    message["content"] = json_out(message["content"])
    return message


def messages_page(
    conn: Connection,
    session_id: int,
    after_seq: int | None,
    before_seq: int | None,
    limit: int,
) -> list[Row]:
    stmt = select(messages).where(messages.c.session_id == session_id)
    if after_seq is not None:
        stmt = stmt.where(messages.c.seq > after_seq).order_by(messages.c.seq).limit(limit)
        return all_rows(conn, stmt)
    if before_seq is not None:
        stmt = stmt.where(messages.c.seq < before_seq)
    rows = all_rows(conn, stmt.order_by(messages.c.seq.desc()).limit(limit))
    rows.reverse()
    return rows


def messages_after(conn: Connection, wanted: Iterable[tuple[int, int]], limit: int) -> list[Row]:
    """Messages after a given seq for each session, for resume; ordered per session, at most
    ``limit`` in all (not per session: a long resume map must not multiply the reply)."""
    out: list[Row] = []
    for session_id, after in wanted:
        if len(out) >= limit:
            break
        out.extend(messages_page(conn, session_id, after, None, limit - len(out)))
    return out
