"""Enforcement records (docs/enforcement.md): reviews of shop-side reports, the audit log,
points and deposit ledgers, measures, the inbox, the webhook outbox, consumer restrictions
and appeals."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, and_, select, update

from feige.domain import Row
from feige.store.sql import all_rows, one
from feige.store.tables import reports, sessions

# --- reports and blacklistings under review ------------------------------------------------------


def report_by_id(conn: Connection, report_id: int) -> Row | None:
    return one(conn, select(reports).where(reports.c.id == report_id))


def list_reports(
    conn: Connection,
    status: str | None,
    shop_id: int | None,
    kind: str | None,
    before_id: int | None,
    limit: int,
) -> list[Row]:
    stmt = select(reports).order_by(reports.c.id.desc()).limit(limit)
    if status:
        stmt = stmt.where(reports.c.status == status)
    if shop_id is not None:
        stmt = stmt.where(reports.c.shop_id == shop_id)
    if kind:
        stmt = stmt.where(reports.c.kind == kind)
    if before_id is not None:
        stmt = stmt.where(reports.c.id < before_id)
    return all_rows(conn, stmt)


def decide_report(conn: Connection, report_id: int, **values: Any) -> bool:
    """Set a pending report's decision; False when it was no longer pending."""
    result = conn.execute(
        update(reports)
        .where(and_(reports.c.id == report_id, reports.c.status == "pending"))
        .values(**values)
    )
    return bool(result.rowcount == 1)


def session_span(conn: Connection, session_id: int) -> tuple[float, float] | None:
    """When the session was open: its first and last moment (now-ish while open)."""
    row = conn.execute(
        select(sessions.c.opened_at, sessions.c.closed_at, sessions.c.last_activity_at).where(
            sessions.c.id == session_id
        )
    ).first()
    if row is None:
        return None
    return float(row.opened_at), float(row.closed_at or row.last_activity_at)
