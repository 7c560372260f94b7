"""Signing in: password sign-in for staff and members, consumer tokens vouched for by the
marketplace, and verifying a token on every request and socket (docs/security.md)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from dataclasses import dataclass
from typing import Any

import jwt

from feige.services.context import Context, Principal
from feige.services.errors import Forbidden, Invalid, NotFound, Unauthenticated
from feige.services.lib import accounts

SIGNATURE_WINDOW_SECONDS = 300


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
    principal = await ctx.db.read(accounts.load_principal, kind, int(raw_id))
    if principal is None:
        raise Unauthenticated("token_invalid")
    if principal.token_version != version:
        raise Unauthenticated("token_revoked")
    return Grant(principal, expires)


async def login(ctx: Context, kind: str, username: str, password: str) -> dict[str, Any]:
    """Password sign-in for platform staff and shop members."""
    row = await ctx.db.read(accounts.sign_in_account, kind, username)
    stored = row["password_hash"] if row is not None else accounts.DUMMY_HASH
    # argon2 is deliberately slow: off the event loop, or every socket stalls meanwhile.
    if not await asyncio.to_thread(accounts.password_ok, stored, password) or row is None:
        raise Unauthenticated("bad_credentials")
    if not row["active"]:
        raise Unauthenticated("bad_credentials")
    return accounts.issue_token(ctx.settings, ctx.clock(), accounts.principal_from_row(kind, row))


def platform_signature(secret: str, external_id: str, nickname: str, ts: int) -> str:
    """HMAC the marketplace computes to vouch for one of its users."""
    message = f"{external_id}\n{nickname}\n{ts}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


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
    row = await ctx.db.write(accounts.consumer_signed_in, external_id, nickname, ctx.clock())
    principal = accounts.principal_from_row("consumer", row)
    return accounts.issue_token(ctx.settings, ctx.clock(), principal)
