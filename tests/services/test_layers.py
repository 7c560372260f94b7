"""Which module may import which (docs/architecture.md, "Layers"), checked on the source."""

from __future__ import annotations

import ast
from pathlib import Path

import feige

SRC = Path(feige.__file__).parent


def imports(path: Path) -> set[str]:
    """Every module the file imports, ``from a import b`` counted as ``a`` and ``a.b``."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def offenders(folder: str, forbidden: tuple[str, ...], allowed: tuple[str, ...] = ()) -> list[str]:
    out = []
    for path in sorted((SRC / folder).rglob("*.py")):
        for name in imports(path):
            if name.startswith(forbidden) and not name.startswith(allowed):
                out.append(f"{path.relative_to(SRC)}: {name}")
    return out


def test_actions_reach_the_store_only_through_the_library_and_never_call_each_other() -> None:
    assert offenders("services/actions", ("feige.store", "feige.services.actions")) == []


def test_the_library_calls_no_action() -> None:
    assert offenders("services/lib", ("feige.services.actions",)) == []


def test_the_transport_calls_services_and_never_the_store() -> None:
    for folder in ("api", "realtime"):
        assert offenders(folder, ("feige.store",)) == []
    # Of the library, the API uses only the shapes of its answers.
    assert offenders("api", ("feige.services.lib",), ("feige.services.lib.views",)) == []
    # The realtime layer is below the services: it knows nothing of them.
    assert offenders("realtime", ("feige.services", "feige.api")) == []


def test_store_tables_stay_in_the_store() -> None:
    for folder in ("services", "api", "realtime", "commands", "batch"):
        assert offenders(folder, ("feige.store.tables",)) == []


def test_the_enforcement_core_is_pure() -> None:
    """feige.enforcement (points, thresholds, expiry) does no I/O: it imports nothing of
    the services, the store, the transport, nor a database or network library."""
    forbidden = (
        "feige.services",
        "feige.store",
        "feige.api",
        "feige.realtime",
        "sqlalchemy",
        "asyncio",
        "httpx",
        "socket",
        "os",
        "pathlib",
        "importlib",
    )
    assert offenders("enforcement", forbidden) == []
