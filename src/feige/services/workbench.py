"""The agent's tools: quick replies (shop-wide and personal) and image uploads."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import io
import secrets
from pathlib import Path
from typing import Any

from PIL import Image
from sqlalchemy import Connection

from feige.services import compliance
from feige.services.context import Context, Principal
from feige.services.errors import Forbidden, Invalid, NotFound
from feige.services.sessions import visible_session
from feige.store import images as image_store
from feige.store import quick_replies as quick_reply_store
from feige.store import sql
from feige.store.private import write_private
from feige.store.tables import quick_replies

Row = dict[str, Any]
PIL_FORMATS = {"PNG": "image/png", "JPEG": "image/jpeg", "GIF": "image/gif", "WEBP": "image/webp"}
EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "image/gif": "gif", "image/webp": "webp"}


def _member_shop(principal: Principal) -> int:
    if principal.kind != "member" or principal.shop_id is None:
        raise Forbidden()
    return principal.shop_id


def quick_reply_view(row: Row) -> Row:
    return {
        "id": row["id"],
        "title": row["title"],
        "content": row["content"],
        "scope": "personal" if row["member_id"] is not None else "shop",
    }


async def list_quick_replies(ctx: Context, principal: Principal, query: str | None) -> list[Row]:
    shop_id = _member_shop(principal)
    rows = await ctx.db.read(
        quick_reply_store.quick_replies_for, shop_id, principal.id, query or None
    )
    return [quick_reply_view(r) for r in rows]


async def create_quick_reply(
    ctx: Context, principal: Principal, title: str, content: str, scope: str
) -> Row:
    shop_id = _member_shop(principal)
    if scope not in ("shop", "personal"):
        raise Invalid(detail="scope")
    if scope == "shop" and not principal.is_supervisor:
        raise Forbidden()
    title, content = title.strip(), content.strip()
    if not (1 <= len(title) <= 64) or not (1 <= len(content) <= ctx.settings.max_text_chars):
        raise Invalid(detail="title / content")
    compliance.require_clean(ctx, title=title, content=content)
    values = {
        "shop_id": shop_id,
        "member_id": principal.id if scope == "personal" else None,
        "title": title,
        "content": content,
        "created_at": ctx.clock(),
    }

    def job(conn: Connection) -> Row:
        values["id"] = sql.insert_row(conn, quick_replies, **values)
        return quick_reply_view(values)

    return await ctx.db.write(job)


async def delete_quick_reply(ctx: Context, principal: Principal, reply_id: int) -> None:
    shop_id = _member_shop(principal)

    def job(conn: Connection) -> None:
        row = quick_reply_store.quick_reply_by_id(conn, reply_id)
        mine = (
            row is not None
            and row["shop_id"] == shop_id
            and (
                row["member_id"] == principal.id
                or (row["member_id"] is None and principal.is_supervisor)
            )
        )
        if not mine:
            raise NotFound(what="quick reply")
        quick_reply_store.delete_quick_reply(conn, reply_id)

    await ctx.db.write(job)


def sniff_image(data: bytes, allowed: list[str], max_pixels: int) -> tuple[str, int, int]:
    """The real type and size of an upload, whatever its name or header claims. Only the
    header is read: dimensions beyond ``max_pixels`` are refused before any pixel is
    decoded (a small file can declare a 20000×20000 image, a decompression bomb)."""
    try:
        with Image.open(io.BytesIO(data)) as img:
            content_type = PIL_FORMATS.get(img.format or "")
            width, height = img.size
            if width * height > max_pixels:
                raise Invalid(
                    "bad_image", detail=f"{width}×{height} pixels, more than {max_pixels:,}"
                )
            img.verify()
    except Image.DecompressionBombError as exc:  # beyond Pillow's own limit
        raise Invalid("bad_image", detail=f"too many pixels (limit {max_pixels:,})") from exc
    except Invalid:
        raise
    except Exception as exc:  # Pillow raises many kinds of error for bad input
        raise Invalid("bad_image", detail="not an image") from exc
    if content_type is None or content_type not in allowed:
        raise Invalid("bad_image", detail=f"type {content_type or 'unknown'}")
    return content_type, width, height


def _inspect(data: bytes, allowed: list[str], max_pixels: int) -> tuple[str, int, int, str]:
    """Type, size and SHA-256 of an upload: CPU work, run in a worker thread."""
    content_type, width, height = sniff_image(data, allowed, max_pixels)
    return content_type, width, height, compliance.sha256_of(data)


async def upload_image(ctx: Context, principal: Principal, session_id: int, data: bytes) -> Row:
    """Store an image for a session; sending it is a separate ``image`` message. The image
    is scanned here, once per distinct bytes (compliance.image_scan), not at every send."""
    if principal.kind == "staff":
        raise Forbidden()
    limit = ctx.settings.max_image_bytes
    if len(data) > limit:
        raise Invalid("too_large", limit=f"{limit // 1024} KiB")
    content_type, width, height, digest = await asyncio.to_thread(
        _inspect, data, ctx.settings.image_types, ctx.settings.max_image_pixels
    )
    session = await ctx.db.read(visible_session, principal, session_id)
    if ctx.moderator is not None:
        found = await compliance.image_scan(ctx, data, digest)
        if not found.ok:
            raise Invalid("bad_image", detail="cannot be decoded")
    image_id = secrets.token_hex(16)
    relative = Path("uploads") / str(session["shop_id"]) / f"{image_id}.{EXTENSIONS[content_type]}"
    target = ctx.settings.data_dir / relative

    await asyncio.to_thread(write_private, target, data)
    row = {
        "id": image_id,
        "shop_id": session["shop_id"],
        "session_id": session_id,
        "uploader_role": principal.kind,
        "uploader_id": principal.id,
        "content_type": content_type,
        "size": len(data),
        "width": width,
        "height": height,
        "path": relative.as_posix(),
        "created_at": ctx.clock(),
        "sha256": digest,
    }
    await ctx.db.write(lambda conn: image_store.insert_image(conn, **row))
    return {k: row[k] for k in ("id", "content_type", "size", "width", "height")}


async def open_image(ctx: Context, principal: Principal, image_id: str) -> tuple[Path, str]:
    """The file behind an image, for the session's participants and platform reviewers."""

    def job(conn: Connection) -> Row:
        image = image_store.image_by_id(conn, image_id)
        if image is None:
            raise NotFound(what="image")
        visible_session(conn, principal, image["session_id"])
        return image

    if len(image_id) > 32:
        raise NotFound(what="image")
    image = await ctx.db.read(job)
    return ctx.settings.data_dir / image["path"], image["content_type"]


def _link_signature(ctx: Context, image_id: str, expires: int) -> str:
    # A key of its own, derived from the signing key: a link signature can never pass for
    # anything else signed with it.
    key = hmac.new(ctx.settings.signing_key().encode(), b"feige image link", "sha256").digest()
    return hmac.new(key, f"{image_id}\n{expires}".encode(), hashlib.sha256).hexdigest()


async def image_link(ctx: Context, principal: Principal, image_id: str) -> Row:
    """A short-lived signed link to an image the caller may see: ``<img src>`` cannot send
    a bearer header, and a token in a URL would end up in logs and browser history."""
    await open_image(ctx, principal, image_id)
    expires = int(ctx.clock()) + ctx.settings.image_url_ttl_seconds
    signature = _link_signature(ctx, image_id, expires)
    return {"url": f"/api/images/{image_id}?exp={expires}&sig={signature}", "expires_at": expires}


async def open_signed_image(
    ctx: Context, image_id: str, expires: int | None, signature: str | None
) -> tuple[Path, str]:
    """The file behind a signed link: the signature binds the image id and the expiry."""
    if expires is None or not signature or len(image_id) > 32:
        raise Forbidden("link_invalid")
    expected = _link_signature(ctx, image_id, expires)
    if not hmac.compare_digest(expected.encode(), signature.encode()):
        raise Forbidden("link_invalid")
    if expires <= ctx.clock():
        raise Forbidden("link_expired")
    image = await ctx.db.read(image_store.image_by_id, image_id)
    if image is None:
        raise NotFound(what="image")
    return ctx.settings.data_dir / image["path"], image["content_type"]


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
