"""``feige serve --workers N``: refused without Redis and PostgreSQL, with a reason; with
them, N worker processes answer on one port."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx

from tests.multinode.cluster import SRC, Node
from tests.multinode.conftest import RedisServer

SERVE = [sys.executable, "-c", "from feige.commands.serve import main; main()"]


def env(tmp_path: Path, **values: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("FEIGE_")}
    return {
        **base,
        "PYTHONPATH": str(SRC),
        "FEIGE_DATA_DIR": str(tmp_path),
        "FEIGE_CONFIG": str(tmp_path / "absent.toml"),
        **values,
    }


def test_several_workers_need_redis_and_postgresql(tmp_path: Path) -> None:
    done = subprocess.run(
        [*SERVE, "--workers", "2"], env=env(tmp_path), capture_output=True, timeout=60
    )
    assert done.returncode == 2
    said = done.stderr.decode()
    assert "FEIGE_REDIS_URL" in said and "PostgreSQL" in said and "docs/operations.md" in said
    done = subprocess.run(
        [*SERVE, "--workers", "2"],
        env=env(tmp_path, FEIGE_REDIS_URL="redis://127.0.0.1:1/0"),
        capture_output=True,
        timeout=60,
    )
    assert done.returncode == 2 and "FEIGE_REDIS_URL" not in done.stderr.decode()


def children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(c) for c in (task / "children").read_text().split()]
    return found


def test_workers_share_one_port(tmp_path: Path, pg_url: str, live_redis: RedisServer) -> None:
    values = {
        "FEIGE_DATABASE_URL": pg_url,
        "FEIGE_REDIS_URL": live_redis.url,
        "FEIGE_SECRET_KEY": "k" * 40,
        "FEIGE_RATE_LIMIT_KEY_PREFIX": f"feige-scaleout-test:{os.urandom(4).hex()}",
        "FEIGE_LOG_LEVEL": "WARNING",
    }
    node = Node("workers", env(tmp_path, **values), tmp_path, arguments=["--workers", "2"])
    node.launch()
    assert node.proc is not None
    try:
        node.wait_started(180)
        workers = [p for p in children(node.proc.pid) if "spawn_main" in _cmdline(p)]
        assert len(workers) == 2, workers
        # The schema was migrated and the demo seeded once, by the parent, before them.
        login = {"kind": "staff", "username": "admin", "password": "feige123"}
        for _ in range(4):  # connections land on either worker; all answer
            assert httpx.post(node.base_url + "/api/auth/login", json=login).status_code == 200
    finally:
        node.stop()


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""
