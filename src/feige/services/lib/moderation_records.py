"""What compliance keeps inside a write job: violation records for reviewers, reports, and
shops' blacklists; each of them may make the session invalid for metrics (``flag``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from feige.domain import FlagReason, ModerationAction, Row
from feige.moderation import Verdict
from feige.services import channels
from feige.services.context import Outbox, Principal
from feige.services.errors import Invalid, NotFound
from feige.services.lib import conversation
from feige.services.lib.conversation import flag
from feige.services.lib.views import violation_view
from feige.store import moderation_records as violation_store

# A buyer message blocked for these marks its session risky: invalid (docs/rules.md §3 (2) note).
RISKY_CATEGORIES = frozenset({"fraud", "spam", "abuse"})
PENDING, CONFIRMED, DISMISSED = "pending", "confirmed", "dismissed"


def record_violation(
    conn: Connection,
    outbox: Outbox,
    *,
    session: Row | None,
    shop_id: int,
    message_id: int | None,
    principal: Principal,
    verdict: Verdict,
    original: dict[str, Any],
    now: float,
    client_id: str | None = None,
) -> int:
    """Store a non-allow verdict for reviewers; a buyer blocked for fraud, spam or abuse
    makes the session risky."""
    evidence = [
        {"category": e.category, "start": e.start, "end": e.end, "detector": e.detector}
        for e in verdict.evidence
    ]
    if verdict.pieces:  # the earlier messages this one completes (a contact sent in pieces)
        original = {
            **original,
            "pieces": list(verdict.pieces),
            "piece_message_ids": piece_message_ids(conn, principal, session, verdict),
        }
    violation_id = violation_store.insert_violation(
        conn,
        kind="message",
        shop_id=shop_id,
        session_id=session["id"] if session else None,
        message_id=message_id,
        sender_role=principal.sender_role.value,
        sender_id=principal.id,
        client_id=client_id,
        categories=list(verdict.categories),
        clauses=list(verdict.clauses),
        evidence=evidence,
        action=verdict.action.value,
        original=original,
        status=PENDING,
        created_at=now,
    )
    if (
        session is not None
        and principal.kind == "consumer"
        and verdict.action is ModerationAction.BLOCK
        and RISKY_CATEGORIES.intersection(verdict.categories)
    ):
        flag(conn, outbox, session, FlagReason.RISKY, now)
    outbox.add((channels.REVIEWERS,), {"type": "violation", "id": violation_id, "shop_id": shop_id})
    return violation_id


def piece_message_ids(
    conn: Connection, principal: Principal, session: Row | None, verdict: Verdict
) -> list[int | None]:
    """The stored messages of a split violation's earlier pieces, oldest first: each piece
    was checked with its client id (``Verdict.piece_refs``), and the sender's message under
    that id is the piece when it is in the same session with the same text. None for a
    piece that was not stored (its write failed after the check) or was checked without an
    id."""
    ids: list[int | None] = []
    for text, ref in zip(verdict.pieces, verdict.piece_refs, strict=False):
        message = (
            conversation.earlier_message(conn, principal, ref) if isinstance(ref, str) else None
        )
        same = (
            message is not None
            and session is not None
            and message["session_id"] == session["id"]
            and message["content"].get("text") == text
        )
        ids.append(int(message["id"]) if same and message is not None else None)
    ids.extend([None] * (len(verdict.pieces) - len(ids)))
    return ids


def blocked_before(conn: Connection, principal: Principal, client_id: str) -> bool:
    """Whether this sender's message with this client id was already blocked."""
    return violation_store.blocked_before(
        conn, principal.sender_role.value, principal.id, client_id
    )


def violations_for(
    conn: Connection, status: str | None, shop_id: int | None, limit: int, with_original: bool
) -> list[Row]:
    rows = violation_store.list_violations(conn, status, shop_id, limit)
    return [violation_view(r, with_original=with_original) for r in rows]


def review(conn: Connection, reviewer_id: int, violation_id: int, decision: str, now: float) -> Row:
    """A pending record confirmed or dismissed (docs/rules.md §4)."""
    row = violation_store.violation_by_id(conn, violation_id)
    if row is None:
        raise NotFound(what="violation")
    if row["status"] != PENDING:
        raise Invalid(detail=f"already {row['status']}")
    violation_store.update_violation(
        conn, violation_id, status=decision, reviewed_by=reviewer_id, reviewed_at=now
    )
    return violation_view({**row, "status": decision, "reviewed_at": now}, with_original=True)


# A report's status: the consumer's counts at once; the shop's waits for a reviewer.
COUNTED, UPHELD = "counted", "upheld"


def report(
    conn: Connection, outbox: Outbox, principal: Principal, session: Row, reason: str, now: float
) -> int:
    """A report for reviewers. The consumer's makes the session invalid at once; the shop's
    only once a reviewer upholds it (docs/rules.md §3 (2) note: it favours the shop)."""
    by_shop = principal.kind == "member"
    report_id = violation_store.insert_report(
        conn,
        session_id=session["id"],
        shop_id=session["shop_id"],
        reporter_kind=principal.kind,
        reporter_id=principal.id,
        reason=reason,
        created_at=now,
        kind="report",
        status=PENDING if by_shop else COUNTED,
    )
    if by_shop:
        _to_reviewers(outbox, "report", report_id, session["shop_id"])
    else:
        flag(conn, outbox, session, FlagReason.REPORTED, now)
    return report_id


def blacklist(
    conn: Connection, outbox: Outbox, member_id: int, session: Row, reason: str, now: float
) -> None:
    """The shop refuses the session's consumer from now on; the session leaves the metrics
    only once a reviewer upholds the blacklisting (docs/rules.md §3 (2) note)."""
    if not violation_store.is_blacklisted(conn, session["shop_id"], session["consumer_id"]):
        violation_store.insert_blacklist(
            conn,
            shop_id=session["shop_id"],
            consumer_id=session["consumer_id"],
            reason=reason,
            created_by=member_id,
            created_at=now,
        )
    if not violation_store.has_report(conn, session["id"], "blacklist"):
        report_id = violation_store.insert_report(
            conn,
            session_id=session["id"],
            shop_id=session["shop_id"],
            reporter_kind="member",
            reporter_id=member_id,
            reason=reason,
            created_at=now,
            kind="blacklist",
            status=PENDING,
        )
        _to_reviewers(outbox, "blacklist", report_id, session["shop_id"])


def _to_reviewers(outbox: Outbox, kind: str, report_id: int, shop_id: int) -> None:
    outbox.add(
        (channels.REVIEWERS,), {"type": "report", "kind": kind, "id": report_id, "shop_id": shop_id}
    )


def blacklist_of(conn: Connection, shop_id: int) -> list[Row]:
    return [
        {
            "consumer_id": r["consumer_id"],
            "consumer_nickname": r["consumer_nickname"],
            "reason": r["reason"],
            "created_at": r["created_at"],
        }
        for r in violation_store.list_blacklist(conn, shop_id)
    ]
