"""A session judged by its parties: the consumer's rating, either side's report, the shop's
blacklist of a consumer (docs/rules.md §3 (2) note, §5)."""

from __future__ import annotations

from sqlalchemy import Connection

from feige.domain import Row
from feige.services.context import Context, Outbox, Principal
from feige.services.errors import Forbidden, Invalid
from feige.services.lib import audit, conversation, moderation_records
from feige.services.lib.tenancy import visible_session
from feige.services.lib.views import session_view


def _rate(
    conn: Connection, outbox: Outbox, principal: Principal, session_id: int, score: int, now: float
) -> Row:
    session = visible_session(conn, principal, session_id)
    conversation.rate(conn, outbox, session, score, now)
    return session_view(session)


async def rate(ctx: Context, principal: Principal, session_id: int, score: int) -> Row:
    """1–5 by the consumer, during or after the session; the last rating counts (§5)."""
    if principal.kind != "consumer":
        raise Forbidden()
    if not isinstance(score, int) or not 1 <= score <= 5:
        raise Invalid(detail="score 1–5")
    return await ctx.write_and_publish(_rate, principal, session_id, score, ctx.clock())


def _report(
    conn: Connection, outbox: Outbox, principal: Principal, session_id: int, reason: str, now: float
) -> Row:
    session = visible_session(conn, principal, session_id)
    if principal.kind == "member" and not (
        principal.is_supervisor or session["agent_id"] == principal.id
    ):
        raise Forbidden("not_your_session")
    report_id = moderation_records.report(conn, outbox, principal, session, reason, now)
    return {"id": report_id, "session": session_view(session)}


async def report(ctx: Context, principal: Principal, session_id: int, reason: str) -> Row:
    """Either side reports a session; recorded for reviewers, and the session is invalid."""
    if principal.kind == "staff":
        raise Forbidden()
    reason = (reason or "").strip()
    if not reason or len(reason) > 500:
        raise Invalid(detail="reason 1–500")
    job = audit.audited(
        _report, principal, "session.report", "session", ctx.clock(), record_id=session_id
    )
    return await ctx.write_and_publish(job, principal, session_id, reason, ctx.clock())


def _blacklist(
    conn: Connection, outbox: Outbox, principal: Principal, session_id: int, reason: str, now: float
) -> Row:
    session = visible_session(conn, principal, session_id)
    if not (principal.is_supervisor or session["agent_id"] == principal.id):
        raise Forbidden("not_your_session")
    moderation_records.blacklist(conn, outbox, principal.id, session, reason, now)
    return session_view(session)


async def blacklist(ctx: Context, principal: Principal, session_id: int, reason: str) -> Row:
    """The shop blacklists the session's consumer: further messages are refused."""
    if principal.kind != "member":
        raise Forbidden()
    reason = (reason or "").strip() or "-"
    job = audit.audited(_blacklist, principal, "session.blacklist", "session", ctx.clock())
    return await ctx.write_and_publish(job, principal, session_id, reason[:500], ctx.clock())


async def list_blacklist(ctx: Context, principal: Principal) -> list[Row]:
    if principal.kind != "member" or principal.shop_id is None:
        raise Forbidden()
    return await ctx.db.read(moderation_records.blacklist_of, principal.shop_id)
