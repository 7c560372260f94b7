"""Message rows: the hot path's insert and idempotency lookup as plain SQL on the driver, and
the pages a client reads."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Connection, select

from feige.domain import Row
from feige.store.sessions import SESSION_COLUMNS
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


# --- the message path in batches (PostgreSQL) ---------------------------------------------------
#
# On PostgreSQL every statement is a round trip to a backend; a group-commit batch of plain
# sends is run as a few statements for all of them instead of five per message
# (services/actions/send.py, ``_send_many``): one pipelined read that locks the sessions in id
# order and finds client ids already used and consumers restricted, then one pipelined write
# that advances the sessions and inserts the messages.

_LOCK_SESSIONS = (
    f"SELECT {', '.join('s.' + c for c in SESSION_COLUMNS)}, b.id FROM sessions s"
    " LEFT JOIN blacklist b ON b.shop_id = s.shop_id AND b.consumer_id = s.consumer_id"
    " WHERE s.id = ANY(%s::bigint[]) ORDER BY s.id FOR UPDATE OF s"
)
# The statements that take a batch's rows as one JSON document are never prepared
# (``prepare=False``): psycopg prepares a statement run five times, and PostgreSQL then kept a
# generic plan made while the tables were small, one that joined the batch's rows against a
# scan of the whole table: 22 ms a batch at 150,000 messages, and growing with the table
# (docs/performance.md, "A plan kept from an empty table"). Planned for each batch, they look
# rows up by index once the tables have grown. The lookup of client ids is also a LATERAL
# subquery with a LIMIT, which the planner cannot turn into a join over the whole table.
_USED_CLIENT_IDS = (
    "SELECT m.sender_role, m.sender_id, m.client_id"
    " FROM json_to_recordset(%s::json) AS k(role text, sender bigint, client text)"
    " CROSS JOIN LATERAL (SELECT sender_role, sender_id, client_id FROM messages"
    " WHERE sender_role = k.role AND sender_id = k.sender AND client_id = k.client"
    " AND client_id IS NOT NULL LIMIT 1) AS m"
)
# Any restriction that may be in effect at some time between the batch's first and last send:
# those consumers' sends take the one-by-one path, which decides exactly.
_RESTRICTED_CONSUMERS = (
    "SELECT DISTINCT consumer_id FROM consumer_restrictions WHERE consumer_id = ANY(%s::bigint[])"
    " AND lifted_at IS NULL AND starts_at <= %s AND (ends_at IS NULL OR ends_at > %s)"
)
# The rows go as one JSON document each (orjson), not as one array per column: psycopg
# dumps arrays in Python, element by element, which cost more than the statements' wait.
# ``s.id = ANY(…)`` as well: the sessions are found through the primary key.
_ADVANCE_SESSIONS = (
    "UPDATE sessions s SET last_seq = v.last_seq, last_activity_at = v.at"
    " FROM json_to_recordset(%s::json) AS v(id bigint, last_seq integer, at float8)"
    " WHERE s.id = v.id AND s.id = ANY(%s::bigint[])"
)
_INSERT_MESSAGES = (
    "INSERT INTO messages (session_id, seq, sender_role, sender_id, kind, content, client_id,"
    " created_at) SELECT v.session_id, v.seq, v.sender_role, v.sender_id, v.kind, v.content,"
    " v.client_id, v.created_at FROM json_to_recordset(%s::json) AS v(session_id bigint,"
    " seq integer, sender_role text, sender_id bigint, kind text, content json, client_id text,"
    " created_at float8)"
    " RETURNING id, session_id, seq"
)


@dataclass
class SendState:
    """What a batch of sends needs to know before writing, read in one round trip."""

    sessions: dict[int, Row]  # locked for the transaction; ``blacklisted`` added
    used_client_ids: set[tuple[str, int, str]]  # (sender role, sender id, client id)
    restricted_consumers: set[int]


def send_state(
    conn: Connection,
    session_ids: Iterable[int],
    client_keys: Iterable[tuple[str, int, str]],
    consumer_ids: Iterable[int],
    first_now: float,
    last_now: float,
) -> SendState:
    """Lock the sessions (in id order, so that two writers never wait on each other in a
    circle) and read them, the client ids already used, and the consumers that may be muted
    or banned: three statements, one round trip."""
    driver = conn.connection.driver_connection
    keys = list(client_keys)
    consumers = sorted(set(consumer_ids))
    with driver.pipeline():  # type: ignore[union-attr]
        locked = driver.cursor()  # type: ignore[union-attr]
        locked.execute(_LOCK_SESSIONS, (sorted(set(session_ids)),))
        used = driver.cursor()  # type: ignore[union-attr]
        if keys:
            wanted = [{"role": k[0], "sender": k[1], "client": k[2]} for k in keys]
            used.execute(_USED_CLIENT_IDS, (json_in(wanted),), prepare=False)
        restricted = driver.cursor()  # type: ignore[union-attr]
        if consumers:
            restricted.execute(_RESTRICTED_CONSUMERS, (consumers, last_now, first_now))
    sessions: dict[int, Row] = {}
    for row in locked.fetchall():
        session = dict(zip(SESSION_COLUMNS, row, strict=False))
        session["blacklisted"] = row[-1] is not None
        session["entry_card"] = json_out(session["entry_card"])
        session["summary_dirty"] = bool(session["summary_dirty"])
        sessions[session["id"]] = session
    return SendState(
        sessions=sessions,
        used_client_ids={(r[0], r[1], r[2]) for r in used.fetchall()} if keys else set(),
        restricted_consumers={r[0] for r in restricted.fetchall()} if consumers else set(),
    )


def insert_messages(
    conn: Connection, advanced: dict[int, tuple[int, float]], rows: list[Row], commit: bool = False
) -> list[int]:
    """Set each session's ``last_seq`` and ``last_activity_at`` (``advanced``: session id →
    both) and insert the messages (as ``insert_message`` takes them), in one round trip;
    returns the messages' ids in the order of ``rows``. ``commit``: the transaction ends in
    the same round trip (psycopg's own commit is then a no-op: the server says it is idle);
    a COMMIT the server refuses raises here, and the writer re-runs the jobs."""
    driver = conn.connection.driver_connection
    sessions = [{"id": i, "last_seq": seq, "at": at} for i, (seq, at) in advanced.items()]
    with driver.pipeline():  # type: ignore[union-attr]
        driver.cursor().execute(  # type: ignore[union-attr]
            _ADVANCE_SESSIONS, (json_in(sessions), list(advanced)), prepare=False
        )
        inserted = driver.cursor()  # type: ignore[union-attr]
        inserted.execute(_INSERT_MESSAGES, (json_in(rows),), prepare=False)
        if commit:
            driver.cursor().execute("COMMIT")  # type: ignore[union-attr]
    by_seq = {(session_id, seq): id_ for id_, session_id, seq in inserted.fetchall()}
    return [by_seq[(r["session_id"], r["seq"])] for r in rows]
