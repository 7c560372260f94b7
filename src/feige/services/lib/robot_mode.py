"""The robot's mode inside a write job (docs/rules.md 2.2.1): set by hand, switched by the
rule, each switch a record pushed to the shop's supervisors; the live run of sessions closing
without a human reply and its record; and the store's recent rounds, from which a node
rebuilds its rolling windows."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection

from feige.config import Settings
from feige.domain import US_PER_SECOND, Row
from feige.enforcement import robot_forced_until
from feige.metrics import AssessmentConfig, Event
from feige.metrics.rolling import FULL_AUTO, OFF, Decision, effective_mode
from feige.metrics.summary import summarise_session
from feige.metrics.timeutil import LocalClock
from feige.robot.full_auto import MODE_CHANGED
from feige.services import channels
from feige.services.assessment.summaries import events_by_session
from feige.services.context import Outbox
from feige.services.errors import Conflict, NotFound
from feige.services.lib import enforcement, full_auto
from feige.store import accounts as account_store
from feige.store import assessments as assessment_store
from feige.store import enforcement as enforcement_store
from feige.store import moderation_records as violation_store
from feige.store import robot as robot_store
from feige.store import sessions as session_store

RULE, HAND = "rule", "hand"


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds")


def _stored(conn: Connection, shop_id: int) -> Row:
    """The shop's mode row, or the default (off, not held) for a shop that never set one."""
    row = robot_store.mode_row(conn, shop_id)
    if row is not None:
        return {**row, "exists": True}
    return {
        "shop_id": shop_id,
        "mode": OFF,
        "rule_on": False,
        "rule_since": None,
        "updated_at": None,
        "exists": False,
    }


def mode_view(row: Row, forced_until: float | None = None) -> dict[str, Any]:
    """The shop's mode as clients hold it: what runs (``mode``), the merchant's own choice
    (``manual_mode``), whether the rule holds assist on, and until when an enforcement
    measure forces it on (``forced_until``; docs/enforcement.md, "robot_forced")."""
    return {
        "shop_id": row["shop_id"],
        "mode": effective_mode(row["mode"], bool(row["rule_on"]) or forced_until is not None),
        "manual_mode": row["mode"],
        "rule_on": bool(row["rule_on"]),
        "rule_since": row["rule_since"],
        "updated_at": row["updated_at"],
        "forced_until": forced_until,
    }


def forced_until(conn: Connection, shop_id: int, now: float | None) -> float | None:
    """When the shop's ``robot_forced`` measures in effect end (None: none holds)."""
    at = time.time() if now is None else now
    return robot_forced_until(enforcement_store.restrictions_at(conn, shop_id, at), at)


def switch_view(row: Row) -> dict[str, Any]:
    return {
        "id": row["id"],
        "shop_id": row["shop_id"],
        "at": row["at"],
        "cause": row["cause"],
        "member_id": row["member_id"],
        "mode_before": row["mode_before"],
        "mode_after": row["mode_after"],
        "rule_on": bool(row["rule_on"]),
        "average_seconds": row["average_seconds"],
        "rounds": row["rounds"],
    }


def current_mode(conn: Connection, shop_id: int, now: float | None = None) -> Row:
    if account_store.shop_by_id(conn, shop_id) is None:
        raise NotFound(what="shop")
    return mode_view(_stored(conn, shop_id), forced_until(conn, shop_id, now))


def all_modes(conn: Connection) -> list[Row]:
    return [mode_view(r) for r in robot_store.all_modes(conn)]


def switch_records(conn: Connection, shop_id: int, limit: int) -> list[Row]:
    if account_store.shop_by_id(conn, shop_id) is None:
        raise NotFound(what="shop")
    return [switch_view(r) for r in robot_store.switches(conn, shop_id, limit)]


def _switch(
    conn: Connection,
    outbox: Outbox,
    before: Row,
    now: float,
    *,
    mode: str,
    rule_on: bool,
    rule_since: float | None,
    cause: str,
    member_id: int | None = None,
    decision: Decision | None = None,
) -> Row:
    """Store the new mode and its record; the supervisors hear it after the commit."""
    shop_id = before["shop_id"]
    robot_store.put_mode(
        conn,
        shop_id,
        before["exists"],
        mode=mode,
        rule_on=rule_on,
        rule_since=rule_since,
        updated_at=now,
    )
    forced_at = forced_until(conn, shop_id, now)  # a measure holding assist on
    forced = forced_at is not None
    record: Row = {
        "shop_id": shop_id,
        "at": now,
        "cause": cause,
        "member_id": member_id,
        "mode_before": effective_mode(before["mode"], bool(before["rule_on"]) or forced),
        "mode_after": effective_mode(mode, rule_on or forced),
        "rule_on": rule_on,
        "average_seconds": round(decision.average, 3)
        if decision and decision.average is not None
        else None,
        "rounds": decision.rounds if decision else None,
    }
    record["id"] = robot_store.add_switch(conn, **record)
    after = mode_view(
        {
            "shop_id": shop_id,
            "mode": mode,
            "rule_on": rule_on,
            "rule_since": rule_since,
            "updated_at": now,
        },
        forced_at,
    )
    outbox.add(
        channels.robot_audience(shop_id),
        {"type": "robot_mode", **after, "switch": switch_view(record)},
    )
    if cause == RULE and rule_on and not before["rule_on"]:
        # The switch-on is told like every measure: the inbox, the supervisors' sockets and
        # the marketplace webhook (docs/enforcement.md, "Notifications").
        body = {"switch": switch_view(record), "mode": after}
        enforcement.notify(conn, outbox, shop_id, "robot_switched_on", body, now)
    return after


def set_by_hand(
    conn: Connection,
    outbox: Outbox,
    member_id: int,
    shop_id: int,
    mode: str,
    now: float,
    settings: Settings | None = None,
) -> Row:
    """A shop owner or manager chooses the mode. Assist cannot be turned off while the rule
    holds it on (docs/rules.md 2.2.1); choosing what is already chosen records nothing.
    Leaving full-auto hands every session the robot still serves to human service."""
    if account_store.lock_shop(conn, shop_id) is None:
        raise NotFound(what="shop")
    before = _stored(conn, shop_id)
    if mode == OFF and before["rule_on"]:
        raise Conflict("robot_held_by_rule")
    forced = forced_until(conn, shop_id, now)
    if mode == OFF and forced is not None:
        raise Conflict("robot_held_by_measure", until=_iso(forced))
    if mode == before["mode"]:
        return mode_view(before, forced)
    if before["mode"] == FULL_AUTO and mode != FULL_AUTO:
        full_auto.hand_over_all(conn, outbox, shop_id, MODE_CHANGED, settings or Settings(), now)
    return _switch(
        conn,
        outbox,
        before,
        now,
        mode=mode,
        rule_on=bool(before["rule_on"]),
        rule_since=before["rule_since"],
        cause=HAND,
        member_id=member_id,
    )


def switch_by_rule(conn: Connection, outbox: Outbox, decision: Decision, now: float) -> Row:
    """The rule's decision, if it still applies to the mode the store holds (another node
    may have taken it already, or the merchant chosen full-auto): the mode after."""
    if account_store.lock_shop(conn, decision.shop) is None:
        raise NotFound(what="shop")
    before = _stored(conn, decision.shop)
    if decision.switch == "on":
        if before["rule_on"] or before["mode"] == FULL_AUTO:
            return mode_view(before)
        on, since = True, now
    else:
        if not before["rule_on"]:
            return mode_view(before)
        on, since = False, None
    return _switch(
        conn,
        outbox,
        before,
        now,
        mode=before["mode"],
        rule_on=on,
        rule_since=since,
        cause=RULE,
        decision=decision,
    )


# --- 10 in a row (docs/rules.md 2.2.1) ------------------------------------------------------


def _us(ts: float) -> int:
    return round(ts * US_PER_SECOND)


def note_close(
    conn: Connection,
    outbox: Outbox,
    shop_id: int,
    session_id: int,
    config: AssessmentConfig,
    now: float,
) -> Row | None:
    """A session of the shop closed: continue or end the shop's run of sessions closing with
    the buyer's last round unanswered. At the streak's length the run becomes a
    ``no_human_reply`` record and an alert; longer, the record names every session of it.

    The run is docs/rules.md's: valid human sessions closing inside assessment hours; other
    sessions neither count nor break it. Answers the record's alert when one is raised."""
    if account_store.lock_shop(conn, shop_id) is None:
        return None
    session = session_store.session_by_id(conn, session_id)
    if session is None or session["closed_at"] is None:
        return None
    human = session["assigned_at"] is not None or session["wait_started_at"] is not None
    clock = LocalClock(config.timezone)
    closed_us = _us(session["closed_at"])
    if (
        not human
        or session["invalid_reasons"]
        or not clock.in_window(closed_us, config.hours_start_s, config.hours_end_s)
    ):
        return None
    row = robot_store.streak(conn, shop_id)
    run: list[str] = list(row["sessions"]) if row else []
    violation_id = row["violation_id"] if row else None
    if str(session_id) in run:
        return None  # noted already
    alert = None
    if robot_store.last_round_role(conn, session_id) == "buyer":
        run.append(str(session_id))
        need = config.no_human_reply_streak
        if len(run) >= need:
            first = session_store.session_by_id(conn, int(run[0]))
            original = {
                "count": len(run),
                "first_close_us": _us(first["closed_at"]) if first else closed_us,
                "last_close_us": closed_us,
                "live": True,
            }
            if violation_id is None:
                violation_id = assessment_store.add_no_human_reply_record(
                    conn, shop_id, run, original, now
                )
                alert = {
                    "type": "no_human_reply_alert",
                    "shop_id": shop_id,
                    "violation_id": violation_id,
                    "count": len(run),
                    "sessions": run,
                    "at": now,
                }
                outbox.add(channels.no_reply_alert_audience(shop_id), alert)
                outbox.add(
                    (channels.REVIEWERS,),
                    {"type": "violation", "id": violation_id, "shop_id": shop_id},
                )
                record = violation_store.violation_by_id(conn, violation_id)
                if record is not None:
                    enforcement.tell_no_human_reply(conn, outbox, record, now)
            else:
                robot_store.extend_no_human_reply_record(conn, violation_id, run, original)
    else:
        run, violation_id = [], None
    robot_store.put_streak(
        conn,
        shop_id,
        row is not None,
        sessions=run,
        violation_id=violation_id,
        updated_at=now,
    )
    return alert


# --- the store's recent rounds (the rebuild of a node's rolling windows) -------------------


@dataclass(frozen=True, slots=True)
class RecentRounds:
    """What a node needs to rebuild its windows: rounds counted since a time (time order),
    and the human sessions whose last round may still count (open, or closed with it
    unanswered)."""

    counted: list[tuple[float, float, int, int]]  # at, seconds, session, shop
    sessions: list[tuple[int, int, bool, float | None, bool, bool]]
    # ^ session, shop, valid, unanswered round start, assessed, closed


@dataclass(frozen=True, slots=True)
class SessionRounds:
    """A human session's rounds as the windows need them, from its summary; valid as long
    as its record (messages, events) has not grown."""

    shop: int
    valid: bool
    rounds: tuple[tuple[float, float, bool], ...]  # when it counts, seconds, assessed
    unanswered_start: float | None  # its last round's start, if that round is unanswered
    last_assessed: bool
    close_implied: bool
    close_us: int


@dataclass
class RoundsCache:
    """A node's rounds of recent sessions across rebuilds: a rebuild reads and summarises
    only the sessions whose record grew since the last one (their last seq and last event
    id are the mark), not every session of the last hour again. One rebuild at a time."""

    by_session: dict[int, tuple[tuple[int, int], SessionRounds | None]] = field(
        default_factory=dict
    )
    summarised: int = 0  # sessions read and summarised, over the cache's life (tests)


def _session_rounds(events: list[Event], config: AssessmentConfig) -> SessionRounds | None:
    summary = summarise_session(events, config)
    if not summary.human:
        return None
    cap = config.response_cap_seconds
    rounds = []
    for r in summary.rounds:
        start = r.start_us / US_PER_SECOND
        answered = r.raw_us is not None and r.raw_us <= cap * US_PER_SECOND
        at = r.answer_us / US_PER_SECOND if answered and r.answer_us else start + cap
        rounds.append((at, r.response_us / US_PER_SECOND, bool(r.assessed)))
    last = summary.rounds[-1] if summary.rounds else None
    unanswered = last is not None and last.answer_us is None
    return SessionRounds(
        shop=int(summary.shop),
        valid=summary.valid_human,
        rounds=tuple(rounds),
        unanswered_start=last.start_us / US_PER_SECOND if unanswered and last else None,
        last_assessed=bool(last and last.assessed),
        close_implied=summary.close_implied,
        close_us=summary.close_us,
    )


# --- the rebuild in a process of its own (several nodes) ---------------------------------------
# Across nodes the windows are rebuilt from the store every 10 s: reading and summarising the
# last hour's sessions is a second of Python at 3,000 msg/s, which on a reader thread held the
# GIL from the event loop (p99 1.2 s against 0.14 s without it; docs/performance.md). In a
# worker process of its own it runs on another core. The worker keeps its engine and its
# RoundsCache between calls.

_WORKER: dict[str, Any] = {}


def recent_rounds_in_worker(
    database_url: str, since: float, now: float, config: AssessmentConfig
) -> RecentRounds:
    """``recent_rounds`` in the rebuild worker process, on its own connection and cache."""
    from feige.store.db import create_db_engine

    if _WORKER.get("url") != database_url:
        if "engine" in _WORKER:
            _WORKER["engine"].dispose()
        _WORKER.update(url=database_url, engine=create_db_engine(database_url), cache=RoundsCache())
    with _WORKER["engine"].connect() as conn:
        return recent_rounds(conn, since, now, config, _WORKER["cache"])


def recent_rounds(
    conn: Connection,
    since: float,
    now: float,
    config: AssessmentConfig,
    cache: RoundsCache | None = None,
) -> RecentRounds:
    """Every session with a round counted since ``since`` or still to count, summarised as
    the assessment does (``metrics.summary``): the live windows and the weekly figures
    share one definition of a round. With a ``cache``, only sessions whose record grew
    since it last saw them are read again."""
    cap = config.response_cap_seconds
    cache = cache if cache is not None else RoundsCache()
    marked = robot_store.sessions_since(conn, since - cap)
    known = cache.by_session
    stale = [sid for sid, seq, event in marked if known.get(sid, (None,))[0] != (seq, event)]
    read = events_by_session(conn, stale, config)
    marks = {sid: (seq, event) for sid, seq, event in marked}
    for session_id in stale:
        events = read.get(session_id)
        rounds = _session_rounds(events, config) if events else None
        known[session_id] = (marks[session_id], rounds)
    cache.summarised += len(stale)
    for session_id in [sid for sid in known if sid not in marks]:
        del known[session_id]  # out of the window: closed before ``since``
    counted: list[tuple[float, float, int, int]] = []
    sessions: list[tuple[int, int, bool, float | None, bool, bool]] = []
    now_us = round(now * US_PER_SECOND)
    for session_id, _, _ in marked:
        digest = known[session_id][1]
        if digest is None:
            continue
        for at, seconds, assessed in digest.rounds:
            if assessed and since <= at <= now:
                counted.append((at, seconds, session_id, digest.shop))
        closed = not digest.close_implied and digest.close_us <= now_us
        sessions.append(
            (
                session_id,
                digest.shop,
                digest.valid,
                digest.unanswered_start,
                digest.last_assessed,
                closed,
            )
        )
    counted.sort()
    return RecentRounds(counted, sessions)
