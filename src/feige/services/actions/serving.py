"""An agent serving sessions (docs/rules.md 2.2.1): its status, taking a waiting session,
transferring, closing; and the node closing idle sessions (docs/rules.md §2.1)."""

from __future__ import annotations

from functools import partial

from sqlalchemy import Connection

from feige.domain import AgentStatus, Row
from feige.moderation import Moderator
from feige.services.context import Context, Outbox, Principal
from feige.services.errors import Forbidden, Invalid
from feige.services.lib import assignment, audit, screening
from feige.services.lib.tenancy import served_session, visible_session
from feige.services.lib.views import session_view


async def set_status(ctx: Context, principal: Principal, status: str) -> Row:
    if principal.kind != "member":
        raise Forbidden()
    try:
        wanted = AgentStatus(status)
    except ValueError as exc:
        raise Invalid(detail="status") from exc
    return await ctx.write_and_publish(
        assignment.set_agent_status, principal.id, wanted, ctx.clock()
    )


def _take(
    conn: Connection, outbox: Outbox, principal: Principal, session_id: int, now: float
) -> Row:
    session = visible_session(conn, principal, session_id)
    assignment.take(conn, outbox, session, principal.id, now)
    return session_view(session)


async def take(ctx: Context, principal: Principal, session_id: int) -> Row:
    """An agent takes a queued or offline-message session (docs/rules.md 2.2.1)."""
    if principal.kind != "member":
        raise Forbidden()
    job = audit.audited(_take, principal, "session.take", "session", ctx.clock())
    return await ctx.write_and_publish(job, principal, session_id, ctx.clock())


def _transfer(
    conn: Connection,
    outbox: Outbox,
    principal: Principal,
    session_id: int,
    to_agent: int,
    moderator: Moderator | None,
    now: float,
) -> Row:
    session = served_session(conn, principal, session_id)
    # The consumer reads the target's name: checked when saved, and again here for names
    # stored before that check existed.
    shown_name = partial(screening.shown_name, moderator)
    assignment.transfer(conn, outbox, session, to_agent, shown_name, now)
    return session_view(session)


async def transfer(ctx: Context, principal: Principal, session_id: int, to_agent: int) -> Row:
    job = audit.audited(_transfer, principal, "session.transfer", "session", ctx.clock())
    return await ctx.write_and_publish(
        job, principal, session_id, to_agent, ctx.moderator, ctx.clock()
    )


def _close(
    conn: Connection, outbox: Outbox, principal: Principal, session_id: int, now: float
) -> Row:
    session = served_session(conn, principal, session_id)
    assignment.close(conn, outbox, session, "agent", now)
    return session_view(session)


async def close(ctx: Context, principal: Principal, session_id: int) -> Row:
    job = audit.audited(_close, principal, "session.close", "session", ctx.clock())
    return await ctx.write_and_publish(job, principal, session_id, ctx.clock())


async def close_idle(ctx: Context) -> int:
    """Close sessions with no message from either side for the idle limit (docs/rules.md §2.1)."""
    now = ctx.clock()
    cutoff = now - ctx.settings.session_idle_close_seconds
    return await ctx.write_and_publish(assignment.close_idle, cutoff, now)
