"""Accounts and shops: platform staff, shop members, consumers, and the shop row reception
locks (``lock_shop``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Table, and_, func, select, update

from feige.domain import AgentStatus, MemberRole, Row, SessionState, StaffRole
from feige.store.sql import all_rows, insert_row, one, update_row
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


# The account tables by principal kind.
ACCOUNT_TABLES: dict[str, Table] = {"staff": staff, "member": members, "consumer": consumers}


def account_by_id(conn: Connection, kind: str, account_id: int) -> Row | None:
    """An account of any kind by id, active or not; None for an unknown kind."""
    table = ACCOUNT_TABLES.get(kind)
    return None if table is None else one(conn, select(table).where(table.c.id == account_id))


def count_active_owners(conn: Connection, shop_id: int) -> int:
    return _count_active(conn, members, MemberRole.OWNER.value, members.c.shop_id == shop_id)


def count_active_admins(conn: Connection) -> int:
    return _count_active(conn, staff, StaffRole.ADMIN.value)


def _count_active(conn: Connection, table: Table, role: str, *where: Any) -> int:
    stmt = select(func.count()).where(table.c.role == role, table.c.active.is_(True), *where)
    return int(conn.execute(stmt).scalar_one())


def bump_token_version(conn: Connection, kind: str, account_id: int) -> int:
    """Revoke every token issued so far; the new version goes into the next one."""
    table = ACCOUNT_TABLES[kind]
    stmt = (
        update(table)
        .where(table.c.id == account_id)
        .values(token_version=table.c.token_version + 1)
        .returning(table.c.token_version)
    )
    return int(conn.execute(stmt).scalar_one())


def token_versions(conn: Connection, kind: str, account_ids: list[int]) -> dict[int, int]:
    """The accounts' current token versions (a node checking for revocations it missed)."""
    if not account_ids:
        return {}
    table = ACCOUNT_TABLES[kind]
    stmt = select(table.c.id, table.c.token_version).where(table.c.id.in_(account_ids))
    return {int(r.id): int(r.token_version) for r in conn.execute(stmt)}


def set_password_hash(conn: Connection, kind: str, account_id: int, password_hash: str) -> None:
    update_row(conn, ACCOUNT_TABLES[kind], account_id, password_hash=password_hash)


def insert_staff(conn: Connection, **values: Any) -> int:
    return insert_row(conn, staff, **values)


def update_staff(conn: Connection, staff_id: int, **values: Any) -> None:
    update_row(conn, staff, staff_id, **values)


def insert_member(conn: Connection, **values: Any) -> int:
    return insert_row(conn, members, **values)


def update_member(conn: Connection, member_id: int, **values: Any) -> None:
    update_row(conn, members, member_id, **values)


def insert_consumer(conn: Connection, **values: Any) -> int:
    return insert_row(conn, consumers, **values)


def update_consumer(conn: Connection, consumer_id: int, **values: Any) -> None:
    update_row(conn, consumers, consumer_id, **values)


def insert_shop(conn: Connection, **values: Any) -> int:
    return insert_row(conn, shops, **values)


def update_shop(conn: Connection, shop_id: int, **values: Any) -> None:
    update_row(conn, shops, shop_id, **values)


def member_by_username(conn: Connection, username: str) -> Row | None:
    return one(conn, select(members).where(members.c.username == username))


def member_by_id(conn: Connection, member_id: int) -> Row | None:
    return one(conn, select(members).where(members.c.id == member_id))


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


def set_last_assigned(conn: Connection, member_id: int, now: float) -> None:
    """When the member was last given a session (routing's tie-break)."""
    update_row(conn, members, member_id, last_assigned_at=now)
