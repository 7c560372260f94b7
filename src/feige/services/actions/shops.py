"""Shops as consumers meet them: a shop's public card, and a consumer's block of a shop
(docs/web.md, "The chat header" and "Blocking a shop")."""

from __future__ import annotations

from sqlalchemy import Connection

from feige.domain import Row
from feige.services.context import Context, Outbox, Principal
from feige.services.errors import Forbidden
from feige.services.lib import shops


async def shop_card(ctx: Context, principal: Principal, shop_id: int) -> Row:
    """Any signed-in caller: the name and whether anyone answers now; nothing private."""
    return await ctx.db.read(shops.shop_card, principal, shop_id)


def _block(conn: Connection, outbox: Outbox, principal: Principal, shop_id: int, now: float) -> Row:
    return shops.block(conn, outbox, principal.id, shop_id, now)


async def block_shop(ctx: Context, principal: Principal, shop_id: int) -> Row:
    """A consumer blocks a shop; its events (the session closing) go out after the commit."""
    if principal.kind != "consumer":
        raise Forbidden()
    return await ctx.write_and_publish(_block, principal, shop_id, ctx.clock())


def _unblock(conn: Connection, principal: Principal, shop_id: int) -> Row:
    return shops.unblock(conn, principal.id, shop_id)


async def unblock_shop(ctx: Context, principal: Principal, shop_id: int) -> Row:
    if principal.kind != "consumer":
        raise Forbidden()
    return await ctx.db.write(_unblock, principal, shop_id)
