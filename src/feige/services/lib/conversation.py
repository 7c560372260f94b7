"""A session's record inside a write job: its events (docs/interfaces.md vocabulary), its
messages, flags, rating and read marks, each change with the client event it causes put in
the outbox; and the reads of that record."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from feige.domain import EventType, FlagReason, Row, SenderRole, SessionState
from feige.services import channels
from feige.services.context import Outbox, Principal
from feige.services.errors import Forbidden, NotFound, ServiceError
from feige.services.lib.outgoing import Outgoing
from feige.services.lib.tenancy import can_see, visible_session
from feige.services.lib.views import message_view, session_view
from feige.store import accounts as account_store
from feige.store import events as event_store
from feige.store import messages as message_store
from feige.store import moderation_records as violation_store
from feige.store import sessions as session_store

# Events that change a closed session's metrics summary (docs/rules.md §3: recomputed on close and
# whenever a late event arrives).
SUMMARY_EVENTS = frozenset({EventType.CLOSED, EventType.RATED, EventType.FLAGGED})


def record(conn: Connection, session: Row, type_: EventType, now: float, **data: Any) -> None:
    """Store a session event; ``message`` events are the messages themselves (append_message)."""
    if type_ is EventType.MESSAGE:
        raise ValueError("message events are recorded by append_message")
    event_store.insert_event(conn, session["id"], session["shop_id"], type_.value, now, data)
    if type_ in SUMMARY_EVENTS:
        session_store.update_session(conn, session, summary_dirty=True)


def push_session(outbox: Outbox, session: Row, change: str, *extra_agents: int | None) -> None:
    outbox.add(
        channels.session_audience(session, *extra_agents),
        {"type": "session", "change": change, "session": session_view(session)},
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
        "version": 0,
    }
    session["id"] = session_store.insert_session(conn, **session)
    record(conn, session, EventType.OPEN, now, consumer=str(consumer_id), entry=entry)
    return session


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
    outbox.add(
        channels.session_audience(session), {"type": "message", "message": message_view(message)}
    )
    return message


@dataclass(frozen=True, slots=True)
class PlainSend:
    """A sender's new message to a session named by id, as ``append_plain`` takes it."""

    outbox: Outbox
    principal: Principal
    session_id: int
    role: SenderRole
    kind: str
    content: dict[str, Any]
    client_id: str
    now: float


def append_plain(
    conn: Connection, sends: list[PlainSend], commit: bool = False
) -> list[tuple[Row, Row]]:
    """Messages of many senders at once, as each would be by the send path's steps one after
    the other (``earlier_message``, ``enforcement.check_sender`` for a text,
    ``visible_session``, the state checks, ``append_message``), in two round trips for all
    (PostgreSQL: store/messages.py ``send_state`` and ``insert_messages``). Returns the
    stored messages of the first sends, up to the first that is not simply a new message
    its sender may write: a resend, a muted or banned consumer, a session not visible,
    closed, not the agent's, or its consumer blacklisted. That one and those after are left
    to the caller (the one-by-one path decides them and raises what it must). Each message
    comes with its session (as it stands after the message), for what the caller does next
    (the full-auto robot's turn). ``commit``: if every send is taken, the transaction
    commits with the insert (the caller's transaction has nothing after it)."""
    keys = {id(s): [(r, s.principal.id, s.client_id) for r in _sent_as(s.principal)] for s in sends}
    state = message_store.send_state(
        conn,
        session_ids=[s.session_id for s in sends],
        client_keys=[k for ks in keys.values() for k in ks],
        consumer_ids=[s.principal.id for s in sends if s.principal.kind == "consumer"],
        first_now=min(s.now for s in sends),
        last_now=max(s.now for s in sends),
    )
    used = state.used_client_ids
    advanced: dict[int, tuple[int, float]] = {}
    taken: list[tuple[PlainSend, Row, Row]] = []
    for send in sends:
        principal, own = send.principal, keys[id(send)]
        if any(k in used for k in own):
            break  # a resend, or a client id reused: earlier_message answers it
        if principal.kind == "consumer" and principal.id in state.restricted_consumers:
            break
        session = state.sessions.get(send.session_id)
        if session is None or not can_see(principal, session):
            break
        if session["state"] == SessionState.CLOSED:
            break
        if principal.kind == "consumer" and session["blacklisted"]:
            break
        if principal.kind != "consumer" and (
            session["agent_id"] != principal.id or session["state"] != SessionState.ASSIGNED
        ):
            break
        used.update(own)
        # As append_message for a sender's message (which counts as activity).
        seq = session["last_seq"] + 1
        session["last_seq"] = seq
        session["last_activity_at"] = send.now
        advanced[session["id"]] = (seq, send.now)
        message: Row = {
            "session_id": session["id"],
            "seq": seq,
            "sender_role": send.role.value,
            "sender_id": principal.id,
            "kind": send.kind,
            "content": send.content,
            "client_id": send.client_id,
            "created_at": send.now,
        }
        taken.append((send, session, message))
    if not taken:
        return []
    ids = message_store.insert_messages(
        conn,
        advanced,
        [message for *_, message in taken],
        commit=commit and len(taken) == len(sends),
    )
    for (send, session, message), message_id in zip(taken, ids, strict=True):
        message["id"] = message_id
        send.outbox.add(
            channels.session_audience(session),
            {"type": "message", "message": message_view(message)},
        )
    return [(message, session) for _, session, message in taken]


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


def set_order_no(conn: Connection, session: Row, order_no: str) -> None:
    """The order a session is about, as its last order card delivered it."""
    session["order_no"] = order_no
    session_store.update_session(conn, session, order_no=order_no)


def flag(conn: Connection, outbox: Outbox, session: Row, reason: FlagReason, now: float) -> None:
    """Make a session invalid for metrics (docs/rules.md §3 (2) note), once per reason."""
    if session_store.add_invalid_reason(conn, session, reason.value):
        record(conn, session, EventType.FLAGGED, now, reason=reason.value)
        push_session(outbox, session, "flagged")


def rate(conn: Connection, outbox: Outbox, session: Row, score: int, now: float) -> None:
    session["rating"] = score
    session_store.update_session(conn, session, rating=score)
    record(conn, session, EventType.RATED, now, score=score)
    push_session(outbox, session, "rated")


def mark_read(
    conn: Connection, outbox: Outbox, principal: Principal, session_id: int, seq: int
) -> Row:
    """The reader has seen everything up to ``seq`` (never past the last message)."""
    session = visible_session(conn, principal, session_id)
    column = "consumer_read_seq" if principal.kind == "consumer" else "agent_read_seq"
    if principal.kind == "member" and session["agent_id"] != principal.id:
        raise Forbidden("not_your_session")
    _advance_read(conn, outbox, session, column, principal.kind, seq)
    return {"session_id": session_id, column: session[column]}


def read_by_robot(conn: Connection, outbox: Outbox, session: Row, seq: int) -> None:
    """The full-auto robot has read the buyer's message it took its turn on: the buyer sees
    已读 beside a question the shop's side has answered, as when an agent answers."""
    _advance_read(conn, outbox, session, "agent_read_seq", "member", seq)


def _advance_read(
    conn: Connection, outbox: Outbox, session: Row, column: str, reader: str, seq: int
) -> None:
    seq = min(seq, session["last_seq"])
    if seq > session[column]:
        session[column] = seq
        session_store.set_read_seq(conn, session["id"], column, seq)
        outbox.add(
            channels.session_audience(session),
            {"type": "read", "session_id": session["id"], "reader": reader, "seq": seq},
        )


def _sent_as(principal: Principal) -> list[str]:
    """The roles a principal's messages are stored under: an agent's own, and the robot
    suggestions the agent sent with a click (``robot_assist``)."""
    roles = [principal.sender_role.value]
    if principal.sender_role is SenderRole.AGENT:
        roles.append(SenderRole.ROBOT_ASSIST.value)
    return roles


def earlier_message(conn: Connection, principal: Principal, client_id: str) -> Row | None:
    """The message this sender already sent under this client id, if any: an agent's own, or
    a robot suggestion the agent sent with a click (stored as ``robot_assist``)."""
    for role in _sent_as(principal):
        earlier = message_store.message_by_client_id(conn, role, principal.id, client_id)
        if earlier is not None:
            return earlier
    return None


def find_open_session(conn: Connection, shop_id: int, consumer_id: int) -> Row | None:
    """The consumer's open session with a shop, if it has one; an unknown shop is not_found."""
    if account_store.shop_by_id(conn, shop_id) is None:
        raise NotFound(what="shop")
    return session_store.open_session_for(conn, shop_id, consumer_id)


def is_resend(conn: Connection, earlier: Row, out: Outgoing) -> bool:
    """Is ``out`` the message stored as ``earlier`` sent again (same target, kind and
    content), rather than a new message that reuses its client id? Only runs when the client
    id was seen before, so the message path pays nothing for it."""
    if earlier["kind"] != out.kind:
        return False
    if out.session_id is not None:
        if earlier["session_id"] != out.session_id:
            return False
    else:
        session = session_store.session_by_id(conn, earlier["session_id"])
        if session is None or session["shop_id"] != out.shop_id:
            return False
    if earlier["content"] == out.content:
        return True
    # Stored masked: compare with the original the violation record keeps for reviewers.
    original = violation_store.masked_original(
        conn, earlier["sender_role"], earlier["sender_id"], out.client_id, earlier["id"]
    )
    return original is not None and original == {"kind": out.kind, **out.content}


# --- reading the record ------------------------------------------------------------------------


def event_record(conn: Connection, principal: Principal, session_id: int) -> list[Row]:
    """The session's events in recorded order, as the event API shows them."""
    visible_session(conn, principal, session_id)
    rows = event_store.session_events_for(conn, [session_id])
    return [{"type": r["type"], "ts": r["ts"], **r["data"]} for r in rows]


def message_page(
    conn: Connection,
    principal: Principal,
    session_id: int,
    after_seq: int | None,
    before_seq: int | None,
    limit: int,
) -> list[Row]:
    visible_session(conn, principal, session_id)
    rows = message_store.messages_page(conn, session_id, after_seq, before_seq, limit)
    return [message_view(m) for m in rows]


def missed_messages(
    conn: Connection, principal: Principal, wanted: dict[int, int], limit: int
) -> list[Row]:
    """Messages after the seq the client has, per visible session, at most ``limit`` in all;
    unknown or foreign sessions are skipped silently (the client asked; it learns nothing)."""

    def visible() -> Iterator[tuple[int, int]]:
        # Lazily: sessions after a full page are not even looked up.
        for session_id, after in wanted.items():
            try:
                visible_session(conn, principal, session_id)
            except ServiceError:
                continue
            yield session_id, after

    return [message_view(m) for m in message_store.messages_after(conn, visible(), limit)]
