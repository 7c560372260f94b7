"""A queued consumer's place in the shop's queue (docs/protocol.md, "Queue position"): read
for a session's view, and told again to every consumer still queued whenever the queue
moves. First come, first served: the order is the one ``assignment.drain`` serves."""

from __future__ import annotations

from sqlalchemy import Connection

from feige.domain import Row, SessionState
from feige.services import channels
from feige.services.context import Outbox
from feige.services.lib.views import session_view
from feige.store import sessions as session_store


def position_of(conn: Connection, session: Row) -> int | None:
    """1 for the head of the queue; None when the session is not queued."""
    if session["state"] != SessionState.QUEUED:
        return None
    for index, row in enumerate(session_store.queued_sessions(conn, session["shop_id"])):
        if row["id"] == session["id"]:
            return index + 1
    return None


def with_position(conn: Connection, session: Row) -> Row:
    """The session with its ``queue_position`` filled in (None unless queued)."""
    session["queue_position"] = position_of(conn, session)
    return session


def push_queued(
    conn: Connection, outbox: Outbox, session: Row, change: str, *extra_agents: int | None
) -> None:
    """The ``session`` event of a session entering the queue (or waiting offline): its
    consumer's copy carries the place in the queue, everybody else's ``None``, as their
    REST views do (an agent's copy would go stale: queue moves are told to consumers)."""
    consumer = channels.account("consumer", session["consumer_id"])
    others = tuple(c for c in channels.session_audience(session, *extra_agents) if c != consumer)
    outbox.add(others, {"type": "session", "change": change, "session": session_view(session)})
    mine = {**session, "queue_position": position_of(conn, session)}
    outbox.add((consumer,), {"type": "session", "change": change, "session": session_view(mine)})


def announce(conn: Connection, outbox: Outbox, shop_id: int) -> None:
    """The queue moved (a queued session left it): every consumer still queued gets its
    session again with the new position, on its own channel only (the shop's agents see
    the queue in their list; the position is the consumer's cue). Published after the
    commit, like every event of the job."""
    for index, session in enumerate(session_store.queued_sessions(conn, shop_id)):
        session["queue_position"] = index + 1
        outbox.add(
            (channels.account("consumer", session["consumer_id"]),),
            {"type": "session", "change": "queue", "session": session_view(session)},
        )
