"""The node itself, as the health check sees it."""

from __future__ import annotations

from sqlalchemy import Connection

from feige.store.sql import ping


def database_answers(conn: Connection) -> None:
    """One round trip to the database: raises if it does not answer."""
    ping(conn)
