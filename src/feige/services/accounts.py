"""Sign-in, tokens and who may see what (tenancy is checked here, once, for every action)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from typing import Any

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection

from feige import __version__
from feige.domain import AgentStatus, MemberRole, RoutingMode
from feige.services import compliance
from feige.services.context import Context, Principal
from feige.services.errors import Forbidden, Invalid, NotFound, Unauthenticated
from feige.store import repo
from feige.store.tables import consumers, members, shops, staff

_hasher = PasswordHasher()
SIGNATURE_WINDOW_SECONDS = 300
# A hash to verify against when the user does not exist, so timing does not reveal it.
_DUMMY_HASH = _hasher.hash("feige-no-such-user")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def _password_ok(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def issue_token(ctx: Context, principal: Principal) -> dict[str, Any]:
    now = int(ctx.clock())
    expires = now + ctx.settings.token_ttl_seconds
    claims = {"sub": f"{principal.kind}:{principal.id}", "iat": now, "exp": expires}
    token = jwt.encode(claims, ctx.settings.signing_key(), algorithm="HS256")
    return {"token": token, "expires_at": expires, "principal": principal_view(principal)}


def principal_view(principal: Principal) -> dict[str, Any]:
    return {
        "kind": principal.kind,
        "id": principal.id,
        "role": principal.role,
        "name": principal.name,
        "shop_id": principal.shop_id,
    }


def _principal_from_row(kind: str, row: dict[str, Any]) -> Principal:
    if kind == "staff":
        return Principal("staff", row["id"], row["role"], row["display_name"])
    if kind == "member":
        return Principal("member", row["id"], row["role"], row["display_name"], row["shop_id"])
    return Principal("consumer", row["id"], "consumer", row["nickname"])


def _load_principal(conn: Connection, kind: str, subject_id: int) -> Principal | None:
    if kind == "staff":
        row = repo.staff_by_id(conn, subject_id)
    elif kind == "member":
        row = repo.member_by_id(conn, subject_id)
        if row is not None and not row["active"]:
            return None
    elif kind == "consumer":
        row = repo.consumer_by_id(conn, subject_id)
    else:
        return None
    return _principal_from_row(kind, row) if row is not None else None


async def authenticate(ctx: Context, token: str | None) -> Principal:
    """The principal behind a bearer token; expired, forged or stale tokens are refused."""
    if not token:
        raise Unauthenticated()
    try:
        # Expiry is checked against the node's clock below, the one every action uses.
        claims = jwt.decode(
            token,
            ctx.settings.signing_key(),
            algorithms=["HS256"],
            options={"require": ["exp"], "verify_exp": False, "verify_iat": False},
        )
    except jwt.PyJWTError as exc:
        raise Unauthenticated("token_invalid") from exc
    if not isinstance(claims.get("exp"), int) or claims["exp"] <= ctx.clock():
        raise Unauthenticated("token_expired")
    kind, _, raw_id = str(claims.get("sub", "")).partition(":")
    if not raw_id.isdigit():
        raise Unauthenticated("token_invalid")
    principal = await ctx.db.read(_load_principal, kind, int(raw_id))
    if principal is None:
        raise Unauthenticated("token_invalid")
    return principal


async def login(ctx: Context, kind: str, username: str, password: str) -> dict[str, Any]:
    """Password sign-in for platform staff and shop members."""
    finder = repo.staff_by_username if kind == "staff" else repo.member_by_username
    row = await ctx.db.read(finder, username)
    stored = row["password_hash"] if row is not None else _DUMMY_HASH
    # argon2 is deliberately slow: off the event loop, or every socket stalls meanwhile.
    if not await asyncio.to_thread(_password_ok, stored, password) or row is None:
        raise Unauthenticated("bad_credentials")
    if kind == "member" and not row["active"]:
        raise Unauthenticated("bad_credentials")
    return issue_token(ctx, _principal_from_row(kind, row))


def platform_signature(secret: str, external_id: str, nickname: str, ts: int) -> str:
    """HMAC the marketplace computes to vouch for one of its users."""
    message = f"{external_id}\n{nickname}\n{ts}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def _upsert_consumer(
    conn: Connection, external_id: str, nickname: str, now: float
) -> dict[str, Any]:
    row = repo.consumer_by_external(conn, external_id)
    if row is None:
        new_id = repo.insert_row(
            conn, consumers, external_id=external_id, nickname=nickname, created_at=now
        )
        return {"id": new_id, "external_id": external_id, "nickname": nickname}
    if nickname and row["nickname"] != nickname:
        repo.update_row(conn, consumers, row["id"], nickname=nickname)
        row["nickname"] = nickname
    return row


async def consumer_token(
    ctx: Context, external_id: str, nickname: str, ts: int, signature: str
) -> dict[str, Any]:
    """Token for a marketplace user, vouched for by the platform's HMAC signature."""
    expected = platform_signature(ctx.settings.platform_secret, external_id, nickname, ts)
    fresh = abs(ctx.clock() - ts) <= SIGNATURE_WINDOW_SECONDS
    if not (fresh and hmac.compare_digest(expected, signature)):
        raise Unauthenticated("bad_signature")
    return await _consumer_login(ctx, external_id, nickname)


async def demo_consumer_token(ctx: Context, external_id: str, nickname: str) -> dict[str, Any]:
    if not ctx.demo:
        raise NotFound(what="demo")
    return await _consumer_login(ctx, external_id, nickname or external_id)


async def _consumer_login(ctx: Context, external_id: str, nickname: str) -> dict[str, Any]:
    if not external_id or len(external_id) > 128 or len(nickname) > 64:
        raise Invalid(detail="external_id / nickname")
    row = await ctx.db.write(_upsert_consumer, external_id, nickname, ctx.clock())
    return issue_token(ctx, Principal("consumer", row["id"], "consumer", row["nickname"]))


# --- shops and sub-accounts -------------------------------------------------------------


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


def member_view(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "shop_id": row["shop_id"],
        "username": row["username"],
        "display_name": row["display_name"],
        "role": row["role"],
        "status": row["status"],
        "capacity": row["capacity"],
        "active": bool(row["active"]),
    }


def shop_view(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "name": row["name"],
        "routing_mode": row["routing_mode"],
        "welcome_message": row["welcome_message"],
    }


def _username_free(conn: Connection, username: str) -> None:
    if repo.member_by_username(conn, username) or repo.staff_by_username(conn, username):
        raise Invalid("duplicate", what=username)


def create_shop_sync(
    conn: Connection,
    name: str,
    owner_username: str,
    owner_password_hash: str,
    now: float,
    welcome: str | None,
    routing_mode: str,
    capacity: int,
) -> dict[str, Any]:
    _username_free(conn, owner_username)
    shop_id = repo.insert_row(
        conn, shops, name=name, routing_mode=routing_mode, welcome_message=welcome, created_at=now
    )
    repo.insert_row(
        conn,
        members,
        shop_id=shop_id,
        username=owner_username,
        password_hash=owner_password_hash,
        role=MemberRole.OWNER.value,
        display_name=f"{name}店主",
        status=AgentStatus.OFFLINE.value,
        capacity=capacity,
        created_at=now,
    )
    row = repo.shop_by_id(conn, shop_id)
    assert row is not None
    return shop_view(row)


async def create_shop(
    ctx: Context, actor: Principal, name: str, owner_username: str, owner_password: str
) -> dict[str, Any]:
    require_staff(actor, "admin")
    compliance.require_clean(ctx, name=name)
    s = ctx.settings
    return await ctx.db.write(
        create_shop_sync,
        name,
        owner_username,
        await asyncio.to_thread(hash_password, owner_password),
        ctx.clock(),
        s.default_welcome_message,
        s.default_routing_mode,
        s.default_agent_capacity,
    )


def create_member_sync(conn: Connection, values: dict[str, Any]) -> dict[str, Any]:
    _username_free(conn, values["username"])
    member_id = repo.insert_row(conn, members, **values)
    row = repo.member_by_id(conn, member_id)
    assert row is not None
    return member_view(row)


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
    compliance.require_clean(ctx, display_name=display_name or username)
    values = {
        "shop_id": shop_id,
        "username": username,
        "password_hash": await asyncio.to_thread(hash_password, password),
        "role": role,
        "display_name": display_name or username,
        "status": AgentStatus.OFFLINE.value,
        "capacity": capacity or ctx.settings.default_agent_capacity,
        "created_at": ctx.clock(),
    }
    return await ctx.db.write(create_member_sync, values)


async def list_members(ctx: Context, actor: Principal) -> list[dict[str, Any]]:
    if actor.kind != "member" or actor.shop_id is None:
        raise Forbidden()
    rows = await ctx.db.read(repo.shop_members, actor.shop_id)
    return [member_view(r) for r in rows]


def _update_member_sync(
    conn: Connection, shop_id: int, member_id: int, changes: dict[str, Any]
) -> dict[str, Any]:
    row = repo.member_by_id(conn, member_id)
    if row is None or row["shop_id"] != shop_id:
        raise NotFound(what="member")
    repo.update_row(conn, members, member_id, **changes)
    row.update(changes)
    return member_view(row)


async def update_member(
    ctx: Context,
    actor: Principal,
    member_id: int,
    capacity: int | None,
    active: bool | None,
    password: str | None,
    display_name: str | None = None,
) -> dict[str, Any]:
    shop_id = require_supervisor(actor)
    if active is False and member_id == actor.id:
        raise Invalid(detail="cannot deactivate yourself")
    changes: dict[str, Any] = {}
    if capacity is not None:
        if not 1 <= capacity <= 200:
            raise Invalid(detail="capacity 1–200")
        changes["capacity"] = capacity
    if active is not None:
        changes["active"] = active
    if password is not None:
        if len(password) < 6:
            raise Invalid(detail="password")
        changes["password_hash"] = await asyncio.to_thread(hash_password, password)
    if display_name is not None:
        display_name = display_name.strip()
        if not 1 <= len(display_name) <= 64:
            raise Invalid(detail="display_name 1–64")
        compliance.require_clean(ctx, display_name=display_name)
        changes["display_name"] = display_name
    return await ctx.db.write(_update_member_sync, shop_id, member_id, changes)


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
        compliance.require_clean(ctx, welcome_message=welcome_message)
        changes["welcome_message"] = welcome_message or None

    def job(conn: Connection) -> dict[str, Any]:
        if changes:
            repo.update_row(conn, shops, shop_id, **changes)
        row = repo.shop_by_id(conn, shop_id)
        assert row is not None
        return shop_view(row)

    return await ctx.db.write(job)


def create_staff_sync(
    conn: Connection, username: str, password_hash: str, role: str, name: str, now: float
) -> int:
    _username_free(conn, username)
    return repo.insert_row(
        conn,
        staff,
        username=username,
        password_hash=password_hash,
        role=role,
        display_name=name,
        created_at=now,
    )


async def health(ctx: Context) -> dict[str, Any]:
    """The node answers and its database does too."""
    await ctx.db.read(repo.ping)
    return {"status": "ok", "version": __version__, "database": ctx.db.engine.dialect.name}
