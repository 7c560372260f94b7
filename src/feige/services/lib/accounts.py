"""Accounts inside a write job: who a token's subject is, creating shops and accounts, the
rank rules, revocation, and the changes a supervisor or admin makes (docs/security.md)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection

from feige.config import Settings
from feige.domain import AgentStatus, MemberRole, Row
from feige.services import channels
from feige.services.context import Outbox, Principal
from feige.services.errors import Forbidden, Invalid, NotFound
from feige.services.lib.assignment import hand_back
from feige.services.lib.views import member_view, principal_view, shop_view, staff_view
from feige.store import accounts as account_store
from feige.store import sessions as session_store

_hasher = PasswordHasher()
# A hash to verify against when the user does not exist, so timing does not reveal it.
DUMMY_HASH = _hasher.hash("feige-no-such-user")
MEMBER_RANKS = {MemberRole.AGENT.value: 1, MemberRole.MANAGER.value: 2, MemberRole.OWNER.value: 3}
STAFF_RANKS = {"reviewer": 1, "admin": 2}
# The top role of each kind: its holders may appoint peers (co-owners, more admins), and the
# last active one can be neither demoted nor deactivated.
TOP_ROLE = {"member": MemberRole.OWNER.value, "staff": "admin"}
REVOKED = "revoked"


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def password_ok(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def issue_token(settings: Settings, now: float, principal: Principal) -> dict[str, Any]:
    issued = int(now)
    expires = issued + settings.token_ttl_seconds
    claims = {
        "sub": f"{principal.kind}:{principal.id}",
        "tv": principal.token_version,
        "iat": issued,
        "exp": expires,
    }
    token = jwt.encode(claims, settings.signing_key(), algorithm="HS256")
    # ``expires_in`` as well as ``expires_at``: a client counts the lifetime on its own clock,
    # which may be hours off the server's (a shop computer set by hand).
    return {
        "token": token,
        "expires_at": expires,
        "expires_in": settings.token_ttl_seconds,
        "principal": principal_view(principal),
    }


def principal_from_row(kind: str, row: Row) -> Principal:
    version = int(row.get("token_version") or 0)
    if kind == "staff":
        return Principal("staff", row["id"], row["role"], row["display_name"], None, version)
    if kind == "member":
        return Principal(
            "member", row["id"], row["role"], row["display_name"], row["shop_id"], version
        )
    return Principal("consumer", row["id"], "consumer", row["nickname"], None, version)


def account(conn: Connection, kind: str, account_id: int) -> Row | None:
    """An account by kind and id, active or not."""
    return account_store.account_by_id(conn, kind, account_id)


def load_principal(conn: Connection, kind: str, subject_id: int) -> Principal | None:
    """The account behind a token; a deactivated one keeps no version any token can match."""
    row = account(conn, kind, subject_id)
    if row is None:
        return None
    if not row.get("active", True):
        row = {**row, "token_version": -1}
    return principal_from_row(kind, row)


def sign_in_account(conn: Connection, kind: str, username: str) -> Row | None:
    """The staff or member account a password sign-in names."""
    if kind == "staff":
        return account_store.staff_by_username(conn, username)
    return account_store.member_by_username(conn, username)


def consumer_signed_in(conn: Connection, external_id: str, nickname: str, now: float) -> Row:
    """The marketplace's user, created at its first sign-in; its nickname kept up to date."""
    row = account_store.consumer_by_external(conn, external_id)
    if row is None:
        nickname = nickname or external_id  # until the marketplace gives it a name
        new_id = account_store.insert_consumer(
            conn, external_id=external_id, nickname=nickname, created_at=now
        )
        return {"id": new_id, "external_id": external_id, "nickname": nickname, "token_version": 0}
    if nickname and row["nickname"] != nickname:  # no name given: the known one stays
        account_store.update_consumer(conn, row["id"], nickname=nickname)
        row["nickname"] = nickname
    return row


# --- shops and accounts --------------------------------------------------------------------


def _username_free(conn: Connection, username: str) -> None:
    """One answer for a name taken in this shop, another shop or the platform's staff, so
    that creating accounts cannot be used to find out who else exists."""
    if account_store.member_by_username(conn, username) or account_store.staff_by_username(
        conn, username
    ):
        raise Invalid("username_unavailable")


def create_shop(
    conn: Connection,
    name: str,
    owner_username: str,
    owner_password_hash: str,
    now: float,
    welcome: str | None,
    routing_mode: str,
    capacity: int,
) -> dict[str, Any]:
    """A shop and its owner's account."""
    _username_free(conn, owner_username)
    shop_id = account_store.insert_shop(
        conn, name=name, routing_mode=routing_mode, welcome_message=welcome, created_at=now
    )
    account_store.insert_member(
        conn,
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


def update_shop(conn: Connection, shop_id: int, changes: dict[str, Any]) -> dict[str, Any]:
    account_store.update_shop(conn, shop_id, **changes)
    row = account_store.shop_by_id(conn, shop_id)
    assert row is not None
    return shop_view(row)


def create_member(conn: Connection, values: dict[str, Any]) -> dict[str, Any]:
    _username_free(conn, values["username"])
    member_id = account_store.insert_member(conn, **values)
    row = account_store.member_by_id(conn, member_id)
    assert row is not None
    return member_view(row, open_sessions=0)


def members_of(conn: Connection, shop_id: int) -> list[dict[str, Any]]:
    loads = {r["id"]: r["open_sessions"] for r in account_store.agent_loads(conn, shop_id)}
    return [
        member_view(r, int(loads.get(r["id"], 0)))
        for r in account_store.shop_members(conn, shop_id)
    ]


def create_staff(
    conn: Connection, username: str, password_hash: str, role: str, name: str, now: float
) -> int:
    _username_free(conn, username)
    return account_store.insert_staff(
        conn,
        username=username,
        password_hash=password_hash,
        role=role,
        display_name=name,
        created_at=now,
    )


def staff_account(conn: Connection, staff_id: int) -> dict[str, Any]:
    row = account_store.staff_by_id(conn, staff_id)
    assert row is not None
    return staff_view(row)


def all_staff(conn: Connection) -> list[dict[str, Any]]:
    return [staff_view(r) for r in account_store.list_staff(conn)]


# --- ranks and revocation (docs/security.md) ------------------------------------------------


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
    version = account_store.bump_token_version(conn, kind, account_id)
    outbox.add(
        channels.revocation_audience(kind, account_id),
        {
            "type": REVOKED,
            "account": channels.account(kind, account_id),
            "version": version,
            "reason": reason,
        },
    )
    return version


def set_password(conn: Connection, outbox: Outbox, actor: Principal, password_hash: str) -> int:
    """One's own new password: every token of the account stops working."""
    account_store.set_password_hash(conn, actor.kind, actor.id, password_hash)
    return revoke(conn, outbox, actor.kind, actor.id, "password_changed")


def update_member(
    conn: Connection,
    outbox: Outbox,
    actor: Principal,
    member_id: int,
    changes: dict[str, Any],
    settings: Settings,
    shown_name: Callable[[Row], str],
    now: float,
) -> dict[str, Any]:
    """A supervisor's changes to a member of its shop. A deactivated member goes offline,
    its sessions go back to routing and its sockets close."""
    row = account_store.member_by_id(conn, member_id)
    if row is None or row["shop_id"] != actor.shop_id:
        raise NotFound(what="member")
    check_rank(actor, row, changes, account_store.count_active_owners(conn, row["shop_id"]))
    reason = revocation_reason(row, changes)
    if reason == "deactivated":
        changes["status"] = AgentStatus.OFFLINE.value
    account_store.update_member(conn, member_id, **changes)
    row.update(changes)
    if reason is not None:
        row["token_version"] = revoke(conn, outbox, "member", member_id, reason)
    if reason == "deactivated":
        hand_back(conn, outbox, member_id, settings, now, shown_name)
        outbox.add(
            channels.agent_status_audience(member_id, row["shop_id"]),
            {"type": "agent_status", "agent_id": member_id, "status": AgentStatus.OFFLINE.value},
        )
    return member_view(row, session_store.open_session_count(conn, member_id))


def update_staff(
    conn: Connection, outbox: Outbox, actor: Principal, staff_id: int, changes: dict[str, Any]
) -> dict[str, Any]:
    """An admin's changes to a staff account (admin > reviewer)."""
    row = account_store.staff_by_id(conn, staff_id)
    if row is None:
        raise NotFound(what="staff")
    check_rank(actor, row, changes, account_store.count_active_admins(conn))
    reason = revocation_reason(row, changes)
    account_store.update_staff(conn, staff_id, **changes)
    row.update(changes)
    if reason is not None:
        revoke(conn, outbox, "staff", staff_id, reason)
    return staff_view(row)
