from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.harness import Server, fresh_database_url


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    srv = Server(tmp_path, fresh_database_url(tmp_path))
    srv.start()
    yield srv
    srv.stop()
