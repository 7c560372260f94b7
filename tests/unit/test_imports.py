"""Every module of the package imports on its own, whatever was imported before it.

The app imports modules in one order; a command, a worker process or a test may start from
another, and an import cycle then fails only there.
"""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import feige

SCRIPT = """
import importlib, sys
from prometheus_client import REGISTRY
failed = []
for name in sys.argv[1:]:
    for collector in list(REGISTRY._collector_to_names):  # metrics are module globals
        REGISTRY.unregister(collector)
    for loaded in [m for m in sys.modules if m == "feige" or m.startswith("feige.")]:
        del sys.modules[loaded]
    try:
        importlib.import_module(name)
    except Exception as exc:
        failed.append(f"{name}: {exc!r}")
print("\\n".join(failed))
"""


def test_each_module_imports_first() -> None:
    names = [
        m.name
        for m in pkgutil.walk_packages(feige.__path__, "feige.")
        # migrations run inside alembic, which sets up their context
        if not m.name.endswith("__main__") and ".migrations." not in m.name
    ]
    assert len(names) > 100
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, *names], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ""
