"""What a participant signals besides messages: read receipts (stored) and typing (not)."""

from __future__ import annotations

from feige.domain import Row, SessionState
from feige.services import channels
from feige.services.context import Context, Outbox, Principal
from feige.services.errors import Forbidden, Invalid
from feige.services.lib import conversation
from feige.services.lib.outgoing import is_id
from feige.services.lib.tenancy import visible_session


async def mark_read(ctx: Context, principal: Principal, session_id: int, seq: int) -> Row:
    """Read receipt: the reader has seen everything up to ``seq``."""
    if principal.kind == "staff":
        raise Forbidden()
    if not is_id(session_id) or not isinstance(seq, int) or seq < 0:
        raise Invalid("malformed", detail="session_id / seq")
    return await ctx.write_and_publish(conversation.mark_read, principal, session_id, seq)


async def typing(ctx: Context, principal: Principal, session_id: int) -> None:
    """Typing indicators go straight to the broker; they are never stored."""
    if principal.kind == "staff":
        raise Forbidden()  # reviewers read sessions; they do not take part in them
    if not is_id(session_id):
        raise Invalid("malformed", detail="session_id")
    session = await ctx.db.read(visible_session, principal, session_id)
    if session["state"] == SessionState.CLOSED:
        return
    outbox = Outbox()
    outbox.add(
        channels.session_audience(session),
        {"type": "typing", "session_id": session_id, "who": principal.kind, "id": principal.id},
    )
    await ctx.publish(outbox)
