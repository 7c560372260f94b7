"""Session rows. ``session_by_id`` and ``next_seq`` run for every message: plain SQL on the
driver (see ``sql.raw``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, and_, func, or_, select, update

from feige.domain import Row, SessionState
from feige.store.sql import all_rows, insert_row, json_out, one, raw, update_row
from feige.store.tables import consumers, sessions

SESSION_COLUMNS = tuple(c.name for c in sessions.columns)


_SELECT_SESSION = f"SELECT {', '.join(SESSION_COLUMNS)} FROM sessions WHERE id = ?"


_SELECT_SESSION_BLACKLIST = (
    f"SELECT {', '.join('s.' + c for c in SESSION_COLUMNS)}, b.id FROM sessions s"
    " LEFT JOIN blacklist b ON b.shop_id = s.shop_id AND b.consumer_id = s.consumer_id"
    " WHERE s.id = ?"
)


def insert_session(conn: Connection, **values: Any) -> int:
    return insert_row(conn, sessions, **values)


def update_session(conn: Connection, session: Row, **values: Any) -> None:
    """Change the session's row and count the change in its ``version``, which the caller's
    ``session`` (whose view its events carry) takes: two nodes' events about one session
    can cross, and clients keep the later view (docs/protocol.md, "session")."""
    stmt = (
        update(sessions)
        .where(sessions.c.id == session["id"])
        .values(version=sessions.c.version + 1, **values)
        .returning(sessions.c.version)
    )
    # fetchall: a RETURNING statement left unfinished would make the COMMIT fail (SQLite).
    session["version"] = conn.execute(stmt).fetchall()[0][0]


def set_read_seq(conn: Connection, session_id: int, column: str, seq: int) -> None:
    """A read mark, without a version: like ``last_seq`` it only rises, and clients take the
    larger of two (``read`` events, docs/protocol.md)."""
    update_row(conn, sessions, session_id, **{column: seq})


def session_by_id(conn: Connection, session_id: int, with_blacklist: bool = False) -> Row | None:
    """A session; ``with_blacklist`` adds ``blacklisted`` (is its consumer on the shop's
    blacklist) in the same statement, for the message path."""
    sql = _SELECT_SESSION_BLACKLIST if with_blacklist else _SELECT_SESSION
    row = raw(conn, sql, (session_id,)).fetchone()
    if row is None:
        return None
    session = dict(zip(SESSION_COLUMNS, row, strict=False))
    if with_blacklist:
        session["blacklisted"] = row[-1] is not None
    session["entry_card"] = json_out(session["entry_card"])
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
    return one(conn, stmt)


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
    return all_rows(conn, stmt)


def lock_session(conn: Connection, session_id: int) -> None:
    """Hold the session's row until the transaction ends (PostgreSQL; SQLite's single
    writer serialises anyway): a check made after this cannot be raced by another node's
    transaction doing the same check."""
    conn.execute(select(sessions.c.id).where(sessions.c.id == session_id).with_for_update())


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
    return int(raw(conn, sql, params).fetchall()[0][0])


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
    return all_rows(conn, stmt.order_by(sessions.c.id.desc()).limit(limit))


def idle_sessions(conn: Connection, cutoff: float, limit: int = 500) -> list[Row]:
    """Open sessions silent since ``cutoff``; offline messages wait for an agent instead.
    (``state != 'closed'`` says what the index of open sessions covers, so that SQLite, which
    does not infer it from the list, uses that index too.)"""
    stmt = (
        select(sessions.c.id)
        .where(
            and_(
                sessions.c.state != SessionState.CLOSED.value,
                sessions.c.state.in_(
                    [SessionState.ASSIGNED, SessionState.QUEUED, SessionState.ROBOT]
                ),
                sessions.c.last_activity_at < cutoff,
            )
        )
        .limit(limit)
    )
    return all_rows(conn, stmt)


def add_invalid_reason(conn: Connection, session: Row, reason: str) -> bool:
    """Record a reason the session is invalid for metrics; False if it was already there."""
    current = set(filter(None, (session.get("invalid_reasons") or "").split(",")))
    if reason in current:
        return False
    current.add(reason)
    update_session(conn, session, invalid_reasons=",".join(sorted(current)))
    session["invalid_reasons"] = ",".join(sorted(current))
    return True


def assigned_sessions_of(conn: Connection, agent_id: int) -> list[Row]:
    """The sessions an agent is serving now, oldest first."""
    stmt = (
        select(sessions)
        .where(and_(sessions.c.agent_id == agent_id, sessions.c.state == SessionState.ASSIGNED))
        .order_by(sessions.c.id)
    )
    return all_rows(conn, stmt)


def open_session_count(conn: Connection, agent_id: int) -> int:
    stmt = select(func.count()).where(
        and_(sessions.c.agent_id == agent_id, sessions.c.state == SessionState.ASSIGNED)
    )
    return int(conn.execute(stmt).scalar_one())


def last_seqs(conn: Connection, session_ids: Sequence[int]) -> dict[int, int]:
    """Each session's last message seq (a node checking it missed nothing)."""
    if not session_ids:
        return {}
    stmt = select(sessions.c.id, sessions.c.last_seq).where(sessions.c.id.in_(list(session_ids)))
    return {row.id: row.last_seq for row in conn.execute(stmt)}


def sessions_by_ids(conn: Connection, session_ids: Sequence[int]) -> list[Row]:
    """The sessions with these ids (a node re-reading state that Redis may have lost)."""
    if not session_ids:
        return []
    return all_rows(conn, select(sessions).where(sessions.c.id.in_(list(session_ids))))
