"""Summaries → a week's assessment per shop (docs/rules.md §3; docs/interfaces.md ``--json``).

All sums are integers (microseconds, counts), so the result does not depend on the order in
which summaries arrive, and pass/fail compares exact fractions with the standards.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from typing import Any, NamedTuple

from feige.domain import US_PER_SECOND
from feige.metrics.config import DEFAULT_CONFIG, AssessmentConfig
from feige.metrics.summary import Round, SessionSummary
from feige.metrics.timeutil import LocalClock, day_name, week_bounds

# Accumulator slots (a list of ints: cheap to update, to add up, and to ship between workers).
(
    TOTAL,
    HUMAN,
    ASSESSED,
    INVALID,
    PURE_ROBOT,
    NO_SERVICE,
    TMR_NUM,
    TMR_DEN,
    ROUNDS,
    RESP_SUM_US,
    NSEC_NUM,
    ANSWERED,
    RATED_N,
    DISSATISFIED,
    FR_DEN,
    FR_SUM_US,
) = range(16)
N_SLOTS = 16

METRIC_NAMES = (
    "no_service_rate",
    "three_minute_reply_rate",
    "avg_response_seconds",
    "dissatisfaction_rate",
)


def new_acc() -> list[int]:
    return [0] * N_SLOTS


@dataclass(frozen=True, slots=True)
class Week:
    """An assessment week: its ISO name and [start, end) in epoch µs."""

    name: str
    start_us: int
    end_us: int

    def contains(self, us: int) -> bool:
        return self.start_us <= us < self.end_us


def parse_week(name: str, config: AssessmentConfig = DEFAULT_CONFIG) -> Week:
    """'2026-W47' → [Monday 00:00, next Monday 00:00) local (docs/rules.md §3)."""
    clock = LocalClock(config.timezone)
    start, end = week_bounds(name, clock, config.week_start)
    return Week(name.strip(), start, end)


def week_rounds(s: SessionSummary, week: Week) -> list[Round]:
    """The session's assessed rounds this week (docs/rules.md §3: start in hours, valid human)."""
    return [r for r in s.rounds if r.assessed and week.start_us <= r.start_us < week.end_us]


def session_assessed(s: SessionSummary, week: Week) -> bool:
    """Human entry inside assessment hours of the week, and valid (docs/rules.md §3)."""
    return (
        s.human_entry_us is not None
        and not s.invalid_reasons
        and s.entry_in_hours
        and week.start_us <= s.human_entry_us < week.end_us
    )


class ShopAccumulators(NamedTuple):
    """One shop's sums for a week: the shop's, per agent (None: no agent) and per local day."""

    shop: list[int]
    agents: dict[str | None, list[int]]
    days: dict[int, list[int]]


class WeekAggregator:
    """Adds summaries up per shop, per agent and per local day for one week."""

    __slots__ = ("agents", "clock", "config", "days", "fr_cap", "in_time", "nsec", "shops", "week")

    def __init__(self, week: Week, config: AssessmentConfig = DEFAULT_CONFIG) -> None:
        self.week = week
        self.config = config
        self.clock = LocalClock(config.timezone)
        self.in_time = config.in_time_seconds * US_PER_SECOND
        self.nsec = config.n_second_seconds * US_PER_SECOND
        self.fr_cap = config.response_cap_seconds * US_PER_SECOND
        self.shops: dict[str, list[int]] = {}
        self.agents: dict[str, dict[str | None, list[int]]] = {}
        self.days: dict[str, dict[int, list[int]]] = {}

    def accumulators(self, shop: str) -> ShopAccumulators:
        """The shop's sums, created empty on first use (another engine may add to them)."""
        acc = self.shops.get(shop)
        if acc is None:
            acc = self.shops[shop] = new_acc()
            self.agents[shop] = {}
            self.days[shop] = {}
        return ShopAccumulators(acc, self.agents[shop], self.days[shop])

    def add(self, s: SessionSummary) -> None:
        """Count one session (any week: what is outside this week is ignored)."""
        start = self.week.start_us
        end = self.week.end_us
        entry = s.human_entry_us
        anchor = entry if entry is not None else s.opened_us
        anchored = start <= anchor < end
        rounds = [r for r in s.rounds if r.assessed and start <= r.start_us < end]
        if not anchored and not rounds:
            return
        shop = s.shop
        acc = self.shops.get(shop)
        if acc is None:
            acc = self.accumulators(shop).shop
        agents = self.agents[shop]
        days = self.days[shop]
        day_of = self.clock.day
        if anchored:
            day = day_of(anchor)
            dacc = days.get(day)
            if dacc is None:
                dacc = days[day] = new_acc()
            kind = HUMAN if entry is not None else PURE_ROBOT
            bad_session = 1 if s.invalid_reasons else 0
            for a in (acc, dacc):
                a[TOTAL] += 1
                a[kind] += 1
                a[INVALID] += bad_session
        in_time = self.in_time
        nsec = self.nsec
        all_in_time = True
        for r in rounds:
            raw = r.raw_us
            answered = raw is not None
            quick = answered and raw <= nsec  # type: ignore[operator]
            if not answered or raw > in_time:  # type: ignore[operator]
                all_in_time = False
            agent = agents.get(r.agent)
            if agent is None:
                agent = agents[r.agent] = new_acc()
            dkey = day_of(r.start_us)
            dacc = days.get(dkey)
            if dacc is None:
                dacc = days[dkey] = new_acc()
            resp = r.response_us
            for a in (acc, agent, dacc):
                a[ROUNDS] += 1
                a[RESP_SUM_US] += resp
                if answered:
                    a[ANSWERED] += 1
                    if quick:
                        a[NSEC_NUM] += 1
        if anchored and entry is not None and s.entry_in_hours and not s.invalid_reasons:
            agent = agents.get(s.final_agent)
            if agent is None:
                agent = agents[s.final_agent] = new_acc()
            dacc = days[day_of(entry)]
            ns = 1 if s.no_service else 0
            tmr_den = 1 if rounds else 0
            tmr_num = 1 if rounds and all_in_time else 0
            rating = s.rating
            rated = 0 if rating is None else 1
            bad = 1 if rating is not None and rating in self.config.dissatisfied_scores else 0
            fr = 1 if s.rounds else 0
            fr_us = s.rounds[0].response_us if s.rounds else 0
            for a in (acc, agent, dacc):
                a[ASSESSED] += 1
                a[NO_SERVICE] += ns
                a[TMR_DEN] += tmr_den
                a[TMR_NUM] += tmr_num
                a[RATED_N] += rated
                a[DISSATISFIED] += bad
                a[FR_DEN] += fr
                a[FR_SUM_US] += fr_us

    def add_all(self, summaries: Iterable[SessionSummary]) -> None:
        for s in summaries:
            self.add(s)

    def shop_results(self) -> list[dict[str, Any]]:
        """Per-shop results in the docs/interfaces.md shape (plus extras), sorted by shop id."""
        return [self.shop_result(shop) for shop in sorted(self.shops)]

    def shop_result(self, shop: str) -> dict[str, Any]:
        cfg = self.config
        acc = self.shops[shop]
        metrics = metrics_of(acc, cfg)
        passed = not any(m["passed"] is False for m in metrics.values())
        agents = self.agents[shop]
        days = self.days[shop]
        return {
            "shop": shop,
            "sessions": sessions_of(acc),
            "metrics": metrics,
            "passed": passed,
            "extra": extras_of(acc, cfg),
            "agents": [
                {
                    "agent": agent,
                    "sessions_assessed": agents[agent][ASSESSED],
                    "rounds_assessed": agents[agent][ROUNDS],
                    "metrics": metrics_of(agents[agent], cfg),
                    "extra": extras_of(agents[agent], cfg),
                }
                for agent in sorted(agents, key=lambda a: (a is None, a or ""))
            ],
            "days": [
                {
                    "date": day_name(day),
                    "sessions": sessions_of(days[day]),
                    "metrics": metrics_of(days[day], cfg),
                    "extra": extras_of(days[day], cfg),
                }
                for day in sorted(days)
            ],
        }


def sessions_of(acc: list[int]) -> dict[str, int]:
    return {
        "total": acc[TOTAL],
        "human": acc[HUMAN],
        "assessed": acc[ASSESSED],
        "invalid": acc[INVALID],
        "pure_robot": acc[PURE_ROBOT],
    }


def _fmt(x: float, rate: bool) -> str:
    if rate and round(x * 100, 9) == int(round(x * 100, 9)):
        return f"{x:.2f}"
    return f"{x:g}"


def standards(config: AssessmentConfig) -> dict[str, tuple[str, float]]:
    """Metric → (operator, threshold) (docs/rules.md §3: '<' strict, '>=' inclusive)."""
    return {
        "no_service_rate": ("<", config.standard_no_service_rate),
        "three_minute_reply_rate": (">=", config.standard_three_minute_reply_rate),
        "avg_response_seconds": ("<", config.standard_avg_response_seconds),
        "dissatisfaction_rate": ("<", config.standard_dissatisfaction_rate),
    }


def figure(
    numerator: int | float,
    denominator: int,
    std: tuple[str, float] | None = None,
    rate: bool = True,
    exact_num: int | None = None,
    scale: int = 1,
) -> dict[str, Any]:
    """One figure: value (null on a zero denominator), numerator, denominator, standard, passed.

    ``exact_num``/``scale`` give the numerator as an exact integer (µs) for the comparison, so
    that pass/fail never depends on float rounding.
    """
    out: dict[str, Any] = {
        "value": None if denominator == 0 else numerator / denominator,
        "numerator": numerator,
        "denominator": denominator,
    }
    if std is not None:
        op, threshold = std
        out["standard"] = _standard_text(op, threshold, rate)
        if denominator == 0:
            out["passed"] = None
        else:
            # num / scale against threshold × denominator, exactly: threshold = p / q (decimal).
            p, q = _decimal_ratio(threshold)
            lhs = (exact_num if exact_num is not None else int(numerator)) * q
            rhs = p * denominator * scale
            out["passed"] = lhs < rhs if op == "<" else lhs >= rhs
    return out


@lru_cache(maxsize=64)
def _standard_text(op: str, threshold: float, rate: bool) -> str:
    return f"{op} {_fmt(threshold, rate)}"


@lru_cache(maxsize=64)
def _decimal_ratio(threshold: float) -> tuple[int, int]:
    """The threshold as written (0.2 is 1/5, not the nearest double) → (p, q), q > 0."""
    exact = Fraction(str(threshold))
    return exact.numerator, exact.denominator


def metrics_of(acc: list[int], config: AssessmentConfig) -> dict[str, dict[str, Any]]:
    """The four assessed metrics of an accumulator (docs/rules.md §3)."""
    std = standards(config)
    return {
        "no_service_rate": figure(acc[NO_SERVICE], acc[ASSESSED], std["no_service_rate"]),
        "three_minute_reply_rate": figure(
            acc[TMR_NUM], acc[TMR_DEN], std["three_minute_reply_rate"]
        ),
        "avg_response_seconds": figure(
            acc[RESP_SUM_US] / US_PER_SECOND,
            acc[ROUNDS],
            std["avg_response_seconds"],
            rate=False,
            exact_num=acc[RESP_SUM_US],
            scale=US_PER_SECOND,
        ),
        "dissatisfaction_rate": figure(
            acc[DISSATISFIED], acc[RATED_N], std["dissatisfaction_rate"]
        ),
    }


def extras_of(acc: list[int], config: AssessmentConfig) -> dict[str, Any]:
    """Reported, not assessed (docs/rules.md §3): N-second reply rate, first response time."""
    nsec = figure(acc[NSEC_NUM], acc[ROUNDS])
    nsec["seconds"] = config.n_second_seconds
    return {
        "n_second_reply_rate": nsec,
        "first_response_seconds": figure(acc[FR_SUM_US] / US_PER_SECOND, acc[FR_DEN]),
        "rounds": {
            "assessed": acc[ROUNDS],
            "answered": acc[ANSWERED],
            "unanswered": acc[ROUNDS] - acc[ANSWERED],
        },
    }


def result_document(
    week: Week, shops: list[dict[str, Any]], config: AssessmentConfig
) -> dict[str, Any]:
    """The ``--json`` document of docs/interfaces.md around per-shop results."""
    clock = LocalClock(config.timezone)
    return {
        "week": week.name,
        "timezone": config.timezone,
        "from": clock.iso(week.start_us),
        "to": clock.iso(week.end_us),
        "shops": sorted(shops, key=lambda s: s["shop"]),
    }


def assess_week(
    summaries: Iterable[SessionSummary], week: str | Week, config: AssessmentConfig = DEFAULT_CONFIG
) -> dict[str, Any]:
    """Summaries (any weeks, any order) → the week's assessment document."""
    w = parse_week(week, config) if isinstance(week, str) else week
    agg = WeekAggregator(w, config)
    agg.add_all(summaries)
    return result_document(w, agg.shop_results(), config)
