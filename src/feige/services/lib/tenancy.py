"""Who sees which session (docs/architecture.md, "Tenancy"): decided here and nowhere else.

A consumer its own sessions; an agent those it serves and those waiting for any agent of its
shop; owners and managers their shop's; platform staff every shop's. Every read and write of
a session goes through ``visible_session``, which answers ``not_found`` for a session the
caller may not see, so another tenant's ids look like ids that do not exist.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from feige.domain import WAITING_STATES, Row, SessionState
from feige.services.context import Principal
from feige.services.errors import Forbidden, Invalid, NotFound
from feige.store import sessions as session_store

# ``state=open`` in a session list: every session not closed yet (the full-auto robot's too).
OPEN_STATES = [SessionState.ASSIGNED.value, *WAITING_STATES, SessionState.ROBOT.value]


def can_see(principal: Principal, session: Row) -> bool:
    if principal.kind == "staff":
        return True
    if principal.kind == "consumer":
        return bool(session["consumer_id"] == principal.id)
    if session["shop_id"] != principal.shop_id:
        return False
    if principal.is_supervisor:
        return True
    return session["agent_id"] == principal.id or session["state"] in WAITING_STATES


def visible_session(
    conn: Connection, principal: Principal, session_id: int, with_blacklist: bool = False
) -> Row:
    session = session_store.session_by_id(conn, session_id, with_blacklist)
    if session is None or not can_see(principal, session):
        raise NotFound(what="session")
    return session


def served_session(conn: Connection, principal: Principal, session_id: int) -> Row:
    """An open session the caller serves: its agent, or a supervisor of its shop."""
    session = visible_session(conn, principal, session_id)
    if session["state"] == SessionState.CLOSED:
        raise Invalid("session_closed")
    if principal.kind != "member" or not (
        session["agent_id"] == principal.id or principal.is_supervisor
    ):
        raise Forbidden("not_your_session")
    return session


def visible_sessions(
    conn: Connection,
    principal: Principal,
    *,
    state: str | None,
    order_no: str | None,
    consumer: str | None,
    before_id: int | None,
    limit: int,
) -> list[Row]:
    """A page of the sessions the caller may see (newest first), with consumer nicknames.
    ``state`` is one state or ``open`` (assigned, queued, offline or robot)."""
    filters: dict[str, Any] = {
        "states": OPEN_STATES if state == "open" else [state] if state else None,
        "order_no": order_no,
        "consumer_query": consumer,
        "before_id": before_id,
        "limit": limit,
    }
    if principal.kind == "consumer":
        filters["consumer_id"] = principal.id
    elif principal.kind == "member":
        filters["shop_id"] = principal.shop_id
        if not principal.is_supervisor:
            filters["agent_id"] = principal.id
            filters["include_waiting"] = True
    return session_store.list_sessions(conn, **filters)


def earlier_sessions(
    conn: Connection, principal: Principal, session_id: int, limit: int
) -> list[Row]:
    """The same consumer's other sessions with the same shop, newest first, for whoever may
    see this one: the agent serving a buyer sees what the buyer asked the shop before (the
    sessions only; their messages keep their own visibility)."""
    session = visible_session(conn, principal, session_id)
    rows = session_store.list_sessions(
        conn, shop_id=session["shop_id"], consumer_id=session["consumer_id"], limit=limit + 1
    )
    return [row for row in rows if row["id"] != session_id][:limit]
