"""The pure enforcement core (docs/enforcement.md): the default table, overrides, points,
the threshold ladder, expiry by the clock given, the assessment ladder, consumer sanctions."""

from __future__ import annotations

from importlib.resources import files

import pytest

from feige.enforcement import (
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

DAY = 86400.0
DEFAULT = files("feige.enforcement").joinpath("enforcement.toml").read_text("utf-8")
POLICY = parse_policy(DEFAULT)


def test_the_default_table() -> None:
    assert severity_of(POLICY, "block") == "severe" and severity_of(POLICY, "mask") == "minor"
    assert points_for(POLICY, ["third_party.contact"], "severe") == (6, "third_party.contact")
    # A category without a row of its own takes the default row; several count the gravest once.
    assert points_for(POLICY, ["political"], "general") == (2, "political")
    assert points_for(POLICY, ["abuse", "fraud"], "general") == (12, "fraud")
    assert [t.measure for t in POLICY.thresholds] == [
        "warning",
        "restriction",
        "deposit_withholding",
        "order_close",
    ]
    assert POLICY.spec("restriction").features == ("image", "card")


def test_an_override_merges_key_by_key() -> None:
    policy = parse_policy(
        DEFAULT, "[points.political]\nsevere = 20\n[measures.restriction]\ndays = 3\n"
    )
    assert points_for(policy, ["political"], "severe") == (20, "political")
    assert points_for(policy, ["political"], "minor") == (0, "political")  # its own row now
    assert policy.spec("restriction").days == 3
    assert policy.spec("restriction").features == ("image", "card")  # kept from the default
    for bad in (
        '[[thresholds]]\npoints = 1\nmeasure = "jail"\n',
        '[measures.restriction]\nfeatures = ["voice"]\n',
        "[points.spam]\nterrible = 3\n",
        "[measures.deposit_withholding]\namount = -1\n",
    ):
        with pytest.raises(ValueError):
            parse_policy(DEFAULT, bad)


def test_rolling_total_and_thresholds_crossed_once() -> None:
    now = 400 * DAY
    entries = [(now - 366 * DAY, 10), (now - 10 * DAY, 4), (now - DAY, -2), (now, 3)]
    assert rolling_total(entries, now, 365) == 5
    assert [t.measure for t in crossed(POLICY, 5, 13)] == ["warning", "restriction"]
    assert crossed(POLICY, 6, 11) == []  # 6 was already reached
    assert [t.measure for t in crossed(POLICY, 0, 100)][-1] == "order_close"


def test_measures_expire_by_the_clock() -> None:
    spec = POLICY.spec("restriction")
    start = 1000.0
    end = measure_ends_at(spec, start)
    assert end == start + 7 * DAY
    assert measure_ends_at(POLICY.spec("warning"), start) is None
    assert in_effect(start, end, None, start) and in_effect(start, end, None, end - 1)
    assert not in_effect(start, end, None, end)
    assert not in_effect(start, end, start + 5, start + 10)  # reversed on appeal
    rows = [
        {
            "measure": "restriction",
            "starts_at": start,
            "ends_at": end,
            "reversed_at": None,
            "details": {"features": ["image"]},
        },
        {
            "measure": "warning",
            "starts_at": start,
            "ends_at": None,
            "reversed_at": None,
            "details": {},
        },
    ]
    assert refused_features(rows, start + DAY) == {"image"}
    assert refused_features(rows, end + 1) == set()


def test_the_assessment_ladder_and_consumer_sanctions() -> None:
    assert [assessment_measure(POLICY, "no_service_rate", n) for n in (1, 2, 3, 9)] == [
        "warning",
        "points_deduction",
        "deposit_withholding",
        "deposit_withholding",
    ]
    policy = parse_policy(DEFAULT, '[assessment.metrics]\ndissatisfaction_rate = ["restriction"]\n')
    assert assessment_measure(policy, "dissatisfaction_rate", 2) == "restriction"
    assert assessment_measure(policy, "no_service_rate", 2) == "points_deduction"
    assert consumer_sanction(POLICY, ["spam"], 0, 0.0) == ("mute", 7 * DAY)
    assert consumer_sanction(POLICY, ["fraud"], 1, 0.0) == ("ban", None)
    assert consumer_sanction(POLICY, ["political"], 5, 0.0) is None


def test_the_robot_forced_on_is_a_timed_measure() -> None:
    from feige.enforcement import feature_holds, robot_forced_until

    spec = POLICY.spec("robot_forced")
    assert spec.days == 7 and spec.features == ()
    assert measure_ends_at(spec, 1000.0) == 1000.0 + 7 * DAY
    policy = parse_policy(
        DEFAULT,
        "[measures.robot_forced]\ndays = 2\n[assessment.metrics]\n"
        'avg_response_seconds = ["warning", "robot_forced"]\n',
    )
    assert assessment_measure(policy, "avg_response_seconds", 2) == "robot_forced"
    forced = {
        "measure": "robot_forced",
        "starts_at": 0.0,
        "ends_at": 2 * DAY,
        "reversed_at": None,
        "details": {"days": 2, "features": []},
    }
    restriction = {
        "measure": "restriction",
        "starts_at": 0.0,
        "ends_at": 3 * DAY,
        "reversed_at": None,
        "details": {"features": ["image"]},
    }
    measures = [forced, restriction]
    assert robot_forced_until(measures, DAY) == 2 * DAY
    assert robot_forced_until(measures, 2 * DAY) is None  # ended by the clock
    assert robot_forced_until([{**forced, "reversed_at": 10.0}], DAY) is None
    # It refuses no chat feature; a restriction's holds name each feature's end.
    assert refused_features(measures, DAY) == {"image"}
    assert feature_holds(measures, DAY) == {"image": 3 * DAY}
    assert feature_holds(measures, 3 * DAY) == {}
