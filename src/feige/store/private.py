"""Files only the server's own user may read: the data directory, the database and its
write-ahead log, uploads and generated secrets (docs/security.md, "Files on disk").

Modes are set at creation, never fixed up afterwards: a file that is world-readable for a
moment has already been readable.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600


def ensure_private_dir(path: Path) -> None:
    """Create ``path`` and every missing parent owner-only (``mkdir(parents=True)`` gives
    the parents the default mode); tighten ``path`` itself if it exists looser."""
    missing = [p for p in (path, *path.parents) if not p.exists()]
    for folder in reversed(missing):
        with contextlib.suppress(FileExistsError):
            folder.mkdir(mode=DIR_MODE)
    if path.stat().st_mode & 0o077:
        path.chmod(DIR_MODE)


def write_private(path: Path, data: bytes) -> None:
    """Write a new owner-only file; the directory is created owner-only too."""
    ensure_private_dir(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    with os.fdopen(fd, "wb") as out:
        out.write(data)


def touch_private(path: Path) -> None:
    """Create an empty owner-only file unless it exists (SQLite then gives its write-ahead
    log and shared-memory files the database file's mode)."""
    ensure_private_dir(path.parent)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))
    if path.stat().st_mode & 0o077:
        path.chmod(FILE_MODE)


def generated_secret(path: Path) -> str:
    """The secret kept in ``path``, generated on first use. Written to a temporary file and
    linked into place, so two processes starting together agree on one secret and nobody
    ever reads a half-written one."""
    with contextlib.suppress(FileNotFoundError):
        existing = path.read_text().strip()
        if existing:
            return existing
    ensure_private_dir(path.parent)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    write_private(tmp, secrets.token_hex(32).encode())
    try:
        os.link(tmp, path)
    except FileExistsError:
        pass  # another process won the race: use its secret
    finally:
        tmp.unlink(missing_ok=True)
    return path.read_text().strip()
