"""Quick replies inside a job: a member's list (shop-wide and its own), adding, deleting."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from feige.domain import Row
from feige.services.errors import NotFound
from feige.services.lib.views import quick_reply_view
from feige.store import quick_replies as quick_reply_store


def replies_for(conn: Connection, shop_id: int, member_id: int, query: str | None) -> list[Row]:
    rows = quick_reply_store.quick_replies_for(conn, shop_id, member_id, query)
    return [quick_reply_view(r) for r in rows]


def add_reply(conn: Connection, values: dict[str, Any]) -> Row:
    row = {**values, "id": quick_reply_store.insert_quick_reply(conn, **values)}
    return quick_reply_view(row)


def delete_reply(
    conn: Connection, shop_id: int, member_id: int, may_delete_shop_wide: bool, reply_id: int
) -> None:
    """A member deletes its own replies; a supervisor also the shop-wide ones."""
    row = quick_reply_store.quick_reply_by_id(conn, reply_id)
    mine = (
        row is not None
        and row["shop_id"] == shop_id
        and (row["member_id"] == member_id or (row["member_id"] is None and may_delete_shop_wide))
    )
    if not mine:
        raise NotFound(what="quick reply")
    quick_reply_store.delete_quick_reply(conn, reply_id)
