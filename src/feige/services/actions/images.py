"""Images in a session: uploads (checked, scanned once per distinct bytes, kept owner-only),
and the ways to open one: with a token, or by a short-lived signed link."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import io
import secrets
from pathlib import Path

from PIL import Image
from sqlalchemy import Connection

from feige.config import Settings
from feige.domain import MessageKind, Row
from feige.services.context import Context, Outbox, Principal
from feige.services.errors import Forbidden, Invalid, NotFound
from feige.services.lib import assignment, conversation, images, screening
from feige.services.lib.outgoing import ENTRIES, Outgoing
from feige.services.lib.tenancy import visible_session

PIL_FORMATS = {"PNG": "image/png", "JPEG": "image/jpeg", "GIF": "image/gif", "WEBP": "image/webp"}
EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "image/gif": "gif", "image/webp": "webp"}


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
    return content_type, width, height, screening.sha256_of(data)


async def _checked_upload(
    ctx: Context, principal: Principal, data: bytes
) -> tuple[str, int, int, str]:
    """Type, size and digest of an upload the caller may make: CPU work in a thread."""
    if principal.kind == "staff":
        raise Forbidden()
    limit = ctx.settings.max_image_bytes
    if len(data) > limit:
        raise Invalid("too_large", limit=f"{limit // 1024} KiB")
    return await asyncio.to_thread(
        _inspect, data, ctx.settings.image_types, ctx.settings.max_image_pixels
    )


async def _scanned_and_saved(
    ctx: Context,
    principal: Principal,
    shop_id: int,
    data: bytes,
    checked: tuple[str, int, int, str],
) -> Row:
    """Scan once per distinct bytes (screening.image_scan), keep the file owner-only; the
    image's row, without its session yet."""
    content_type, width, height, digest = checked
    if ctx.moderator is not None:
        found = await screening.image_scan(ctx, data, digest)
        if not found.ok:
            raise Invalid("bad_image", detail="cannot be decoded")
    image_id = secrets.token_hex(16)
    relative = Path("uploads") / str(shop_id) / f"{image_id}.{EXTENSIONS[content_type]}"
    await images.save_file(ctx, relative, data)
    return {
        "id": image_id,
        "shop_id": shop_id,
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


def _uploaded(row: Row) -> Row:
    return {k: row[k] for k in ("id", "content_type", "size", "width", "height")}


async def upload_image(ctx: Context, principal: Principal, session_id: int, data: bytes) -> Row:
    """Store an image for a session; sending it is a separate ``image`` message. The image
    is scanned here, once per distinct bytes (screening.image_scan), not at every send."""
    checked = await _checked_upload(ctx, principal, data)
    session = await ctx.db.read(visible_session, principal, session_id)
    row = await _scanned_and_saved(ctx, principal, session["shop_id"], data, checked)
    row["session_id"] = session_id
    await ctx.db.write(images.keep_upload, row)
    return _uploaded(row)


async def upload_appeal_evidence(ctx: Context, principal: Principal, data: bytes) -> Row:
    """An image for an appeal of the caller's shop (docs/enforcement.md, "Appeals"): an
    owner's or a manager's, checked and scanned as any upload, in no session — so a measure
    from a failed week (which has none) can be appealed with images too. Only that shop's
    owners and managers and platform reviewers can open it; an appeal that names it keeps it
    from the upload sweep."""
    if not principal.is_supervisor or principal.shop_id is None:
        raise Forbidden()
    checked = await _checked_upload(ctx, principal, data)
    row = await _scanned_and_saved(ctx, principal, principal.shop_id, data, checked)
    row.update(session_id=None, purpose=images.APPEAL)
    await ctx.db.write(images.keep_upload, row)
    return _uploaded(row)


def _open_and_keep(
    conn: Connection,
    outbox: Outbox,
    principal: Principal,
    shop_id: int,
    entry: str,
    row: Row,
    settings: Settings,
    now: float,
) -> Row:
    opening = Outgoing(client_id="", kind=MessageKind.IMAGE.value, content={}, entry=entry)
    session = assignment.session_to_shop(
        conn, outbox, principal.id, shop_id, opening, settings, now
    )
    images.keep_upload(conn, {**row, "session_id": session["id"]})
    return session


async def upload_to_shop(
    ctx: Context, principal: Principal, shop_id: int, entry: str, data: bytes
) -> Row:
    """A consumer's image as the very first message: the upload opens (and routes) the
    session with the shop as a first text would, or uses the open one; the answer names
    the session, which the ``image`` message is then sent to (docs/protocol.md)."""
    if principal.kind != "consumer":
        raise Forbidden()
    if entry not in ENTRIES:
        raise Invalid("malformed", detail="entry")
    checked = await _checked_upload(ctx, principal, data)
    # An unknown shop is refused before anything is kept (not_found).
    await ctx.db.read(conversation.find_open_session, shop_id, principal.id)
    row = await _scanned_and_saved(ctx, principal, shop_id, data, checked)
    try:
        session = await ctx.write_and_publish(
            _open_and_keep, principal, shop_id, entry, row, ctx.settings, ctx.clock()
        )
    except Exception:
        # Refused (blacklisted, blocked): no row points at the file, so it goes now.
        (ctx.settings.data_dir / row["path"]).unlink(missing_ok=True)
        raise
    return {**_uploaded(row), "session_id": session["id"]}


async def _visible_image(ctx: Context, principal: Principal, image_id: str) -> Row:
    if len(image_id) > 32:
        raise NotFound(what="image")
    return await ctx.db.read(images.visible_image, principal, image_id)


async def open_image(ctx: Context, principal: Principal, image_id: str) -> tuple[Path, str]:
    """The file behind an image, for the session's participants and platform reviewers."""
    image = await _visible_image(ctx, principal, image_id)
    return ctx.settings.data_dir / image["path"], image["content_type"]


def _link_signature(ctx: Context, image_id: str, expires: int, scope: str = "") -> str:
    # A key of its own, derived from the signing key: a link signature can never pass for
    # anything else signed with it. A reviewer's link is signed with its scope too (it
    # opens an image recalled for a violation, which nobody else may).
    key = hmac.new(ctx.settings.signing_key().encode(), b"feige image link", "sha256").digest()
    signed = f"{image_id}\n{expires}" + (f"\n{scope}" if scope else "")
    return hmac.new(key, signed.encode(), hashlib.sha256).hexdigest()


async def image_link(ctx: Context, principal: Principal, image_id: str) -> Row:
    """A short-lived signed link to an image the caller may see: ``<img src>`` cannot send
    a bearer header, and a token in a URL would end up in logs and browser history."""
    await _visible_image(ctx, principal, image_id)
    expires = int(ctx.clock()) + ctx.settings.image_url_ttl_seconds
    scope = images.REVIEW_SCOPE if principal.is_staff else ""
    signature = _link_signature(ctx, image_id, expires, scope)
    url = f"/api/images/{image_id}?exp={expires}&sig={signature}"
    return {"url": url + (f"&scope={scope}" if scope else ""), "expires_at": expires}


async def open_signed_image(
    ctx: Context, image_id: str, expires: int | None, signature: str | None, scope: str = ""
) -> tuple[Path, str]:
    """The file behind a signed link: the signature binds the image id, the expiry and the
    scope (a reviewer's link opens a recalled image; no other does)."""
    if expires is None or not signature or len(image_id) > 32:
        raise Forbidden("link_invalid")
    expected = _link_signature(ctx, image_id, expires, scope)
    if not hmac.compare_digest(expected.encode(), signature.encode()):
        raise Forbidden("link_invalid")
    if expires <= ctx.clock():
        raise Forbidden("link_expired")
    image = await ctx.db.read(images.linked_image, image_id, scope)
    return ctx.settings.data_dir / image["path"], image["content_type"]
