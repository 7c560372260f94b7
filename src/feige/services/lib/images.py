"""Uploaded images: who may open one, and the sweep of uploads no message sent."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import Connection

from feige.domain import Row
from feige.services.context import Context, Principal
from feige.services.errors import NotFound
from feige.services.lib.tenancy import visible_session
from feige.store import images as image_store
from feige.store.private import write_private

REVIEW_SCOPE = "review"
APPEAL = "appeal"  # images.purpose of an appeal's evidence (no session)


def visible_image(conn: Connection, principal: Principal, image_id: str) -> Row:
    """An image of a session the caller may see (its participants, platform reviewers); an
    image recalled for a violation is the reviewers' alone (as if it did not exist). An
    appeal's evidence (no session) is its shop's owners' and managers' and the reviewers'."""
    image = image_store.image_by_id(conn, image_id)
    if image is None:
        raise NotFound(what="image")
    if image["session_id"] is None:
        if principal.is_staff or (
            principal.is_supervisor and principal.shop_id == image["shop_id"]
        ):
            return image
        raise NotFound(what="image")
    visible_session(conn, principal, image["session_id"])
    if not principal.is_staff and image_store.image_recalled(conn, image):
        raise NotFound(what="image")
    return image


def linked_image(conn: Connection, image_id: str, scope: str = "") -> Row:
    """The image behind a signed link (the signature was the permission); a recalled image
    only through a link signed for a reviewer (``scope`` ``review``)."""
    image = image_store.image_by_id(conn, image_id)
    if image is None:
        raise NotFound(what="image")
    if scope != REVIEW_SCOPE and image_store.image_recalled(conn, image):
        raise NotFound(what="image")
    return image


def sent_image(conn: Connection, principal: Principal, session: Row, image_id: str) -> None:
    """An image message sends only the sender's own upload to that session."""
    image = image_store.image_by_id(conn, image_id)
    if (
        image is None
        or image["session_id"] != session["id"]
        or image["uploader_id"] != principal.id
    ):
        raise NotFound(what="image")


def keep_upload(conn: Connection, row: Row) -> None:
    image_store.insert_image(conn, **row)


async def save_file(ctx: Context, relative: Path, data: bytes) -> None:
    """An upload's bytes, owner-only under the data directory."""
    await asyncio.to_thread(write_private, ctx.settings.data_dir / relative, data)


async def delete_unsent_images(
    ctx: Context, created_after: float | None = None, batch: int = 500
) -> tuple[int, float]:
    """Delete uploads no message sent once ``upload_unsent_ttl_seconds`` have passed: rows
    first (in one write job), then their files. Only uploads made after ``created_after``
    are looked at (the previous sweep saw the older ones). Returns how many went, and the
    cutoff this sweep used: the next one's ``created_after``."""
    cutoff = ctx.clock() - ctx.settings.upload_unsent_ttl_seconds
    data_dir = ctx.settings.data_dir

    def remove_files(rows: list[Row]) -> None:
        for row in rows:
            (data_dir / row["path"]).unlink(missing_ok=True)

    total = 0
    while True:
        found = await ctx.db.read(image_store.unsent_images, cutoff, batch, created_after)
        if not found:
            return total, cutoff
        ids = [r["id"] for r in found]
        gone = await ctx.db.write(image_store.delete_unsent_images, ids, cutoff)
        await asyncio.to_thread(remove_files, gone)
        total += len(gone)
        if len(found) < batch or not gone:
            return total, cutoff
