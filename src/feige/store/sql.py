"""What every record module of the store shares: the row type, fetching rows as dicts, plain
inserts and updates, and the driver-level path the message statements take.

Rows come back as dicts so nothing above the store touches SQLAlchemy.
"""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import Connection, insert, update

from feige.domain import Row


def one(conn: Connection, stmt: Any) -> Row | None:
    row = conn.execute(stmt).mappings().first()
    return dict(row) if row is not None else None


def all_rows(conn: Connection, stmt: Any) -> list[Row]:
    return [dict(r) for r in conn.execute(stmt).mappings().all()]


# The message path's statements go as plain SQL on the DB-API cursor. Measured
# (bench/chat_throughput.py, docs/performance.md): building, caching and executing SQLAlchemy
# Core statements cost ~85 % of the writer's time per message. The few statements that run for
# every message go straight to the driver with one SQL text per statement; "?" placeholders
# become "%s" for psycopg.
_PG_SQL: dict[str, str] = {}


def raw(conn: Connection, sql: str, params: tuple[Any, ...]) -> Any:
    """Run ``sql`` on the driver's own cursor (the message path); returns the cursor."""
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    if conn.dialect.name != "sqlite":
        sql = _PG_SQL.get(sql) or _PG_SQL.setdefault(sql, sql.replace("?", "%s"))
    cursor.execute(sql, params)
    return cursor


def json_in(value: Any) -> str:
    return orjson.dumps(value).decode()


def json_out(value: Any) -> Any:
    return orjson.loads(value) if isinstance(value, str | bytes) else value


def insert_row(conn: Connection, table: Any, **values: Any) -> int:
    # The values go as parameters, not into the statement: the compiled INSERT is then cached
    # per table and set of columns (values inside the statement cost a new cache key, about a
    # millisecond, per row).
    result = conn.execute(insert(table).returning(table.c.id), values)
    return int(result.scalar_one())


def insert_rows(conn: Connection, table: Any, rows: list[Row]) -> list[int]:
    """Many rows of one table in one statement (per driver batch); their ids in ``rows`` order.
    Every row must have the same columns."""
    if not rows:
        return []
    stmt = insert(table).returning(table.c.id, sort_by_parameter_order=True)
    return [int(r[0]) for r in conn.execute(stmt, rows).all()]


def update_row(conn: Connection, table: Any, row_id: int, **values: Any) -> None:
    if not values:  # nothing to change (e.g. an empty PATCH): an UPDATE without SET is an error
        return
    conn.execute(update(table).where(table.c.id == row_id).values(**values))


def ping(conn: Connection) -> None:
    conn.exec_driver_sql("SELECT 1").scalar()
