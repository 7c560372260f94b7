"""What compliance keeps: violation records for reviewers, reports, and shops' blacklists."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from feige.domain import Row
from feige.store.sql import all_rows, insert_row, one, raw, update_row
from feige.store.tables import blacklist, consumers, reports, violations


def insert_violation(conn: Connection, **values: Any) -> int:
    return insert_row(conn, violations, **values)


def update_violation(conn: Connection, violation_id: int, **values: Any) -> None:
    update_row(conn, violations, violation_id, **values)


def violation_by_id(conn: Connection, violation_id: int) -> Row | None:
    return one(conn, select(violations).where(violations.c.id == violation_id))


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
    return all_rows(conn, stmt)


def violations_of_sender(conn: Connection, sender_role: str, sender_id: int) -> list[Row]:
    stmt = select(violations).where(
        violations.c.sender_role == sender_role, violations.c.sender_id == sender_id
    )
    return all_rows(conn, stmt.order_by(violations.c.id.desc()).limit(500))


def insert_report(conn: Connection, **values: Any) -> int:
    return insert_row(conn, reports, **values)


def has_report(conn: Connection, session_id: int, kind: str) -> bool:
    stmt = select(reports.c.id).where(reports.c.session_id == session_id, reports.c.kind == kind)
    return conn.execute(stmt).first() is not None


def is_blacklisted(conn: Connection, shop_id: int, consumer_id: int) -> bool:
    cursor = raw(
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
    return all_rows(conn, stmt)
