"""Database access: one group-commit writer and a pool of readers over sync SQLAlchemy Core.

Why sync SQLAlchemy in threads rather than the async drivers: with aiosqlite every statement
is its own thread hop (≈ 6.7k commits/s here), while one hop per *batch* of write jobs run in a
single transaction reaches hundreds of thousands of rows/s. Each write job is a plain function
of a ``Connection``; the writer runs a batch in one transaction and resolves every job's
future only after the commit, so an acknowledgement always follows durability. The same code
runs on PostgreSQL (psycopg 3), where the batch also saves round trips.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar

import orjson
import structlog
from prometheus_client import Counter, Gauge, Histogram
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import Result, make_url
from sqlalchemy.exc import DBAPIError

T = TypeVar("T")
WriteJob = Callable[..., Any]
# Runs consecutive jobs of one kind at once (``Database.submit``'s ``batched``): given the
# (outbox, args) of each, it returns the results of as many of the first ones as it ran
# (maybe none); the writer runs the next one alone, then hands it the rest.
BatchedJob = Callable[[Connection, list[tuple[Any, tuple[Any, ...]]]], list[Any]]


log = structlog.get_logger(__name__)

COMMIT_BATCH = Histogram(
    "feige_commit_batch_size",
    "Write jobs per group commit",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512),
)
COMMIT_SECONDS = Histogram("feige_commit_seconds", "Time to run and commit one batch")
WAL_FRAMES = Gauge(
    "feige_sqlite_wal_frames", "Frames in SQLite's write-ahead log at the last checkpoint"
)
WAL_BEHIND = Gauge(
    "feige_sqlite_wal_frames_behind", "Frames the last checkpoint could not copy back yet"
)
WAL_RESTART_SECONDS = Histogram(
    "feige_sqlite_wal_restart_seconds",
    "Checkpoints the writer finished between batches so that the log could start over",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1),
)
BATCHED_JOBS = Counter(
    "feige_writer_batched_jobs",
    "Write jobs run together by their batched twin (PostgreSQL: plain sends)",
)
BATCH_RETRIES = Counter(
    "feige_commit_retries",
    "Batches rolled back (a job failed, a deadlock…) whose jobs were re-run one by one",
)
WRITER_RECONNECTS = Counter(
    "feige_writer_reconnects", "Writer connections replaced after a database error"
)


def normalise_url(url: str) -> str:
    """Accept ``postgresql://`` and ``postgres://`` and pick the psycopg 3 driver."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def create_db_engine(url: str) -> Engine:
    url = normalise_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            pool_size=8,
            max_overflow=8,
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            # The message path's indexes outgrow SQLite's 2 MB default page cache quickly;
            # memory-map the file and keep a bigger cache so lookups do not become syscalls.
            cur.execute("PRAGMA cache_size=-65536")
            cur.execute("PRAGMA mmap_size=268435456")
            # No checkpoint inside a commit: it would stall the writer (and with SQLite the
            # writer is the event loop) for a page flush; Database.checkpoint runs them off
            # to the side instead. After a burst, the log file shrinks back to this size.
            cur.execute("PRAGMA wal_autocheckpoint=0")
            cur.execute("PRAGMA journal_size_limit=67108864")
            cur.close()

        return engine
    # JSON columns are read with orjson rather than the standard library (every session row
    # the message path locks carries its entry card; SQLAlchemy hands this to psycopg).
    return create_engine(
        url, pool_size=10, max_overflow=10, pool_pre_ping=True, json_deserializer=orjson.loads
    )


class AfterCommit(Protocol):
    """What a write job collects for after its commit (the services' ``Outbox``)."""

    def discard(self) -> None:
        """The attempt rolled back: nothing collected in it happened."""


@dataclass
class _Job:
    fn: WriteJob
    args: tuple[Any, ...]
    future: asyncio.Future[Any]
    outbox: AfterCommit | None = None
    batched: BatchedJob | None = None

    def run(self, conn: Connection) -> Any:
        if self.outbox is None:
            return self.fn(conn, *self.args)
        return self.fn(conn, self.outbox, *self.args)


@dataclass
class Database:
    """The store's entry point for services: ``await db.write(job, ...)`` / ``db.read``."""

    engine: Engine
    max_batch: int = 512
    # Run batches on the event loop's own thread. For SQLite that is faster: a batch is pure
    # CPU work in this process, and a writer thread would wait for the GIL after every
    # SQLite call while the loop is busy (docs/performance.md). PostgreSQL batches wait on
    # the network, so they keep the writer thread.
    inline: bool = False
    gather_seconds: float = 0.0
    # Past this many frames in the write-ahead log (4 KB pages: 64 MB), the inline writer
    # finishes the background checkpoint itself, between two batches (see _restart_log).
    wal_restart_frames: int = 16384
    _wal_frames: int = 0
    _queue: asyncio.Queue[_Job] | None = None
    _task: asyncio.Task[None] | None = None
    # The writer's own connection, held for the server's life: never shared with readers
    # through the pool, so nothing a reader leaves behind reaches a commit.
    _writer_conn: Connection | None = None
    _writer_pool: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(1, thread_name_prefix="feige-writer")
    )
    _reader_pool: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(4, thread_name_prefix="feige-reader")
    )

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    async def start(self) -> None:
        self._queue = asyncio.Queue()
        # The writer holds one connection for the server's life, on PostgreSQL too: a pool
        # checkout per batch cost a round trip (the pool's ping) on every group commit, and
        # at an open-loop 3,000 msg/s each round trip is milliseconds of a batch's time
        # (docs/performance.md). A connection the server dropped fails the batch, which is
        # re-run job by job on a fresh one (_transaction).
        self._writer_conn = self.engine.connect()
        self._task = asyncio.create_task(self._run(), name="feige-group-commit")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self._writer_pool.shutdown(wait=True)
        self._reader_pool.shutdown(wait=True)
        if self._writer_conn is not None:
            self._writer_conn.close()
            self._writer_conn = None
        self.engine.dispose()

    async def write(self, fn: Callable[..., T], *args: Any, outbox: AfterCommit | None = None) -> T:
        """Run ``fn(conn, *args)`` in the next group commit; return after the commit.
        With an ``outbox`` the job is ``fn(conn, outbox, *args)``, and the outbox is emptied
        (``discard``) whenever an attempt of the job rolls back."""
        return await self.submit(fn, *args, outbox=outbox)

    def submit(
        self,
        fn: Callable[..., T],
        *args: Any,
        outbox: AfterCommit | None = None,
        batched: BatchedJob | None = None,
    ) -> asyncio.Future[T]:
        """Queue the job now, without yielding (as ``write``): jobs submitted one after the
        other run in that order. The future resolves after the commit.

        ``batched`` (PostgreSQL, where every statement is a round trip): consecutive jobs
        of a batch submitted with the same one are handed to it together, to run in a few
        statements for all. It must do exactly what the jobs would have done one after the
        other, and leave whatever it cannot (a refusal, a rare case) to the job itself by
        stopping before it; SQLite runs every job itself."""
        if self._queue is None:
            raise RuntimeError("database writer is not started")
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(_Job(fn, args, future, outbox, batched))
        return future

    async def read(self, fn: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._reader_pool, self.read_sync, fn, *args)

    def read_sync(self, fn: Callable[..., T], *args: Any) -> T:
        """Run a read job. It must return data, not a live result: an unfinished statement
        would go back to the pool with its connection (with SQLite, an unfinished write
        statement, a checkpoint among them, makes that connection's next COMMIT fail)."""
        with self.engine.connect() as conn:
            return _data(fn, fn(conn, *args))

    async def checkpoint(self) -> tuple[int, int, int] | None:
        """Copy the SQLite write-ahead log back into the database without blocking writers;
        returns SQLite's (busy, frames in the log, frames copied back)."""
        if not self.is_sqlite:
            return None
        busy, frames, copied = await self.read(_checkpoint_passive)
        self._wal_frames = frames
        WAL_FRAMES.set(max(frames, 0))
        WAL_BEHIND.set(max(frames - copied, 0))
        return busy, frames, copied

    def write_sync(self, fn: Callable[..., T], *args: Any) -> T:
        """For the command line and seeding, where there is no event loop to batch on."""
        with self.engine.begin() as conn:
            return _data(fn, fn(conn, *args))

    async def _run(self) -> None:
        assert self._queue is not None
        loop = asyncio.get_running_loop()
        while True:
            batch = [await self._queue.get()]
            if self.gather_seconds and self._queue.qsize() < self.max_batch // 4:
                # Let the loop read a little more from the sockets first: one commit for
                # more jobs costs less per message, for at most this much extra latency.
                await asyncio.sleep(self.gather_seconds)
            while len(batch) < self.max_batch and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            if self.inline:
                outcomes = self._execute(batch)
            else:
                outcomes = await loop.run_in_executor(self._writer_pool, self._execute, batch)
            for job, (ok, value) in zip(batch, outcomes, strict=True):
                if job.future.done():
                    continue
                if ok:
                    job.future.set_result(value)
                else:
                    job.future.set_exception(value)
            if self.is_sqlite and self._wal_frames >= self.wal_restart_frames:
                self._restart_log()

    def _restart_log(self) -> None:
        """Let the write-ahead log start over. SQLite reuses the log from its beginning only
        when a write begins after a checkpoint that copied every frame back; the background
        checkpoint (a reader thread) almost never does under steady load, because a commit
        lands while it copies, and the log then grows by every commit (23 MB/s at 3,000 msg/s
        measured). Here, between two batches, no commit can land: the checkpoint copies the
        few frames written since the last background one and completes, and the next batch
        restarts the log."""
        self._wal_frames = 0
        assert self._writer_conn is not None
        driver = self._writer_conn.connection.driver_connection
        started = time.perf_counter()
        try:
            driver.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()  # type: ignore[union-attr]
        except sqlite3.Error:  # a reader holds old frames: the next background check retries
            log.warning("wal_restart_checkpoint_failed", exc_info=True)
            return
        WAL_RESTART_SECONDS.observe(time.perf_counter() - started)

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[Connection]:
        """One write transaction, on the writer's own connection (from the pool only when
        the writer is not started: ``write_sync``'s callers have their own)."""
        if self._writer_conn is None and self._queue is not None:
            self._writer_conn = self.engine.connect()  # the last replacement failed: again
        if self._writer_conn is None:
            with self.engine.begin() as conn:
                yield conn
            return
        conn = self._writer_conn
        try:
            with conn.begin():
                yield conn
        except (DBAPIError, sqlite3.Error):
            # The database refused (a commit, a lock, a broken connection): whatever state the
            # connection is left in, the next transaction starts on a fresh one.
            self._replace_writer_connection()
            raise

    def _replace_writer_connection(self) -> None:
        old, self._writer_conn = self._writer_conn, None
        if old is not None:
            # Roll back on the driver first: after a refused COMMIT the transaction is still
            # open, and a connection closed with a statement unfinished lives on as a zombie
            # that keeps the write lock (every later write: "database is locked").
            with contextlib.suppress(Exception):
                old.connection.driver_connection.rollback()  # type: ignore[union-attr]
            with contextlib.suppress(Exception):
                old.invalidate()
            with contextlib.suppress(Exception):
                old.close()
        WRITER_RECONNECTS.inc()
        with contextlib.suppress(Exception):  # (the database may be down: the next one retries)
            self._writer_conn = self.engine.connect()

    def _execute(self, batch: list[_Job]) -> list[tuple[bool, Any]]:
        started = time.perf_counter()
        COMMIT_BATCH.observe(len(batch))
        try:
            with self._transaction() as conn:
                if self.is_sqlite:
                    results = self._run_sqlite(conn, batch)
                else:
                    results = self._run_batched(conn, batch)
        except Exception as exc:
            # A job failed: the batch rolled back as a whole, and what the jobs collected for
            # after the commit is void. Re-run each job alone so that the failure stays with
            # its own caller and the others still commit.
            for job in batch:
                _rolled_back(job)
            if len(batch) > 1:
                BATCH_RETRIES.inc()
            if len(batch) == 1 and not isinstance(exc, DBAPIError | sqlite3.Error):
                results = [(False, exc)]  # its own failure: running it again would repeat it
            else:  # (a database refusal may not be the job's: it gets a fresh connection)
                results = [self._execute_one(job) for job in batch]
        COMMIT_SECONDS.observe(time.perf_counter() - started)
        return results

    @staticmethod
    def _run_sqlite(conn: Connection, batch: list[_Job]) -> list[tuple[bool, Any]]:
        """Run a batch; a job that raises without having changed a row (a refusal: unknown
        id, closed session…) fails alone and the batch goes on. SQLite counts the rows each
        statement changes, so "nothing written" is a fact, not a promise of the job's; a job
        that wrote, or a database error, still rolls the batch back (the caller re-runs)."""
        driver = conn.connection.driver_connection
        results: list[tuple[bool, Any]] = []
        for job in batch:
            before = driver.total_changes  # type: ignore[union-attr]
            try:
                results.append((True, _data(job.fn, job.run(conn))))
            except (DBAPIError, sqlite3.Error):
                raise
            except Exception as exc:
                if driver.total_changes != before:  # type: ignore[union-attr]
                    raise
                _rolled_back(job)
                results.append((False, exc))
        return results

    @staticmethod
    def _run_batched(conn: Connection, batch: list[_Job]) -> list[tuple[bool, Any]]:
        """Run a batch in order, consecutive jobs submitted with the same ``batched``
        together (PostgreSQL: every statement is a round trip)."""
        results: list[tuple[bool, Any]] = []
        i = 0
        while i < len(batch):
            job = batch[i]
            batched = job.batched
            if batched is not None:
                end = i + 1
                while end < len(batch) and batch[end].batched is batched:
                    end += 1
                done = batched(conn, [(j.outbox, j.args) for j in batch[i:end]])
                if len(done) > end - i:
                    raise RuntimeError(f"{batched!r} returned more results than jobs")
                results += [(True, _data(job.fn, value)) for value in done]
                BATCHED_JOBS.inc(len(done))
                i += len(done)
                if i == end:
                    continue
                # The one it left (often a refusal: a closed session, a reused client id)
                # runs alone, inside a savepoint: if it raises, only its own writes are
                # undone and it fails alone, as on SQLite, instead of the whole batch going
                # back to one commit per job. Then the rest are batched again.
                job = batch[i]
                i += 1
                try:
                    with conn.begin_nested():
                        results.append((True, _data(job.fn, job.run(conn))))
                except DBAPIError:
                    raise  # the database's refusal: the batch is re-run job by job
                except Exception as exc:
                    _rolled_back(job)
                    results.append((False, exc))
                continue
            results.append((True, _data(job.fn, job.run(conn))))
            i += 1
        return results

    def _execute_one(self, job: _Job) -> tuple[bool, Any]:
        try:
            with self._transaction() as conn:
                return True, _data(job.fn, job.run(conn))
        except Exception as exc:  # handed to the caller's future
            _rolled_back(job)
            return False, exc


def _data(fn: Callable[..., Any], value: T) -> T:
    """A job's return value, which must be data: a live result would keep its statement open
    on the connection (with SQLite, an open write statement makes the next COMMIT fail)."""
    if isinstance(value, Result):
        value.close()
        raise TypeError(f"job {fn!r} returned a live result; fetch its rows")
    return value


def _checkpoint_passive(conn: Connection) -> tuple[int, int, int]:
    busy, frames, copied = conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)").one()
    return int(busy), int(frames), int(copied)


def _rolled_back(job: _Job) -> None:
    """This attempt of the job never happened: what it collected for after the commit goes."""
    if job.outbox is not None:
        job.outbox.discard()
