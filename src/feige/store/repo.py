"""SQL the services need, as plain functions of a ``Connection``.

Write functions run inside the group-commit writer's transaction; read functions in a reader
thread. Rows come back as dicts so nothing above the store touches SQLAlchemy.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import orjson
from sqlalchemy import Connection, and_, delete, func, insert, or_, select, update

from feige.domain import AgentStatus, SenderRole, SessionState
from feige.store.tables import (
    blacklist,
    consumers,
    image_scans,
    images,
    members,
    messages,
    quick_replies,
    reports,
    session_events,
    sessions,
    shops,
    staff,
    violations,
)

Row = dict[str, Any]


def _one(conn: Connection, stmt: Any) -> Row | None:
    row = conn.execute(stmt).mappings().first()
    return dict(row) if row is not None else None


def _all(conn: Connection, stmt: Any) -> list[Row]:
    return [dict(r) for r in conn.execute(stmt).mappings().all()]


# --- the message path's statements, as plain SQL on the DB-API cursor -----------------------
# Measured (bench/chat_throughput.py, docs/performance.md): building, caching and executing
# SQLAlchemy Core statements cost ~85 % of the writer's time per message. These few run for
# every message, so they go straight to the driver with one SQL text per statement;
# "?" placeholders become "%s" for psycopg.

_PG_SQL: dict[str, str] = {}
_SESSION_COLUMNS = tuple(c.name for c in sessions.columns)
_SELECT_SESSION = f"SELECT {', '.join(_SESSION_COLUMNS)} FROM sessions WHERE id = ?"


def _raw(conn: Connection, sql: str, params: tuple[Any, ...]) -> Any:
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    if conn.dialect.name != "sqlite":
        sql = _PG_SQL.get(sql) or _PG_SQL.setdefault(sql, sql.replace("?", "%s"))
    cursor.execute(sql, params)
    return cursor


def _json_in(value: Any) -> str:
    return orjson.dumps(value).decode()


def _json_out(value: Any) -> Any:
    return orjson.loads(value) if isinstance(value, str | bytes) else value


# --- accounts ------------------------------------------------------------------------------


def staff_by_username(conn: Connection, username: str) -> Row | None:
    return _one(conn, select(staff).where(staff.c.username == username))


def has_staff(conn: Connection) -> bool:
    """Whether the platform has been set up (the demo seeds only an empty store)."""
    return conn.execute(select(staff.c.id).limit(1)).first() is not None


def staff_by_id(conn: Connection, staff_id: int) -> Row | None:
    return _one(conn, select(staff).where(staff.c.id == staff_id))


def list_staff(conn: Connection) -> list[Row]:
    return _all(conn, select(staff).order_by(staff.c.id))


def count_active(conn: Connection, table: Any, role: str, shop_id: int | None = None) -> int:
    """Active accounts of one role (a shop's owners, the platform's admins)."""
    stmt = select(func.count()).where(and_(table.c.role == role, table.c.active.is_(True)))
    if shop_id is not None:
        stmt = stmt.where(table.c.shop_id == shop_id)
    return int(conn.execute(stmt).scalar_one())


def bump_token_version(conn: Connection, table: Any, account_id: int) -> int:
    """Revoke every token issued so far; the new version goes into the next one."""
    stmt = (
        update(table)
        .where(table.c.id == account_id)
        .values(token_version=table.c.token_version + 1)
        .returning(table.c.token_version)
    )
    return int(conn.execute(stmt).scalar_one())


def member_by_username(conn: Connection, username: str) -> Row | None:
    return _one(conn, select(members).where(members.c.username == username))


def member_by_id(conn: Connection, member_id: int) -> Row | None:
    return _one(conn, select(members).where(members.c.id == member_id))


def consumer_by_id(conn: Connection, consumer_id: int) -> Row | None:
    return _one(conn, select(consumers).where(consumers.c.id == consumer_id))


def consumer_by_external(conn: Connection, external_id: str) -> Row | None:
    return _one(conn, select(consumers).where(consumers.c.external_id == external_id))


def insert_row(conn: Connection, table: Any, **values: Any) -> int:
    result = conn.execute(insert(table).values(**values).returning(table.c.id))
    return int(result.scalar_one())


def update_row(conn: Connection, table: Any, row_id: int, **values: Any) -> None:
    if not values:  # nothing to change (e.g. an empty PATCH): an UPDATE without SET is an error
        return
    conn.execute(update(table).where(table.c.id == row_id).values(**values))


def shop_by_id(conn: Connection, shop_id: int) -> Row | None:
    return _one(conn, select(shops).where(shops.c.id == shop_id))


def list_shops(conn: Connection) -> list[Row]:
    return _all(conn, select(shops).order_by(shops.c.id))


def shop_members(conn: Connection, shop_id: int) -> list[Row]:
    return _all(conn, select(members).where(members.c.shop_id == shop_id).order_by(members.c.id))


def lock_shop(conn: Connection, shop_id: int) -> Row | None:
    """Take the shop's row lock so reception decisions on several nodes never interleave."""
    return _one(
        conn,
        update(shops)
        .where(shops.c.id == shop_id)
        .values(routing_version=shops.c.routing_version + 1)
        .returning(*shops.c),
    )


def agent_loads(conn: Connection, shop_id: int) -> list[Row]:
    """Active members that can receive sessions, with their open-session counts."""
    open_count = (
        select(func.count())
        .where(and_(sessions.c.agent_id == members.c.id, sessions.c.state == SessionState.ASSIGNED))
        .scalar_subquery()
    )
    stmt = select(
        members.c.id,
        members.c.status,
        members.c.capacity,
        members.c.last_assigned_at,
        members.c.display_name,
        open_count.label("open_sessions"),
    ).where(and_(members.c.shop_id == shop_id, members.c.active.is_(True)))
    return _all(conn, stmt)


def assigned_sessions_of(conn: Connection, agent_id: int) -> list[Row]:
    """The sessions an agent is serving now, oldest first."""
    stmt = (
        select(sessions)
        .where(and_(sessions.c.agent_id == agent_id, sessions.c.state == SessionState.ASSIGNED))
        .order_by(sessions.c.id)
    )
    return _all(conn, stmt)


def open_session_count(conn: Connection, agent_id: int) -> int:
    stmt = select(func.count()).where(
        and_(sessions.c.agent_id == agent_id, sessions.c.state == SessionState.ASSIGNED)
    )
    return int(conn.execute(stmt).scalar_one())


# --- sessions ------------------------------------------------------------------------------


_SELECT_SESSION_BLACKLIST = (
    f"SELECT {', '.join('s.' + c for c in _SESSION_COLUMNS)}, b.id FROM sessions s"
    " LEFT JOIN blacklist b ON b.shop_id = s.shop_id AND b.consumer_id = s.consumer_id"
    " WHERE s.id = ?"
)


def session_by_id(conn: Connection, session_id: int, with_blacklist: bool = False) -> Row | None:
    """A session; ``with_blacklist`` adds ``blacklisted`` (is its consumer on the shop's
    blacklist) in the same statement, for the message path."""
    sql = _SELECT_SESSION_BLACKLIST if with_blacklist else _SELECT_SESSION
    row = _raw(conn, sql, (session_id,)).fetchone()
    if row is None:
        return None
    session = dict(zip(_SESSION_COLUMNS, row, strict=False))
    if with_blacklist:
        session["blacklisted"] = row[-1] is not None
    session["entry_card"] = _json_out(session["entry_card"])
    session["summary_dirty"] = bool(session["summary_dirty"])
    return session


def open_session_for(conn: Connection, shop_id: int, consumer_id: int) -> Row | None:
    stmt = select(sessions).where(
        and_(
            sessions.c.shop_id == shop_id,
            sessions.c.consumer_id == consumer_id,
            sessions.c.state != SessionState.CLOSED,
        )
    )
    return _one(conn, stmt)


def last_agent_for(conn: Connection, shop_id: int, consumer_id: int) -> int | None:
    stmt = (
        select(sessions.c.agent_id)
        .where(
            and_(
                sessions.c.shop_id == shop_id,
                sessions.c.consumer_id == consumer_id,
                sessions.c.agent_id.is_not(None),
            )
        )
        .order_by(sessions.c.id.desc())
        .limit(1)
    )
    value = conn.execute(stmt).scalar()
    return int(value) if value is not None else None


def queued_sessions(conn: Connection, shop_id: int) -> list[Row]:
    stmt = (
        select(sessions)
        .where(and_(sessions.c.shop_id == shop_id, sessions.c.state == SessionState.QUEUED))
        .order_by(sessions.c.wait_started_at, sessions.c.id)
    )
    return _all(conn, stmt)


def next_seq(conn: Connection, session_id: int, now: float, activity: bool) -> int:
    if activity:
        sql = (
            "UPDATE sessions SET last_seq = last_seq + 1, last_activity_at = ? WHERE id = ?"
            " RETURNING last_seq"
        )
        params: tuple[Any, ...] = (now, session_id)
    else:
        sql = "UPDATE sessions SET last_seq = last_seq + 1 WHERE id = ? RETURNING last_seq"
        params = (session_id,)
    # fetchall: a RETURNING statement left unfinished would make the COMMIT fail (SQLite).
    return int(_raw(conn, sql, params).fetchall()[0][0])


def insert_event(
    conn: Connection, session_id: int, shop_id: int, type_: str, ts: float, data: Row
) -> None:
    """A non-message event, placed after the session's messages so far (``after_seq``)."""
    _raw(
        conn,
        "INSERT INTO session_events (session_id, shop_id, type, ts, data, after_seq)"
        " VALUES (?, ?, ?, ?, ?, (SELECT last_seq FROM sessions WHERE id = ?))",
        (session_id, shop_id, type_, ts, _json_in(data), session_id),
    )


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
    cursor = _raw(
        conn,
        "INSERT INTO messages (session_id, seq, sender_role, sender_id, kind, content,"
        " client_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        (session_id, seq, sender_role, sender_id, kind, _json_in(content), client_id, created_at),
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
    row = _raw(conn, _SELECT_BY_CLIENT_ID, (sender_role, sender_id, client_id)).fetchone()
    if row is None:
        return None
    message = dict(zip(_MESSAGE_COLUMNS, row, strict=True))
    message["content"] = _json_out(message["content"])
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
        return _all(conn, stmt)
    if before_seq is not None:
        stmt = stmt.where(messages.c.seq < before_seq)
    rows = _all(conn, stmt.order_by(messages.c.seq.desc()).limit(limit))
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


# The senders whose message events name the agent (docs/interfaces.md: agent and robot-assisted).
_MESSAGE_EVENT_ROLES = frozenset({SenderRole.AGENT.value, SenderRole.ROBOT_ASSIST.value})


def session_events_for(conn: Connection, session_ids: Iterable[int]) -> list[Row]:
    """The sessions' events in recorded order, message events included.

    Message events are not stored twice: they come from ``messages`` (role, kind, agent,
    time) and go between the stored events by ``after_seq``, so each stored event follows
    exactly the messages that preceded it. ``id`` numbers the returned rows in that order.
    """
    ids = list(session_ids)
    if not ids:
        return []
    events = _all(
        conn,
        select(session_events)
        .where(session_events.c.session_id.in_(ids))
        .order_by(session_events.c.session_id, session_events.c.id),
    )
    said = conn.execute(
        select(
            messages.c.session_id,
            sessions.c.shop_id,
            messages.c.seq,
            messages.c.sender_role,
            messages.c.sender_id,
            messages.c.kind,
            messages.c.created_at,
        )
        .join(sessions, sessions.c.id == messages.c.session_id)
        .where(messages.c.session_id.in_(ids))
        .order_by(messages.c.session_id, messages.c.seq)
    ).all()
    out: list[Row] = []
    i = 0
    for session_id, shop_id, seq, role, sender_id, kind, created_at in said:
        # Stored events of earlier sessions, and of this one before this message.
        while i < len(events) and (events[i]["session_id"], events[i]["after_seq"]) < (
            session_id,
            seq,
        ):
            out.append(events[i])
            i += 1
        data: Row = {"role": role, "kind": kind}
        if role in _MESSAGE_EVENT_ROLES and sender_id is not None:
            data["agent"] = str(sender_id)
        out.append(
            {
                "session_id": session_id,
                "shop_id": shop_id,
                "type": "message",
                "ts": created_at,
                "data": data,
                "after_seq": seq - 1,
            }
        )
    out.extend(events[i:])
    for position, row in enumerate(out):
        row["id"] = position
    return out


def list_sessions(
    conn: Connection,
    *,
    shop_id: int | None = None,
    consumer_id: int | None = None,
    agent_id: int | None = None,
    include_waiting: bool = False,
    states: Sequence[str] | None = None,
    order_no: str | None = None,
    consumer_query: str | None = None,
    before_id: int | None = None,
    limit: int = 50,
) -> list[Row]:
    stmt = select(sessions, consumers.c.nickname.label("consumer_nickname")).join(
        consumers, consumers.c.id == sessions.c.consumer_id
    )
    if shop_id is not None:
        stmt = stmt.where(sessions.c.shop_id == shop_id)
    if consumer_id is not None:
        stmt = stmt.where(sessions.c.consumer_id == consumer_id)
    if agent_id is not None:
        mine = sessions.c.agent_id == agent_id
        if include_waiting:
            waiting = sessions.c.state.in_([SessionState.QUEUED, SessionState.OFFLINE])
            stmt = stmt.where(or_(mine, waiting))
        else:
            stmt = stmt.where(mine)
    if states:
        stmt = stmt.where(sessions.c.state.in_(list(states)))
    if order_no:
        stmt = stmt.where(sessions.c.order_no == order_no)
    if consumer_query:
        pattern = f"%{consumer_query}%"
        stmt = stmt.where(
            or_(consumers.c.nickname.like(pattern), consumers.c.external_id == consumer_query)
        )
    if before_id is not None:
        stmt = stmt.where(sessions.c.id < before_id)
    return _all(conn, stmt.order_by(sessions.c.id.desc()).limit(limit))


def idle_sessions(conn: Connection, cutoff: float, limit: int = 500) -> list[Row]:
    """Open sessions silent since ``cutoff``; offline messages wait for an agent instead."""
    stmt = (
        select(sessions.c.id)
        .where(
            and_(
                sessions.c.state.in_([SessionState.ASSIGNED, SessionState.QUEUED]),
                sessions.c.last_activity_at < cutoff,
            )
        )
        .limit(limit)
    )
    return _all(conn, stmt)


def add_invalid_reason(conn: Connection, session: Row, reason: str) -> bool:
    """Record a reason the session is invalid for metrics; False if it was already there."""
    current = set(filter(None, (session.get("invalid_reasons") or "").split(",")))
    if reason in current:
        return False
    current.add(reason)
    update_row(conn, sessions, session["id"], invalid_reasons=",".join(sorted(current)))
    session["invalid_reasons"] = ",".join(sorted(current))
    return True


def is_blacklisted(conn: Connection, shop_id: int, consumer_id: int) -> bool:
    cursor = _raw(
        conn,
        "SELECT 1 FROM blacklist WHERE shop_id = ? AND consumer_id = ?",
        (shop_id, consumer_id),
    )
    return cursor.fetchone() is not None


def insert_blacklist(conn: Connection, **values: Any) -> int:
    return insert_row(conn, blacklist, **values)


def list_blacklist(conn: Connection, shop_id: int) -> list[Row]:
    stmt = (
        select(blacklist, consumers.c.nickname.label("consumer_nickname"))
        .join(consumers, consumers.c.id == blacklist.c.consumer_id)
        .where(blacklist.c.shop_id == shop_id)
        .order_by(blacklist.c.id)
    )
    return _all(conn, stmt)


def insert_report(conn: Connection, **values: Any) -> int:
    return insert_row(conn, reports, **values)


# --- quick replies and images ---------------------------------------------------------------


def quick_replies_for(
    conn: Connection, shop_id: int, member_id: int, query: str | None
) -> list[Row]:
    stmt = select(quick_replies).where(
        and_(
            quick_replies.c.shop_id == shop_id,
            or_(quick_replies.c.member_id.is_(None), quick_replies.c.member_id == member_id),
        )
    )
    if query:
        pattern = f"%{query}%"
        stmt = stmt.where(
            or_(quick_replies.c.title.like(pattern), quick_replies.c.content.like(pattern))
        )
    return _all(conn, stmt.order_by(quick_replies.c.member_id.is_not(None), quick_replies.c.id))


def quick_reply_by_id(conn: Connection, reply_id: int) -> Row | None:
    return _one(conn, select(quick_replies).where(quick_replies.c.id == reply_id))


def delete_quick_reply(conn: Connection, reply_id: int) -> None:
    conn.execute(quick_replies.delete().where(quick_replies.c.id == reply_id))


def image_by_id(conn: Connection, image_id: str) -> Row | None:
    return _one(conn, select(images).where(images.c.id == image_id))


def insert_image(conn: Connection, **values: Any) -> None:
    conn.execute(insert(images).values(**values))


def image_scan(conn: Connection, sha256: str) -> Row | None:
    """The stored scan of these bytes (image_scans), or None."""
    return _one(conn, select(image_scans).where(image_scans.c.sha256 == sha256))


def image_with_scan(conn: Connection, image_id: str) -> Row | None:
    """An image row with its scan's columns (``scan_sha256`` is None when it has none)."""
    stmt = (
        select(
            images,
            image_scans.c.sha256.label("scan_sha256"),
            image_scans.c.readable,
            image_scans.c.codes,
            image_scans.c.error,
            image_scans.c.software,
        )
        .select_from(images.outerjoin(image_scans, image_scans.c.sha256 == images.c.sha256))
        .where(images.c.id == image_id)
    )
    return _one(conn, stmt)


def save_image_scan(conn: Connection, **values: Any) -> None:
    """Keep a scan; the same bytes scanned twice at once (or on another node) keep the first.
    The statement is the same on SQLite and PostgreSQL (both have ON CONFLICT DO NOTHING)."""
    from sqlalchemy.dialects import postgresql, sqlite

    stmt: Any
    if conn.dialect.name == "postgresql":
        stmt = postgresql.insert(image_scans).values(**values).on_conflict_do_nothing()
    else:
        stmt = sqlite.insert(image_scans).values(**values).on_conflict_do_nothing()
    conn.execute(stmt)


def set_image_sha256(conn: Connection, image_id: str, sha256: str) -> None:
    conn.execute(update(images).where(images.c.id == image_id).values(sha256=sha256))


def _image_referenced() -> Any:
    """Whether a message of the image's session sent it, or a violation record keeps it as
    the original of a blocked message (reviewers' evidence). The image id sits in the JSON
    content; ``["image_id"].as_string()`` is JSON_EXTRACT on SQLite and ``->>`` on PostgreSQL."""
    sent = select(messages.c.id).where(
        messages.c.session_id == images.c.session_id,
        messages.c.kind == "image",
        messages.c.content["image_id"].as_string() == images.c.id,
    )
    kept = select(violations.c.id).where(
        violations.c.shop_id == images.c.shop_id,  # ix_violations_shop
        violations.c.session_id == images.c.session_id,
        violations.c.original["image_id"].as_string() == images.c.id,
    )
    return or_(sent.exists(), kept.exists())


def unsent_images(
    conn: Connection, created_before: float, limit: int, created_after: float | None = None
) -> list[Row]:
    """Uploads made before ``created_before`` (and after ``created_after``) that nothing
    refers to, oldest first."""
    stmt = (
        select(images.c.id, images.c.path)
        .where(images.c.created_at < created_before, ~_image_referenced())
        .order_by(images.c.created_at)
        .limit(limit)
    )
    if created_after is not None:
        stmt = stmt.where(images.c.created_at >= created_after)
    return _all(conn, stmt)


def delete_unsent_images(
    conn: Connection, image_ids: Sequence[str], created_before: float
) -> list[Row]:
    """Delete those of ``image_ids`` that are still unsent (checked again: a message may
    have sent one since they were found); their rows, for the caller to delete the files."""
    if not image_ids:
        return []
    gone = _all(
        conn,
        select(images.c.id, images.c.path).where(
            images.c.id.in_(list(image_ids)),
            images.c.created_at < created_before,
            ~_image_referenced(),
        ),
    )
    if gone:
        conn.execute(delete(images).where(images.c.id.in_([r["id"] for r in gone])))
    return gone


def set_member_status(conn: Connection, member_id: int, status: AgentStatus) -> None:
    update_row(conn, members, member_id, status=status.value)


# --- violation records ------------------------------------------------------------------


def violation_by_id(conn: Connection, violation_id: int) -> Row | None:
    return _one(conn, select(violations).where(violations.c.id == violation_id))


def blocked_before(conn: Connection, sender_role: str, sender_id: int, client_id: str) -> bool:
    """Whether this sender's message with this client id was already blocked (no message)."""
    stmt = select(violations.c.id).where(
        violations.c.sender_role == sender_role,
        violations.c.sender_id == sender_id,
        violations.c.client_id == client_id,
        violations.c.message_id.is_(None),
    )
    return conn.execute(stmt).first() is not None


def masked_original(
    conn: Connection, sender_role: str, sender_id: int, client_id: str, message_id: int
) -> Any:
    """What the sender wrote, for a message stored masked (kept for reviewers), or None."""
    stmt = select(violations.c.original).where(
        violations.c.sender_role == sender_role,
        violations.c.sender_id == sender_id,
        violations.c.client_id == client_id,
        violations.c.message_id == message_id,
    )
    row = conn.execute(stmt).first()
    return None if row is None else row[0]


def list_violations(
    conn: Connection, status: str | None, shop_id: int | None, limit: int
) -> list[Row]:
    stmt = select(violations).order_by(violations.c.id.desc()).limit(limit)
    if status:
        stmt = stmt.where(violations.c.status == status)
    if shop_id is not None:
        stmt = stmt.where(violations.c.shop_id == shop_id)
    return _all(conn, stmt)


def ping(conn: Connection) -> None:
    conn.exec_driver_sql("SELECT 1").scalar()
