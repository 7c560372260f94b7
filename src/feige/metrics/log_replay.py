"""Event log → assessment by replaying each session (the reference engine), in one process.

The command line may split the same steps over workers; the column engine
(:mod:`feige.metrics.columnar`) computes the same document faster.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from feige.metrics.assessment import Week, WeekAggregator, parse_week, result_document
from feige.metrics.config import DEFAULT_CONFIG, AssessmentConfig
from feige.metrics.events import Groups, group_lines, ingest_chunk
from feige.metrics.summary import SessionSummary, Summariser

CHUNK_BYTES = 8 << 20


def iter_blocks(data: bytes, start: int = 0, end: int | None = None) -> Iterator[tuple[int, int]]:
    """[start, end) of ``data`` → blocks of whole lines about CHUNK_BYTES long."""
    stop = len(data) if end is None else end
    pos = start
    while pos < stop:
        cut = data.find(b"\n", min(pos + CHUNK_BYTES, stop - 1), stop)
        cut = stop if cut < 0 else cut + 1
        yield pos, cut
        pos = cut


def group_bytes(data: bytes, first_line: int = 1) -> Groups:
    """A whole event log in memory → records per (shop, session)."""
    groups: Groups = {}
    line = first_line
    for a, b in iter_blocks(data):
        line += ingest_chunk(data[a:b], a, groups, first_line=line)
    return groups


def summarise_groups(
    groups: Groups, config: AssessmentConfig = DEFAULT_CONFIG
) -> Iterator[SessionSummary]:
    """Records per session → summaries (sorted by shop and session, for stable output)."""
    summariser = Summariser(config)
    for key in sorted(groups):
        yield summariser.summarise(key[0], key[1], groups[key])


def summaries_from_log(
    log: bytes | Iterable[str | bytes], config: AssessmentConfig = DEFAULT_CONFIG
) -> list[SessionSummary]:
    """An event log (bytes, or an iterable of lines) → every session's summary."""
    groups = group_bytes(log) if isinstance(log, bytes) else group_lines(log)
    return list(summarise_groups(groups, config))


def aggregate_groups(groups: Groups, week: Week, config: AssessmentConfig) -> list[dict[str, Any]]:
    """Records per session → per-shop results, without keeping the summaries."""
    summariser = Summariser(config)
    agg = WeekAggregator(week, config)
    add = agg.add
    summarise = summariser.summarise
    for (shop, session), records in groups.items():
        add(summarise(shop, session, records))
    return agg.shop_results()


def assess_log(
    log: bytes | Iterable[str | bytes], week: str | Week, config: AssessmentConfig = DEFAULT_CONFIG
) -> dict[str, Any]:
    """An event log → the ``--json`` document of docs/interfaces.md for ``week``."""
    w = parse_week(week, config) if isinstance(week, str) else week
    groups = group_bytes(log) if isinstance(log, bytes) else group_lines(log)
    return result_document(w, aggregate_groups(groups, w, config), config)
