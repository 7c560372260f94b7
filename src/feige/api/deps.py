"""Request-scoped dependencies: the node's context, the caller, the caller's language."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query, Request

from feige import i18n
from feige.services import accounts
from feige.services.context import Context, Principal


def get_ctx(request: Request) -> Context:
    ctx: Context = request.app.state.ctx
    return ctx


def bearer(request: Request, token: Annotated[str | None, Query()] = None) -> str | None:
    """``Authorization: Bearer …``, or ``?token=`` for ``<img src>`` links."""
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return token


async def current_principal(
    ctx: Annotated[Context, Depends(get_ctx)],
    token: Annotated[str | None, Depends(bearer)],
) -> Principal:
    return await accounts.authenticate(ctx, token)


def language(request: Request) -> str:
    return i18n.pick_language(request.headers.get("accept-language"))


Ctx = Annotated[Context, Depends(get_ctx)]
Caller = Annotated[Principal, Depends(current_principal)]
