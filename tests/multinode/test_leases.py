"""The lease of a background job that runs on one node at a time, on real PostgreSQL: held,
renewed, refused to others, taken over once its holder stops renewing (it died)."""

from __future__ import annotations

from sqlalchemy import create_engine

from feige.store import migrate
from feige.store.leases import hold_lease, release_lease


def test_one_holder_at_a_time_and_a_dead_holder_is_replaced(pg_url: str) -> None:
    engine = create_engine(pg_url)
    migrate.upgrade(engine)
    try:

        def hold(node: str, now: float) -> bool:
            with engine.begin() as conn:
                return hold_lease(conn, "test_job", node, now, 90.0)

        assert hold("a", 1000.0)
        assert not hold("b", 1001.0)  # a holds it
        assert hold("a", 1030.0)  # a renews
        assert not hold("b", 1100.0)  # 70 s after the renewal: still a's
        assert hold("b", 1121.0)  # a stopped renewing 91 s ago: b takes over
        assert not hold("a", 1122.0)  # a, back, does not run it beside b
        with engine.begin() as conn:
            release_lease(conn, "test_job", "b")  # b stops cleanly: free at once
        assert hold("a", 1123.0)
    finally:
        engine.dispose()
