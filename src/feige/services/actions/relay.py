"""The node's reads for repairing fan-out across nodes (``RedisBroker``'s fill and catch-up).
No principal: the broker hands what is read only to the local subscribers of the session's
channels, the same sockets the lost publish was for."""

from __future__ import annotations

from typing import Any

from feige.services.context import Context
from feige.services.lib import relay

# A gap is read in pages of this many messages.
FILL_PAGE = 500


async def messages_between(
    ctx: Context, session_id: int, after_seq: int, upto_seq: int
) -> list[dict[str, Any]]:
    """The session's messages after ``after_seq`` up to ``upto_seq``, as their events carry
    them."""
    out: list[dict[str, Any]] = []
    while after_seq < upto_seq:
        upto = min(upto_seq, after_seq + FILL_PAGE)
        page = await ctx.db.read(relay.messages_between, session_id, after_seq, upto)
        out += page
        after_seq = upto
    return out


async def latest(ctx: Context, session_ids: list[int]) -> dict[int, int]:
    return await ctx.db.read(relay.last_seqs, session_ids)
