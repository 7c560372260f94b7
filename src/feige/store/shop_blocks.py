"""Consumers' blocks of shops (docs/web.md, "Blocking a shop")."""

from __future__ import annotations

from sqlalchemy import Connection, delete

from feige.store.sql import insert_row, raw
from feige.store.tables import shop_blocks


def has_blocked(conn: Connection, consumer_id: int, shop_id: int) -> bool:
    cursor = raw(
        conn,
        "SELECT 1 FROM shop_blocks WHERE consumer_id = ? AND shop_id = ?",
        (consumer_id, shop_id),
    )
    return cursor.fetchone() is not None


def insert_block(conn: Connection, consumer_id: int, shop_id: int, now: float) -> int:
    return insert_row(conn, shop_blocks, consumer_id=consumer_id, shop_id=shop_id, created_at=now)


def delete_block(conn: Connection, consumer_id: int, shop_id: int) -> bool:
    """Whether there was a block to lift."""
    result = conn.execute(
        delete(shop_blocks).where(
            shop_blocks.c.consumer_id == consumer_id, shop_blocks.c.shop_id == shop_id
        )
    )
    return bool(result.rowcount)
