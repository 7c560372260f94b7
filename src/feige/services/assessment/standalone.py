"""The assessment on the default database beside no server (``feige assess`` without
``--events``, ``feige run-assessment``): each call opens the store and disposes of it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection

from feige.batch.progress import Meter
from feige.metrics import AssessmentConfig, Week, drill_down
from feige.services.assessment.figures import EVERY_STALE_SUMMARY, aggregate_week_sync
from feige.services.assessment.job import REFRESH_PER_JOB, save_assessment_sync
from feige.services.assessment.summaries import refresh_summaries_sync, summaries_sync
from feige.services.lib import enforcement
from feige.store import accounts as account_store
from feige.store.db import Database


@contextmanager
def default_database() -> Iterator[Database]:
    """The settings' database, migrated; disposed of on the way out."""
    from feige.config import Settings
    from feige.store.migrate import migrated_engine

    engine = migrated_engine(Settings().effective_database_url)
    try:
        yield Database(engine)
    finally:
        engine.dispose()


def shop_names_sync(conn: Connection) -> dict[str, str]:
    """Shop id (as the assessment document spells it) → the shop's name."""
    return {str(row["id"]): row["name"] for row in account_store.list_shops(conn)}


def store_report(week: Week, config: AssessmentConfig) -> tuple[dict[str, Any], dict[str, str]]:
    """The week's assessment document and the names of the store's shops (for the table)."""
    with default_database() as db:
        # A short write for stale summaries, then a read: a running server (whose SQLite
        # writer may be its event loop) never waits long for this command.
        db.write_sync(refresh_summaries_sync, config, EVERY_STALE_SUMMARY)

        def job(conn: Connection) -> tuple[dict[str, Any], dict[str, str]]:
            return aggregate_week_sync(conn, week, config), shop_names_sync(conn)

        return db.read_sync(job)  # type: ignore[no-any-return]


def store_drill(
    week: Week, config: AssessmentConfig, figure: str, shop: str, agent: str | None, day: str | None
) -> dict[str, Any]:
    """The sessions behind one figure of one shop, from the store."""
    with default_database() as db:

        def job(conn: Connection) -> dict[str, Any]:
            summaries = summaries_sync(conn, week, config, int(shop))
            return drill_down(summaries, week, figure, shop, config, agent=agent, day=day)

        db.write_sync(refresh_summaries_sync, config, EVERY_STALE_SUMMARY)
        return db.read_sync(job)  # type: ignore[no-any-return]


def run_assessment(
    week: Week, config: AssessmentConfig, now: float, meter: Meter | None = None
) -> dict[str, Any]:
    """Run a week's assessment on the store and keep it (what the Tuesday job does): results
    per shop, measures for failed shops, rule 2.2.1 records. Safe to re-run."""
    meter = meter or Meter()
    with default_database() as db:
        if meter.active:
            # On a terminal: stale summaries first, in short batches one can watch (the job
            # would refresh them anyway, in one transaction).
            meter.phase("更新会话摘要 summarising", None, "sessions")
            while batch := db.write_sync(refresh_summaries_sync, config, REFRESH_PER_JOB):
                meter.advance(batch)
        meter.phase(f"考核 assessing {week.name}")
        # The measures carried out as the server does (the webhook worker delivers later).
        from feige.config import Settings

        policy = enforcement.policy_of(Settings())
        return db.write_sync(save_assessment_sync, week, config, now, policy)  # type: ignore[no-any-return]
