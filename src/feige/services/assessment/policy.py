"""What a week's results lead to (docs/rules.md §4, 2.2.1): each shop's result kept, a measure
for a failed shop by the ladder, and a record for each run of unanswered sessions."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Connection

from feige.domain import Row
from feige.metrics import AssessmentConfig, NoHumanReplyFinding, Week
from feige.metrics.timeutil import LocalClock, iso_week_name, us_to_datetime
from feige.store import assessments as store

# Default measure policy (docs/rules.md §4): failed weeks within the window → the measure.
MEASURE_LADDER = ("warning", "points_deduction", "deposit_withholding")
MEASURE_WINDOW_WEEKS = 4
FIGURE_FIELDS = ("value", "numerator", "denominator", "standard")


def _window(week: Week, config: AssessmentConfig, weeks: int = MEASURE_WINDOW_WEEKS) -> list[str]:
    """The week and the ones before it that count towards the ladder."""
    first_day = us_to_datetime(week.start_us, LocalClock(config.timezone).tz).date()
    return [iso_week_name(first_day - timedelta(weeks=back)) for back in range(weeks)]


ladder_window = _window


def save_shop_results_sync(
    conn: Connection, week: Week, config: AssessmentConfig, shops: list[Row], now: float
) -> list[Row]:
    """Keep these shops' results (a re-run replaces them) and add a measure for each failed
    one; returns the new measures. Idempotent."""
    window = _window(week, config)
    new_measures: list[Row] = []
    for shop in shops:
        shop_id = int(shop["shop"])
        store.put_assessment(conn, shop_id, week.name, shop, now)
        if shop["passed"] is not False:
            continue
        failed = store.failed_weeks(conn, shop_id, window)
        step = min(len(failed), len(MEASURE_LADDER)) - 1
        failed_metrics = [k for k, v in shop["metrics"].items() if v["passed"] is False]
        # This run's figures of each failed metric (a rerun replaces them).
        figures = {k: {f: shop["metrics"][k].get(f) for f in FIGURE_FIELDS} for k in failed_metrics}
        measure = {
            "shop_id": shop_id,
            "week": week.name,
            "measure": MEASURE_LADDER[step],
            "reason": "assessment",
            "details": {
                "failed_metrics": failed_metrics,
                "failed_weeks": failed,
                "figures": figures,
            },
            "status": "pending",
            "created_at": now,
        }
        if store.add_measure_once(conn, measure):  # a re-run keeps the one already decided
            new_measures.append(measure)
    return new_measures


def record_no_human_reply_sync(
    conn: Connection, findings: list[NoHumanReplyFinding], now: float
) -> int:
    """Rule 2.2.1: keep each run of ≥ 10 human sessions closing with the buyer unanswered
    (``detect_no_human_reply``) once."""
    created = 0
    for finding in findings:
        sessions = list(finding.sessions)
        # A run that shares a session with a record is that record's run: the live alert at
        # the run's 10th session (services/lib/robot_mode.py) or an earlier run of this job.
        known = store.no_human_reply_evidence(conn, int(finding.shop))
        if any(set(sessions) & set(evidence.get("sessions", [])) for evidence in known):
            continue
        original = {
            "count": finding.count,
            "first_close_us": finding.first_close_us,
            "last_close_us": finding.last_close_us,
        }
        store.add_no_human_reply_record(conn, int(finding.shop), sessions, original, now)
        created += 1
    return created
