"""The platform's default entries (Chinese), shipped as a CSV in the import format.

A shop's knowledge base is its own entries over these: an entry of the shop with the same
standard question overrides the default's answer, and a shop can disable a default
(``merge``). The ways buyers ask a default question are the platform's to maintain, so an
override keeps the default's similar questions after its own: a shop that writes its own
shipping answer still has it found for "什么时候发货".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from functools import lru_cache
from importlib.resources import files

from feige.robot.entries import KnowledgeEntry
from feige.robot.knowledge_file import parse_csv

DEFAULTS_FILE = "platform_defaults.csv"


@lru_cache(maxsize=1)
def platform_defaults() -> tuple[KnowledgeEntry, ...]:
    """The default entries (read once from the package data)."""
    data = files("feige.robot").joinpath("data", DEFAULTS_FILE).read_bytes()
    return tuple(replace(e, default=True) for e in parse_csv(data))


def merge(
    shop: Iterable[KnowledgeEntry],
    defaults: Iterable[KnowledgeEntry] | None = None,
    disabled: Iterable[str] = (),
) -> list[KnowledgeEntry]:
    """The shop's entries first (an override with the default's similar questions after its
    own), then the defaults it neither overrides nor disabled."""
    base = platform_defaults() if defaults is None else tuple(defaults)
    by_question = {e.question: e for e in base}
    own = []
    for entry in shop:
        default = by_question.get(entry.question)
        if default is not None:
            similar = tuple(dict.fromkeys((*entry.similar, *default.similar)))
            entry = replace(entry, similar=similar, default=False)
        own.append(entry)
    taken = {e.question for e in own} | set(disabled)
    return own + [e for e in base if e.question not in taken]
