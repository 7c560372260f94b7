"""Appeals inside a write job (docs/enforcement.md, "Appeals"; docs/rules.md §4): a shop
appeals a confirmed violation or a measure once, within the policy's days, with text and
images; a reviewer other than the one who decided grants or rejects it. Granted, the points,
the deposit withheld and the measures that followed are reversed."""

from __future__ import annotations

from sqlalchemy import Connection

from feige.domain import Row
from feige.enforcement import EnforcementPolicy
from feige.enforcement.policy import DAY
from feige.services import channels
from feige.services.context import Outbox, Principal
from feige.services.errors import Forbidden, Invalid, NotFound
from feige.services.lib import audit
from feige.services.lib.enforcement import notify, reverse_measure, reverse_points
from feige.store import enforcement as store
from feige.store import images as image_store
from feige.store import moderation_records as violation_store

PENDING, UPHELD, REJECTED = "pending", "upheld", "rejected"
TARGETS = ("violation", "measure")
APPEAL_FIELDS = (
    "id",
    "shop_id",
    "target_kind",
    "target_id",
    "text",
    "images",
    "status",
    "filed_by",
    "filed_at",
    "decided_by",
    "decided_at",
    "decision_reason",
)


def appeal_view(row: Row) -> Row:
    return {k: row[k] for k in APPEAL_FIELDS}


def _target(conn: Connection, kind: str, target_id: int, shop_id: int | None) -> Row:
    """The appealed record; another shop's (when ``shop_id`` is given) is not found."""
    row = (
        violation_store.violation_by_id(conn, target_id)
        if kind == "violation"
        else store.measure_by_id(conn, target_id)
    )
    if row is None or (shop_id is not None and row["shop_id"] != shop_id):
        raise NotFound(what=kind)
    return row


def file_appeal(
    conn: Connection,
    outbox: Outbox,
    principal: Principal,
    kind: str,
    target_id: int,
    text: str,
    image_ids: list[str],
    policy: EnforcementPolicy,
    now: float,
) -> Row:
    """Once per record, within ``appeal_days`` of the decision (a violation's review, a
    measure's imposition); the images are the shop's own uploads."""
    assert principal.shop_id is not None
    target = _target(conn, kind, target_id, principal.shop_id)
    if kind == "violation" and target["status"] != "confirmed":
        raise Invalid("appeal_closed", detail="only a confirmed violation can be appealed")
    decided_at = target["reviewed_at"] if kind == "violation" else target["created_at"]
    if decided_at is None or now > decided_at + policy.appeal_days * DAY:
        raise Invalid("appeal_closed", detail=f"more than {policy.appeal_days} days ago")
    if kind == "measure" and target["reversed_at"] is not None:
        raise Invalid("appeal_closed", detail="already reversed")
    if store.appeal_for(conn, kind, target_id) is not None:
        raise Invalid("appeal_closed", detail="already appealed once")
    for image_id in image_ids:
        image = image_store.image_by_id(conn, image_id)
        if image is None or image["shop_id"] != principal.shop_id:
            raise NotFound(what="image")
    row: Row = {
        "shop_id": principal.shop_id,
        "target_kind": kind,
        "target_id": target_id,
        "text": text,
        "images": image_ids,
        "status": PENDING,
        "filed_by": principal.id,
        "filed_at": now,
        "decided_by": None,
        "decided_at": None,
        "decision_reason": None,
    }
    row["id"] = store.insert_appeal(conn, **row)
    store.insert_appeal_images(conn, row["id"], image_ids)
    view = appeal_view(row)
    audit.record(conn, principal, "appeal.file", "appeal", row["id"], after=view, now=now)
    outbox.add((channels.REVIEWERS,), {"type": "appeal", "appeal": view})
    return view


def appeals_for(
    conn: Connection, status: str | None, shop_id: int | None, before_id: int | None, limit: int
) -> list[Row]:
    return [appeal_view(r) for r in store.list_appeals(conn, status, shop_id, before_id, limit)]


def _decider_of(conn: Connection, kind: str, target: Row) -> int | None:
    """The reviewer whose decision the appeal is against: a violation's, or for a measure
    the reviewer of the violation whose points imposed it (None: no person decided)."""
    if kind == "violation":
        return target["reviewed_by"]  # type: ignore[no-any-return]
    if target["source_kind"] != "points" or target["source_id"] is None:
        return None
    entry = store.points_entry_by_id(conn, target["source_id"])
    if entry is None or entry["source_kind"] != "violation":
        return None
    violation = violation_store.violation_by_id(conn, entry["source_id"])
    return None if violation is None else violation["reviewed_by"]


def decide_appeal(
    conn: Connection,
    outbox: Outbox,
    reviewer: Principal,
    appeal_id: int,
    decision: str,
    reason: str,
    policy: EnforcementPolicy,
    now: float,
) -> tuple[Row, Row | None]:
    """Grant (reverse) or reject an appeal. Returns the appeal and, when granted, what to
    assess again: ``{"shop_id", "span"}`` (a violation's session) or ``{"shop_id", "weeks"}``
    (an assessment measure's week)."""
    row = store.appeal_by_id(conn, appeal_id)
    if row is None:
        raise NotFound(what="appeal")
    if row["status"] != PENDING:
        raise Invalid(detail=f"already {row['status']}")
    target = _target(conn, row["target_kind"], row["target_id"], None)
    if _decider_of(conn, row["target_kind"], target) == reviewer.id:
        raise Forbidden("own_decision")
    before = appeal_view(row)
    if not store.decide_appeal(
        conn,
        appeal_id,
        status=decision,
        decided_by=reviewer.id,
        decided_at=now,
        decision_reason=reason,
    ):
        raise Invalid(detail="already decided")
    row.update(status=decision, decided_by=reviewer.id, decided_at=now, decision_reason=reason)
    reversed_measures: list[Row] = []
    rerun: Row | None = None
    if decision == UPHELD:
        reversed_measures, rerun = _reverse(conn, outbox, row, target, policy, now)
    view = {**appeal_view(row), "reversed_measures": reversed_measures}
    audit.record(
        conn,
        reviewer,
        "appeal.decide",
        "appeal",
        appeal_id,
        before=before,
        after=appeal_view(row),
        shop_id=row["shop_id"],
        now=now,
    )
    notify(conn, outbox, row["shop_id"], "appeal_decided", {"appeal": appeal_view(row)}, now)
    return view, rerun


def _reverse(
    conn: Connection,
    outbox: Outbox,
    appeal: Row,
    target: Row,
    policy: EnforcementPolicy,
    now: float,
) -> tuple[list[Row], Row | None]:
    """Undo what the appealed record caused: its points (a negative entry naming the
    appeal), the measures imposed from them, each measure's deposit withheld and points.
    The violation is dismissed from then on (the audit log keeps its history)."""
    del policy  # the reversal follows the ledgers, not the table of today
    measures: list[Row] = []
    rerun: Row | None = None
    shop_id = appeal["shop_id"]
    if appeal["target_kind"] == "violation":
        violation_store.update_violation(conn, target["id"], status="dismissed")
        for entry in store.points_of_source(conn, "violation", target["id"]):
            measures += _reverse_points(conn, outbox, appeal, entry, now)
        if target["session_id"] is not None:
            span = store.session_span(conn, target["session_id"])
            rerun = {"shop_id": shop_id, "span": span} if span else None
    else:
        measures.append(_reverse_measure(conn, outbox, appeal, target, now))
        week = target["details"].get("week")
        if target["source_kind"] == "assessment" and week:
            rerun = {"shop_id": shop_id, "weeks": [week]}
    return measures, rerun


def _reverse_points(
    conn: Connection, outbox: Outbox, appeal: Row, entry: Row, now: float
) -> list[Row]:
    why = f"appeal {appeal['id']}"
    return reverse_points(conn, outbox, entry, ("appeal", appeal["id"]), why, now)


def _reverse_measure(
    conn: Connection, outbox: Outbox, appeal: Row, measure: Row, now: float
) -> Row:
    """The measure no longer in effect from now; its deposit withheld paid back, its points
    taken back."""
    why = f"appeal {appeal['id']}"
    return reverse_measure(conn, outbox, measure, ("appeal", appeal["id"]), why, now)
