"""Enforcement inside a write job (docs/enforcement.md, docs/rules.md §4 and §3 (2) note):
reviewers' decisions on shop-side reports and blacklistings."""

from __future__ import annotations

from sqlalchemy import Connection

from feige.domain import FlagReason, Row
from feige.services import channels
from feige.services.context import Outbox, Principal
from feige.services.errors import Invalid, NotFound
from feige.services.lib import audit
from feige.services.lib.conversation import flag
from feige.store import enforcement as store
from feige.store import sessions as session_store

PENDING, UPHELD, DISMISSED = "pending", "upheld", "dismissed"
REPORT_FIELDS = (
    "id",
    "kind",
    "session_id",
    "shop_id",
    "reporter_kind",
    "reporter_id",
    "reason",
    "status",
    "created_at",
    "reviewed_by",
    "reviewed_at",
    "decision_reason",
)
FLAG_OF_KIND = {"report": FlagReason.REPORTED, "blacklist": FlagReason.BLACKLISTED}


def report_view(row: Row) -> Row:
    return {k: row[k] for k in REPORT_FIELDS}


def reports_for(
    conn: Connection,
    status: str | None,
    shop_id: int | None,
    kind: str | None,
    before_id: int | None,
    limit: int,
) -> list[Row]:
    rows = store.list_reports(conn, status, shop_id, kind, before_id, limit)
    return [report_view(r) for r in rows]


def decide_report(
    conn: Connection,
    outbox: Outbox,
    reviewer: Principal,
    report_id: int,
    decision: str,
    reason: str,
    now: float,
) -> tuple[Row, tuple[float, float] | None]:
    """A reviewer upholds or dismisses a shop-side report or blacklisting. Upheld, the
    session leaves the metrics from now on (its summary is recomputed). Returns the report
    and, when the metrics changed, the session's span (whose weeks are assessed again)."""
    row = store.report_by_id(conn, report_id)
    if row is None:
        raise NotFound(what="report")
    if row["status"] != PENDING or not store.decide_report(
        conn,
        report_id,
        status=decision,
        reviewed_by=reviewer.id,
        reviewed_at=now,
        decision_reason=reason,
    ):
        raise Invalid(detail=f"already {row['status']}")
    before = report_view(row)
    row = {**row, "status": decision, "reviewed_by": reviewer.id, "reviewed_at": now}
    row["decision_reason"] = reason
    audit.record(
        conn,
        reviewer,
        f"{row['kind']}.decide",
        "report",
        report_id,
        before=before,
        after=report_view(row),
        shop_id=row["shop_id"],
        now=now,
    )
    outbox.add((channels.REVIEWERS,), {"type": "report_decided", "report": report_view(row)})
    if decision != UPHELD:
        return report_view(row), None
    session = session_store.session_by_id(conn, row["session_id"])
    if session is None:  # sessions are never deleted; a report always has one
        raise NotFound(what="session")
    flag(conn, outbox, session, FLAG_OF_KIND[row["kind"]], now)
    return report_view(row), store.session_span(conn, row["session_id"])
