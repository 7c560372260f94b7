"""The node's health, for load balancers and operators."""

from __future__ import annotations

from typing import Any

from feige import __version__
from feige.services.context import Context
from feige.services.lib.node import database_answers


async def health(ctx: Context) -> dict[str, Any]:
    """The node answers and its database does too."""
    await ctx.db.read(database_answers)
    return {"status": "ok", "version": __version__, "database": ctx.db.engine.dialect.name}
