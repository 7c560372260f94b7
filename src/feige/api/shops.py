"""Shops as consumers meet them (see /docs): the card in the chat window's header, a
consumer's block of a shop, and an image as the very first message to a shop."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, File, Query, UploadFile

from feige.api import ratelimit
from feige.api.checks import PathId, refuse_odd_input
from feige.api.deps import Caller, Ctx
from feige.services.actions import images, shops

router = APIRouter(dependencies=[Depends(refuse_odd_input)], tags=["shops"])
Json = dict[str, Any]
EntryName = Literal["product", "order", "direct", "live", "other"]


@router.get("/api/shops/{shop_id}")
async def shop_card(ctx: Ctx, caller: Caller, shop_id: PathId) -> Json:
    """A shop's public card for anyone signed in: ``name`` and ``online`` (an agent of the
    shop is online, or on break still serving). A consumer also gets ``blocked`` (it
    blocked the shop) and ``last_session_id`` (its newest session with the shop, or null).
    An unknown shop answers 404."""
    return await shops.shop_card(ctx, caller, shop_id)


@router.post("/api/shops/{shop_id}/block")
async def block_shop(ctx: Ctx, caller: Caller, shop_id: PathId) -> Json:
    """Consumers: block the shop. Its open session with you closes, it can no longer reach
    you, and you open no session with it until you unblock it; your newest session with it
    is left out of the shop's service figures (docs/rules.md §3 (2) note). Idempotent."""
    return await shops.block_shop(ctx, caller, shop_id)


@router.delete("/api/shops/{shop_id}/block")
async def unblock_shop(ctx: Ctx, caller: Caller, shop_id: PathId) -> Json:
    """Consumers: lift your block of the shop. Idempotent."""
    return await shops.unblock_shop(ctx, caller, shop_id)


@router.post("/api/shops/{shop_id}/images")
async def upload_to_shop(
    ctx: Ctx,
    caller: Caller,
    shop_id: PathId,
    file: Annotated[UploadFile, File()],
    entry: Annotated[EntryName, Query()] = "direct",
) -> Json:
    """Consumers: an image as the first message. The upload opens your session with the
    shop (routed as a first text would be) or uses the open one, and answers the image
    with ``session_id``; then send the ``image`` message to that session."""
    limit = ctx.settings.max_image_bytes
    data = await file.read(limit + 1)
    await ratelimit.limiter_of(ctx).check_upload(caller, min(len(data), limit))
    return await images.upload_to_shop(ctx, caller, shop_id, entry, data)
