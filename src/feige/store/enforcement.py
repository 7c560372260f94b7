"""Enforcement records (docs/enforcement.md): reviews of shop-side reports, the audit log,
points and deposit ledgers, measures, the inbox, the webhook outbox, consumer restrictions
and appeals."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, and_, func, or_, select, update

from feige.domain import Row
from feige.store.sql import all_rows, insert_row, insert_rows, one, raw, update_row
from feige.store.tables import (
    appeal_images,
    appeals,
    assessments,
    audit_log,
    consumer_restrictions,
    deposit_ledger,
    measures,
    messages,
    notifications,
    points_ledger,
    reports,
    sessions,
    shop_measures,
    violations,
    webhook_outbox,
)

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
    return _decide_pending(conn, reports, report_id, values)


def _decide_pending(conn: Connection, table: Any, row_id: int, values: dict[str, Any]) -> bool:
    """Decide a row only while it is pending: of two reviewers at once, one decides."""
    result = conn.execute(
        update(table)
        .where(and_(table.c.id == row_id, table.c.status == "pending"))
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


# --- recalling a message -------------------------------------------------------------------------


def message_by_id(conn: Connection, message_id: int) -> Row | None:
    return one(conn, select(messages).where(messages.c.id == message_id))


def replace_message(conn: Connection, message_id: int, kind: str, content: Any) -> None:
    conn.execute(
        update(messages).where(messages.c.id == message_id).values(kind=kind, content=content)
    )


# --- points ---------------------------------------------------------------------------------------


def insert_points(conn: Connection, **values: Any) -> int:
    return insert_row(conn, points_ledger, **values)


def points_since(conn: Connection, shop_id: int, since: float) -> list[tuple[float, int]]:
    stmt = select(points_ledger.c.created_at, points_ledger.c.points).where(
        and_(points_ledger.c.shop_id == shop_id, points_ledger.c.created_at > since)
    )
    return [(float(at), int(points)) for at, points in conn.execute(stmt)]


def points_of_source(conn: Connection, source_kind: str, source_id: int) -> list[Row]:
    stmt = select(points_ledger).where(
        and_(points_ledger.c.source_kind == source_kind, points_ledger.c.source_id == source_id)
    )
    return all_rows(conn, stmt.order_by(points_ledger.c.id))


def points_entry_by_id(conn: Connection, entry_id: int) -> Row | None:
    return one(conn, select(points_ledger).where(points_ledger.c.id == entry_id))


def points_ledger_of(conn: Connection, shop_id: int, limit: int) -> list[Row]:
    stmt = select(points_ledger).where(points_ledger.c.shop_id == shop_id)
    return all_rows(conn, stmt.order_by(points_ledger.c.id.desc()).limit(limit))


# --- measures and the deposit ---------------------------------------------------------------------


def insert_measure(conn: Connection, **values: Any) -> int:
    return insert_row(conn, shop_measures, **values)


def insert_measures(conn: Connection, rows: list[Row]) -> list[int]:
    return insert_rows(conn, shop_measures, rows)


def measure_by_id(conn: Connection, measure_id: int) -> Row | None:
    return one(conn, select(shop_measures).where(shop_measures.c.id == measure_id))


def update_measure(conn: Connection, measure_id: int, **values: Any) -> None:
    update_row(conn, shop_measures, measure_id, **values)


def measures_of(conn: Connection, shop_id: int | None, limit: int) -> list[Row]:
    stmt = select(shop_measures).order_by(shop_measures.c.id.desc()).limit(limit)
    if shop_id is not None:
        stmt = stmt.where(shop_measures.c.shop_id == shop_id)
    return all_rows(conn, stmt)


def measures_from(conn: Connection, source_kind: str, source_id: int) -> list[Row]:
    stmt = select(shop_measures).where(
        and_(shop_measures.c.source_kind == source_kind, shop_measures.c.source_id == source_id)
    )
    return all_rows(conn, stmt.order_by(shop_measures.c.id))


TIMED_MEASURES = ("restriction", "robot_forced")


def restrictions_at(conn: Connection, shop_id: int, now: float) -> list[Row]:
    """The shop's measures with a duration (restrictions, the robot forced on) whose time
    has not run out and that were not reversed."""
    stmt = select(shop_measures).where(
        and_(
            shop_measures.c.shop_id == shop_id,
            shop_measures.c.measure.in_(TIMED_MEASURES),
            shop_measures.c.ends_at > now,
            shop_measures.c.reversed_at.is_(None),
        )
    )
    return all_rows(conn, stmt)


def measures_ended(conn: Connection, now: float, limit: int) -> list[Row]:
    """Measures whose time ran out and whose end was not told yet (oldest end first)."""
    stmt = (
        select(shop_measures)
        .where(
            and_(
                shop_measures.c.ends_at <= now,
                shop_measures.c.ended_at.is_(None),
                shop_measures.c.reversed_at.is_(None),
            )
        )
        .order_by(shop_measures.c.ends_at)
        .limit(limit)
    )
    return all_rows(conn, stmt)


def claim_measure_end(conn: Connection, measure_id: int, now: float) -> bool:
    """Mark a measure's end told; False when another node (or a reversal) did first."""
    result = conn.execute(
        update(shop_measures)
        .where(and_(shop_measures.c.id == measure_id, shop_measures.c.ended_at.is_(None)))
        .values(ended_at=now)
    )
    return bool(result.rowcount == 1)


def weekly_measures_of(conn: Connection, week: str, shop_ids: list[int]) -> list[Row]:
    """The weekly measure records (services/assessment/policy.py) of these shops' week."""
    stmt = select(measures).where(
        and_(
            measures.c.week == week,
            measures.c.reason == "assessment",
            measures.c.shop_id.in_(shop_ids),
        )
    )
    return all_rows(conn, stmt)


def weekly_measure_shops(conn: Connection, week: str) -> list[int]:
    """The shops with a weekly measure record of the week not reversed (a rerun checks them)."""
    stmt = select(measures.c.shop_id).where(
        and_(
            measures.c.week == week,
            measures.c.reason == "assessment",
            measures.c.status != "reversed",
        )
    )
    return [int(shop_id) for (shop_id,) in conn.execute(stmt)]


def set_weekly_status(conn: Connection, weekly_id: int, status: str) -> None:
    conn.execute(update(measures).where(measures.c.id == weekly_id).values(status=status))


def assessment_measures_from(conn: Connection, weekly_ids: list[int]) -> list[Row]:
    """The measures imposed for these weekly records and not reversed."""
    stmt = select(shop_measures).where(
        and_(
            shop_measures.c.source_kind == "assessment",
            shop_measures.c.source_id.in_(weekly_ids),
            shop_measures.c.reversed_at.is_(None),
        )
    )
    return all_rows(conn, stmt.order_by(shop_measures.c.id))


def insert_deposit(conn: Connection, **values: Any) -> int:
    return insert_row(conn, deposit_ledger, **values)


def insert_deposits(conn: Connection, rows: list[Row]) -> list[int]:
    return insert_rows(conn, deposit_ledger, rows)


def deposit_of_measure(conn: Connection, measure_id: int) -> list[Row]:
    stmt = select(deposit_ledger).where(deposit_ledger.c.measure_id == measure_id)
    return all_rows(conn, stmt.order_by(deposit_ledger.c.id))


def deposit_ledger_of(conn: Connection, shop_id: int, limit: int) -> list[Row]:
    stmt = select(deposit_ledger).where(deposit_ledger.c.shop_id == shop_id)
    return all_rows(conn, stmt.order_by(deposit_ledger.c.id.desc()).limit(limit))


def deposit_balance(conn: Connection, shop_id: int) -> int:
    stmt = select(func.coalesce(func.sum(deposit_ledger.c.amount), 0)).where(
        deposit_ledger.c.shop_id == shop_id
    )
    return int(conn.execute(stmt).scalar_one())


def assessment_measure_ids(conn: Connection, shop_ids: list[int], week: str) -> dict[int, int]:
    """The ids of the weekly measure records (services/assessment/policy.py) of shops' week."""
    stmt = select(measures.c.shop_id, measures.c.id).where(
        and_(
            measures.c.shop_id.in_(shop_ids),
            measures.c.week == week,
            measures.c.reason == "assessment",
        )
    )
    return {int(shop_id): int(measure_id) for shop_id, measure_id in conn.execute(stmt)}


def assessment_results_of(
    conn: Connection, shop_ids: list[int], weeks: list[str]
) -> dict[int, list[Row]]:
    """Shops' results of ``weeks``, by shop."""
    stmt = select(assessments.c.shop_id, assessments.c.week, assessments.c.result).where(
        and_(assessments.c.shop_id.in_(shop_ids), assessments.c.week.in_(weeks))
    )
    found: dict[int, list[Row]] = {}
    for row in all_rows(conn, stmt):
        found.setdefault(row.pop("shop_id"), []).append(row)
    return found


# --- the inbox and the webhook outbox ------------------------------------------------------------


def insert_notifications(conn: Connection, rows: list[Row]) -> list[int]:
    return insert_rows(conn, notifications, rows)


def notifications_of(
    conn: Connection, shop_id: int, unread: bool, before_id: int | None, limit: int
) -> list[Row]:
    stmt = select(notifications).where(notifications.c.shop_id == shop_id)
    if unread:
        stmt = stmt.where(notifications.c.read_at.is_(None))
    if before_id is not None:
        stmt = stmt.where(notifications.c.id < before_id)
    return all_rows(conn, stmt.order_by(notifications.c.id.desc()).limit(limit))


def unread_count(conn: Connection, shop_id: int) -> int:
    stmt = select(func.count()).where(
        and_(notifications.c.shop_id == shop_id, notifications.c.read_at.is_(None))
    )
    return int(conn.execute(stmt).scalar_one())


def mark_read(conn: Connection, shop_id: int, ids: list[int] | None, now: float) -> int:
    """Mark the shop's notifications read (``ids`` None: all of them); how many changed."""
    stmt = update(notifications).where(
        and_(notifications.c.shop_id == shop_id, notifications.c.read_at.is_(None))
    )
    if ids is not None:
        stmt = stmt.where(notifications.c.id.in_(ids))
    return int(conn.execute(stmt.values(read_at=now)).rowcount)


def insert_webhooks(conn: Connection, rows: list[Row]) -> list[int]:
    return insert_rows(conn, webhook_outbox, rows)


def webhooks_due(conn: Connection, now: float, limit: int) -> list[Row]:
    stmt = (
        select(webhook_outbox)
        .where(
            and_(webhook_outbox.c.delivered_at.is_(None), webhook_outbox.c.next_attempt_at <= now)
        )
        .order_by(webhook_outbox.c.id)
        .limit(limit)
    )
    return all_rows(conn, stmt)


def claim_webhook(conn: Connection, webhook_id: int, due_at: float, until: float) -> bool:
    """Take a due delivery for ``until`` (another node leaves it alone meanwhile)."""
    result = conn.execute(
        update(webhook_outbox)
        .where(
            and_(
                webhook_outbox.c.id == webhook_id,
                webhook_outbox.c.next_attempt_at == due_at,
                webhook_outbox.c.delivered_at.is_(None),
            )
        )
        .values(next_attempt_at=until)
    )
    return bool(result.rowcount == 1)


def update_webhook(conn: Connection, webhook_id: int, **values: Any) -> None:
    update_row(conn, webhook_outbox, webhook_id, **values)


def webhooks(conn: Connection, delivered: bool | None, limit: int) -> list[Row]:
    stmt = select(webhook_outbox).order_by(webhook_outbox.c.id.desc()).limit(limit)
    if delivered is not None:
        column = webhook_outbox.c.delivered_at
        stmt = stmt.where(column.is_not(None) if delivered else column.is_(None))
    return all_rows(conn, stmt)


# --- consumers' restrictions -------------------------------------------------------------------


def insert_consumer_restriction(conn: Connection, **values: Any) -> int:
    return insert_row(conn, consumer_restrictions, **values)


def consumer_restrictions_of(conn: Connection, consumer_id: int) -> list[Row]:
    stmt = select(consumer_restrictions).where(consumer_restrictions.c.consumer_id == consumer_id)
    return all_rows(conn, stmt.order_by(consumer_restrictions.c.id))


def consumer_restriction_by_id(conn: Connection, restriction_id: int) -> Row | None:
    stmt = select(consumer_restrictions).where(consumer_restrictions.c.id == restriction_id)
    return one(conn, stmt)


def update_consumer_restriction(conn: Connection, restriction_id: int, **values: Any) -> None:
    update_row(conn, consumer_restrictions, restriction_id, **values)


# Runs for every consumer send: plain SQL on the driver (store/sql.py, "the message path").
_CONSUMER_RESTRICTED = (
    "SELECT kind, ends_at FROM consumer_restrictions WHERE consumer_id = ?"
    " AND lifted_at IS NULL AND starts_at <= ? AND (ends_at IS NULL OR ends_at > ?)"
    " ORDER BY kind LIMIT 1"
)


def consumer_restriction_in_effect(conn: Connection, consumer_id: int, now: float) -> Row | None:
    """The consumer's mute or ban in effect now (a ban first, then the longest mute)."""
    stmt = select(consumer_restrictions).where(
        and_(
            consumer_restrictions.c.consumer_id == consumer_id,
            consumer_restrictions.c.lifted_at.is_(None),
            consumer_restrictions.c.starts_at <= now,
            or_(consumer_restrictions.c.ends_at.is_(None), consumer_restrictions.c.ends_at > now),
        )
    )
    rows = all_rows(conn, stmt)
    if not rows:
        return None
    return max(rows, key=lambda r: (r["kind"] == "ban", r["ends_at"] or 0.0, r["id"]))


def consumer_restricted(conn: Connection, consumer_id: int, now: float) -> tuple[str, Any] | None:
    """(kind, ends_at) of the consumer's mute or ban in effect (a ban first), or None."""
    row = raw(conn, _CONSUMER_RESTRICTED, (consumer_id, now, now)).fetchone()
    return None if row is None else (str(row[0]), row[1])


# --- appeals -------------------------------------------------------------------------------------


def insert_appeal(conn: Connection, **values: Any) -> int:
    return insert_row(conn, appeals, **values)


def appeal_by_id(conn: Connection, appeal_id: int) -> Row | None:
    return one(conn, select(appeals).where(appeals.c.id == appeal_id))


def appeal_for(conn: Connection, target_kind: str, target_id: int) -> Row | None:
    stmt = select(appeals).where(
        and_(appeals.c.target_kind == target_kind, appeals.c.target_id == target_id)
    )
    return one(conn, stmt)


def list_appeals(
    conn: Connection, status: str | None, shop_id: int | None, before_id: int | None, limit: int
) -> list[Row]:
    stmt = select(appeals).order_by(appeals.c.id.desc()).limit(limit)
    if status:
        stmt = stmt.where(appeals.c.status == status)
    if shop_id is not None:
        stmt = stmt.where(appeals.c.shop_id == shop_id)
    if before_id is not None:
        stmt = stmt.where(appeals.c.id < before_id)
    return all_rows(conn, stmt)


def decide_appeal(conn: Connection, appeal_id: int, **values: Any) -> bool:
    return _decide_pending(conn, appeals, appeal_id, values)


def insert_appeal_images(conn: Connection, appeal_id: int, image_ids: list[str]) -> None:
    for image_id in image_ids:
        insert_row_plain(conn, appeal_images, appeal_id=appeal_id, image_id=image_id)


def insert_row_plain(conn: Connection, table: Any, **values: Any) -> None:
    conn.execute(table.insert().values(**values))


# --- the reviewer queue ---------------------------------------------------------------------------


def no_human_reply_records_at(conn: Connection, created_at: float) -> list[Row]:
    """The rule 2.2.1 records a weekly run made (they carry the run's time)."""
    stmt = select(violations).where(
        and_(violations.c.kind == "no_human_reply", violations.c.created_at == created_at)
    )
    return all_rows(conn, stmt.order_by(violations.c.id))


def violation_queue(
    conn: Connection, filters: dict[str, Any], before_id: int | None, limit: int
) -> list[Row]:
    """Violation records newest first, by status, shop, kind, sender role and category."""
    stmt = select(violations).order_by(violations.c.id.desc())
    for name in ("status", "shop_id", "kind", "sender_role"):
        if filters.get(name) is not None:
            stmt = stmt.where(violations.c[name] == filters[name])
    if before_id is not None:
        stmt = stmt.where(violations.c.id < before_id)
    category = filters.get("category")
    if category is None:
        return all_rows(conn, stmt.limit(limit))
    # The categories are a JSON list: filtered here, page by page, portable on both databases.
    found: list[Row] = []
    for row in all_rows(conn, stmt.limit(limit * 20)):
        if category in row["categories"]:
            found.append(row)
            if len(found) == limit:
                break
    return found


def originals_of_messages(conn: Connection, message_ids: list[int]) -> dict[int, Row]:
    """For these messages, the violation record that keeps each one's original (a recalled
    message's text or image, for reviewers): ``{message_id: {"violation_id", "original"}}``."""
    if not message_ids:
        return {}
    stmt = (
        select(violations.c.message_id, violations.c.id, violations.c.original)
        .where(violations.c.message_id.in_(message_ids))
        .order_by(violations.c.id)
    )
    return {
        int(mid): {"violation_id": vid, "original": original}
        for mid, vid, original in conn.execute(stmt)
    }
