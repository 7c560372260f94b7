"""The group-commit writer when a job of a batch fails (docs/architecture.md)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, text

from feige.services.context import Outbox
from feige.store.db import Database, create_db_engine


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(create_db_engine(f"sqlite:///{tmp_path / 'w.db'}"), inline=True)
    database.write_sync(
        lambda conn: conn.execute(text("CREATE TABLE t (x INTEGER UNIQUE)")).close()
    )
    await database.start()
    yield database
    await database.stop()


def _insert(conn: Connection, outbox: Outbox, x: int, calls: list[int]) -> int:
    calls.append(x)
    conn.execute(text("INSERT INTO t (x) VALUES (:x)"), {"x": x})
    outbox.add(("channel",), {"x": x})
    return x


def _rows(db: Database) -> list[int]:
    return db.write_sync(lambda conn: [r[0] for r in conn.execute(text("SELECT x FROM t"))])


async def test_a_failing_job_leaves_the_others_committed_with_their_events_once(
    db: Database,
) -> None:
    boxes = [Outbox(), Outbox(), Outbox()]
    calls: list[int] = []
    # Submitted without yielding: one batch. The middle job breaks the unique constraint.
    futures = [
        db.submit(_insert, 1, calls, outbox=boxes[0]),
        db.submit(_insert, 1, calls, outbox=boxes[1]),
        db.submit(_insert, 2, calls, outbox=boxes[2]),
    ]
    assert await futures[0] == 1
    with pytest.raises(Exception, match="UNIQUE"):
        await futures[1]
    assert await futures[2] == 2
    assert sorted(_rows(db)) == [1, 2]
    # The rolled-back attempt's events are gone: each committed job's event is there once.
    assert [box.items for box in boxes] == [
        [(("channel",), {"x": 1})],
        [],
        [(("channel",), {"x": 2})],
    ]
    assert calls == [1, 1, 1, 1, 2]  # the batch up to the failure, then each job alone


async def test_a_job_failing_alone_runs_once(db: Database) -> None:
    calls: list[Any] = []

    def broken(conn: Connection, outbox: Outbox) -> None:
        calls.append(1)
        outbox.add(("channel",), {})
        raise LookupError("no such thing")

    box = Outbox()
    with pytest.raises(LookupError):
        await db.write(broken, outbox=box)
    assert calls == [1] and box.items == []


def _refuse(conn: Connection, outbox: Outbox, calls: list[int]) -> None:
    calls.append(0)
    conn.execute(text("SELECT count(*) FROM t")).scalar_one()
    outbox.add(("channel",), {"refused": True})
    raise LookupError("unknown id")  # a refusal: read, decided, wrote nothing


def _write_then_fail(conn: Connection, outbox: Outbox, calls: list[int]) -> None:
    calls.append(9)
    conn.execute(text("INSERT INTO t (x) VALUES (9)"))
    raise LookupError("changed its mind")


async def test_a_refusal_fails_alone_and_the_batch_goes_on(db: Database) -> None:
    boxes = [Outbox(), Outbox(), Outbox()]
    calls: list[int] = []
    futures = [
        db.submit(_insert, 1, calls, outbox=boxes[0]),
        db.submit(_refuse, calls, outbox=boxes[1]),
        db.submit(_insert, 2, calls, outbox=boxes[2]),
    ]
    assert await futures[0] == 1
    with pytest.raises(LookupError):
        await futures[1]
    assert await futures[2] == 2
    assert calls == [1, 0, 2]  # one transaction, nobody re-run
    assert [len(box.items) for box in boxes] == [1, 0, 1]
    assert sorted(_rows(db)) == [1, 2]


async def test_a_job_that_wrote_before_failing_leaves_nothing(db: Database) -> None:
    calls: list[int] = []
    futures = [
        db.submit(_insert, 1, calls, outbox=Outbox()),
        db.submit(_write_then_fail, calls, outbox=Outbox()),
        db.submit(_insert, 2, calls, outbox=Outbox()),
    ]
    assert await futures[0] == 1
    with pytest.raises(LookupError):
        await futures[1]
    assert await futures[2] == 2
    assert sorted(_rows(db)) == [1, 2]  # its row went with the rolled-back attempts
    assert calls == [1, 9, 1, 9, 2]


def _leave_a_checkpoint_unfinished(conn: Connection) -> Any:
    """What the checkpointer used to do: a write statement left open on the connection (its
    cursor alive), so that the connection's next COMMIT fails."""
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    cursor.execute("PRAGMA wal_checkpoint(PASSIVE)")
    return cursor


async def test_what_a_reader_leaves_behind_never_reaches_the_writer(db: Database) -> None:
    reader = db.engine.connect()
    leftover = _leave_a_checkpoint_unfinished(reader)
    reader.close()  # back to the pool, statement still open
    assert await db.write(_insert, 1, [], outbox=Outbox()) == 1
    assert _rows(db) == [1]
    del leftover


async def test_a_refused_commit_gets_a_fresh_connection_and_loses_nothing(db: Database) -> None:
    assert db._writer_conn is not None
    leftover = _leave_a_checkpoint_unfinished(db._writer_conn)
    boxes = [Outbox(), Outbox(), Outbox()]
    calls: list[int] = []
    futures = [db.submit(_insert, i, calls, outbox=boxes[i]) for i in range(3)]
    assert [await f for f in futures] == [0, 1, 2]
    assert sorted(_rows(db)) == [0, 1, 2]
    assert [len(box.items) for box in boxes] == [1, 1, 1]
    assert calls == [0, 1, 2, 0, 1, 2]  # the refused batch, then each job on the new connection
    del leftover
    # A job alone in its batch gets the same second chance.
    assert db._writer_conn is not None
    leftover = _leave_a_checkpoint_unfinished(db._writer_conn)
    assert await db.write(_insert, 3, calls, outbox=Outbox()) == 3
    assert calls[-2:] == [3, 3]
    del leftover


async def test_a_read_job_returning_a_live_result_is_refused(db: Database) -> None:
    with pytest.raises(TypeError, match="live result"):
        await db.read(lambda conn: conn.exec_driver_sql("SELECT 1"))
    assert await db.read(lambda conn: conn.exec_driver_sql("SELECT 1").scalar()) == 1


async def test_checkpoints_report_the_log(db: Database) -> None:
    for x in range(5):
        await db.write(_insert, x, [], outbox=Outbox())
    stats = await db.checkpoint()
    assert stats is not None
    busy, frames, copied = stats
    assert busy == 0 and frames >= copied > 0
    assert await db.write(_insert, 99, [], outbox=Outbox()) == 99


async def test_a_write_job_returning_a_live_result_fails_alone(db: Database) -> None:
    def sloppy(conn: Connection, outbox: Outbox) -> Any:
        return conn.execute(text("SELECT x FROM t"))

    good = db.submit(_insert, 5, [], outbox=Outbox())
    bad = db.submit(sloppy, outbox=Outbox())
    assert await good == 5
    with pytest.raises(TypeError, match="live result"):
        await bad
    assert await db.write(_insert, 6, [], outbox=Outbox()) == 6  # and the next commit goes through


def _insert_text(conn: Connection, outbox: Outbox, i: int) -> int:
    conn.execute(text("INSERT INTO t (x) VALUES (:x)"), {"x": f"{i:08d}" + "x" * 3000})
    return i


async def test_the_write_ahead_log_starts_over_under_steady_writes(tmp_path: Path) -> None:
    """Background checkpoints race the commits and never complete; without the writer's own
    checkpoint the log grew by every commit (15,000 frames here, unbounded in production)."""
    db = Database(
        create_db_engine(f"sqlite:///{tmp_path / 'wal.db'}"), inline=True, wal_restart_frames=100
    )
    db.write_sync(lambda conn: conn.execute(text("CREATE TABLE t (x TEXT)")).close())
    await db.start()
    seen: list[int] = []
    writing = True

    async def checkpointer() -> None:
        while writing:
            stats = await db.checkpoint()
            assert stats is not None
            seen.append(stats[1])
            await asyncio.sleep(0.01)

    task = asyncio.create_task(checkpointer())
    try:
        for n in range(0, 6000, 3):
            await asyncio.gather(
                *(db.submit(_insert_text, n + k, outbox=Outbox()) for k in range(3))
            )
    finally:
        writing = False
        await task
    rows = db.write_sync(lambda conn: conn.execute(text("SELECT count(*) FROM t")).scalar_one())
    await db.stop()
    assert rows == 6000
    assert (
        len(seen) > 10 and max(seen) < 1000
    )  # frames in the log, never more than a few restarts' worth


# --- jobs run together by a batched twin (PostgreSQL) ------------------------------------------


@pytest.fixture(params=["sqlite", "postgresql"])
async def any_db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    """The writer as the server runs it: inline on SQLite, on its thread on PostgreSQL
    (``FEIGE_TEST_DATABASE_URL``; skipped without it)."""
    if request.param == "sqlite":
        database = Database(create_db_engine(f"sqlite:///{tmp_path / 'w.db'}"), inline=True)
    else:
        url = os.environ.get("FEIGE_TEST_DATABASE_URL", "")
        if not url.startswith("postgresql"):
            pytest.skip("FEIGE_TEST_DATABASE_URL names no PostgreSQL database")
        database = Database(create_db_engine(url))

    def create(conn: Connection) -> None:
        conn.execute(text("DROP TABLE IF EXISTS t"))
        conn.execute(text("CREATE TABLE t (x INTEGER UNIQUE)"))

    database.write_sync(create)
    await database.start()
    yield database
    await database.stop()


def _insert_or_refuse(conn: Connection, outbox: Outbox, x: int, calls: list[Any]) -> int:
    """One job: inserts ``x``; a negative one writes, then refuses."""
    calls.append(("alone", x))
    conn.execute(text("INSERT INTO t (x) VALUES (:x)"), {"x": abs(x) + (100 if x < 0 else 0)})
    if x < 0:
        raise LookupError("refused after writing")
    outbox.add(("channel",), {"x": x})
    return x


def _insert_together(conn: Connection, jobs: list[tuple[Any, tuple[Any, ...]]]) -> list[int]:
    """Its twin: the first jobs up to a negative one, in one statement."""
    taken = []
    for outbox, (x, calls) in jobs:
        if x < 0:
            break
        taken.append((outbox, x, calls))
    if taken:
        values = ", ".join(f"({x})" for _, x, _ in taken)
        conn.execute(text(f"INSERT INTO t (x) VALUES {values}"))
    for outbox, x, calls in taken:
        calls.append(("together", x))
        outbox.add(("channel",), {"x": x})
    return [x for _, x, _ in taken]


async def test_a_batched_twin_runs_the_jobs_around_one_it_leaves_and_that_one_fails_alone(
    any_db: Database,
) -> None:
    calls: list[Any] = []
    xs = [1, 2, -3, 4, 5]
    boxes = [Outbox() for _ in xs]
    futures = [
        any_db.submit(_insert_or_refuse, x, calls, outbox=box, batched=_insert_together)
        for x, box in zip(xs, boxes, strict=True)
    ]
    results = await asyncio.gather(*futures, return_exceptions=True)
    assert results[:2] == [1, 2] and results[3:] == [4, 5]
    assert isinstance(results[2], LookupError)
    assert sorted(_rows(any_db)) == [1, 2, 4, 5]  # the refused job's write is undone
    assert [len(box.items) for box in boxes] == [1, 1, 0, 1, 1]
    if any_db.is_sqlite:  # every job runs itself; the one that wrote sends the batch back
        assert calls[-5:] == [("alone", x) for x in xs]
    else:  # one transaction: the twin, the left job alone in a savepoint, the twin again
        assert calls == [
            ("together", 1),
            ("together", 2),
            ("alone", -3),
            ("together", 4),
            ("together", 5),
        ]


async def test_the_writer_keeps_its_connection_and_replaces_one_the_server_dropped(
    any_db: Database,
) -> None:
    """The writer holds one connection across batches (no pool checkout, no ping per batch);
    when the server drops it, the batch fails over to a fresh one and nothing is lost."""
    if any_db.is_sqlite:
        pytest.skip("the server dropping a connection is a PostgreSQL case")
    calls: list[Any] = []
    assert await any_db.write(_insert_or_refuse, 1, calls, outbox=Outbox()) == 1
    pid = await any_db.write(lambda conn: conn.exec_driver_sql("SELECT pg_backend_pid()").scalar())
    assert (
        await any_db.write(lambda conn: conn.exec_driver_sql("SELECT pg_backend_pid()").scalar())
        == pid
    )
    any_db.write_sync(
        lambda conn: conn.exec_driver_sql(f"SELECT pg_terminate_backend({pid})").close()
    )
    results = await asyncio.gather(
        *(any_db.write(_insert_or_refuse, x, calls, outbox=Outbox()) for x in (2, 3, 4))
    )
    assert results == [2, 3, 4]
    assert sorted(_rows(any_db)) == [1, 2, 3, 4]
    new_pid = await any_db.write(
        lambda conn: conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
    )
    assert new_pid != pid
