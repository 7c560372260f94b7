"""Enforcement inside a write job (docs/enforcement.md; docs/rules.md §4, §3 (2) note).

The policy (points, thresholds, measures) is the pure ``feige.enforcement`` core; here are
its records: reviewers' decisions on shop-side reports, a confirmed violation's recall and
points, the measures the thresholds and failed weeks impose (and their effect on sends),
notifications (inbox, socket, webhook outbox), consumers' mutes and bans, reversals."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from functools import lru_cache
from importlib.resources import files
from pathlib import Path

from sqlalchemy import Connection

from feige import i18n
from feige.config import Settings
from feige.domain import FlagReason, MessageKind, Row
from feige.enforcement import (
    TIMED,
    EnforcementPolicy,
    MeasureSpec,
    assessment_measure,
    consumer_sanction,
    crossed,
    feature_holds,
    in_effect,
    measure_ends_at,
    parse_policy,
    points_for,
    refused_features,
    robot_forced_until,
    rolling_total,
    severity_of,
)
from feige.enforcement.policy import DAY
from feige.services import channels
from feige.services.context import Outbox, Principal
from feige.services.errors import Forbidden, Invalid, NotFound
from feige.services.lib import audit
from feige.services.lib.conversation import flag
from feige.services.lib.moderation_records import CONFIRMED
from feige.services.lib.moderation_records import review as review_record
from feige.services.lib.views import message_view, session_view, violation_view
from feige.store import enforcement as store
from feige.store import messages as message_store
from feige.store import moderation_records as violation_store
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
RECALLED = "recalled"
CARD_KINDS = frozenset({MessageKind.PRODUCT_CARD.value, MessageKind.ORDER_CARD.value})


# --- the policy ----------------------------------------------------------------------------------


def policy_of(settings: Settings) -> EnforcementPolicy:
    """The defaults of ``feige/enforcement/enforcement.toml`` with the operator's file over them."""
    return _policy(settings.enforcement_policy_path)


@lru_cache(maxsize=4)
def _policy(path: str) -> EnforcementPolicy:
    default = files("feige.enforcement").joinpath("enforcement.toml").read_text("utf-8")
    override = Path(path).read_text("utf-8") if path else None
    return parse_policy(default, override)


def default_policy_text() -> str:
    return files("feige.enforcement").joinpath("enforcement.toml").read_text("utf-8")


# --- shop-side reports and blacklistings (docs/rules.md §3 (2) note) ------------------------------


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
    view = report_view(row)
    audit.record(
        conn,
        reviewer,
        f"{row['kind']}.decide",
        "report",
        report_id,
        before=before,
        after=view,
        shop_id=row["shop_id"],
        now=now,
    )
    outbox.add((channels.REVIEWERS,), {"type": "report_decided", "report": view})
    notify(conn, outbox, row["shop_id"], "report_decided", {"report": view}, now)
    if decision != UPHELD:
        return view, None
    session = session_store.session_by_id(conn, row["session_id"])
    if session is None:  # sessions are never deleted; a report always has one
        raise NotFound(what="session")
    flag(conn, outbox, session, FLAG_OF_KIND[row["kind"]], now)
    return view, store.session_span(conn, row["session_id"])


# --- notifications: the inbox, the supervisors' sockets, the marketplace webhook ---------------


def notification_view(row: Row) -> Row:
    return {k: row[k] for k in ("id", "shop_id", "kind", "body", "created_at", "read_at")}


def notify(
    conn: Connection, outbox: Outbox, shop_id: int, kind: str, body: Row, now: float
) -> None:
    """Tell the shop (inbox + its supervisors' sockets) and the marketplace (the webhook
    outbox, delivered after the commit by the worker, at least once)."""
    notify_many(conn, outbox, [(shop_id, kind, body)], now)


def notify_many(
    conn: Connection, outbox: Outbox, notes: list[tuple[int, str, Row]], now: float
) -> None:
    """``notify`` for many notes in one statement per table (a weekly run tells thousands of
    shops, a few per write job: each job must stay short)."""
    rows: list[Row] = [
        {"shop_id": shop_id, "kind": kind, "body": body, "created_at": now, "read_at": None}
        for shop_id, kind, body in notes
    ]
    for row, row_id in zip(rows, store.insert_notifications(conn, rows), strict=True):
        row["id"] = row_id
        outbox.add(
            channels.enforcement_audience(row["shop_id"]),
            {"type": "notification", "notification": notification_view(row)},
        )
    enqueue_webhooks(
        conn, [(kind, {"shop_id": shop_id, **body}) for shop_id, kind, body in notes], now
    )


def tell_no_human_reply(conn: Connection, outbox: Outbox, record: Row, now: float) -> None:
    """A rule 2.2.1 record (10 in a row), raised live or by the weekly run, told to its shop
    and the marketplace once, when it is raised."""
    notify_many(conn, outbox, [_no_human_reply_note(record)], now)


def _no_human_reply_note(record: Row) -> tuple[int, str, Row]:
    return (
        record["shop_id"],
        "no_human_reply",
        {"violation": violation_view(record, with_original=False)},
    )


def enqueue_webhook(conn: Connection, event_type: str, data: Row, now: float) -> str:
    """One event for the marketplace; its id is the idempotency key the receiver dedupes on."""
    return enqueue_webhooks(conn, [(event_type, data)], now)[0]


def enqueue_webhooks(conn: Connection, events: list[tuple[str, Row]], now: float) -> list[str]:
    rows: list[Row] = []
    for event_type, data in events:
        event_id = uuid.uuid4().hex
        payload = {"id": event_id, "type": event_type, "created_at": now, "data": data}
        rows.append(
            {
                "event_id": event_id,
                "event_type": event_type,
                "payload": payload,
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
            }
        )
    store.insert_webhooks(conn, rows)
    return [row["event_id"] for row in rows]


# --- confirmed violations: recall, points, thresholds --------------------------------------------


def review_violation(
    conn: Connection,
    outbox: Outbox,
    reviewer: Principal,
    violation_id: int,
    decision: str,
    policy: EnforcementPolicy,
    now: float,
    reason: str = "",
) -> Row:
    """A reviewer's decision on a violation record (docs/rules.md §4). Confirmed: its
    message is recalled on both sides, and the shop gets its points (measures follow from
    the thresholds crossed) or the consumer its mute or ban. A reason given (bulk
    decisions take one) is kept in the audit log's entry."""
    before = violation_store.violation_by_id(conn, violation_id)
    view = review_record(conn, reviewer.id, violation_id, decision, now)
    assert before is not None  # review_record answered not_found otherwise
    audit.record(
        conn,
        reviewer,
        "violation.review",
        "violation",
        violation_id,
        before={"status": before["status"]},
        after={"status": decision, "reason": reason} if reason else {"status": decision},
        shop_id=before["shop_id"],
        now=now,
    )
    record = {**before, "status": decision, "reviewed_by": reviewer.id, "reviewed_at": now}
    outcome: Row = {}
    if decision == CONFIRMED:
        if record["message_id"] is not None:
            recall(conn, outbox, record["message_id"], now)
        if record["sender_role"] == "buyer":
            outcome["sanction"] = sanction_consumer(conn, outbox, record, reviewer, policy, now)
        else:
            outcome.update(violation_points(conn, outbox, record, policy, now))
    public = {k: v for k, v in view.items() if k != "original"}
    if record["sender_role"] != "buyer":
        notify(conn, outbox, record["shop_id"], "violation_decided", {"violation": public}, now)
    return {**view, **outcome}


def recall(conn: Connection, outbox: Outbox, message_id: int, now: float) -> Row | None:
    """The message is withdrawn on both sides: its text gives way to a notice (the original
    stays in the violation record, for reviewers), and a live ``recalled`` event tells
    every participant to replace it."""
    message = store.message_by_id(conn, message_id)
    if message is None or message["kind"] == RECALLED:
        return None
    content = {
        "text": i18n.text("recalled_notice", "zh-CN"),
        "text_en": i18n.text("recalled_notice", "en"),
        "recalled_at": now,
    }
    store.replace_message(conn, message_id, RECALLED, content)
    message.update(kind=RECALLED, content=content)
    session = session_store.session_by_id(conn, message["session_id"])
    assert session is not None
    outbox.add(
        channels.session_audience(session),
        {
            "type": "recalled",
            "session_id": message["session_id"],
            "message_id": message_id,
            "seq": message["seq"],
            "message": message_view(message),
        },
    )
    return message


def violation_points(
    conn: Connection, outbox: Outbox, record: Row, policy: EnforcementPolicy, now: float
) -> Row:
    """The points of a confirmed shop-side record, and the measures they trigger."""
    severity = severity_of(policy, record["action"])
    points, category = points_for(policy, list(record["categories"]), severity)
    if points <= 0:
        return {"points": 0, "measures": []}
    measures = add_points(
        conn,
        outbox,
        record["shop_id"],
        points,
        category=category,
        severity=severity,
        source=("violation", record["id"]),
        reason=f"violation {record['id']} ({', '.join(record['clauses'])})",
        policy=policy,
        now=now,
    )
    return {"points": points, "measures": measures}


def points_total(conn: Connection, shop_id: int, policy: EnforcementPolicy, now: float) -> int:
    since = now - policy.window_days * DAY
    return rolling_total(store.points_since(conn, shop_id, since), now, policy.window_days)


def add_points(
    conn: Connection,
    outbox: Outbox,
    shop_id: int,
    points: int,
    *,
    category: str,
    severity: str,
    source: tuple[str, int],
    reason: str,
    policy: EnforcementPolicy,
    now: float,
) -> list[Row]:
    """A ledger entry traceable to its source; every threshold the running total crosses
    imposes its measure once. Returns the measures imposed."""
    before = points_total(conn, shop_id, policy, now)
    entry_id = store.insert_points(
        conn,
        shop_id=shop_id,
        points=points,
        category=category,
        severity=severity,
        source_kind=source[0],
        source_id=source[1],
        reason=reason,
        created_at=now,
    )
    imposed = []
    for threshold in crossed(policy, before, before + points):
        details = {"threshold": threshold.points, "points_entry": entry_id, "cause": source[0]}
        details["cause_id"] = source[1]
        imposed.append(
            impose(
                conn,
                outbox,
                shop_id,
                policy.spec(threshold.measure),
                ("points", entry_id),
                details,
                policy,
                now,
            )
        )
    return imposed


# --- measures ------------------------------------------------------------------------------------


def measure_view(row: Row, now: float | None = None) -> Row:
    view = {
        k: row[k]
        for k in (
            "id",
            "shop_id",
            "measure",
            "source_kind",
            "source_id",
            "details",
            "starts_at",
            "ends_at",
            "reversed_at",
            "created_at",
        )
    }
    view["ended_at"] = row.get("ended_at")
    if now is not None:
        view["in_effect"] = in_effect(row["starts_at"], row["ends_at"], row["reversed_at"], now)
    return view


Imposition = tuple[int, MeasureSpec, tuple[str, int | None], Row]  # shop, spec, source, cause


def impose(
    conn: Connection,
    outbox: Outbox,
    shop_id: int,
    spec: MeasureSpec,
    source: tuple[str, int | None],
    cause: Row,
    policy: EnforcementPolicy,
    now: float,
) -> Row:
    """Impose one measure: recorded with what it does, carried out (deposit withheld,
    points added, the marketplace asked to close orders), the shop and marketplace told."""
    return impose_many(conn, outbox, [(shop_id, spec, source, cause)], policy, now)[0]


def impose_many(
    conn: Connection,
    outbox: Outbox,
    impositions: list[Imposition],
    policy: EnforcementPolicy,
    now: float,
) -> list[Row]:
    """``impose`` for many measures, one statement per kind of row where it can."""
    rows: list[Row] = [
        {
            "shop_id": shop_id,
            "measure": spec.measure,
            "source_kind": source[0],
            "source_id": source[1],
            "details": {**spec.details(), **cause},
            "starts_at": now,
            "ends_at": measure_ends_at(spec, now),
            "reversed_at": None,
            "created_at": now,
        }
        for shop_id, spec, source, cause in impositions
    ]
    for row, row_id in zip(rows, store.insert_measures(conn, rows), strict=True):
        row["id"] = row_id
    store.insert_deposits(
        conn,
        [
            {
                "shop_id": row["shop_id"],
                "amount": -spec.amount,
                "measure_id": row["id"],
                "reason": f"measure {row['id']}",
                "created_at": now,
            }
            for row, (_, spec, _, _) in zip(rows, impositions, strict=True)
            if spec.measure == "deposit_withholding" and spec.amount
        ],
    )
    views: list[Row] = []
    for row, (shop_id, spec, _, cause) in zip(rows, impositions, strict=True):
        if spec.measure == "points_deduction" and spec.points:
            add_points(
                conn,
                outbox,
                shop_id,
                spec.points,
                category="assessment",
                severity="general",
                source=("measure", row["id"]),
                reason=f"measure {row['id']}",
                policy=policy,
                now=now,
            )
        view = measure_view(row, now)
        if spec.measure == "order_close":
            enqueue_webhook(
                conn,
                "order_close_requested",
                {"shop_id": shop_id, "measure_id": row["id"], "orders": _orders_of(conn, cause)},
                now,
            )
        views.append(view)
    notify_many(conn, outbox, [(v["shop_id"], "measure", {"measure": v}) for v in views], now)
    for view in views:
        if view["measure"] in TIMED:
            tell_restrictions(conn, outbox, view["shop_id"], "started", view, now)
    return views


def _orders_of(conn: Connection, cause: Row) -> list[str]:
    """The order numbers of the session behind a measure, when a violation caused it."""
    if cause.get("cause") != "violation":
        return []
    record = violation_store.violation_by_id(conn, int(cause["cause_id"]))
    if record is None or record["session_id"] is None:
        return []
    session = session_store.session_by_id(conn, record["session_id"])
    return [session["order_no"]] if session and session["order_no"] else []


def apply_assessment_measures(
    conn: Connection,
    outbox: Outbox,
    weekly: list[Row],
    window: list[str],
    policy: EnforcementPolicy,
    now: float,
    tell_streaks: bool = True,
) -> list[Row]:
    """Carry out the weekly measures just recorded (services/assessment/policy.py): per
    failed metric, the step of the ladder its count of failed weeks in the window reaches.
    With ``tell_streaks``, the rule 2.2.1 records of the same run (10 in a row) are told to
    their shops too (once per run: the server carries out a week's measures in chunks)."""
    if tell_streaks:
        records = store.no_human_reply_records_at(conn, now)
        notify_many(conn, outbox, [_no_human_reply_note(r) for r in records], now)
    if not weekly:
        return []
    week = weekly[0]["week"]  # one run, one week
    shop_ids = [m["shop_id"] for m in weekly]
    measure_ids = store.assessment_measure_ids(conn, shop_ids, week)
    results = store.assessment_results_of(conn, shop_ids, window)
    impositions: list[Imposition] = []
    for weekly_measure in weekly:
        shop_id = weekly_measure["shop_id"]
        for metric in weekly_measure["details"]["failed_metrics"]:
            failed = sum(
                1
                for r in results.get(shop_id, [])
                if r["result"].get("metrics", {}).get(metric, {}).get("passed") is False
            )
            spec = policy.spec(assessment_measure(policy, metric, failed))
            cause = {"cause": "assessment", "week": week, "metric": metric, "failed_weeks": failed}
            impositions.append((shop_id, spec, ("assessment", measure_ids.get(shop_id)), cause))
    return impose_many(conn, outbox, impositions, policy, now)


def refuse_restricted(conn: Connection, shop_id: int, kind: str, now: float) -> None:
    """A restricted shop's agents may not send the features refused (images, cards) while
    the restriction is in effect: a typed error, never silence."""
    feature = "image" if kind == MessageKind.IMAGE.value else "card" if kind in CARD_KINDS else None
    if feature is None:
        return
    restrictions = store.restrictions_at(conn, shop_id, now)
    if feature in refused_features(restrictions, now):
        until = max(r["ends_at"] for r in restrictions if feature in r["details"]["features"])
        raise Forbidden("feature_restricted", feature=feature, until=_iso(until))


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds")


# --- what restricts a shop now: its members' read and live event ----------------------------


def shop_restrictions(conn: Connection, shop_id: int, now: float) -> Row:
    """What the shop's measures in effect refuse now, for every member of the shop: the
    features refused and until when (``holds``, epoch s), until when the robot is forced on,
    and the measures themselves (with their cause in ``details``)."""
    measures = store.restrictions_at(conn, shop_id, now)
    live = [m for m in measures if in_effect(m["starts_at"], m["ends_at"], m["reversed_at"], now)]
    return {
        "shop_id": shop_id,
        "refused_features": sorted(refused_features(live, now)),
        "holds": feature_holds(live, now),
        "robot_forced_until": robot_forced_until(live, now),
        "measures": [measure_view(m, now) for m in sorted(live, key=lambda m: m["id"])],
    }


def tell_restrictions(
    conn: Connection, outbox: Outbox, shop_id: int, change: str, measure: Row, now: float
) -> None:
    """A measure with a duration started, ended or was reversed: every member of the shop
    hears what restricts it now (``restrictions``), so a composer holds or frees its buttons
    before anyone sends (docs/protocol.md)."""
    outbox.add(
        channels.restrictions_audience(shop_id),
        {
            "type": "restrictions",
            "change": change,
            "measure": measure,
            "restrictions": shop_restrictions(conn, shop_id, now),
        },
    )


def measures_due(conn: Connection, now: float) -> bool:
    """Whether a measure's time ran out and its end is still to be told."""
    return bool(store.measures_ended(conn, now, 1))


def tell_ended(conn: Connection, outbox: Outbox, now: float, limit: int = 100) -> list[Row]:
    """Measures whose time ran out end on their own; each end is told once (whichever node
    claims it): the inbox and the supervisors (``measure_ended``), the marketplace, and the
    shop's members (``restrictions``). Returns the measures told."""
    told: list[Row] = []
    for row in store.measures_ended(conn, now, limit):
        if not store.claim_measure_end(conn, row["id"], now):
            continue
        view = measure_view({**row, "ended_at": now}, now)
        notify(conn, outbox, row["shop_id"], "measure_ended", {"measure": view}, now)
        tell_restrictions(conn, outbox, row["shop_id"], "ended", view, now)
        told.append(view)
    return told


def reverse_measure(
    conn: Connection, outbox: Outbox, measure: Row, source: tuple[str, int], why: str, now: float
) -> Row:
    """The measure no longer in effect from now (an appeal granted, a rerun of its week that
    passes): its deposit withheld paid back, its points taken back, the shop told."""
    store.update_measure(
        conn, measure["id"], reversed_at=now, ended_at=measure.get("ended_at") or now
    )
    measure = {**measure, "reversed_at": now, "ended_at": measure.get("ended_at") or now}
    for withheld in store.deposit_of_measure(conn, measure["id"]):
        if withheld["amount"] < 0:
            store.insert_deposit(
                conn,
                shop_id=measure["shop_id"],
                amount=-int(withheld["amount"]),
                measure_id=measure["id"],
                reason=f"{why} reverses measure {measure['id']}",
                created_at=now,
            )
    for entry in store.points_of_source(conn, "measure", measure["id"]):
        reverse_points(conn, outbox, entry, source, why, now)
    view = measure_view(measure, now)
    notify(conn, outbox, measure["shop_id"], "measure_reversed", {"measure": view}, now)
    if measure["measure"] in TIMED:
        tell_restrictions(conn, outbox, measure["shop_id"], "reversed", view, now)
    return view


def reverse_points(
    conn: Connection, outbox: Outbox, entry: Row, source: tuple[str, int], why: str, now: float
) -> list[Row]:
    """A negative ledger entry naming what reverses ``entry``; the measures its points
    imposed are reversed too. Returns them."""
    store.insert_points(
        conn,
        shop_id=entry["shop_id"],
        points=-int(entry["points"]),
        category=entry["category"],
        severity=entry["severity"],
        source_kind=source[0],
        source_id=source[1],
        reason=f"{why} reverses entry {entry['id']}",
        created_at=now,
    )
    return [
        reverse_measure(conn, outbox, m, source, why, now)
        for m in store.measures_from(conn, "points", entry["id"])
        if m["reversed_at"] is None
    ]


def shops_to_recheck(conn: Connection, week: str) -> list[int]:
    """The shops a rerun of ``week`` may reverse measures of (a first run: none)."""
    return store.weekly_measure_shops(conn, week)


def reverse_passed_assessment(
    conn: Connection, outbox: Outbox, week: str, shops: list[Row], now: float
) -> list[Row]:
    """A rerun of ``week`` (a report upheld, an appeal granted, an admin's rerun) whose
    results now pass a metric reverses the measures that metric's failure imposed — the
    deposit withheld, the points, a restriction — each audited (actor ``system``) and told;
    a week that now passes has its weekly record marked ``reversed``. Returns the measures
    reversed."""
    results = {int(r["shop"]): r for r in shops}
    if not results:
        return []
    weekly = [
        w for w in store.weekly_measures_of(conn, week, list(results)) if w["status"] != "reversed"
    ]
    if not weekly:
        return []
    reversed_views: list[Row] = []
    for measure in store.assessment_measures_from(conn, [w["id"] for w in weekly]):
        result = results[int(measure["shop_id"])]
        details = measure["details"]
        if details.get("week") != week:
            continue
        metric = result.get("metrics", {}).get(details.get("metric"), {})
        if result["passed"] is False and metric.get("passed") is False:
            continue  # still failed
        before = measure_view(measure, now)
        why = f"rerun of {week}"
        view = reverse_measure(conn, outbox, measure, ("rerun", int(measure["id"])), why, now)
        audit.record_system(
            conn,
            "measure.reverse",
            "measure",
            measure["id"],
            before=before,
            after={**view, "cause": "assessment.rerun", "week": week},
            shop_id=measure["shop_id"],
            now=now,
        )
        reversed_views.append(view)
    for w in weekly:
        if results[int(w["shop_id"])]["passed"] is not False:
            store.set_weekly_status(conn, w["id"], "reversed")
    return reversed_views


def shop_standing(conn: Connection, shop_id: int, policy: EnforcementPolicy, now: float) -> Row:
    """The shop's points within the window, its deposit balance and measures in effect."""
    measures = store.measures_of(conn, shop_id, 500)
    return {
        "shop_id": shop_id,
        "points": points_total(conn, shop_id, policy, now),
        "window_days": policy.window_days,
        "deposit_balance": store.deposit_balance(conn, shop_id),
        "refused_features": sorted(refused_features(measures, now)),
        "robot_forced_until": robot_forced_until(measures, now),
        "measures_in_effect": [
            measure_view(m, now)
            for m in measures
            if in_effect(m["starts_at"], m["ends_at"], m["reversed_at"], now)
        ],
    }


# --- consumers (docs/rules.md 4.2) ----------------------------------------------------------------


def restriction_view(row: Row, now: float) -> Row:
    view = {
        k: row[k]
        for k in (
            "id",
            "consumer_id",
            "kind",
            "violation_id",
            "reason",
            "starts_at",
            "ends_at",
            "lifted_at",
            "lifted_by",
            "created_by",
            "created_at",
        )
    }
    view["in_effect"] = row["lifted_at"] is None and (
        row["ends_at"] is None or row["ends_at"] > now
    )
    return view


def sanction_consumer(
    conn: Connection,
    outbox: Outbox,
    record: Row,
    reviewer: Principal,
    policy: EnforcementPolicy,
    now: float,
) -> Row | None:
    """A verified consumer violation of a sanctioned category mutes the account for a time,
    or bans it on repeat; the consumer is told at once on its sockets."""
    consumer_id = int(record["sender_id"])
    earlier = len(store.consumer_restrictions_of(conn, consumer_id))
    sanction = consumer_sanction(policy, list(record["categories"]), earlier, now)
    if sanction is None:
        return None
    kind, until = sanction
    row: Row = {
        "consumer_id": consumer_id,
        "kind": kind,
        "violation_id": record["id"],
        "reason": ", ".join(record["categories"]),
        "starts_at": now,
        "ends_at": until,
        "lifted_at": None,
        "lifted_by": None,
        "created_by": reviewer.id,
        "created_at": now,
    }
    row["id"] = store.insert_consumer_restriction(conn, **row)
    view = restriction_view(row, now)
    outbox.add(
        (channels.account("consumer", consumer_id),),
        {"type": "account_restricted", "restriction": view},
    )
    return view


def consumer_standing(conn: Connection, consumer_id: int, now: float) -> Row:
    """A consumer's own standing (docs/enforcement.md, "Consumers"): ``ok``, ``muted``
    (until when) or ``banned``, why (the categories of the violation), and how to appeal."""
    row = store.consumer_restriction_in_effect(conn, consumer_id, now)
    standing: Row = {"consumer_id": consumer_id, "state": "ok", "restriction": None}
    if row is not None:
        view = restriction_view(row, now)
        categories = [c.strip() for c in str(row["reason"] or "").split(",") if c.strip()]
        standing["state"] = "banned" if row["kind"] == "ban" else "muted"
        standing["restriction"] = {
            "id": view["id"],
            "kind": view["kind"],
            "starts_at": view["starts_at"],
            "ends_at": view["ends_at"],
            "categories": categories,
        }
    standing["appeal"] = {
        "text": i18n.text("consumer_appeal_hint", "zh-CN"),
        "text_en": i18n.text("consumer_appeal_hint", "en"),
    }
    return standing


def refuse_sanctioned_consumer(conn: Connection, consumer_id: int, now: float) -> None:
    """A muted or banned consumer's send is refused with a typed error."""
    found = store.consumer_restricted(conn, consumer_id, now)
    if found is None:
        return
    kind, ends_at = found
    if kind == "ban":
        raise Forbidden("consumer_banned")
    raise Forbidden("consumer_muted", until=_iso(float(ends_at)))


def lift_consumer_restriction(
    conn: Connection, outbox: Outbox, reviewer: Principal, restriction_id: int, now: float
) -> Row:
    row = store.consumer_restriction_by_id(conn, restriction_id)
    if row is None:
        raise NotFound(what="restriction")
    if row["lifted_at"] is not None:
        raise Invalid(detail="already lifted")
    before = restriction_view(row, now)
    store.update_consumer_restriction(conn, restriction_id, lifted_at=now, lifted_by=reviewer.id)
    row.update(lifted_at=now, lifted_by=reviewer.id)
    view = restriction_view(row, now)
    audit.record(
        conn,
        reviewer,
        "consumer.lift",
        "consumer_restriction",
        restriction_id,
        before=before,
        after=view,
        now=now,
    )
    outbox.add(
        (channels.account("consumer", row["consumer_id"]),),
        {"type": "account_restriction_lifted", "restriction": view},
    )
    return view


def consumer_record(conn: Connection, consumer_id: int, now: float) -> Row:
    """Everything enforcement holds on a consumer: its restrictions and its violations."""
    return {
        "consumer_id": consumer_id,
        "restrictions": [
            restriction_view(r, now) for r in store.consumer_restrictions_of(conn, consumer_id)
        ],
        "violations": [
            {k: v for k, v in r.items() if k != "client_id"}
            for r in violation_store.violations_of_sender(conn, "buyer", consumer_id)
        ],
    }


def check_sender(conn: Connection, principal: Principal, kind: str, now: float) -> None:
    """The send path's one enforcement step: a muted or banned consumer, or a restricted
    shop's image or card, is refused before anything is written."""
    if principal.kind == "consumer":
        refuse_sanctioned_consumer(conn, principal.id, now)
    elif principal.shop_id is not None:
        refuse_restricted(conn, principal.shop_id, kind, now)


# --- reads --------------------------------------------------------------------------------------


def points_view(row: Row) -> Row:
    keys = ("id", "shop_id", "points", "category", "severity", "source_kind", "source_id")
    return {k: row[k] for k in (*keys, "reason", "created_at")}


def points_ledger(
    conn: Connection, shop_id: int, policy: EnforcementPolicy, now: float, limit: int
) -> Row:
    return {
        "shop_id": shop_id,
        "total": points_total(conn, shop_id, policy, now),
        "window_days": policy.window_days,
        "entries": [points_view(r) for r in store.points_ledger_of(conn, shop_id, limit)],
    }


def deposit_ledger(conn: Connection, shop_id: int, limit: int) -> Row:
    keys = ("id", "shop_id", "amount", "measure_id", "reason", "created_at")
    return {
        "shop_id": shop_id,
        "balance": store.deposit_balance(conn, shop_id),
        "entries": [{k: r[k] for k in keys} for r in store.deposit_ledger_of(conn, shop_id, limit)],
    }


def measures_of(conn: Connection, shop_id: int | None, now: float, limit: int) -> list[Row]:
    return [measure_view(r, now) for r in store.measures_of(conn, shop_id, limit)]


def inbox(conn: Connection, shop_id: int, unread: bool, before_id: int | None, limit: int) -> Row:
    rows = store.notifications_of(conn, shop_id, unread, before_id, limit)
    return {
        "unread": store.unread_count(conn, shop_id),
        "notifications": [notification_view(r) for r in rows],
    }


def mark_read(
    conn: Connection, outbox: Outbox, shop_id: int, ids: list[int] | None, now: float
) -> Row:
    changed = store.mark_read(conn, shop_id, ids, now)
    unread = store.unread_count(conn, shop_id)
    if changed:
        outbox.add(
            channels.enforcement_audience(shop_id),
            {"type": "notifications_read", "ids": ids, "unread": unread},
        )
    return {"marked": changed, "unread": unread}


def decide_many(
    conn: Connection,
    outbox: Outbox,
    reviewer: Principal,
    items: list[tuple[str, int]],
    uphold: bool,
    reason: str,
    policy: EnforcementPolicy,
    now: float,
) -> list[Row]:
    """A reviewer's bulk decision over violations and reports. Each item is checked before
    it writes anything, so one refused item (already decided, unknown) is answered as such
    and the others are decided."""
    results: list[Row] = []
    for kind, item_id in items:
        try:
            if kind == "violation":
                decision = CONFIRMED if uphold else "dismissed"
                done = review_violation(
                    conn, outbox, reviewer, item_id, decision, policy, now, reason
                )
                results.append({"kind": kind, "id": item_id, "status": done["status"]})
            else:
                report, _span = decide_report(
                    conn, outbox, reviewer, item_id, UPHELD if uphold else DISMISSED, reason, now
                )
                results.append(
                    {"kind": kind, "id": item_id, "status": report["status"], "span": _span}
                )
        except (Invalid, NotFound) as refused:
            results.append({"kind": kind, "id": item_id, "error": refused.to_dict()})
    return results


def report_shop(conn: Connection, report_id: int) -> int:
    row = store.report_by_id(conn, report_id)
    if row is None:
        raise NotFound(what="report")
    return int(row["shop_id"])


# --- the webhook outbox's worker steps ---------------------------------------------------------

WEBHOOK_LEASE = 60.0  # a claimed delivery is left alone this long by other nodes


def claim_due_webhooks(conn: Connection, now: float, limit: int) -> list[Row]:
    """The deliveries due now, each claimed for this worker (at least once: a node that dies
    holding one leaves it to be retried when the lease runs out)."""
    claimed = []
    for row in store.webhooks_due(conn, now, limit):
        if store.claim_webhook(conn, row["id"], row["next_attempt_at"], now + WEBHOOK_LEASE):
            claimed.append(row)
    return claimed


def webhook_delivered(conn: Connection, webhook_id: int, attempts: int, now: float) -> None:
    store.update_webhook(conn, webhook_id, delivered_at=now, attempts=attempts, last_error=None)


def webhook_failed(
    conn: Connection, webhook_id: int, attempts: int, retry_at: float, error: str
) -> None:
    store.update_webhook(
        conn, webhook_id, attempts=attempts, next_attempt_at=retry_at, last_error=error[:200]
    )


def webhook_view(row: Row) -> Row:
    keys = ("id", "event_id", "event_type", "payload", "attempts", "next_attempt_at")
    return {k: row[k] for k in (*keys, "delivered_at", "last_error", "created_at")}


def webhook_outbox(conn: Connection, delivered: bool | None, limit: int) -> list[Row]:
    return [webhook_view(r) for r in store.webhooks(conn, delivered, limit)]


CONTEXT_MESSAGES = 5  # before and after the flagged one, as the reviewer's evidence


def violation_queue(conn: Connection, filters: Row, before_id: int | None, limit: int) -> list[Row]:
    rows = store.violation_queue(conn, filters, before_id, limit)
    return [violation_view(r, with_original=True) for r in rows]


def violation_evidence(conn: Connection, violation_id: int) -> Row:
    """A record as a reviewer decides it: the original, the engine's spans and clauses, the
    session, and the messages around the flagged one (or the last ones, for a blocked
    message that was never stored)."""
    row = violation_store.violation_by_id(conn, violation_id)
    if row is None:
        raise NotFound(what="violation")
    evidence: Row = {"violation": violation_view(row, with_original=True), "session": None}
    evidence["context"] = []
    if row["session_id"] is None:
        return evidence
    session = session_store.session_by_id(conn, row["session_id"])
    assert session is not None
    evidence["session"] = session_view(session)
    message = store.message_by_id(conn, row["message_id"]) if row["message_id"] else None
    if message is None:
        around = message_store.messages_page(conn, session["id"], None, None, CONTEXT_MESSAGES)
    else:
        before = message_store.messages_page(
            conn, session["id"], None, message["seq"] + 1, CONTEXT_MESSAGES + 1
        )
        after = message_store.messages_page(
            conn, session["id"], message["seq"], None, CONTEXT_MESSAGES
        )
        around = before + after
    evidence["context"] = [message_view(m) for m in around]
    return evidence


REPORT_MESSAGES = 30  # the latest of the session, as the reviewer's evidence


def report_evidence(conn: Connection, report_id: int) -> Row:
    """A shop-side report or blacklisting as a reviewer decides it: the record, its session
    and the session's latest messages, a recalled one with its original (``original``, and
    the ``violation_id`` that keeps it) as violation evidence shows it — reviewers only."""
    row = store.report_by_id(conn, report_id)
    if row is None:
        raise NotFound(what="report")
    session = session_store.session_by_id(conn, row["session_id"])
    evidence: Row = {"report": report_view(row), "session": None, "messages": []}
    if session is None:
        return evidence
    evidence["session"] = session_view(session)
    page = message_store.messages_page(conn, session["id"], None, None, REPORT_MESSAGES)
    recalled = [m["id"] for m in page if m["kind"] == RECALLED]
    originals = store.originals_of_messages(conn, recalled)
    evidence["messages"] = [{**message_view(m), **originals.get(m["id"], {})} for m in page]
    return evidence
