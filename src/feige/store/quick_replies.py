"""Quick replies: shop-wide and personal."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, and_, or_, select

from feige.domain import Row
from feige.store.sql import all_rows, insert_row, one
from feige.store.tables import quick_replies


def insert_quick_reply(conn: Connection, **values: Any) -> int:
    return insert_row(conn, quick_replies, **values)


def quick_replies_for(
    conn: Connection, shop_id: int, member_id: int, query: str | None
) -> list[Row]:
    stmt = select(quick_replies).where(
        and_(
            quick_replies.c.shop_id == shop_id,
            or_(quick_replies.c.member_id.is_(None), quick_replies.c.member_id == member_id),
        )
    )
    if query:
        pattern = f"%{query}%"
        stmt = stmt.where(
            or_(quick_replies.c.title.like(pattern), quick_replies.c.content.like(pattern))
        )
    return all_rows(conn, stmt.order_by(quick_replies.c.member_id.is_not(None), quick_replies.c.id))


def quick_reply_by_id(conn: Connection, reply_id: int) -> Row | None:
    return one(conn, select(quick_replies).where(quick_replies.c.id == reply_id))


def delete_quick_reply(conn: Connection, reply_id: int) -> None:
    conn.execute(quick_replies.delete().where(quick_replies.c.id == reply_id))
