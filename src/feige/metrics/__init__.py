"""Service metrics and the weekly assessment (docs/rules.md §3), pure: no I/O.

events → :func:`summarise_session` → :class:`SessionSummary` (``to_dict``/``from_dict``) →
:func:`assess_week` (the ``--json`` document) / :func:`drill_down` /
:func:`detect_no_human_reply`. :func:`assess_log` does it all for an event log.
"""

from feige.metrics.assessment import (
    METRIC_NAMES,
    Week,
    WeekAggregator,
    assess_week,
    parse_week,
    result_document,
    session_assessed,
    week_rounds,
)
from feige.metrics.config import DEFAULT_CONFIG, AssessmentConfig
from feige.metrics.drilldown import FIGURES, drill_down
from feige.metrics.events import (
    Event,
    EventLogError,
    Record,
    dump_lines,
    group_events,
    group_lines,
    ingest_chunk,
    parse_line,
    parse_lines,
    record_from_obj,
)
from feige.metrics.log_replay import (
    aggregate_groups,
    assess_log,
    group_bytes,
    iter_blocks,
    summaries_from_log,
    summarise_groups,
)
from feige.metrics.no_human_reply import NoHumanReplyFinding, detect_no_human_reply
from feige.metrics.summary import (
    Round,
    SessionSummary,
    Summariser,
    Wait,
    summarise_session,
)
from feige.metrics.timeutil import LocalClock, parse_ts_us

__all__ = [
    "DEFAULT_CONFIG",
    "FIGURES",
    "METRIC_NAMES",
    "AssessmentConfig",
    "Event",
    "EventLogError",
    "LocalClock",
    "NoHumanReplyFinding",
    "Record",
    "Round",
    "SessionSummary",
    "Summariser",
    "Wait",
    "Week",
    "WeekAggregator",
    "aggregate_groups",
    "assess_log",
    "assess_week",
    "detect_no_human_reply",
    "drill_down",
    "dump_lines",
    "group_bytes",
    "group_events",
    "group_lines",
    "ingest_chunk",
    "iter_blocks",
    "parse_line",
    "parse_lines",
    "parse_ts_us",
    "parse_week",
    "record_from_obj",
    "result_document",
    "session_assessed",
    "summaries_from_log",
    "summarise_groups",
    "summarise_session",
    "week_rounds",
]
