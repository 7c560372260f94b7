"""The enforcement policy (docs/enforcement.md; docs/rules.md §4, §3): violation points, the
threshold ladder, measures and when they are in effect, consumer sanctions. Pure: no I/O;
the default table is ``enforcement.toml`` beside this module, read by the services."""

from feige.enforcement.policy import (
    FEATURES,
    MEASURES,
    TIMED,
    ConsumerPolicy,
    EnforcementPolicy,
    MeasureSpec,
    Threshold,
    assessment_measure,
    consumer_sanction,
    crossed,
    feature_holds,
    in_effect,
    measure_ends_at,
    parse_policy,
    points_for,
    refused_features,
    robot_forced_until,
    rolling_total,
    severity_of,
)

__all__ = [
    "FEATURES",
    "MEASURES",
    "TIMED",
    "ConsumerPolicy",
    "EnforcementPolicy",
    "MeasureSpec",
    "Threshold",
    "assessment_measure",
    "consumer_sanction",
    "crossed",
    "feature_holds",
    "in_effect",
    "measure_ends_at",
    "parse_policy",
    "points_for",
    "refused_features",
    "robot_forced_until",
    "rolling_total",
    "severity_of",
]
