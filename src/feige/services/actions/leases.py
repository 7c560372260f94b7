"""Which node runs a background job that must run once across nodes (the idle close):
the holder of the job's lease, renewed on every run; a node that dies stops renewing and
another takes the job over ``seconds`` later."""

from __future__ import annotations

from feige.services.context import Context
from feige.services.lib import leases


async def hold(ctx: Context, job: str, node: str, seconds: float) -> bool:
    return await ctx.db.write(leases.hold, job, node, ctx.clock(), seconds)


async def release(ctx: Context, job: str, node: str) -> None:
    await ctx.db.write(leases.release, job, node)
