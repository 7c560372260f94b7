"""Service metrics from the store (docs/rules.md §3): session summaries kept up to date
(:mod:`.summaries`), a week's figures (:mod:`.figures`), what failing leads to
(:mod:`.policy`), the weekly job and reruns (:mod:`.job`), the read APIs (:mod:`.queries`) and
the command line's runs beside no server (:mod:`.standalone`).

The arithmetic is all in the pure ``feige.metrics`` core; this package feeds it the store's
session events and keeps its results. The ``*_sync`` functions take a ``Connection``.
"""

from feige.services.assessment.job import (
    refresh_summaries,
    rerun,
    rerun_assessed_weeks,
    rerun_weeks,
    scheduler,
)
from feige.services.assessment.queries import agent_today, drill, list_measures, live, past

__all__ = [
    "agent_today",
    "drill",
    "list_measures",
    "live",
    "past",
    "refresh_summaries",
    "rerun",
    "rerun_assessed_weeks",
    "rerun_weeks",
    "scheduler",
]
