"""SQL of the robot's modes, its switch records and the live run of unanswered sessions
(docs/rules.md 2.2.1)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, and_, func, insert, select, union, update

from feige.domain import MessageKind, Row, SenderRole, SessionState
from feige.store.sql import all_rows, insert_row, json_out, one
from feige.store.tables import (
    messages,
    reply_streaks,
    robot_modes,
    robot_switches,
    session_events,
    sessions,
    violations,
)

# The senders whose messages open or answer a round (docs/rules.md §3 (1)).
_ROUND_ROLES = (SenderRole.BUYER.value, SenderRole.AGENT.value, SenderRole.ROBOT_ASSIST.value)
# The open sessions people serve or will serve (not the full-auto robot's).
_HUMAN_STATES = (SessionState.ASSIGNED.value, SessionState.QUEUED.value, SessionState.OFFLINE.value)


def mode_row(conn: Connection, shop_id: int) -> Row | None:
    return one(conn, select(robot_modes).where(robot_modes.c.shop_id == shop_id))


def all_modes(conn: Connection) -> list[Row]:
    return all_rows(conn, select(robot_modes))


def put_mode(conn: Connection, shop_id: int, exists: bool, **values: Any) -> None:
    if exists:
        conn.execute(update(robot_modes).where(robot_modes.c.shop_id == shop_id).values(**values))
    else:
        conn.execute(insert(robot_modes).values(shop_id=shop_id, **values))


def add_switch(conn: Connection, **values: Any) -> int:
    return insert_row(conn, robot_switches, **values)


def switches(conn: Connection, shop_id: int, limit: int) -> list[Row]:
    """The shop's switch records, newest first."""
    stmt = (
        select(robot_switches)
        .where(robot_switches.c.shop_id == shop_id)
        .order_by(robot_switches.c.id.desc())
        .limit(limit)
    )
    return all_rows(conn, stmt)


def sessions_since(conn: Connection, since: float) -> list[tuple[int, int, int]]:
    """Sessions open now or closed since ``since`` (those whose rounds may still count), each
    with what moves whenever its record grows: its last message's seq and its last stored
    event's id. Read through the index of open sessions and the one of closing times."""
    last_event = (
        select(func.max(session_events.c.id))
        .where(session_events.c.session_id == sessions.c.id)
        .scalar_subquery()
    )
    columns = (sessions.c.id, sessions.c.last_seq, func.coalesce(last_event, 0))
    open_now = select(*columns).where(sessions.c.state != "closed")
    closed = select(*columns).where(
        and_(sessions.c.closed_at.is_not(None), sessions.c.closed_at >= since)
    )
    stmt = union(open_now, closed)
    rows = conn.execute(stmt).all()
    return sorted((int(r[0]), int(r[1]), int(r[2])) for r in rows)


def last_round_role(conn: Connection, session_id: int) -> str | None:
    """The role of the session's last buyer, agent or robot-assist message (or full-auto
    robot message, which can only come before the human entry: a question it answered opens
    no round then): ``buyer`` means its last round is unanswered (one indexed read, at close)."""
    roles = (*_ROUND_ROLES, SenderRole.ROBOT.value)
    stmt = (
        select(messages.c.sender_role)
        .where(and_(messages.c.session_id == session_id, messages.c.sender_role.in_(roles)))
        .order_by(messages.c.seq.desc())
        .limit(1)
    )
    return conn.execute(stmt).scalar()


def last_round_message(conn: Connection, session_id: int) -> tuple[str, int] | None:
    """The role and sequence number of the session's last buyer, agent or robot-assist
    message (one indexed read): the round the assist robot may still answer."""
    stmt = (
        select(messages.c.sender_role, messages.c.seq)
        .where(and_(messages.c.session_id == session_id, messages.c.sender_role.in_(_ROUND_ROLES)))
        .order_by(messages.c.seq.desc())
        .limit(1)
    )
    row = conn.execute(stmt).first()
    return (str(row[0]), int(row[1])) if row is not None else None


def unanswered_buyer_texts(conn: Connection, since: float, before: float, limit: int) -> list[Row]:
    """Open sessions served by people whose last message is a buyer's text, last active
    between ``since`` and ``before``: a round the assist robot may still answer itself, left
    by a node that died before its timer fired (docs/robot-modes.md, "Scale-out"). Read
    through the index of open sessions by state; the caller checks the shop's mode."""
    stmt = (
        select(
            sessions.c.id.label("session_id"),
            sessions.c.shop_id,
            messages.c.id.label("message_id"),
            messages.c.seq,
            messages.c.content,
            messages.c.created_at,
        )
        .select_from(
            sessions.join(
                messages,
                and_(messages.c.session_id == sessions.c.id, messages.c.seq == sessions.c.last_seq),
            )
        )
        .where(
            sessions.c.state != SessionState.CLOSED.value,  # the index of open sessions
            sessions.c.state.in_(_HUMAN_STATES),
            sessions.c.last_activity_at >= since,
            sessions.c.last_activity_at < before,
            messages.c.sender_role == SenderRole.BUYER.value,
            messages.c.kind == MessageKind.TEXT.value,
        )
        .order_by(sessions.c.last_activity_at)
        .limit(limit)
    )
    rows = all_rows(conn, stmt)
    for row in rows:
        row["content"] = json_out(row["content"])
    return rows


def streak(conn: Connection, shop_id: int) -> Row | None:
    return one(conn, select(reply_streaks).where(reply_streaks.c.shop_id == shop_id))


def put_streak(conn: Connection, shop_id: int, exists: bool, **values: Any) -> None:
    if exists:
        conn.execute(
            update(reply_streaks).where(reply_streaks.c.shop_id == shop_id).values(**values)
        )
    else:
        conn.execute(insert(reply_streaks).values(shop_id=shop_id, **values))


def extend_no_human_reply_record(
    conn: Connection, violation_id: int, session_ids: list[str], original: Row
) -> None:
    """The run goes on: its record names every session of it (the weekly run finds the same)."""
    conn.execute(
        update(violations)
        .where(violations.c.id == violation_id)
        .values(evidence={"sessions": session_ids}, original=original)
    )
