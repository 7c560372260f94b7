"""Request-scoped dependencies: the node's context, the caller, the caller's language."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from feige import i18n
from feige.api import ratelimit
from feige.services.actions import sign_in
from feige.services.context import Context, Principal
from feige.services.errors import Unauthenticated


def get_ctx(request: Request) -> Context:
    ctx: Context = request.app.state.ctx
    return ctx


def bearer(request: Request) -> str | None:
    """``Authorization: Bearer …`` only: a token in a query string ends up in logs, browser
    history and Referer headers (images use signed links, ``GET /api/images/{id}/url``)."""
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return None


# Declares the bearer scheme in the OpenAPI document, so that /docs has an *Authorize* button
# whose token every signed-in route then receives; ``bearer`` reads the same header.
BEARER_SCHEME = HTTPBearer(
    auto_error=False,
    scheme_name="bearer",
    description="The token from POST /api/auth/login (or a consumer token).",
)


async def current_principal(
    request: Request,
    ctx: Annotated[Context, Depends(get_ctx)],
    token: Annotated[str | None, Depends(bearer)],
    _scheme: Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER_SCHEME)] = None,
) -> Principal:
    try:
        principal = await sign_in.authenticate(ctx, token)
    except Unauthenticated:
        # A refused token counts against the address too, so made-up tokens (each with a
        # count of its own in the middleware) cannot get round the anonymous limit.
        if token:
            limiter = ratelimit.limiter_of(ctx)
            await limiter.check_address(ratelimit.client_address(request.scope))
        raise
    # Where the request came from: the audit log keeps it (docs/enforcement.md, "Audit").
    agent = request.headers.get("user-agent", "")[:256]
    return replace(principal, ip=ratelimit.client_address(request.scope), user_agent=agent)


def language(request: Request) -> str:
    return i18n.pick_language(request.headers.get("accept-language"))


Ctx = Annotated[Context, Depends(get_ctx)]
Caller = Annotated[Principal, Depends(current_principal)]
