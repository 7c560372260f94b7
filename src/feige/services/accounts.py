"""Sign-in, tokens and who may see what (tenancy is checked here, once, for every action)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from dataclasses import dataclass
from functools import partial
from typing import Any

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection

from feige import __version__
from feige.domain import AgentStatus, MemberRole, RoutingMode
from feige.services import compliance, reception
from feige.services.context import REVOCATIONS_CHANNEL, Context, Outbox, Principal
from feige.services.errors import Forbidden, Invalid, NotFound, Unauthenticated
from feige.store import accounts as account_store
from feige.store import sql
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
    claims = {
        "sub": f"{principal.kind}:{principal.id}",
        "tv": principal.token_version,
        "iat": now,
        "exp": expires,
    }
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
    version = int(row.get("token_version") or 0)
    if kind == "staff":
        return Principal("staff", row["id"], row["role"], row["display_name"], None, version)
    if kind == "member":
        return Principal(
            "member", row["id"], row["role"], row["display_name"], row["shop_id"], version
        )
    return Principal("consumer", row["id"], "consumer", row["nickname"], None, version)


ACCOUNT_TABLES = {"staff": staff, "member": members, "consumer": consumers}


def _account_row(conn: Connection, kind: str, account_id: int) -> dict[str, Any] | None:
    """An account by kind and id, active or not."""
    if kind == "staff":
        row = account_store.staff_by_id(conn, account_id)
    elif kind == "member":
        row = account_store.member_by_id(conn, account_id)
    elif kind == "consumer":
        row = account_store.consumer_by_id(conn, account_id)
    else:
        return None
    return row


def _load_principal(conn: Connection, kind: str, subject_id: int) -> Principal | None:
    """The account behind a token; a deactivated one keeps no version any token can match."""
    row = _account_row(conn, kind, subject_id)
    if row is None:
        return None
    if not row.get("active", True):
        row = {**row, "token_version": -1}
    return _principal_from_row(kind, row)


@dataclass(frozen=True, slots=True)
class Grant:
    """A verified token: who, and until when (a socket closes itself at ``expires_at``)."""

    principal: Principal
    expires_at: int


async def authenticate(ctx: Context, token: Any) -> Principal:
    """The principal behind a bearer token; expired, forged, revoked or stale tokens are
    refused."""
    return (await verify_token(ctx, token)).principal


async def verify_token(ctx: Context, token: Any) -> Grant:
    if not token or not isinstance(token, str) or len(token) > 4096:
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
    expires = claims.get("exp")
    if not isinstance(expires, int) or isinstance(expires, bool) or expires <= ctx.clock():
        raise Unauthenticated("token_expired")
    kind, _, raw_id = str(claims.get("sub", "")).partition(":")
    if not raw_id.isdigit() or len(raw_id) > 18:
        raise Unauthenticated("token_invalid")
    version = claims.get("tv", 0)
    if not isinstance(version, int) or isinstance(version, bool):
        raise Unauthenticated("token_invalid")
    principal = await ctx.db.read(_load_principal, kind, int(raw_id))
    if principal is None:
        raise Unauthenticated("token_invalid")
    if principal.token_version != version:
        raise Unauthenticated("token_revoked")
    return Grant(principal, expires)


async def login(ctx: Context, kind: str, username: str, password: str) -> dict[str, Any]:
    """Password sign-in for platform staff and shop members."""
    finder = (
        account_store.staff_by_username if kind == "staff" else account_store.member_by_username
    )
    row = await ctx.db.read(finder, username)
    stored = row["password_hash"] if row is not None else _DUMMY_HASH
    # argon2 is deliberately slow: off the event loop, or every socket stalls meanwhile.
    if not await asyncio.to_thread(_password_ok, stored, password) or row is None:
        raise Unauthenticated("bad_credentials")
    if not row["active"]:
        raise Unauthenticated("bad_credentials")
    return issue_token(ctx, _principal_from_row(kind, row))


def platform_signature(secret: str, external_id: str, nickname: str, ts: int) -> str:
    """HMAC the marketplace computes to vouch for one of its users."""
    message = f"{external_id}\n{nickname}\n{ts}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def _upsert_consumer(
    conn: Connection, external_id: str, nickname: str, now: float
) -> dict[str, Any]:
    row = account_store.consumer_by_external(conn, external_id)
    if row is None:
        nickname = nickname or external_id  # until the marketplace gives it a name
        new_id = sql.insert_row(
            conn, consumers, external_id=external_id, nickname=nickname, created_at=now
        )
        return {"id": new_id, "external_id": external_id, "nickname": nickname, "token_version": 0}
    if nickname and row["nickname"] != nickname:  # no name given: the known one stays
        sql.update_row(conn, consumers, row["id"], nickname=nickname)
        row["nickname"] = nickname
    return row


async def consumer_token(
    ctx: Context, external_id: str, nickname: str, ts: int, signature: str
) -> dict[str, Any]:
    """Token for a marketplace user, vouched for by the platform's HMAC signature."""
    if not ctx.settings.platform_secret:
        # No secret, no integration: a default secret would let anybody mint tokens.
        raise Forbidden("integration_not_configured")
    expected = platform_signature(ctx.settings.platform_secret, external_id, nickname, ts)
    fresh = abs(ctx.clock() - ts) <= SIGNATURE_WINDOW_SECONDS
    if not (fresh and hmac.compare_digest(expected, signature)):
        raise Unauthenticated("bad_signature")
    return await _consumer_login(ctx, external_id, nickname)


async def demo_consumer_token(ctx: Context, external_id: str, nickname: str) -> dict[str, Any]:
    if not ctx.demo:
        raise NotFound(what="demo")
    return await _consumer_login(ctx, external_id, nickname)


async def _consumer_login(ctx: Context, external_id: str, nickname: str) -> dict[str, Any]:
    if not external_id or len(external_id) > 128 or len(nickname) > 64:
        raise Invalid(detail="external_id / nickname")
    row = await ctx.db.write(_upsert_consumer, external_id, nickname, ctx.clock())
    return issue_token(ctx, _principal_from_row("consumer", row))


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
    """One answer for a name taken in this shop, another shop or the platform's staff, so
    that creating accounts cannot be used to find out who else exists."""
    if account_store.member_by_username(conn, username) or account_store.staff_by_username(
        conn, username
    ):
        raise Invalid("username_unavailable")


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
    shop_id = sql.insert_row(
        conn, shops, name=name, routing_mode=routing_mode, welcome_message=welcome, created_at=now
    )
    sql.insert_row(
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
    row = account_store.shop_by_id(conn, shop_id)
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
    member_id = sql.insert_row(conn, members, **values)
    row = account_store.member_by_id(conn, member_id)
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
    rows = await ctx.db.read(account_store.shop_members, actor.shop_id)
    return [member_view(r) for r in rows]


# --- ranks and revocation (docs/security.md) ---------------------------------------------

MEMBER_RANKS = {MemberRole.AGENT.value: 1, MemberRole.MANAGER.value: 2, MemberRole.OWNER.value: 3}
STAFF_RANKS = {"reviewer": 1, "admin": 2}
# The top role of each kind: its holders may appoint peers (co-owners, more admins), and the
# last active one can be neither demoted nor deactivated.
TOP_ROLE = {"member": MemberRole.OWNER.value, "staff": "admin"}
REVOKED = "revoked"


def _ranks(kind: str) -> dict[str, int]:
    return STAFF_RANKS if kind == "staff" else MEMBER_RANKS


def check_rank(
    actor: Principal, target: dict[str, Any], changes: dict[str, Any], active_tops: int
) -> None:
    """Owner > manager > agent, admin > reviewer: an account changes only accounts of lower
    rank; itself only to a lower role; never the last active top account out of its role."""
    ranks = _ranks(actor.kind)
    mine, theirs = ranks[actor.role], ranks[target["role"]]
    role = changes.get("role")
    if role is not None and role not in ranks:
        raise Invalid(detail="role")
    top = TOP_ROLE[actor.kind]
    if target["id"] == actor.id:
        if changes.get("active") is False:
            raise Invalid(detail="cannot deactivate yourself")
        if "password_hash" in changes:
            raise Forbidden("outranked")  # one's own password: /api/me/password
        if role is not None and ranks[role] > mine:
            raise Forbidden("outranked")
    else:
        promotes_peer = role is not None and ranks[role] >= mine
        if theirs >= mine or (promotes_peer and not (role == top and actor.role == top)):
            raise Forbidden("outranked")
    leaves_top = (role is not None and role != top) or changes.get("active") is False
    if target["role"] == top and target["active"] and leaves_top and active_tops <= 1:
        raise Invalid("last_owner" if actor.kind == "member" else "last_admin")


def revocation_reason(target: dict[str, Any], changes: dict[str, Any]) -> str | None:
    """Why the account's tokens stop working after these changes, if they do."""
    if changes.get("active") is False and target["active"]:
        return "deactivated"
    if "password_hash" in changes:
        return "password_changed"
    if changes.get("role") not in (None, target["role"]):
        return "role_changed"
    return None


def revoke(conn: Connection, outbox: Outbox, kind: str, account_id: int, reason: str) -> int:
    """Every token the account holds stops working, and every socket it has open, on every
    node, is closed (the ``revoked`` event: to the account, and to each node's watch)."""
    version = account_store.bump_token_version(conn, ACCOUNT_TABLES[kind], account_id)
    channel = f"{kind}:{account_id}"
    outbox.add(
        (channel, REVOCATIONS_CHANNEL),
        {"type": REVOKED, "account": channel, "version": version, "reason": reason},
    )
    return version


def _update_member_sync(
    conn: Connection,
    outbox: Outbox,
    actor: Principal,
    member_id: int,
    changes: dict[str, Any],
    settings: Any,
    moderator: Any,
    now: float,
) -> dict[str, Any]:
    row = account_store.member_by_id(conn, member_id)
    if row is None or row["shop_id"] != actor.shop_id:
        raise NotFound(what="member")
    owners = account_store.count_active(conn, members, MemberRole.OWNER.value, row["shop_id"])
    check_rank(actor, row, changes, owners)
    reason = revocation_reason(row, changes)
    if reason == "deactivated":
        changes["status"] = AgentStatus.OFFLINE.value
    if changes:
        sql.update_row(conn, members, member_id, **changes)
    row.update(changes)
    if reason is not None:
        row["token_version"] = revoke(conn, outbox, "member", member_id, reason)
    if reason == "deactivated":
        reception.hand_back(
            conn, outbox, member_id, settings, now, partial(compliance.shown_name, moderator)
        )
        outbox.add(
            (f"member:{member_id}", f"shop:{row['shop_id']}:supervisors"),
            {"type": "agent_status", "agent_id": member_id, "status": AgentStatus.OFFLINE.value},
        )
    return member_view(row)


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
        changes["password_hash"] = await asyncio.to_thread(hash_password, password)
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
        compliance.require_clean(ctx, display_name=display_name)
        changes["display_name"] = display_name
    outbox = Outbox()
    result: dict[str, Any] = await ctx.db.write(
        _update_member_sync,
        actor,
        member_id,
        changes,
        ctx.settings,
        ctx.moderator,
        ctx.clock(),
        outbox=outbox,
    )
    await ctx.publish(outbox)
    return result


# --- platform staff -----------------------------------------------------------------------


def staff_view(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "username": row["username"],
        "display_name": row["display_name"],
        "role": row["role"],
        "active": bool(row["active"]),
    }


async def list_staff(ctx: Context, actor: Principal) -> list[dict[str, Any]]:
    require_staff(actor, "admin")
    return [staff_view(r) for r in await ctx.db.read(account_store.list_staff)]


async def add_staff(
    ctx: Context, actor: Principal, username: str, password: str, display_name: str, role: str
) -> dict[str, Any]:
    """An admin adds a reviewer or another admin."""
    require_staff(actor, "admin")
    if role not in STAFF_RANKS:
        raise Invalid(detail="role")
    if not (3 <= len(username) <= 64) or len(password) < 6:
        raise Invalid(detail="username / password")
    password_hash = await asyncio.to_thread(hash_password, password)

    def job(conn: Connection) -> dict[str, Any]:
        staff_id = create_staff_sync(
            conn, username, password_hash, role, display_name or username, ctx.clock()
        )
        row = account_store.staff_by_id(conn, staff_id)
        assert row is not None
        return staff_view(row)

    return await ctx.db.write(job)


def _update_staff_sync(
    conn: Connection, outbox: Outbox, actor: Principal, staff_id: int, changes: dict[str, Any]
) -> dict[str, Any]:
    row = account_store.staff_by_id(conn, staff_id)
    if row is None:
        raise NotFound(what="staff")
    check_rank(actor, row, changes, account_store.count_active(conn, staff, "admin"))
    reason = revocation_reason(row, changes)
    if changes:
        sql.update_row(conn, staff, staff_id, **changes)
    row.update(changes)
    if reason is not None:
        revoke(conn, outbox, "staff", staff_id, reason)
    return staff_view(row)


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
    outbox = Outbox()
    result: dict[str, Any] = await ctx.db.write(
        _update_staff_sync, actor, staff_id, changes, outbox=outbox
    )
    await ctx.publish(outbox)
    return result


# --- one's own account -----------------------------------------------------------------------


async def change_password(
    ctx: Context, actor: Principal, current_password: str, new_password: str
) -> dict[str, Any]:
    """Change one's own password: every other sign-in ends; this one gets a new token."""
    if actor.kind == "consumer":
        raise Forbidden()  # consumers sign in through the marketplace
    if len(new_password) < 6:
        raise Invalid(detail="password")
    row = await ctx.db.read(_account_row, actor.kind, actor.id)
    if row is None or not row.get("active", True):
        raise Unauthenticated("token_revoked")
    if not await asyncio.to_thread(_password_ok, row["password_hash"], current_password):
        raise Invalid("wrong_password")
    password_hash = await asyncio.to_thread(hash_password, new_password)
    table = ACCOUNT_TABLES[actor.kind]

    def job(conn: Connection, outbox: Outbox) -> int:
        sql.update_row(conn, table, actor.id, password_hash=password_hash)
        return revoke(conn, outbox, actor.kind, actor.id, "password_changed")

    outbox = Outbox()
    version = await ctx.db.write(job, outbox=outbox)
    await ctx.publish(outbox)
    return issue_token(ctx, _principal_from_row(actor.kind, {**row, "token_version": version}))


async def sign_out_everywhere(ctx: Context, actor: Principal) -> dict[str, Any]:
    """Every token of the account stops working and every socket it has open closes."""
    outbox = Outbox()
    await ctx.db.write(revoke, actor.kind, actor.id, "signed_out", outbox=outbox)
    await ctx.publish(outbox)
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
        compliance.require_clean(ctx, welcome_message=welcome_message)
        changes["welcome_message"] = welcome_message or None

    def job(conn: Connection) -> dict[str, Any]:
        if changes:
            sql.update_row(conn, shops, shop_id, **changes)
        row = account_store.shop_by_id(conn, shop_id)
        assert row is not None
        return shop_view(row)

    return await ctx.db.write(job)


def create_staff_sync(
    conn: Connection, username: str, password_hash: str, role: str, name: str, now: float
) -> int:
    _username_free(conn, username)
    return sql.insert_row(
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
    await ctx.db.read(sql.ping)
    return {"status": "ok", "version": __version__, "database": ctx.db.engine.dialect.name}
