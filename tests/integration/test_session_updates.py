"""Migration 0015: a message's update of its session is heap-only on PostgreSQL (no index
moves), and the sweeps that read open sessions by activity still go through an index."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Connection, create_engine, insert, text

from feige.store import messages as message_store
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


def test_the_batched_sends_statements_look_rows_up_by_index_after_the_tables_grew(
    tmp_path: Path,
) -> None:
    """The writer keeps one connection for its life, and psycopg prepares a statement run
    five times: PostgreSQL then kept a generic plan made while the tables were small, which
    scanned the whole of ``messages`` on every batch (22 ms a batch at 150,000 messages,
    growing with the table). Batches run on a small table first, then the table grows: the
    next batch reads no table from end to end."""
    url = fresh_database_url(tmp_path)
    if not url.startswith("postgresql"):
        pytest.skip("prepared statements' generic plans are PostgreSQL's")
    engine = create_engine(url)
    command.upgrade(alembic_config(engine), "head")
    with engine.begin() as conn:
        _seed(conn)
        conn.exec_driver_sql("ANALYZE")
    conn = engine.connect()  # one connection throughout, as the writer's

    def scans() -> tuple[int, int]:
        # This backend's sequential scans of each table not yet reported: a difference of
        # two readings in one transaction is what happened between them.
        row = conn.exec_driver_sql(
            "SELECT pg_stat_get_xact_numscans('messages'::regclass),"
            " pg_stat_get_xact_numscans('sessions'::regclass)"
        ).one()
        return int(row[0]), int(row[1])

    def batch(n: int) -> tuple[int, int]:
        """One batch's two round trips for session 1; the table scans it made."""
        with conn.begin():
            before = scans()
            state = message_store.send_state(
                conn, [1], [("buyer", 1, f"c{n}")], [1], first_now=1.0, last_now=1.0
            )
            seq = state.sessions[1]["last_seq"] + 1
            row = {
                "session_id": 1,
                "seq": seq,
                "sender_role": "buyer",
                "sender_id": 1,
                "kind": "text",
                "content": {"text": "在吗"},
                "client_id": f"c{n}",
                "created_at": 1.0,
            }
            message_store.insert_messages(conn, {1: (seq, 1.0)}, [row])
            after = scans()
        return after[0] - before[0], after[1] - before[1]

    try:
        for n in range(8):  # enough runs for psycopg to prepare, PostgreSQL to plan generically
            batch(n)
        with engine.begin() as other:  # the tables grow, and are analysed
            other.exec_driver_sql(
                "INSERT INTO messages (session_id, seq, sender_role, sender_id, kind, content,"
                " client_id, created_at) SELECT 2, g, 'buyer', 2, 'text', '{}', 'x' || g, 1.0"
                " FROM generate_series(1, 20000) AS g"
            )
            other.exec_driver_sql("UPDATE sessions SET last_seq = 20000 WHERE id = 2")
            other.exec_driver_sql(
                "INSERT INTO sessions (id, shop_id, consumer_id, state, entry, opened_at,"
                " last_activity_at, closed_at) SELECT 100 + g, 1, 3, 'closed', 'product', 1.0,"
                " 1.0, 2.0 FROM generate_series(1, 20000) AS g"
            )
            other.exec_driver_sql("ANALYZE")
        assert batch(100) == (0, 0)  # no sequential scan of either table
    finally:
        conn.close()
        engine.dispose()
