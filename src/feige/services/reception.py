"""Reception inside a transaction: route, queue, assign, append messages (docs/rules.md 2.1, 2.2.1).

These helpers run inside a write job; they change rows, record session events in the
docs/interfaces.md vocabulary and put the resulting client events in the outbox.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection

from feige import i18n
from feige.domain import AgentStatus, EventType, RoutingMode, SenderRole, SessionState
from feige.routing import AgentLoad, Outcome, drain_queue, free_seats, receive
from feige.services.context import Outbox
from feige.store import accounts as account_store
from feige.store import events as event_store
from feige.store import messages as message_store
from feige.store import sessions as session_store
from feige.store import sql
from feige.store.tables import members, sessions

Row = dict[str, Any]


def session_view(session: Row) -> dict[str, Any]:
    """The session as every participant's client holds it (events and REST agree)."""
    return {
        "id": session["id"],
        "shop_id": session["shop_id"],
        "consumer_id": session["consumer_id"],
        "agent_id": session["agent_id"],
        "state": session["state"],
        "entry": session["entry"],
        "entry_card": session["entry_card"],
        "order_no": session["order_no"],
        "opened_at": session["opened_at"],
        "closed_at": session["closed_at"],
        "last_seq": session["last_seq"],
        "consumer_read_seq": session["consumer_read_seq"],
        "agent_read_seq": session["agent_read_seq"],
        "rating": session["rating"],
        "invalid": bool(session["invalid_reasons"]),
    }


def message_view(message: Row) -> dict[str, Any]:
    return {
        "id": message["id"],
        "session_id": message["session_id"],
        "seq": message["seq"],
        "sender_role": message["sender_role"],
        "sender_id": message["sender_id"],
        "kind": message["kind"],
        "content": message["content"],
        "client_id": message["client_id"],
        "created_at": message["created_at"],
    }


def audience(session: Row, *extra_agents: int | None) -> tuple[str, ...]:
    """Channels that may see this session: its consumer, its agent(s), the shop's supervisors,
    and while it waits, every agent of the shop (who may take it)."""
    channels = [f"consumer:{session['consumer_id']}", f"shop:{session['shop_id']}:supervisors"]
    for agent in (session["agent_id"], *extra_agents):
        if agent is not None:
            channels.append(f"member:{agent}")
    if session["state"] in (SessionState.QUEUED, SessionState.OFFLINE):
        channels.append(f"shop:{session['shop_id']}:agents")
    return tuple(dict.fromkeys(channels))


# Events that change a closed session's metrics summary (docs/rules.md §3: recomputed on close and
# whenever a late event arrives).
SUMMARY_EVENTS = frozenset({EventType.CLOSED, EventType.RATED, EventType.FLAGGED})


def record(conn: Connection, session: Row, type_: EventType, now: float, **data: Any) -> None:
    """Store a session event; ``message`` events are the messages themselves (append_message)."""
    if type_ is EventType.MESSAGE:
        raise ValueError("message events are recorded by append_message")
    event_store.insert_event(conn, session["id"], session["shop_id"], type_.value, now, data)
    if type_ in SUMMARY_EVENTS:
        sql.update_row(conn, sessions, session["id"], summary_dirty=True)


def push_session(outbox: Outbox, session: Row, change: str, *extra_agents: int | None) -> None:
    outbox.add(
        audience(session, *extra_agents),
        {"type": "session", "change": change, "session": session_view(session)},
    )


def append_message(
    conn: Connection,
    outbox: Outbox,
    session: Row,
    *,
    role: SenderRole,
    sender_id: int | None,
    kind: str,
    content: dict[str, Any],
    now: float,
    client_id: str | None = None,
) -> Row:
    """Next sequence number, the message row (its session event too) and its client event."""
    counts_as_activity = role is not SenderRole.SYSTEM
    seq = session_store.next_seq(conn, session["id"], now, counts_as_activity)
    session["last_seq"] = seq
    if counts_as_activity:
        session["last_activity_at"] = now
    message: Row = {
        "session_id": session["id"],
        "seq": seq,
        "sender_role": role.value,
        "sender_id": sender_id,
        "kind": kind,
        "content": content,
        "client_id": client_id,
        "created_at": now,
    }
    # The row is also the session's ``message`` event (event_store.session_events_for reads it).
    message["id"] = message_store.insert_message(conn, **message)
    outbox.add(audience(session), {"type": "message", "message": message_view(message)})
    return message


def system_notice(conn: Connection, outbox: Outbox, session: Row, text: str, now: float) -> None:
    append_message(
        conn,
        outbox,
        session,
        role=SenderRole.SYSTEM,
        sender_id=None,
        kind="text",
        content={"text": text},
        now=now,
    )


def open_session(
    conn: Connection,
    shop_id: int,
    consumer_id: int,
    entry: str,
    entry_card: dict[str, Any] | None,
    now: float,
) -> Row:
    """Insert a new session (not yet routed) and record its ``open`` event."""
    session: Row = {
        "shop_id": shop_id,
        "consumer_id": consumer_id,
        "agent_id": None,
        # Placeholder until reception decides; it is never committed as such.
        "state": SessionState.OFFLINE.value,
        "entry": entry,
        "entry_card": entry_card,
        "order_no": entry_card.get("order_no") if entry_card else None,
        "opened_at": now,
        "wait_started_at": None,
        "assigned_at": None,
        "closed_at": None,
        "close_reason": None,
        "last_activity_at": now,
        "last_seq": 0,
        "consumer_read_seq": 0,
        "agent_read_seq": 0,
        "rating": None,
        "invalid_reasons": None,
        "summary_dirty": False,
    }
    session["id"] = sql.insert_row(conn, sessions, **session)
    record(conn, session, EventType.OPEN, now, consumer=str(consumer_id), entry=entry)
    return session


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


def assign(
    conn: Connection,
    outbox: Outbox,
    session: Row,
    shop: Row,
    agent_id: int,
    now: float,
) -> None:
    """Hand a session to an agent and greet the buyer with the shop's welcome message."""
    waited = session["wait_started_at"] is not None
    session.update(agent_id=agent_id, state=SessionState.ASSIGNED.value, assigned_at=now)
    sql.update_row(
        conn, sessions, session["id"], agent_id=agent_id, state=session["state"], assigned_at=now
    )
    sql.update_row(conn, members, agent_id, last_assigned_at=now)
    record(conn, session, EventType.ASSIGNED, now, agent=str(agent_id))
    push_session(outbox, session, "assigned")
    if waited:
        # Tell the other agents the waiting session is gone from the list.
        outbox.add(
            (f"shop:{session['shop_id']}:agents",),
            {"type": "waiting_removed", "session_id": session["id"]},
        )
    if shop.get("welcome_message"):
        system_notice(conn, outbox, session, shop["welcome_message"], now)


def route_new_session(
    conn: Connection, outbox: Outbox, session: Row, settings: Any, now: float
) -> None:
    """Human entry of a new session: assign, queue, or leave it as an offline message."""
    shop = account_store.lock_shop(conn, session["shop_id"])
    assert shop is not None
    mode = RoutingMode(shop["routing_mode"])
    last = session_store.last_agent_for(conn, session["shop_id"], session["consumer_id"])
    decision = receive(_loads(conn, session["shop_id"]), mode, last)
    if decision.outcome is Outcome.ASSIGN:
        assert decision.agent_id is not None
        assign(conn, outbox, session, shop, decision.agent_id, now)
        return
    wait(conn, outbox, session, decision.outcome, settings, now)


def wait(
    conn: Connection,
    outbox: Outbox,
    session: Row,
    outcome: Outcome,
    settings: Any,
    now: float,
    left_by: int | None = None,
) -> None:
    """Nobody can take the session now: it queues (someone is online or on break) or waits
    as an offline message, and the consumer is told which. ``left_by``: the agent who was
    serving it, so that agent's client learns it is gone."""
    state = SessionState.QUEUED if outcome is Outcome.QUEUE else SessionState.OFFLINE
    session.update(agent_id=None, state=state.value, wait_started_at=now)
    sql.update_row(
        conn, sessions, session["id"], agent_id=None, state=state.value, wait_started_at=now
    )
    record(conn, session, EventType(state.value), now)
    push_session(outbox, session, state.value, left_by)
    prompt = settings.queue_prompt if state is SessionState.QUEUED else settings.offline_prompt
    system_notice(conn, outbox, session, prompt, now)


def move_to(
    conn: Connection, outbox: Outbox, session: Row, target: Row, shown_name: str, now: float
) -> None:
    """Hand a served session to another agent of the shop (a transfer), telling the buyer
    the new agent's name as a consumer may read it (``compliance.shown_name``)."""
    from_agent = session["agent_id"]
    session["agent_id"] = target["id"]
    sql.update_row(conn, sessions, session["id"], agent_id=target["id"])
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


def drain(conn: Connection, outbox: Outbox, shop_id: int, now: float) -> None:
    """Capacity may have freed up: assign queued sessions first come, first served."""
    shop = account_store.lock_shop(conn, shop_id)
    assert shop is not None
    waiting = session_store.queued_sessions(conn, shop_id)
    if not waiting:
        return
    loads = _loads(conn, shop_id)
    head = waiting[: free_seats(loads)]  # only the head of the queue can be served now
    if not head:
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


def close(conn: Connection, outbox: Outbox, session: Row, reason: str, now: float) -> None:
    lang_notice = i18n.text("closed_notice")
    system_notice(conn, outbox, session, lang_notice, now)
    session.update(state=SessionState.CLOSED.value, closed_at=now, close_reason=reason)
    sql.update_row(
        conn,
        sessions,
        session["id"],
        state=session["state"],
        closed_at=now,
        close_reason=reason,
    )
    record(conn, session, EventType.CLOSED, now)
    push_session(outbox, session, "closed")
    drain(conn, outbox, session["shop_id"], now)


def hand_back(
    conn: Connection,
    outbox: Outbox,
    agent_id: int,
    settings: Any,
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
        shop = account_store.lock_shop(conn, session["shop_id"])
        assert shop is not None
        system_notice(conn, outbox, session, i18n.text("agent_left_notice"), now)
        decision = receive(_loads(conn, session["shop_id"]), RoutingMode(shop["routing_mode"]))
        target = account_store.member_by_id(conn, decision.agent_id) if decision.agent_id else None
        if target is not None:
            sql.update_row(conn, members, target["id"], last_assigned_at=now)
            move_to(conn, outbox, session, target, shown_name(target), now)
        else:
            wait(conn, outbox, session, decision.outcome, settings, now, left_by=agent_id)
        handed += 1
    return handed
