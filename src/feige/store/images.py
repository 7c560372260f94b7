"""Uploaded images and the scans of their bytes (one per SHA-256)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, delete, insert, or_, select, update

from feige.domain import Row
from feige.store.sql import all_rows, one
from feige.store.tables import appeal_images, image_scans, images, messages, violations


def image_by_id(conn: Connection, image_id: str) -> Row | None:
    return one(conn, select(images).where(images.c.id == image_id))


def insert_image(conn: Connection, **values: Any) -> None:
    conn.execute(insert(images).values(**values))


def image_scan(conn: Connection, sha256: str) -> Row | None:
    """The stored scan of these bytes (image_scans), or None."""
    return one(conn, select(image_scans).where(image_scans.c.sha256 == sha256))


def image_with_scan(conn: Connection, image_id: str) -> Row | None:
    """An image row with its scan's columns (``scan_sha256`` is None when it has none)."""
    stmt = (
        select(
            images,
            image_scans.c.sha256.label("scan_sha256"),
            image_scans.c.readable,
            image_scans.c.codes,
            image_scans.c.error,
            image_scans.c.software,
            image_scans.c.text,
            image_scans.c.text_complete,
        )
        .select_from(images.outerjoin(image_scans, image_scans.c.sha256 == images.c.sha256))
        .where(images.c.id == image_id)
    )
    return one(conn, stmt)


def save_image_scan(conn: Connection, **values: Any) -> None:
    """Keep a scan; the same bytes scanned twice at once (or on another node) keep the first.
    The statement is the same on SQLite and PostgreSQL (both have ON CONFLICT DO NOTHING)."""
    from sqlalchemy.dialects import postgresql, sqlite

    stmt: Any
    if conn.dialect.name == "postgresql":
        stmt = postgresql.insert(image_scans).values(**values).on_conflict_do_nothing()
    else:
        stmt = sqlite.insert(image_scans).values(**values).on_conflict_do_nothing()
    conn.execute(stmt)


def set_image_sha256(conn: Connection, image_id: str, sha256: str) -> None:
    conn.execute(update(images).where(images.c.id == image_id).values(sha256=sha256))


def _image_referenced() -> Any:
    """Whether a message of the image's session sent it, a violation record keeps it as
    the original of a blocked message (reviewers' evidence), or an appeal carries it. The
    image id sits in the JSON
    content; ``["image_id"].as_string()`` is JSON_EXTRACT on SQLite and ``->>`` on PostgreSQL."""
    sent = select(messages.c.id).where(
        messages.c.session_id == images.c.session_id,
        messages.c.kind == "image",
        messages.c.content["image_id"].as_string() == images.c.id,
    )
    kept = select(violations.c.id).where(
        violations.c.shop_id == images.c.shop_id,  # ix_violations_shop
        violations.c.session_id == images.c.session_id,
        violations.c.original["image_id"].as_string() == images.c.id,
    )
    # An appeal's evidence (docs/enforcement.md, "Appeals").
    appealed = select(appeal_images.c.appeal_id).where(appeal_images.c.image_id == images.c.id)
    return or_(sent.exists(), kept.exists(), appealed.exists())


def image_recalled(conn: Connection, image: Row) -> bool:
    """Whether the image's message was recalled for a violation (docs/enforcement.md,
    "Messages recalled"): a violation record keeps it as the original of a message now
    ``recalled``. Such an image is for platform reviewers only."""
    stmt = (
        select(violations.c.id)
        .select_from(violations.join(messages, messages.c.id == violations.c.message_id))
        .where(
            violations.c.shop_id == image["shop_id"],  # ix_violations_shop
            violations.c.session_id == image["session_id"],
            violations.c.original["image_id"].as_string() == image["id"],
            messages.c.kind == "recalled",
        )
        .limit(1)
    )
    return conn.execute(stmt).first() is not None


def unsent_images(
    conn: Connection, created_before: float, limit: int, created_after: float | None = None
) -> list[Row]:
    """Uploads made before ``created_before`` (and after ``created_after``) that nothing
    refers to, oldest first."""
    stmt = (
        select(images.c.id, images.c.path)
        .where(images.c.created_at < created_before, ~_image_referenced())
        .order_by(images.c.created_at)
        .limit(limit)
    )
    if created_after is not None:
        stmt = stmt.where(images.c.created_at >= created_after)
    return all_rows(conn, stmt)


def delete_unsent_images(
    conn: Connection, image_ids: Sequence[str], created_before: float
) -> list[Row]:
    """Delete those of ``image_ids`` that are still unsent (checked again: a message may
    have sent one since they were found); their rows, for the caller to delete the files."""
    if not image_ids:
        return []
    gone = all_rows(
        conn,
        select(images.c.id, images.c.path).where(
            images.c.id.in_(list(image_ids)),
            images.c.created_at < created_before,
            ~_image_referenced(),
        ),
    )
    if gone:
        conn.execute(delete(images).where(images.c.id.in_([r["id"] for r in gone])))
    return gone
