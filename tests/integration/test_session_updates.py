"""Migration 0015: a message's update of its session is heap-only on PostgreSQL (no index
moves), and the sweeps that read open sessions by activity still go through an index."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from sqlalchemy import Connection, create_engine, insert, text

from feige.store import robot as robot_windows
from feige.store import robot_sessions as robot_store
from feige.store import sessions as session_store
from feige.store.migrate import alembic_config
from feige.store.tables import consumers, sessions, shops
from tests.integration.harness import fresh_database_url


def _seed(conn: Connection) -> None:
    conn.execute(
        insert(shops).values(
            id=1, name="店铺", routing_mode="priority", welcome_message="", created_at=0.0
        )
    )
    for consumer, (state, active) in enumerate(
        [("assigned", 10.0), ("assigned", 500.0), ("closed", 10.0), ("robot", 20.0)], 1
    ):
        conn.execute(
            insert(consumers).values(
                id=consumer, external_id=f"c{consumer}", nickname="买家", created_at=0.0
            )
        )
        conn.execute(
            insert(sessions).values(
                id=consumer,
                shop_id=1,
                consumer_id=consumer,
                state=state,
                entry="product",
                opened_at=0.0,
                last_activity_at=active,
            )
        )


def _plan(conn: Connection, sql: str, params: dict[str, object]) -> str:
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SET LOCAL enable_seqscan = off")  # a 4-row table: ask for it
        rows = conn.execute(text("EXPLAIN " + sql), params).all()
    else:
        rows = conn.execute(text("EXPLAIN QUERY PLAN " + sql), params).all()
    return "\n".join(str(row[-1]) for row in rows)


def test_message_updates_move_no_index_and_open_sessions_are_found_by_index(
    tmp_path: Path,
) -> None:
    engine = create_engine(fresh_database_url(tmp_path))
    command.upgrade(alembic_config(engine), "head")
    with engine.begin() as conn:
        _seed(conn)
    with engine.begin() as conn:
        stale = session_store.idle_sessions(conn, cutoff=100.0)
        assert {row["id"] for row in stale} == {1, 4}  # not the recent one, not the closed one
        idle_sql = (
            "SELECT id FROM sessions WHERE state != 'closed'"
            " AND state IN ('assigned', 'queued', 'robot') AND last_activity_at < :cutoff"
        )
        assert "ix_sessions_open_state" in _plan(conn, idle_sql, {"cutoff": 100.0})
        closed_sql = "SELECT id FROM sessions WHERE closed_at IS NOT NULL AND closed_at >= :since"
        assert "ix_sessions_closed_at" in _plan(conn, closed_sql, {"since": 5.0})
        last_event_sql = "SELECT max(id) FROM session_events WHERE session_id = :s"
        assert "ix_session_events_session_id_id" in _plan(conn, last_event_sql, {"s": 1})
        marked = robot_windows.sessions_since(conn, since=5.0)
        assert [row[0] for row in marked] == [1, 2, 4]  # open ones (the closed one has no time)
        turns = robot_store.pending_turns(conn, since=0.0, before=100.0, limit=10)
        assert turns == []  # (the robot's session has no buyer message)
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            for seq in range(1, 21):  # as store/messages.py's batched send advances them
                conn.exec_driver_sql(
                    "UPDATE sessions s SET last_seq = v.last_seq, last_activity_at = v.at"
                    " FROM json_to_recordset(%s::json) AS v(id bigint, last_seq integer,"
                    " at float8) WHERE s.id = v.id",
                    (f'[{{"id": 1, "last_seq": {seq}, "at": {1000.0 + seq}}}]',),
                )
            hot, updated = conn.exec_driver_sql(
                "SELECT pg_stat_get_xact_tuples_hot_updated('sessions'::regclass),"
                " pg_stat_get_xact_tuples_updated('sessions'::regclass)"
            ).one()
        assert (hot, updated) == (20, 20)
    engine.dispose()
