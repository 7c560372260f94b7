"""Who serves a session, inside a write job (docs/rules.md 2.1, 2.2.1): route a new session,
queue it or leave it as an offline message, assign, take, transfer, hand back, drain the
queue when capacity frees up, close. Decisions come from the pure ``feige.routing``; every
decision locks the shop row first, so nodes never assign the same capacity twice."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Connection

from feige import i18n
from feige.config import Settings
from feige.domain import WAITING_STATES, AgentStatus, EventType, RoutingMode, Row, SessionState
from feige.metrics.rolling import FULL_AUTO, effective_mode
from feige.routing import (
    AgentLoad,
    Outcome,
    can_go_offline,
    can_receive_transfer,
    drain_queue,
    free_seats,
    receive,
)
from feige.services import channels
from feige.services.context import Outbox
from feige.services.errors import Forbidden, Invalid, NotFound
from feige.services.lib import queue
from feige.services.lib.conversation import (
    find_open_session,
    open_session,
    push_session,
    record,
    system_notice,
)
from feige.services.lib.outgoing import Outgoing
from feige.store import accounts as account_store
from feige.store import moderation_records as violation_store
from feige.store import robot as robot_mode_store
from feige.store import robot_sessions as robot_session_store
from feige.store import sessions as session_store
from feige.store import shop_blocks as block_store


def _loads(conn: Connection, shop_id: int) -> list[AgentLoad]:
    return [
        AgentLoad(
            agent_id=row["id"],
            status=AgentStatus(row["status"]),
            capacity=row["capacity"],
            open_sessions=row["open_sessions"],
            last_assigned_at=row["last_assigned_at"],
        )
        for row in account_store.agent_loads(conn, shop_id)
    ]


def _load_of(conn: Connection, member: Row) -> AgentLoad:
    return AgentLoad(
        member["id"],
        AgentStatus(member["status"]),
        member["capacity"],
        session_store.open_session_count(conn, member["id"]),
        member["last_assigned_at"],
    )


def _locked_shop(conn: Connection, shop_id: int) -> Row:
    shop = account_store.lock_shop(conn, shop_id)
    assert shop is not None
    return shop


def assign(
    conn: Connection, outbox: Outbox, session: Row, shop: Row, agent_id: int, now: float
) -> None:
    """Hand a session to an agent and greet the buyer with the shop's welcome message."""
    waited = session["wait_started_at"] is not None
    session.update(agent_id=agent_id, state=SessionState.ASSIGNED.value, assigned_at=now)
    session_store.update_session(
        conn, session, agent_id=agent_id, state=session["state"], assigned_at=now
    )
    account_store.set_last_assigned(conn, agent_id, now)
    record(conn, session, EventType.ASSIGNED, now, agent=str(agent_id))
    push_session(outbox, session, "assigned")
    if waited:
        # Tell the other agents the waiting session is gone from the list.
        outbox.add(
            (channels.shop_agents(session["shop_id"]),),
            {"type": "waiting_removed", "session_id": session["id"]},
        )
    if shop.get("welcome_message"):
        system_notice(conn, outbox, session, shop["welcome_message"], now)


def wait(
    conn: Connection,
    outbox: Outbox,
    session: Row,
    outcome: Outcome,
    settings: Settings,
    now: float,
    left_by: int | None = None,
) -> None:
    """Nobody can take the session now: it queues (someone is online or on break) or waits
    as an offline message, and the consumer is told which. ``left_by``: the agent who was
    serving it, so that agent's client learns it is gone."""
    state = SessionState.QUEUED if outcome is Outcome.QUEUE else SessionState.OFFLINE
    session.update(agent_id=None, state=state.value, wait_started_at=now)
    session_store.update_session(
        conn, session, agent_id=None, state=state.value, wait_started_at=now
    )
    record(conn, session, EventType(state.value), now)
    queue.push_queued(conn, outbox, session, state.value, left_by)
    prompt = settings.queue_prompt if state is SessionState.QUEUED else settings.offline_prompt
    system_notice(conn, outbox, session, prompt, now)


def session_to_shop(
    conn: Connection,
    outbox: Outbox,
    consumer_id: int,
    shop_id: int,
    out: Outgoing,
    settings: Settings,
    now: float,
) -> Row:
    """The consumer's open session with the shop, or a new one opened by this message and
    routed (docs/rules.md §2.1): assigned, queued, or left as an offline message."""
    existing = find_open_session(conn, shop_id, consumer_id)
    if violation_store.is_blacklisted(conn, shop_id, consumer_id):
        raise Forbidden("blacklisted")
    if block_store.has_blocked(conn, consumer_id, shop_id):
        raise Forbidden("shop_blocked")
    if existing is not None:
        return existing
    # Lock first, then look again: the same consumer's first messages reaching two nodes at
    # once must open one session, not two.
    shop = _locked_shop(conn, shop_id)
    existing = session_store.open_session_for(conn, shop_id, consumer_id)
    if existing is not None:
        return existing
    session = open_session(conn, shop_id, consumer_id, out.entry, out.entry_card, now)
    if robot_receives(conn, shop_id):
        robot_receive(conn, outbox, session, now)
    else:
        route(conn, outbox, session, shop, settings, now)
    return session


def route(
    conn: Connection, outbox: Outbox, session: Row, shop: Row, settings: Settings, now: float
) -> None:
    """Hand a session to human service (docs/rules.md 2.1, its human entry): assigned,
    queued, or left as an offline message. The shop row must be locked."""
    mode = RoutingMode(shop["routing_mode"])
    last = session_store.last_agent_for(conn, session["shop_id"], session["consumer_id"])
    decision = receive(_loads(conn, session["shop_id"]), mode, last)
    if decision.outcome is Outcome.ASSIGN:
        assert decision.agent_id is not None
        assign(conn, outbox, session, shop, decision.agent_id, now)
    else:
        wait(conn, outbox, session, decision.outcome, settings, now)


def robot_receives(conn: Connection, shop_id: int) -> bool:
    """Does the shop's robot run full-auto (docs/rules.md 2.2.1): new sessions go to it."""
    row = robot_mode_store.mode_row(conn, shop_id)
    return row is not None and effective_mode(row["mode"], bool(row["rule_on"])) == FULL_AUTO


def robot_receive(conn: Connection, outbox: Outbox, session: Row, now: float) -> None:
    """The full-auto robot receives a new session (docs/robot-modes.md, "Full-auto"): no
    routing, no human entry until it hands the session over; the buyer is greeted."""
    session["state"] = SessionState.ROBOT.value
    session_store.update_session(conn, session, state=session["state"])
    robot_session_store.add_session(conn, session["id"], session["shop_id"], now)
    push_session(outbox, session, "robot")
    system_notice(conn, outbox, session, i18n.text("robot_greeting"), now)


def take(conn: Connection, outbox: Outbox, session: Row, agent_id: int, now: float) -> None:
    """An agent takes a waiting session, if it is online with room for one more."""
    if session["state"] not in WAITING_STATES:
        raise Invalid("not_waiting")
    shop = _locked_shop(conn, session["shop_id"])
    member = account_store.member_by_id(conn, agent_id)
    assert member is not None
    load = _load_of(conn, member)
    if load.status is AgentStatus.OFFLINE or not load.has_room:
        raise Invalid("agent_busy")
    was_queued = session["state"] == SessionState.QUEUED
    assign(conn, outbox, session, shop, agent_id, now)
    if was_queued:
        queue.announce(conn, outbox, session["shop_id"])


def move_to(
    conn: Connection, outbox: Outbox, session: Row, target: Row, shown_name: str, now: float
) -> None:
    """Hand a served session to another agent of the shop, telling the buyer the new agent's
    name as a consumer may read it."""
    from_agent = session["agent_id"]
    session["agent_id"] = target["id"]
    session_store.update_session(conn, session, agent_id=target["id"])
    record(
        conn,
        session,
        EventType.TRANSFERRED,
        now,
        agent=str(target["id"]),
        **{"from": str(from_agent)},
    )
    push_session(outbox, session, "transferred", from_agent)
    system_notice(conn, outbox, session, i18n.text("transferred_notice", agent=shown_name), now)


def transfer(
    conn: Connection,
    outbox: Outbox,
    session: Row,
    to_agent: int,
    shown_name: Callable[[Row], str],
    now: float,
) -> None:
    """A served session to another active agent of its shop that has room (a supervisor's
    or the serving agent's decision)."""
    if session["state"] != SessionState.ASSIGNED:
        raise Invalid("not_your_session")
    target = account_store.member_by_id(conn, to_agent)
    if target is None or target["shop_id"] != session["shop_id"] or not target["active"]:
        raise NotFound(what="agent")
    if target["id"] == session["agent_id"]:
        raise Invalid(detail="already serving")
    account_store.lock_shop(conn, session["shop_id"])
    if not can_receive_transfer(_load_of(conn, target)):
        raise Invalid("agent_busy")
    move_to(conn, outbox, session, target, shown_name(target), now)
    drain(conn, outbox, session["shop_id"], now)


def drain(conn: Connection, outbox: Outbox, shop_id: int, now: float, moved: bool = False) -> None:
    """Capacity may have freed up: assign queued sessions first come, first served. When
    the queue moved (``moved``: a queued session left it before the call, or this drain
    served some), the consumers still queued are told their new places."""
    shop = _locked_shop(conn, shop_id)
    waiting = session_store.queued_sessions(conn, shop_id)
    if not waiting:
        return
    loads = _loads(conn, shop_id)
    head = waiting[: free_seats(loads)]  # only the head of the queue can be served now
    if not head:
        if moved:
            queue.announce(conn, outbox, shop_id)
        return
    mode = RoutingMode(shop["routing_mode"])
    by_id = {s["id"]: s for s in head}
    pairs = [
        (
            s["id"],
            session_store.last_agent_for(conn, shop_id, s["consumer_id"])
            if mode is RoutingMode.PRIORITY
            else None,
        )
        for s in head
    ]
    for session_id, agent_id in drain_queue(loads, mode, pairs):
        assign(conn, outbox, by_id[session_id], shop, agent_id, now)
        moved = True
    if moved:
        queue.announce(conn, outbox, shop_id)


def close(conn: Connection, outbox: Outbox, session: Row, reason: str, now: float) -> None:
    was_queued = session["state"] == SessionState.QUEUED
    system_notice(conn, outbox, session, i18n.text("closed_notice"), now)
    session.update(state=SessionState.CLOSED.value, closed_at=now, close_reason=reason)
    session_store.update_session(
        conn, session, state=session["state"], closed_at=now, close_reason=reason
    )
    record(conn, session, EventType.CLOSED, now)
    push_session(outbox, session, "closed")
    drain(conn, outbox, session["shop_id"], now, moved=was_queued)


def close_idle(conn: Connection, outbox: Outbox, cutoff: float, now: float) -> int:
    """Close sessions with no message from either side since ``cutoff``."""
    closed = 0
    for row in session_store.idle_sessions(conn, cutoff):
        session = session_store.session_by_id(conn, row["id"])
        if session is not None and session["state"] != SessionState.CLOSED:
            close(conn, outbox, session, "idle", now)
            closed += 1
    return closed


def set_agent_status(
    conn: Connection, outbox: Outbox, member_id: int, status: AgentStatus, now: float
) -> Row:
    """Online, on break or offline; offline only with no session open. Coming online takes
    waiting sessions from the queue."""
    member = account_store.member_by_id(conn, member_id)
    assert member is not None
    # Under the shop's lock, so no node assigns the agent a session while it goes offline.
    account_store.lock_shop(conn, member["shop_id"])
    open_count = session_store.open_session_count(conn, member_id)
    if status is AgentStatus.OFFLINE and not can_go_offline(open_count):
        raise Invalid("has_open_sessions", count=open_count)
    account_store.set_member_status(conn, member_id, status)
    outbox.add(
        channels.agent_status_audience(member_id, member["shop_id"]),
        {"type": "agent_status", "agent_id": member_id, "status": status.value},
    )
    if status is AgentStatus.ONLINE:
        drain(conn, outbox, member["shop_id"], now)
    return {"agent_id": member_id, "status": status.value, "open_sessions": open_count}


def hand_back(
    conn: Connection,
    outbox: Outbox,
    agent_id: int,
    settings: Settings,
    now: float,
    shown_name: Callable[[Row], str],
) -> int:
    """An agent who can no longer sign in (deactivated) gives back every session it serves:
    each goes to another agent of the shop, or waits in the queue (or as an offline message),
    and its consumer is told. Nothing stays assigned to an account that cannot log in.
    The agent must already be offline, so routing does not choose it again."""
    handed = 0
    for row in session_store.assigned_sessions_of(conn, agent_id):
        session = session_store.session_by_id(conn, row["id"])
        if session is None or session["state"] != SessionState.ASSIGNED:
            continue
        shop = _locked_shop(conn, session["shop_id"])
        system_notice(conn, outbox, session, i18n.text("agent_left_notice"), now)
        decision = receive(_loads(conn, session["shop_id"]), RoutingMode(shop["routing_mode"]))
        target = account_store.member_by_id(conn, decision.agent_id) if decision.agent_id else None
        if target is not None:
            account_store.set_last_assigned(conn, target["id"], now)
            move_to(conn, outbox, session, target, shown_name(target), now)
        else:
            wait(conn, outbox, session, decision.outcome, settings, now, left_by=agent_id)
        handed += 1
    return handed
