"""Accounts and shops: platform staff, shop members, consumers, and the shop row reception
locks (``lock_shop``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, and_, func, select, update

from feige.domain import AgentStatus, SessionState
from feige.store.sql import Row, all_rows, one, update_row
from feige.store.tables import consumers, members, sessions, shops, staff


def staff_by_username(conn: Connection, username: str) -> Row | None:
    return one(conn, select(staff).where(staff.c.username == username))


def has_staff(conn: Connection) -> bool:
    """Whether the platform has been set up (the demo seeds only an empty store)."""
    return conn.execute(select(staff.c.id).limit(1)).first() is not None


def staff_by_id(conn: Connection, staff_id: int) -> Row | None:
    return one(conn, select(staff).where(staff.c.id == staff_id))


def list_staff(conn: Connection) -> list[Row]:
    return all_rows(conn, select(staff).order_by(staff.c.id))


def count_active(conn: Connection, table: Any, role: str, shop_id: int | None = None) -> int:
    """Active accounts of one role (a shop's owners, the platform's admins)."""
    stmt = select(func.count()).where(and_(table.c.role == role, table.c.active.is_(True)))
    if shop_id is not None:
        stmt = stmt.where(table.c.shop_id == shop_id)
    return int(conn.execute(stmt).scalar_one())


def bump_token_version(conn: Connection, table: Any, account_id: int) -> int:
    """Revoke every token issued so far; the new version goes into the next one."""
    stmt = (
        update(table)
        .where(table.c.id == account_id)
        .values(token_version=table.c.token_version + 1)
        .returning(table.c.token_version)
    )
    return int(conn.execute(stmt).scalar_one())


def member_by_username(conn: Connection, username: str) -> Row | None:
    return one(conn, select(members).where(members.c.username == username))


def member_by_id(conn: Connection, member_id: int) -> Row | None:
    return one(conn, select(members).where(members.c.id == member_id))


def consumer_by_id(conn: Connection, consumer_id: int) -> Row | None:
    return one(conn, select(consumers).where(consumers.c.id == consumer_id))


def consumer_by_external(conn: Connection, external_id: str) -> Row | None:
    return one(conn, select(consumers).where(consumers.c.external_id == external_id))


def shop_by_id(conn: Connection, shop_id: int) -> Row | None:
    return one(conn, select(shops).where(shops.c.id == shop_id))


def list_shops(conn: Connection) -> list[Row]:
    return all_rows(conn, select(shops).order_by(shops.c.id))


def shop_members(conn: Connection, shop_id: int) -> list[Row]:
    return all_rows(
        conn, select(members).where(members.c.shop_id == shop_id).order_by(members.c.id)
    )


def lock_shop(conn: Connection, shop_id: int) -> Row | None:
    """Take the shop's row lock so reception decisions on several nodes never interleave."""
    return one(
        conn,
        update(shops)
        .where(shops.c.id == shop_id)
        .values(routing_version=shops.c.routing_version + 1)
        .returning(*shops.c),
    )


def agent_loads(conn: Connection, shop_id: int) -> list[Row]:
    """Active members that can receive sessions, with their open-session counts."""
    open_count = (
        select(func.count())
        .where(and_(sessions.c.agent_id == members.c.id, sessions.c.state == SessionState.ASSIGNED))
        .scalar_subquery()
    )
    stmt = select(
        members.c.id,
        members.c.status,
        members.c.capacity,
        members.c.last_assigned_at,
        members.c.display_name,
        open_count.label("open_sessions"),
    ).where(and_(members.c.shop_id == shop_id, members.c.active.is_(True)))
    return all_rows(conn, stmt)


def set_member_status(conn: Connection, member_id: int, status: AgentStatus) -> None:
    update_row(conn, members, member_id, status=status.value)
