"""A week's assessment computed from the store's summaries (read-only: run it on a reader)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from multiprocessing.connection import Connection as PipeEnd
from typing import Any

from sqlalchemy import Connection

from feige.domain import US_PER_SECOND
from feige.metrics import (
    AssessmentConfig,
    NoHumanReplyFinding,
    Week,
    assess_week,
    detect_no_human_reply,
    parse_week,
)
from feige.services.assessment.summaries import refresh_summaries_sync, summaries_sync
from feige.services.errors import Invalid
from feige.store.db import create_db_engine

EVERY_STALE_SUMMARY = 1_000_000  # a refresh limit no week reaches
EARLIEST_WEEK = "2000-W01"


def assessable_week(week_name: str, config: AssessmentConfig, now: float) -> Week:
    """A week that can have data: a real ISO week from 2000-W01 up to the current one. A
    week in the future would store an assessment of nothing (and weeks near year 9999 do
    not even have a following week)."""
    try:
        week = parse_week(week_name, config)
        earliest = parse_week(EARLIEST_WEEK, config)
    except (ValueError, OverflowError) as exc:
        raise Invalid(detail="week, e.g. 2026-W47") from exc
    if not earliest.start_us <= week.start_us <= now * US_PER_SECOND:
        raise Invalid(detail=f"week: from {EARLIEST_WEEK} to the current week")
    return week


def assess_store_sync(conn: Connection, week: Week, config: AssessmentConfig) -> dict[str, Any]:
    """The week's assessment document from the store, same shape as ``--events``."""
    refresh_summaries_sync(conn, config, limit=EVERY_STALE_SUMMARY)
    return aggregate_week_sync(conn, week, config)


def aggregate_week_sync(conn: Connection, week: Week, config: AssessmentConfig) -> dict[str, Any]:
    """The assessment over the summaries as they are (read-only: no refresh first)."""
    return assess_week(summaries_sync(conn, week, config), week, config)


@dataclass(frozen=True)
class WeekFigures:
    """A week's assessment as computed, before anything is kept: the document and the rule
    2.2.1 findings, both from one load of the week's summaries."""

    document: dict[str, Any]
    findings: list[NoHumanReplyFinding]


def compute_week_sync(conn: Connection, week: Week, config: AssessmentConfig) -> WeekFigures:
    """Read-only: never inside a write job (on SQLite the writer is the event loop, and a
    large week takes seconds)."""
    summaries = summaries_sync(conn, week, config)
    return WeekFigures(
        assess_week(summaries, week, config), detect_no_human_reply(summaries, config)
    )


BATCH_NICENESS = 10


def compute_week_apart(
    answer: PipeEnd,
    database_url: str,
    week: Week,
    config: AssessmentConfig,
    shops_per_slice: int,
) -> None:
    """``compute_week_sync`` on a connection of its own, for a process of its own, which sends
    the figures through ``answer``: a million summaries are minutes of Python, which on a
    thread of the server would take the GIL from its event loop (measured in
    docs/performance.md, "Reassessing a week beside chat")."""
    if hasattr(os, "nice"):  # batch work: the server's chat gets the CPU first
        os.nice(BATCH_NICENESS)
    engine = create_db_engine(database_url)
    try:
        with engine.connect() as conn:
            figures = compute_week_sync(conn, week, config)
        # In slices, then None: the receiver unpickles each on a thread, holding the GIL, and
        # the whole week at once (tens of MB) held it, and the server's event loop, for ~1 s.
        shops = figures.document["shops"]
        answer.send(WeekFigures({**figures.document, "shops": []}, figures.findings))
        for start in range(0, len(shops), shops_per_slice):
            answer.send(shops[start : start + shops_per_slice])
        answer.send(None)
    finally:
        answer.close()
        engine.dispose()
