"""The enforcement policy (docs/enforcement.md; docs/rules.md §4, §3): violation points, the
threshold ladder, measures and when they are in effect, consumer sanctions. Pure: no I/O;
the default table is ``enforcement.toml`` beside this module, read by the services."""

from feige.enforcement.policy import (
    FEATURES,
    MEASURES,
    ConsumerPolicy,
    EnforcementPolicy,
    MeasureSpec,
    Threshold,
    assessment_measure,
    consumer_sanction,
    crossed,
    in_effect,
    measure_ends_at,
    parse_policy,
    points_for,
    refused_features,
    rolling_total,
    severity_of,
)

__all__ = [
    "FEATURES",
    "MEASURES",
    "ConsumerPolicy",
    "EnforcementPolicy",
    "MeasureSpec",
    "Threshold",
    "assessment_measure",
    "consumer_sanction",
    "crossed",
    "in_effect",
    "measure_ends_at",
    "parse_policy",
    "points_for",
    "refused_features",
    "rolling_total",
    "severity_of",
]
