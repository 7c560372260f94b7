"""The session event log (docs/interfaces.md): stored events, and message events read from
``messages`` (docs/architecture.md, "a message is its own session event")."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection, select

from feige.domain import Row, SenderRole
from feige.store.sql import all_rows, json_in, raw
from feige.store.tables import messages, session_events, sessions


def insert_event(
    conn: Connection, session_id: int, shop_id: int, type_: str, ts: float, data: Row
) -> None:
    """A non-message event, placed after the session's messages so far (``after_seq``)."""
    raw(
        conn,
        "INSERT INTO session_events (session_id, shop_id, type, ts, data, after_seq)"
        " VALUES (?, ?, ?, ?, ?, (SELECT last_seq FROM sessions WHERE id = ?))",
        (session_id, shop_id, type_, ts, json_in(data), session_id),
    )


# The senders whose message events name the agent (docs/interfaces.md: agent and robot-assisted).
_MESSAGE_EVENT_ROLES = frozenset({SenderRole.AGENT.value, SenderRole.ROBOT_ASSIST.value})


def session_events_for(conn: Connection, session_ids: Iterable[int]) -> list[Row]:
    """The sessions' events in recorded order, message events included.

    Message events are not stored twice: they come from ``messages`` (role, kind, agent,
    time) and go between the stored events by ``after_seq``, so each stored event follows
    exactly the messages that preceded it. ``id`` numbers the returned rows in that order.
    """
    ids = list(session_ids)
    if not ids:
        return []
    events = all_rows(
        conn,
        select(session_events)
        .where(session_events.c.session_id.in_(ids))
        .order_by(session_events.c.session_id, session_events.c.id),
    )
    said = conn.execute(
        select(
            messages.c.session_id,
            sessions.c.shop_id,
            messages.c.seq,
            messages.c.sender_role,
            messages.c.sender_id,
            messages.c.kind,
            messages.c.created_at,
        )
        .join(sessions, sessions.c.id == messages.c.session_id)
        .where(messages.c.session_id.in_(ids))
        .order_by(messages.c.session_id, messages.c.seq)
    ).all()
    out: list[Row] = []
    i = 0
    for session_id, shop_id, seq, role, sender_id, kind, created_at in said:
        # Stored events of earlier sessions, and of this one before this message.
        while i < len(events) and (events[i]["session_id"], events[i]["after_seq"]) < (
            session_id,
            seq,
        ):
            out.append(events[i])
            i += 1
        data: Row = {"role": role, "kind": kind}
        if role in _MESSAGE_EVENT_ROLES and sender_id is not None:
            data["agent"] = str(sender_id)
        out.append(
            {
                "session_id": session_id,
                "shop_id": shop_id,
                "type": "message",
                "ts": created_at,
                "data": data,
                "after_seq": seq - 1,
            }
        )
    out.extend(events[i:])
    for position, row in enumerate(out):
        row["id"] = position
    return out


def sessions_with_events_since(conn: Connection, since: float, scan: int) -> tuple[set[int], bool]:
    """The sessions with a stored event (open, queued, assigned, transferred, rated, flagged,
    closed …) at or after ``since``, among the newest ``scan`` events: a backward walk of the
    primary key, never a scan of the table. The flag says the walk reached its bound before
    ``since`` (older changes were left out)."""
    recent = (
        select(session_events.c.session_id, session_events.c.ts)
        .order_by(session_events.c.id.desc())
        .limit(scan)
        .subquery()
    )
    rows = conn.execute(select(recent.c.session_id, recent.c.ts)).all()
    found = {int(r.session_id) for r in rows if r.ts >= since}
    cut_short = len(rows) >= scan and min(r.ts for r in rows) >= since
    return found, cut_short
