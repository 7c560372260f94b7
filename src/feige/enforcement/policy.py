"""The enforcement policy as data, and the arithmetic over it (docs/enforcement.md).

Everything here is a function of its arguments: the services read the TOML text and the
ledgers and pass them in, and pass the time in too (measures expire by the clock given)."""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

DAY = 86400.0
MEASURES = (
    "warning",
    "restriction",
    "robot_forced",
    "deposit_withholding",
    "points_deduction",
    "order_close",
)
# Measures that hold for ``days`` and end on their own by the clock.
TIMED = frozenset({"restriction", "robot_forced"})
# Chat features a restriction can refuse: images, and every card kind.
FEATURES = ("image", "card")
SEVERITIES = ("minor", "general", "severe")


@dataclass(frozen=True, slots=True)
class MeasureSpec:
    """What one measure does when imposed."""

    measure: str
    days: int = 0
    features: tuple[str, ...] = ()
    amount: int = 0  # cents of deposit withheld
    points: int = 0  # points added (points_deduction)

    def details(self) -> dict[str, Any]:
        return {
            "days": self.days,
            "features": list(self.features),
            "amount": self.amount,
            "points": self.points,
        }


@dataclass(frozen=True, slots=True)
class Threshold:
    points: int
    measure: str


@dataclass(frozen=True, slots=True)
class ConsumerPolicy:
    categories: frozenset[str]
    mute_days: int
    ban_after: int


@dataclass(frozen=True, slots=True)
class EnforcementPolicy:
    window_days: int
    appeal_days: int
    severity: Mapping[str, str]
    points: Mapping[str, Mapping[str, int]]
    measures: Mapping[str, MeasureSpec]
    thresholds: tuple[Threshold, ...]
    assessment_window_weeks: int
    assessment_ladder: tuple[str, ...]
    assessment_metrics: Mapping[str, tuple[str, ...]]
    consumers: ConsumerPolicy

    def spec(self, measure: str) -> MeasureSpec:
        return self.measures[measure]


def _merge(base: dict[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Tables merge key by key; anything else (numbers, lists) is replaced."""
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def parse_policy(default_text: str, override_text: str | None = None) -> EnforcementPolicy:
    """The policy of the default TOML, overridden by an operator's; ValueError when the
    result is not a policy (an unknown measure, feature or severity, a negative number)."""
    raw = tomllib.loads(default_text)
    if override_text:
        raw = _merge(raw, tomllib.loads(override_text))
    try:
        return _policy(raw)
    except (KeyError, TypeError) as exc:
        raise ValueError(f"enforcement policy: {exc!r}") from exc


def _policy(raw: Mapping[str, Any]) -> EnforcementPolicy:
    measures: dict[str, MeasureSpec] = {}
    for name, spec in raw["measures"].items():
        if name not in MEASURES:
            raise ValueError(f"enforcement policy: unknown measure {name!r}")
        features = tuple(spec.get("features", ()))
        if not set(features) <= set(FEATURES):
            raise ValueError(f"enforcement policy: features are among {FEATURES}")
        numbers = [int(spec.get(k, 0)) for k in ("days", "amount", "points")]
        if min(numbers) < 0:
            raise ValueError(f"enforcement policy: {name} has a negative number")
        measures[name] = MeasureSpec(name, numbers[0], features, numbers[1], numbers[2])

    def known(name: str) -> str:
        if name not in measures:
            raise ValueError(f"enforcement policy: measure {name!r} has no [measures] table")
        return name

    points = {
        category: {sev: int(n) for sev, n in row.items()} for category, row in raw["points"].items()
    }
    for row in points.values():
        if not set(row) <= set(SEVERITIES) or min(row.values(), default=0) < 0:
            raise ValueError(f"enforcement policy: points rows name {SEVERITIES}, ≥ 0")
    thresholds = tuple(
        sorted(
            (Threshold(int(t["points"]), known(t["measure"])) for t in raw["thresholds"]),
            key=lambda t: t.points,
        )
    )
    assessment = raw["assessment"]
    ladder = tuple(known(m) for m in assessment["ladder"])
    per_metric = {
        metric: tuple(known(m) for m in steps)
        for metric, steps in assessment.get("metrics", {}).items()
    }
    if not ladder or any(not steps for steps in per_metric.values()):
        raise ValueError("enforcement policy: an assessment ladder needs a step")
    consumers = raw["consumers"]
    return EnforcementPolicy(
        window_days=int(raw["window_days"]),
        appeal_days=int(raw["appeal_days"]),
        severity={str(k): str(v) for k, v in raw["severity"].items()},
        points=points,
        measures=measures,
        thresholds=thresholds,
        assessment_window_weeks=int(assessment["window_weeks"]),
        assessment_ladder=ladder,
        assessment_metrics=per_metric,
        consumers=ConsumerPolicy(
            frozenset(consumers["categories"]),
            int(consumers["mute_days"]),
            max(1, int(consumers["ban_after"])),
        ),
    )


def severity_of(policy: EnforcementPolicy, action: str) -> str:
    """How grave a confirmed record is, by what the engine did with its message."""
    return policy.severity.get(action, "general")


def points_for(
    policy: EnforcementPolicy, categories: Sequence[str], severity: str
) -> tuple[int, str]:
    """(points, category): the gravest of the record's categories, counted once."""
    best = (0, categories[0] if categories else "default")
    for category in categories or ("default",):
        row = policy.points.get(category) or policy.points.get("default", {})
        value = row.get(severity, 0)
        if value > best[0]:
            best = (value, category)
    return best


def rolling_total(entries: Iterable[tuple[float, int]], now: float, window_days: int) -> int:
    """The sum of (when, points) entries within the window ending at ``now``."""
    since = now - window_days * DAY
    return sum(points for at, points in entries if since < at <= now)


def crossed(policy: EnforcementPolicy, before: int, after: int) -> list[Threshold]:
    """The thresholds a total moving from ``before`` to ``after`` goes past upwards."""
    return [t for t in policy.thresholds if before < t.points <= after]


def measure_ends_at(spec: MeasureSpec, starts_at: float) -> float | None:
    """A restriction or the robot forced on lasts ``days``; every other measure is done
    when imposed (None)."""
    return starts_at + spec.days * DAY if spec.measure in TIMED else None


def in_effect(
    starts_at: float, ends_at: float | None, reversed_at: float | None, now: float
) -> bool:
    """Whether a measure with a duration holds at ``now`` (a reversal ends it at once)."""
    if reversed_at is not None and reversed_at <= now:
        return False
    return ends_at is not None and starts_at <= now < ends_at


def refused_features(measures: Iterable[Mapping[str, Any]], now: float) -> frozenset[str]:
    """The chat features the shop's restrictions in effect at ``now`` refuse."""
    refused: set[str] = set()
    for m in measures:
        if m["measure"] == "restriction" and in_effect(
            m["starts_at"], m["ends_at"], m["reversed_at"], now
        ):
            refused.update(m["details"].get("features", ()))
    return frozenset(refused)


def robot_forced_until(measures: Iterable[Mapping[str, Any]], now: float) -> float | None:
    """While a ``robot_forced`` measure is in effect the shop's robot assist is on and the
    shop cannot switch it off: the latest end of those in effect at ``now``, or None."""
    ends = [
        float(m["ends_at"])
        for m in measures
        if m["measure"] == "robot_forced"
        and in_effect(m["starts_at"], m["ends_at"], m["reversed_at"], now)
    ]
    return max(ends) if ends else None


def feature_holds(measures: Iterable[Mapping[str, Any]], now: float) -> dict[str, float]:
    """Each chat feature refused at ``now`` and when the last restriction refusing it ends."""
    holds: dict[str, float] = {}
    for m in measures:
        if m["measure"] == "restriction" and in_effect(
            m["starts_at"], m["ends_at"], m["reversed_at"], now
        ):
            for feature in m["details"].get("features", ()):
                holds[feature] = max(holds.get(feature, 0.0), float(m["ends_at"]))
    return holds


def assessment_measure(policy: EnforcementPolicy, metric: str, failed_weeks: int) -> str:
    """The measure for a metric failed in ``failed_weeks`` weeks of the window (≥ 1)."""
    ladder = policy.assessment_metrics.get(metric, policy.assessment_ladder)
    return ladder[min(max(failed_weeks, 1), len(ladder)) - 1]


def consumer_sanction(
    policy: EnforcementPolicy, categories: Sequence[str], earlier_sanctions: int, now: float
) -> tuple[str, float | None] | None:
    """(mute | ban, until) for a consumer's verified violation, or None when its categories
    are not sanctioned; ``earlier_sanctions`` counts the consumer's earlier ones."""
    if not policy.consumers.categories.intersection(categories):
        return None
    if earlier_sanctions + 1 >= policy.consumers.ban_after:
        return "ban", None
    return "mute", now + policy.consumers.mute_days * DAY
