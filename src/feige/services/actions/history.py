"""Reading sessions and their messages: lists, one session, its event record, a page of
messages, what a reconnecting client missed. Scoped by ``lib.tenancy``; nothing changes."""

from __future__ import annotations

from sqlalchemy import Connection

from feige.domain import Row
from feige.services.context import Context, Principal
from feige.services.errors import Forbidden
from feige.services.lib import conversation, queue, tenancy
from feige.services.lib.tenancy import visible_session, visible_sessions
from feige.services.lib.views import session_view


def _consumer_view(conn: Connection, principal: Principal, session: Row) -> Row:
    """A consumer's queued session carries its place in the queue."""
    if principal.kind == "consumer":
        queue.with_position(conn, session)
    return session


async def get_session(ctx: Context, principal: Principal, session_id: int) -> Row:
    def job(conn: Connection) -> Row:
        return _consumer_view(conn, principal, visible_session(conn, principal, session_id))

    return session_view(await ctx.db.read(job))


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
    rows = await ctx.db.read(
        lambda conn: [
            _consumer_view(conn, principal, row)
            for row in visible_sessions(
                conn,
                principal,
                state=state,
                order_no=order_no,
                consumer=consumer,
                before_id=before_id,
                limit=max(1, min(limit, 200)),
            )
        ]
    )
    return [{**session_view(row), "consumer_nickname": row["consumer_nickname"]} for row in rows]


async def earlier_sessions(
    ctx: Context, principal: Principal, session_id: int, limit: int = 20
) -> list[Row]:
    """The consumer's other sessions with this session's shop (the workbench's buyer panel)."""
    rows = await ctx.db.read(tenancy.earlier_sessions, principal, session_id, limit)
    return [session_view(row) for row in rows]


async def session_events(ctx: Context, principal: Principal, session_id: int) -> list[Row]:
    """The session's event record, for supervisors and platform staff."""
    if not (principal.is_supervisor or principal.is_staff):
        raise Forbidden()
    return await ctx.db.read(conversation.event_record, principal, session_id)


async def history(
    ctx: Context,
    principal: Principal,
    session_id: int,
    *,
    after_seq: int | None = None,
    before_seq: int | None = None,
    limit: int = 50,
) -> list[Row]:
    """A page of a session's messages, oldest first."""
    limit = max(1, min(limit, 500))
    return await ctx.db.read(
        conversation.message_page, principal, session_id, after_seq, before_seq, limit
    )


async def missed(
    ctx: Context, principal: Principal, wanted: dict[int, int], limit: int
) -> tuple[list[Row], bool]:
    """What a reconnecting client missed, per session after the seq it has: at most
    ``limit`` messages, and whether there are more."""
    rows = await ctx.db.read(conversation.missed_messages, principal, wanted, limit + 1)
    return rows[:limit], len(rows) > limit
