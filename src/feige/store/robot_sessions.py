"""SQL of the full-auto robot (docs/robot-modes.md, "Full-auto"): a shop's interception
words, and the sessions the robot received (its run of unanswered questions, the hand-over)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, and_, func, insert, select, update

from feige.domain import Row, SenderRole, SessionState
from feige.store.sql import all_rows, json_out, one
from feige.store.tables import messages, robot_sessions, robot_settings, sessions

# The senders whose last message tells whether the buyer is still waiting for an answer
# before the hand-over: the buyer, and the robot (or anyone answering).
_TALK_ROLES = (
    SenderRole.BUYER.value,
    SenderRole.ROBOT.value,
    SenderRole.AGENT.value,
    SenderRole.ROBOT_ASSIST.value,
)


def interception_words(conn: Connection, shop_id: int) -> list[str] | None:
    """The shop's own words, or None when it never set any (the defaults apply)."""
    row = one(conn, select(robot_settings).where(robot_settings.c.shop_id == shop_id))
    return list(row["interception_words"]) if row is not None else None


def put_interception_words(conn: Connection, shop_id: int, words: list[str], now: float) -> None:
    exists = conn.execute(
        select(robot_settings.c.shop_id).where(robot_settings.c.shop_id == shop_id)
    ).first()
    if exists is not None:
        conn.execute(
            update(robot_settings)
            .where(robot_settings.c.shop_id == shop_id)
            .values(interception_words=words, updated_at=now)
        )
    else:
        conn.execute(
            insert(robot_settings).values(shop_id=shop_id, interception_words=words, updated_at=now)
        )


def add_session(conn: Connection, session_id: int, shop_id: int, opened_at: float) -> None:
    conn.execute(
        insert(robot_sessions).values(session_id=session_id, shop_id=shop_id, opened_at=opened_at)
    )


def session_row(conn: Connection, session_id: int) -> Row | None:
    return one(conn, select(robot_sessions).where(robot_sessions.c.session_id == session_id))


def update_session(conn: Connection, session_id: int, **values: Any) -> None:
    conn.execute(
        update(robot_sessions).where(robot_sessions.c.session_id == session_id).values(**values)
    )


def served_sessions(conn: Connection, shop_id: int) -> list[int]:
    """The shop's open sessions the robot still serves (not handed over)."""
    stmt = select(sessions.c.id).where(
        and_(sessions.c.shop_id == shop_id, sessions.c.state == SessionState.ROBOT.value)
    )
    return [int(r[0]) for r in conn.execute(stmt.order_by(sessions.c.id))]


def robot_sessions_between(
    conn: Connection, shop_id: int | None, start: float, end: float
) -> list[Row]:
    """The robot's sessions opened in [start, end), with the session's rating and flags."""
    stmt = (
        select(
            robot_sessions,
            sessions.c.rating,
            sessions.c.invalid_reasons,
            sessions.c.state,
        )
        .join(sessions, sessions.c.id == robot_sessions.c.session_id)
        .where(and_(robot_sessions.c.opened_at >= start, robot_sessions.c.opened_at < end))
    )
    if shop_id is not None:
        stmt = stmt.where(robot_sessions.c.shop_id == shop_id)
    return all_rows(conn, stmt.order_by(robot_sessions.c.session_id))


def last_talk_role(conn: Connection, session_id: int) -> str | None:
    """The role of the session's last buyer, robot or staff message (one indexed read):
    ``buyer`` means the buyer's last question is still unanswered at the hand-over."""
    stmt = (
        select(messages.c.sender_role)
        .where(and_(messages.c.session_id == session_id, messages.c.sender_role.in_(_TALK_ROLES)))
        .order_by(messages.c.seq.desc())
        .limit(1)
    )
    value = conn.execute(stmt).scalar()
    return str(value) if value is not None else None


def pending_turns(conn: Connection, since: float, before: float, limit: int) -> list[Row]:
    """Sessions the robot serves whose last message is a buyer's that no turn has taken,
    last active between ``since`` and ``before``: a turn whose node died before taking it.
    Read through the index of open sessions by state."""
    stmt = (
        select(
            sessions.c.id.label("session_id"),
            sessions.c.shop_id,
            messages.c.seq,
            messages.c.kind,
            messages.c.content,
        )
        .select_from(
            sessions.join(
                messages,
                and_(messages.c.session_id == sessions.c.id, messages.c.seq == sessions.c.last_seq),
            ).outerjoin(robot_sessions, robot_sessions.c.session_id == sessions.c.id)
        )
        .where(
            sessions.c.state != SessionState.CLOSED.value,  # the index of open sessions
            sessions.c.state == SessionState.ROBOT.value,
            sessions.c.last_activity_at >= since,
            sessions.c.last_activity_at < before,
            messages.c.sender_role == SenderRole.BUYER.value,
            func.coalesce(robot_sessions.c.last_turn_seq, 0) < messages.c.seq,
        )
        .order_by(sessions.c.last_activity_at)
        .limit(limit)
    )
    rows = all_rows(conn, stmt)
    for row in rows:
        row["content"] = json_out(row["content"])
    return rows
