"""Session actions: reception status, take, transfer, close, rate, report, blacklist."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from feige.domain import AgentStatus, EventType, FlagReason, SessionState
from feige.routing import AgentLoad, can_go_offline, can_receive_transfer
from feige.services import compliance, reception
from feige.services.context import Context, Outbox, Principal
from feige.services.errors import Forbidden, Invalid, NotFound
from feige.store import accounts as account_store
from feige.store import events as event_store
from feige.store import moderation_records, sql
from feige.store import sessions as session_store
from feige.store.tables import sessions

Row = dict[str, Any]
WAITING = (SessionState.QUEUED.value, SessionState.OFFLINE.value)
# ``state=open`` in a session list: every session not closed yet.
OPEN_STATES = [SessionState.ASSIGNED.value, *WAITING]


def can_see(principal: Principal, session: Row) -> bool:
    """Tenancy: a consumer its own sessions; an agent those it serves or that wait for any
    agent of its shop; owners and managers their shop's; platform staff every shop's."""
    if principal.kind == "staff":
        return True
    if principal.kind == "consumer":
        return bool(session["consumer_id"] == principal.id)
    if session["shop_id"] != principal.shop_id:
        return False
    if principal.is_supervisor:
        return True
    return session["agent_id"] == principal.id or session["state"] in WAITING


def visible_session(
    conn: Connection, principal: Principal, session_id: int, with_blacklist: bool = False
) -> Row:
    session = session_store.session_by_id(conn, session_id, with_blacklist)
    if session is None or not can_see(principal, session):
        raise NotFound(what="session")
    return session


def _agent_load(conn: Connection, member: Row) -> AgentLoad:
    return AgentLoad(
        member["id"],
        AgentStatus(member["status"]),
        member["capacity"],
        session_store.open_session_count(conn, member["id"]),
        member["last_assigned_at"],
    )


async def _run(ctx: Context, job: Any, *args: Any) -> Any:
    """One write job with its own outbox, published after the commit."""
    outbox = Outbox()
    result = await ctx.db.write(job, *args, outbox=outbox)
    await ctx.publish(outbox)
    return result


# --- reading ---------------------------------------------------------------------------------


async def get_session(ctx: Context, principal: Principal, session_id: int) -> Row:
    session = await ctx.db.read(visible_session, principal, session_id)
    return reception.session_view(session)


async def list_sessions(
    ctx: Context,
    principal: Principal,
    *,
    state: str | None = None,
    order_no: str | None = None,
    consumer: str | None = None,
    before_id: int | None = None,
    limit: int = 50,
) -> list[Row]:
    """History and workbench lists, scoped by role; search by consumer or order number.
    ``state`` is one state or ``open`` (assigned, queued or offline); pages go backwards by
    id (``before_id``: the last id of the previous page)."""
    limit = max(1, min(limit, 200))
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
    rows = await ctx.db.read(lambda conn: session_store.list_sessions(conn, **filters))
    out = []
    for row in rows:
        view = reception.session_view(row)
        view["consumer_nickname"] = row["consumer_nickname"]
        out.append(view)
    return out


async def session_events(ctx: Context, principal: Principal, session_id: int) -> list[Row]:
    """The session's event record, for supervisors and platform staff."""
    if not (principal.is_supervisor or principal.is_staff):
        raise Forbidden()

    def job(conn: Connection) -> list[Row]:
        visible_session(conn, principal, session_id)
        return event_store.session_events_for(conn, [session_id])

    rows = await ctx.db.read(job)
    return [{"type": r["type"], "ts": r["ts"], **r["data"]} for r in rows]


# --- agent status ------------------------------------------------------------------------------


def _set_status(
    conn: Connection, outbox: Outbox, member_id: int, status: AgentStatus, now: float
) -> Row:
    member = account_store.member_by_id(conn, member_id)
    assert member is not None
    open_count = session_store.open_session_count(conn, member_id)
    if status is AgentStatus.OFFLINE and not can_go_offline(open_count):
        raise Invalid("has_open_sessions", count=open_count)
    account_store.set_member_status(conn, member_id, status)
    outbox.add(
        (f"member:{member_id}", f"shop:{member['shop_id']}:supervisors"),
        {"type": "agent_status", "agent_id": member_id, "status": status.value},
    )
    if status is AgentStatus.ONLINE:
        reception.drain(conn, outbox, member["shop_id"], now)
    return {"agent_id": member_id, "status": status.value, "open_sessions": open_count}


async def set_status(ctx: Context, principal: Principal, status: str) -> Row:
    if principal.kind != "member":
        raise Forbidden()
    try:
        wanted = AgentStatus(status)
    except ValueError as exc:
        raise Invalid(detail="status") from exc
    return await _run(ctx, _set_status, principal.id, wanted, ctx.clock())


# --- take, transfer, close ----------------------------------------------------------------------


def _take(
    conn: Connection, outbox: Outbox, principal: Principal, session_id: int, now: float
) -> Row:
    session = visible_session(conn, principal, session_id)
    if session["state"] not in WAITING:
        raise Invalid("not_waiting")
    shop = account_store.lock_shop(conn, session["shop_id"])
    member = account_store.member_by_id(conn, principal.id)
    assert shop is not None and member is not None
    load = _agent_load(conn, member)
    if load.status is AgentStatus.OFFLINE or not load.has_room:
        raise Invalid("agent_busy")
    reception.assign(conn, outbox, session, shop, principal.id, now)
    return reception.session_view(session)


async def take(ctx: Context, principal: Principal, session_id: int) -> Row:
    """An agent takes a queued or offline-message session (docs/rules.md 2.2.1)."""
    if principal.kind != "member":
        raise Forbidden()
    return await _run(ctx, _take, principal, session_id, ctx.clock())


def _serving(conn: Connection, principal: Principal, session_id: int) -> Row:
    session = visible_session(conn, principal, session_id)
    if session["state"] == SessionState.CLOSED:
        raise Invalid("session_closed")
    if principal.kind != "member" or not (
        session["agent_id"] == principal.id or principal.is_supervisor
    ):
        raise Forbidden("not_your_session")
    return session


def _transfer(
    conn: Connection,
    outbox: Outbox,
    principal: Principal,
    session_id: int,
    to_agent: int,
    now: float,
    moderator: Any = None,
) -> Row:
    session = _serving(conn, principal, session_id)
    if session["state"] != SessionState.ASSIGNED:
        raise Invalid("not_your_session")
    target = account_store.member_by_id(conn, to_agent)
    if target is None or target["shop_id"] != session["shop_id"] or not target["active"]:
        raise NotFound(what="agent")
    if target["id"] == session["agent_id"]:
        raise Invalid(detail="already serving")
    account_store.lock_shop(conn, session["shop_id"])
    if not can_receive_transfer(_agent_load(conn, target)):
        raise Invalid("agent_busy")
    # The consumer reads the target's name: checked when saved, and again here for names
    # stored before that check existed.
    reception.move_to(conn, outbox, session, target, compliance.shown_name(moderator, target), now)
    reception.drain(conn, outbox, session["shop_id"], now)
    return reception.session_view(session)


async def transfer(ctx: Context, principal: Principal, session_id: int, to_agent: int) -> Row:
    return await _run(ctx, _transfer, principal, session_id, to_agent, ctx.clock(), ctx.moderator)


def _close(
    conn: Connection, outbox: Outbox, principal: Principal, session_id: int, now: float
) -> Row:
    session = _serving(conn, principal, session_id)
    reception.close(conn, outbox, session, "agent", now)
    return reception.session_view(session)


async def close(ctx: Context, principal: Principal, session_id: int) -> Row:
    return await _run(ctx, _close, principal, session_id, ctx.clock())


def _close_idle(conn: Connection, outbox: Outbox, cutoff: float, now: float) -> int:
    closed = 0
    for row in session_store.idle_sessions(conn, cutoff):
        session = session_store.session_by_id(conn, row["id"])
        if session is not None and session["state"] != SessionState.CLOSED:
            reception.close(conn, outbox, session, "idle", now)
            closed += 1
    return closed


async def close_idle(ctx: Context) -> int:
    """Close sessions with no message from either side for the idle limit (docs/rules.md §2.1)."""
    now = ctx.clock()
    cutoff = now - ctx.settings.session_idle_close_seconds
    return await _run(ctx, _close_idle, cutoff, now)


# --- rating, report, blacklist ----------------------------------------------------------------


def _rate(
    conn: Connection, outbox: Outbox, principal: Principal, session_id: int, score: int, now: float
) -> Row:
    session = visible_session(conn, principal, session_id)
    session["rating"] = score
    sql.update_row(conn, sessions, session_id, rating=score)
    reception.record(conn, session, EventType.RATED, now, score=score)
    reception.push_session(outbox, session, "rated")
    return reception.session_view(session)


async def rate(ctx: Context, principal: Principal, session_id: int, score: int) -> Row:
    """1–5 by the consumer, during or after the session; the last rating counts (§5)."""
    if principal.kind != "consumer":
        raise Forbidden()
    if not isinstance(score, int) or not 1 <= score <= 5:
        raise Invalid(detail="score 1–5")
    return await _run(ctx, _rate, principal, session_id, score, ctx.clock())


def flag(conn: Connection, outbox: Outbox, session: Row, reason: FlagReason, now: float) -> None:
    """Make a session invalid for metrics (docs/rules.md §3 (2) note), once per reason."""
    if session_store.add_invalid_reason(conn, session, reason.value):
        reception.record(conn, session, EventType.FLAGGED, now, reason=reason.value)
        reception.push_session(outbox, session, "flagged")


def _report(
    conn: Connection, outbox: Outbox, principal: Principal, session_id: int, reason: str, now: float
) -> Row:
    session = visible_session(conn, principal, session_id)
    if principal.kind == "member" and not (
        principal.is_supervisor or session["agent_id"] == principal.id
    ):
        raise Forbidden("not_your_session")
    report_id = moderation_records.insert_report(
        conn,
        session_id=session_id,
        shop_id=session["shop_id"],
        reporter_kind=principal.kind,
        reporter_id=principal.id,
        reason=reason,
        created_at=now,
    )
    flag(conn, outbox, session, FlagReason.REPORTED, now)
    return {"id": report_id, "session": reception.session_view(session)}


async def report(ctx: Context, principal: Principal, session_id: int, reason: str) -> Row:
    """Either side reports a session; recorded for reviewers, and the session is invalid."""
    if principal.kind == "staff":
        raise Forbidden()
    reason = (reason or "").strip()
    if not reason or len(reason) > 500:
        raise Invalid(detail="reason 1–500")
    return await _run(ctx, _report, principal, session_id, reason, ctx.clock())


def _blacklist(
    conn: Connection, outbox: Outbox, principal: Principal, session_id: int, reason: str, now: float
) -> Row:
    session = visible_session(conn, principal, session_id)
    if not (principal.is_supervisor or session["agent_id"] == principal.id):
        raise Forbidden("not_your_session")
    if not moderation_records.is_blacklisted(conn, session["shop_id"], session["consumer_id"]):
        moderation_records.insert_blacklist(
            conn,
            shop_id=session["shop_id"],
            consumer_id=session["consumer_id"],
            reason=reason,
            created_by=principal.id,
            created_at=now,
        )
    flag(conn, outbox, session, FlagReason.BLACKLISTED, now)
    return reception.session_view(session)


async def blacklist(ctx: Context, principal: Principal, session_id: int, reason: str) -> Row:
    """The shop blacklists the session's consumer: further messages are refused."""
    if principal.kind != "member":
        raise Forbidden()
    reason = (reason or "").strip() or "-"
    return await _run(ctx, _blacklist, principal, session_id, reason[:500], ctx.clock())


async def list_blacklist(ctx: Context, principal: Principal) -> list[Row]:
    if principal.kind != "member" or principal.shop_id is None:
        raise Forbidden()
    rows = await ctx.db.read(moderation_records.list_blacklist, principal.shop_id)
    return [
        {
            "consumer_id": r["consumer_id"],
            "consumer_nickname": r["consumer_nickname"],
            "reason": r["reason"],
            "created_at": r["created_at"],
        }
        for r in rows
    ]
