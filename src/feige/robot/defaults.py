"""The platform's default entries (Chinese), shipped as a CSV in the import format.

A shop's knowledge base is its own entries over these: an entry of the shop with the same
standard question overrides the default, and a shop can disable a default (``merge``).
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from importlib.resources import files

from feige.robot.entries import KnowledgeEntry
from feige.robot.knowledge_file import parse_csv

DEFAULTS_FILE = "platform_defaults.csv"


@lru_cache(maxsize=1)
def platform_defaults() -> tuple[KnowledgeEntry, ...]:
    """The default entries (read once from the package data)."""
    data = files("feige.robot").joinpath("data", DEFAULTS_FILE).read_bytes()
    return tuple(parse_csv(data))


def merge(
    shop: Iterable[KnowledgeEntry],
    defaults: Iterable[KnowledgeEntry] | None = None,
    disabled: Iterable[str] = (),
) -> list[KnowledgeEntry]:
    """The shop's entries first, then the defaults it neither overrides nor disabled."""
    own = list(shop)
    taken = {e.question for e in own} | set(disabled)
    base = platform_defaults() if defaults is None else tuple(defaults)
    return own + [e for e in base if e.question not in taken]
