"""Shops and accounts: creating them, a supervisor's or admin's changes (ranks, revocation),
one's own password and signing out everywhere, a shop's settings (docs/security.md)."""

from __future__ import annotations

import asyncio
from functools import partial
from typing import Any

from sqlalchemy import Connection

from feige.domain import AgentStatus, MemberRole, RoutingMode
from feige.services.context import Context, Principal
from feige.services.errors import Forbidden, Invalid, NotFound, Unauthenticated
from feige.services.lib import accounts, audit, screening
from feige.services.lib.accounts import STAFF_RANKS


def require_staff(principal: Principal, *roles: str) -> None:
    if not principal.is_staff or (roles and principal.role not in roles):
        raise Forbidden()


def require_supervisor(principal: Principal, shop_id: int | None = None) -> int:
    """The shop an owner or manager may manage; another shop's id answers 404."""
    if not principal.is_supervisor or principal.shop_id is None:
        raise Forbidden()
    if shop_id is not None and shop_id != principal.shop_id:
        raise NotFound(what="shop")
    return principal.shop_id


async def create_shop(
    ctx: Context, actor: Principal, name: str, owner_username: str, owner_password: str
) -> dict[str, Any]:
    require_staff(actor, "admin")
    screening.require_clean(ctx, name=name)
    s = ctx.settings
    return await ctx.db.write(
        audit.audited(accounts.create_shop, actor, "shop.create", "shop", ctx.clock()),
        name,
        owner_username,
        await asyncio.to_thread(accounts.hash_password, owner_password),
        ctx.clock(),
        s.default_welcome_message,
        s.default_routing_mode,
        s.default_agent_capacity,
    )


async def create_member(
    ctx: Context,
    actor: Principal,
    username: str,
    password: str,
    display_name: str,
    role: str,
    capacity: int | None,
) -> dict[str, Any]:
    shop_id = require_supervisor(actor)
    if role not in (MemberRole.MANAGER, MemberRole.AGENT):
        raise Invalid(detail="role")
    if role == MemberRole.MANAGER and actor.role != MemberRole.OWNER:
        raise Forbidden()
    if not (3 <= len(username) <= 64) or len(password) < 6:
        raise Invalid(detail="username / password")
    screening.require_clean(ctx, display_name=display_name or username)
    values = {
        "shop_id": shop_id,
        "username": username,
        "password_hash": await asyncio.to_thread(accounts.hash_password, password),
        "role": role,
        "display_name": display_name or username,
        "status": AgentStatus.OFFLINE.value,
        "capacity": capacity or ctx.settings.default_agent_capacity,
        "created_at": ctx.clock(),
    }
    job = audit.audited(accounts.create_member, actor, "member.create", "member", ctx.clock())
    return await ctx.db.write(job, values)


async def list_members(ctx: Context, actor: Principal) -> list[dict[str, Any]]:
    if actor.kind != "member" or actor.shop_id is None:
        raise Forbidden()
    return await ctx.db.read(accounts.members_of, actor.shop_id)


async def _account_changes(
    capacity: int | None, active: bool | None, password: str | None, role: str | None
) -> dict[str, Any]:
    """The columns a member or staff update sets (the password hashed off the loop)."""
    changes: dict[str, Any] = {}
    if capacity is not None:
        if not 1 <= capacity <= 200:
            raise Invalid(detail="capacity 1–200")
        changes["capacity"] = capacity
    if active is not None:
        changes["active"] = active
    if role is not None:
        changes["role"] = role
    if password is not None:
        if len(password) < 6:
            raise Invalid(detail="password")
        changes["password_hash"] = await asyncio.to_thread(accounts.hash_password, password)
    return changes


async def update_member(
    ctx: Context,
    actor: Principal,
    member_id: int,
    capacity: int | None,
    active: bool | None,
    password: str | None,
    role: str | None = None,
    display_name: str | None = None,
) -> dict[str, Any]:
    """A supervisor changes a member of lower rank: capacity, role, active, password,
    display name. A deactivated member's open sessions go back to routing, and its sockets
    close."""
    require_supervisor(actor)
    changes = await _account_changes(capacity, active, password, role)
    if display_name is not None:
        display_name = display_name.strip()
        if not 1 <= len(display_name) <= 64:
            raise Invalid(detail="display_name 1–64")
        screening.require_clean(ctx, display_name=display_name)
        changes["display_name"] = display_name
    job = audit.audited(
        accounts.update_member,
        actor,
        "member.update",
        "member",
        ctx.clock(),
        before=audit.snapshot("member", member_id),
    )
    return await ctx.write_and_publish(
        job,
        actor,
        member_id,
        changes,
        ctx.settings,
        partial(screening.shown_name, ctx.moderator),
        ctx.clock(),
    )


async def list_staff(ctx: Context, actor: Principal) -> list[dict[str, Any]]:
    require_staff(actor, "admin")
    return await ctx.db.read(accounts.all_staff)


async def add_staff(
    ctx: Context, actor: Principal, username: str, password: str, display_name: str, role: str
) -> dict[str, Any]:
    """An admin adds a reviewer or another admin."""
    require_staff(actor, "admin")
    if role not in STAFF_RANKS:
        raise Invalid(detail="role")
    if not (3 <= len(username) <= 64) or len(password) < 6:
        raise Invalid(detail="username / password")
    password_hash = await asyncio.to_thread(accounts.hash_password, password)
    name = display_name or username

    def job(conn: Connection) -> dict[str, Any]:
        staff_id = accounts.create_staff(conn, username, password_hash, role, name, ctx.clock())
        return accounts.staff_account(conn, staff_id)

    return await ctx.db.write(audit.audited(job, actor, "staff.create", "staff", ctx.clock()))


async def update_staff(
    ctx: Context,
    actor: Principal,
    staff_id: int,
    active: bool | None,
    password: str | None,
    role: str | None,
) -> dict[str, Any]:
    """An admin changes a reviewer (admin > reviewer), or demotes itself."""
    require_staff(actor, "admin")
    changes = await _account_changes(None, active, password, role)
    job = audit.audited(
        accounts.update_staff,
        actor,
        "staff.update",
        "staff",
        ctx.clock(),
        before=audit.snapshot("staff", staff_id),
    )
    return await ctx.write_and_publish(job, actor, staff_id, changes)


async def change_password(
    ctx: Context, actor: Principal, current_password: str, new_password: str
) -> dict[str, Any]:
    """Change one's own password: every other sign-in ends; this one gets a new token."""
    if actor.kind == "consumer":
        raise Forbidden()  # consumers sign in through the marketplace
    if len(new_password) < 6:
        raise Invalid(detail="password")
    row = await ctx.db.read(accounts.account, actor.kind, actor.id)
    if row is None or not row.get("active", True):
        raise Unauthenticated("token_revoked")
    if not await asyncio.to_thread(accounts.password_ok, row["password_hash"], current_password):
        raise Invalid("wrong_password")
    password_hash = await asyncio.to_thread(accounts.hash_password, new_password)
    job = audit.audited(
        accounts.set_password,
        actor,
        "account.password",
        actor.kind,
        ctx.clock(),
        record_id=actor.id,
    )
    version = await ctx.write_and_publish(job, actor, password_hash)
    principal = accounts.principal_from_row(actor.kind, {**row, "token_version": version})
    return accounts.issue_token(ctx.settings, ctx.clock(), principal)


async def sign_out_everywhere(ctx: Context, actor: Principal) -> dict[str, Any]:
    """Every token of the account stops working and every socket it has open closes."""
    job = audit.audited(
        accounts.revoke,
        actor,
        "account.sign_out_everywhere",
        actor.kind,
        ctx.clock(),
        record_id=actor.id,
    )
    await ctx.write_and_publish(job, actor.kind, actor.id, "signed_out")
    return {"signed_out": True}


async def update_shop(
    ctx: Context, actor: Principal, routing_mode: str | None, welcome_message: str | None
) -> dict[str, Any]:
    shop_id = require_supervisor(actor)
    changes: dict[str, Any] = {}
    if routing_mode is not None:
        if routing_mode not in {m.value for m in RoutingMode}:
            raise Invalid(detail="routing_mode")
        changes["routing_mode"] = routing_mode
    if welcome_message is not None:
        screening.require_clean(ctx, welcome_message=welcome_message)
        changes["welcome_message"] = welcome_message or None
    job = audit.audited(
        accounts.update_shop,
        actor,
        "shop.update",
        "shop",
        ctx.clock(),
        before=audit.snapshot("shop", shop_id),
    )
    return await ctx.db.write(job, shop_id, changes)
