"""Assessment parameters (docs/rules.md §3): every number a setting, defaults from docs/rules.md."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


def _hms(text: str) -> int:
    """'08:00:00' → seconds after midnight; seconds are optional ('08:00')."""
    parts = [int(p) for p in text.split(":")]
    while len(parts) < 3:
        parts.append(0)
    h, m, s = parts[:3]
    if not (0 <= h < 24 and 0 <= m < 60 and 0 <= s < 60):
        raise ValueError(f"not a time of day: {text!r}")
    return h * 3600 + m * 60 + s


@dataclass(frozen=True, slots=True)
class AssessmentConfig:
    """Everything the pure metrics core needs; frozen so it can be shared between workers."""

    timezone: str = "Asia/Shanghai"  # docs/rules.md §3
    hours_start: str = "08:00:00"  # docs/rules.md §3
    hours_end: str = "22:59:59"  # inclusive to the end of that second
    week_start: int = 0  # Monday = 0 (docs/rules.md §3)
    response_cap_seconds: int = 600  # docs/rules.md §3 note 2
    in_time_seconds: int = 180  # docs/rules.md §3 (1), a reply at exactly 180 s is in time
    n_second_seconds: int = 30  # docs/rules.md §3, reported, not assessed
    no_service_wait_seconds: int = 15 * 60  # docs/rules.md §3 (1) no-service 1
    idle_close_seconds: int = 30 * 60  # docs/rules.md §2.1
    no_human_reply_streak: int = 10  # docs/rules.md 2.2.1
    standard_no_service_rate: float = 0.20  # strict "<"
    standard_three_minute_reply_rate: float = 0.80  # ">=" includes 80 %
    standard_avg_response_seconds: float = 90.0  # strict "<"
    standard_dissatisfaction_rate: float = 0.30  # strict "<"
    dissatisfied_scores: tuple[int, ...] = field(default=(1, 2, 3))  # docs/rules.md §3 (2)

    def __post_init__(self) -> None:
        if not 0 <= self.week_start <= 6:
            raise ValueError("week_start must be 0 (Monday) … 6 (Sunday)")
        if self.hours_start_s > self.hours_end_s:
            raise ValueError("assessment hours must not wrap past midnight")

    @property
    def hours_start_s(self) -> int:
        return _hms(self.hours_start)

    @property
    def hours_end_s(self) -> int:
        return _hms(self.hours_end)

    @classmethod
    def from_settings(cls, settings: Any) -> AssessmentConfig:
        """Build from ``feige.config.Settings`` (duck-typed so the core imports nothing)."""
        return cls(
            timezone=settings.timezone,
            hours_start=settings.assessment_hours_start,
            hours_end=settings.assessment_hours_end,
            response_cap_seconds=settings.response_cap_seconds,
            in_time_seconds=settings.reply_in_time_seconds,
            n_second_seconds=settings.n_second_reply_seconds,
            no_service_wait_seconds=settings.no_service_wait_seconds,
            idle_close_seconds=settings.session_idle_close_seconds,
            no_human_reply_streak=settings.no_human_reply_streak,
            standard_no_service_rate=settings.standard_no_service_rate,
            standard_three_minute_reply_rate=settings.standard_three_minute_reply_rate,
            standard_avg_response_seconds=settings.standard_avg_response_seconds,
            standard_dissatisfaction_rate=settings.standard_dissatisfaction_rate,
        )


DEFAULT_CONFIG = AssessmentConfig()
