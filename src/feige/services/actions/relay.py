"""The node's reads for repairing fan-out across nodes (``RedisBroker``'s fill and catch-up).
No principal: the broker hands what is read only to the local subscribers of the session's
channels, the same sockets the lost publish was for."""

from __future__ import annotations

from typing import Any

import structlog

from feige.realtime import frames
from feige.services.context import Context
from feige.services.lib import relay

log = structlog.get_logger(__name__)

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


# How many of the newest stored session events a repair looks through for changes since the
# loss began (a primary-key walk; an outage with more changes than this leaves older ones to
# the clients' next fetch, and says so in the log).
REPAIR_SCAN = 50_000

Delivery = tuple[tuple[str, ...], bytes]


async def repair(
    ctx: Context, known: dict[int, tuple[str, ...]], since: float | None, accounts: list[str]
) -> list[Delivery]:
    """What this node's sockets may have missed while Redis lost events, re-read from the
    store (docs/architecture.md, "Repairing the other events Redis loses"): the state of
    every session it heard of lately (``known``: id → channels it knew it by) and, when the
    loss began at ``since``, of every session changed since then; and a ``revoked`` event
    for each of ``accounts`` (the account channels with sockets here) whose tokens were
    revoked past what the node's watch knows."""
    wanted = dict(known)
    if since is not None:
        changed, cut_short = await ctx.db.read(relay.changed_since, since, REPAIR_SCAN)
        if cut_short:
            log.warning("repair_scan_cut_short", since=since, scanned=REPAIR_SCAN)
        for session_id in changed:
            wanted.setdefault(session_id, ())
    out: list[Delivery] = []
    ids = sorted(wanted)
    for start in range(0, len(ids), 500):
        chunk = {i: wanted[i] for i in ids[start : start + 500]}
        for audience, event in await ctx.db.read(relay.session_snapshots, chunk):
            out.append((audience, frames.event(event)))
    if accounts:
        versions = await ctx.db.read(relay.token_versions, accounts)
        heard = ctx.revocations.versions
        for account, version in versions.items():
            if version > heard.get(account, 0):
                audience, event = relay.revoked_event(account, version)
                out.append((audience, frames.event(event)))
    return out
