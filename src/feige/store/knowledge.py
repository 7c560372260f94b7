"""The shop robot's knowledge entries (docs/robot.md)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, and_, select

from feige.domain import Row
from feige.store.sql import all_rows, insert_row, one
from feige.store.tables import knowledge_entries


def entries_of(conn: Connection, shop_id: int) -> list[Row]:
    stmt = select(knowledge_entries).where(knowledge_entries.c.shop_id == shop_id)
    return all_rows(conn, stmt.order_by(knowledge_entries.c.id))


def entry_by_question(conn: Connection, shop_id: int, question: str) -> Row | None:
    stmt = select(knowledge_entries).where(
        and_(knowledge_entries.c.shop_id == shop_id, knowledge_entries.c.question == question)
    )
    return one(conn, stmt)


def insert_entry(conn: Connection, **values: Any) -> int:
    return insert_row(conn, knowledge_entries, **values)


def update_entry(conn: Connection, entry_id: int, **values: Any) -> None:
    conn.execute(
        knowledge_entries.update().where(knowledge_entries.c.id == entry_id).values(**values)
    )


def delete_entry(conn: Connection, entry_id: int) -> None:
    conn.execute(knowledge_entries.delete().where(knowledge_entries.c.id == entry_id))


def delete_entries_of(conn: Connection, shop_id: int) -> None:
    conn.execute(knowledge_entries.delete().where(knowledge_entries.c.shop_id == shop_id))
