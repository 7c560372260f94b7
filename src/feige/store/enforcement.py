"""Enforcement records (docs/enforcement.md): reviews of shop-side reports, the audit log,
points and deposit ledgers, measures, the inbox, the webhook outbox, consumer restrictions
and appeals."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, and_, select, update

from feige.domain import Row
from feige.store.sql import all_rows, insert_row, one
from feige.store.tables import audit_log, reports, sessions

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


# --- the audit log (append-only: the database refuses UPDATE and DELETE) ------------------------

AUDIT_FILTERS = ("actor_kind", "actor_id", "action", "shop_id", "record_kind", "record_id")


def insert_audit(conn: Connection, **values: Any) -> int:
    return insert_row(conn, audit_log, **values)


def list_audit(
    conn: Connection,
    filters: dict[str, Any],
    since: float | None,
    until: float | None,
    before_id: int | None,
    limit: int,
) -> list[Row]:
    """Newest first; ``filters`` names columns of ``AUDIT_FILTERS`` to match exactly."""
    stmt = select(audit_log).order_by(audit_log.c.id.desc()).limit(limit)
    for name, value in filters.items():
        if name in AUDIT_FILTERS and value is not None:
            stmt = stmt.where(audit_log.c[name] == value)
    if since is not None:
        stmt = stmt.where(audit_log.c.at >= since)
    if until is not None:
        stmt = stmt.where(audit_log.c.at < until)
    if before_id is not None:
        stmt = stmt.where(audit_log.c.id < before_id)
    return all_rows(conn, stmt)
