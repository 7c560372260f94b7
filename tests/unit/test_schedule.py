"""The weekly assessment: Tuesday 02:00 platform time, for the week just ended (rules §1)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from feige.metrics import AssessmentConfig
from feige.services.assessment import last_finished_week, next_run_after

TZ = ZoneInfo("Asia/Shanghai")


def at(*args: int) -> float:
    return datetime(*args, tzinfo=TZ).timestamp()


def test_next_run_is_the_coming_tuesday_two_oclock_local() -> None:
    monday = at(2026, 11, 23, 15, 0)
    assert next_run_after(monday, 1, "02:00", "Asia/Shanghai") == at(2026, 11, 24, 2, 0)
    just_before = at(2026, 11, 24, 1, 59, 59)
    assert next_run_after(just_before, 1, "02:00", "Asia/Shanghai") == at(2026, 11, 24, 2, 0)
    on_time = at(2026, 11, 24, 2, 0)
    assert next_run_after(on_time, 1, "02:00", "Asia/Shanghai") == at(2026, 12, 1, 2, 0)


def test_the_week_just_ended_in_platform_time() -> None:
    config = AssessmentConfig()
    # Tuesday 2026-11-24 02:00 Shanghai is Monday 18:00 UTC: the week just ended is W47.
    assert last_finished_week(at(2026, 11, 24, 2, 0), config) == "2026-W47"
    assert last_finished_week(at(2026, 11, 23, 0, 0), config) == "2026-W47"
    assert last_finished_week(at(2026, 11, 22, 23, 59), config) == "2026-W46"
    assert last_finished_week(at(2027, 1, 5, 2, 0), config) == "2026-W53"
