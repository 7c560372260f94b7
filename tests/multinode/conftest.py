"""Several real ``feige serve`` processes on one PostgreSQL database and a Redis server of
the test's own (started here, so a test may kill and restart it). Skipped, with the reason,
when PostgreSQL or ``redis-server`` is not there; in CI (``CI`` set: ``.ci/run`` starts
both) that fails instead. The database is ``FEIGE_TEST_DATABASE_URL`` when it names a
PostgreSQL one, else ``FEIGE_MULTINODE_DATABASE_URL``, else ``feige_multinode`` on the
local server (created if missing)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/feige_multinode"


def unavailable(reason: str) -> None:
    """Skip, saying why; in CI (``.ci/run`` starts PostgreSQL and Redis) fail instead."""
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class RedisServer:
    """A ``redis-server`` of the test's own: no persistence, so a restart forgets everything
    (as a crashed Redis without a disk does)."""

    port: int
    folder: Path
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/5"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        assert binary is not None
        self.proc = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.folder),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    if shutil.which("redis-server") is None:
        unavailable("redis-server is not installed (multi-node tests need Redis)")
    server = RedisServer(free_port(), tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.kill()


@pytest.fixture
def live_redis(redis_server: RedisServer) -> RedisServer:
    """The module's Redis, up (a test before may have killed it)."""
    if redis_server.proc is None or redis_server.proc.poll() is not None:
        redis_server.start()
    return redis_server


def _postgres_url() -> str:
    url = os.environ.get("FEIGE_TEST_DATABASE_URL", "")
    if url.startswith("postgresql"):
        return url
    return os.environ.get("FEIGE_MULTINODE_DATABASE_URL", DEFAULT_PG)


@pytest.fixture(scope="module")
def pg_url() -> str:
    """An emptied PostgreSQL database (created if missing), or a skip saying why not."""
    url = _postgres_url()
    name = make_url(url).database
    admin = make_url(url).set(database="postgres")
    try:
        engine = create_engine(
            admin, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3}
        )
        with engine.connect() as conn:
            exists = conn.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}
            ).first()
            if not exists:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
        engine.dispose()
    except Exception as exc:  # any failure to reach it is a reason to skip
        unavailable(f"PostgreSQL is not reachable at {admin.render_as_string()}: {exc}")
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    return url
