"""Background jobs that run on one node at a time, across every node (store/leases.py)."""

from __future__ import annotations

from sqlalchemy import Connection

from feige.store import leases as lease_store


def hold(conn: Connection, job: str, node: str, now: float, seconds: float) -> bool:
    return lease_store.hold_lease(conn, job, node, now, seconds)


def release(conn: Connection, job: str, node: str) -> None:
    lease_store.release_lease(conn, job, node)
