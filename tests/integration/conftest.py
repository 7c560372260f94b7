from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.harness import DEMO_TEMPLATES, MakeServer, Server, fresh_database_url


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    srv = Server(tmp_path, fresh_database_url(tmp_path))
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture
def make_server(tmp_path: Path) -> Iterator[MakeServer]:
    """Servers with their own settings, stopped after the test. On SQLite each has its own
    database; on PostgreSQL the test's servers are nodes sharing one (emptying it for a second
    node would pull the tables from under the first)."""
    started: list[Server] = []

    def make(clock: Any = None, **overrides: Any) -> Server:
        folder = tmp_path / f"node{len(started)}"
        folder.mkdir()
        shared = started and not started[0].database_url.startswith("sqlite")
        url = started[0].database_url if shared else fresh_database_url(folder)
        srv = Server(folder, url, overrides=overrides, clock=clock)
        srv.start()
        started.append(srv)
        return srv

    yield make
    for srv in started:
        srv.stop()


@pytest.fixture(scope="session", autouse=True)
def demo_templates() -> Iterator[None]:
    """The demo databases seeded during the run are removed at its end."""
    yield
    DEMO_TEMPLATES.drop()
