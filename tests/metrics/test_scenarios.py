"""Hand-computed scenarios, one per definition and edge of docs/rules.md §3 (issue 4).

Week 2026-W47 runs Mon 2026-11-16 00:00 to Mon 2026-11-23 00:00, Asia/Shanghai (+08:00).
"""

from __future__ import annotations

import orjson
import pytest

from feige.domain import US_PER_SECOND as US
from feige.metrics import (
    AssessmentConfig,
    SessionSummary,
    assess_log,
    detect_no_human_reply,
    drill_down,
    parse_week,
    summaries_from_log,
)
from feige.metrics.timeutil import LocalClock

from .helpers import (
    CFG,
    MON,
    WEEK,
    agent_msg,
    assess,
    assigned,
    assist,
    at,
    buyer,
    closed,
    ev,
    metric,
    opened,
    robot,
    shop_of,
    simple_session,
    summarize,
    system,
    to_log,
)

# --- §1 time: assessment hours and the week ---------------------------------------------------


def test_week_bounds_are_local_monday_midnights() -> None:
    """docs/rules.md §3: Monday 00:00 to the next Monday 00:00 local; ISO week names."""
    w = parse_week(WEEK)
    clock = LocalClock("Asia/Shanghai")
    assert clock.iso(w.start_us) == "2026-11-16T00:00:00+08:00"
    assert clock.iso(w.end_us) == "2026-11-23T00:00:00+08:00"
    doc = assess(simple_session("x1"))
    assert (doc["week"], doc["timezone"]) == (WEEK, "Asia/Shanghai")
    assert (doc["from"], doc["to"]) == ("2026-11-16T00:00:00+08:00", "2026-11-23T00:00:00+08:00")


@pytest.mark.parametrize("bad", ["2026-47", "2026-W54", "W47", ""])
def test_bad_week_names_are_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_week(bad)


@pytest.mark.parametrize(
    ("entry", "assessed"),
    [("07:59:59", False), ("08:00:00", True), ("22:59:59", True), ("23:00:00", False)],
)
def test_assessment_hours_edges_for_sessions(entry: str, assessed: bool) -> None:
    """docs/rules.md §3: a session is assessed when its human entry is in 08:00–22:59:59."""
    doc = assess(simple_session("x1", start=entry))
    s = shop_of(doc)
    assert s["sessions"]["human"] == 1
    assert s["sessions"]["assessed"] == (1 if assessed else 0)
    assert metric(doc, "no_service_rate")["denominator"] == (1 if assessed else 0)


@pytest.mark.parametrize(
    ("start", "assessed"),
    [("07:59:59", False), ("08:00:00", True), ("22:59:59", True), ("23:00:00", False)],
)
def test_assessment_hours_edges_for_rounds(start: str, assessed: bool) -> None:
    """docs/rules.md §3 (1): a round is assessed when its start is inside assessment hours."""
    evs = [
        opened(at("07:00:00")),
        buyer(at("07:00:00")),
        assigned(at("07:00:01")),
        agent_msg(at("07:00:05")),
        buyer(at(start)),
        agent_msg(at(start)),
    ]
    # The 07:00 round is outside the hours; the second, answered at once, decides.
    doc = assess(evs)
    assert metric(doc, "avg_response_seconds")["denominator"] == (1 if assessed else 0)


def test_last_microsecond_of_22_59_59_is_in_hours() -> None:
    """docs/rules.md §3: 22:59:59 is inside, to its last fraction; 23:00:00.000 is not."""
    inside = assess(simple_session("x1", start="22:59:59.999999"))
    outside = assess(simple_session("x1", start="23:00:00.000000"))
    assert shop_of(inside)["sessions"]["assessed"] == 1
    assert shop_of(outside)["sessions"]["assessed"] == 0


def test_week_boundaries_in_local_time_with_other_offsets() -> None:
    """docs/rules.md §3: stored in UTC, judged in Asia/Shanghai; lines may use any offset."""
    evs = (
        # 2026-11-16T00:30:00Z = Monday 08:30 local: in W47, in hours.
        simple_session("mon-0830", start="00:30:00", day="2026-11-16")
        # written with -01:00: 2026-11-15T23:30-01:00 = Monday 08:30 local too.
        + simple_session("mon-0830b", start="23:30:00", day="2026-11-15")
        # Sunday 22:59:59 local written in UTC: last assessed second of W47.
        + simple_session("sun-2259", start="14:59:59", day="2026-11-22")
        # Sunday 23:30 local written with +09:00 (Monday 00:30 there): W47, not in hours.
        + simple_session("sun-2330", start="00:30:00", day="2026-11-23")
        # Monday 00:00 local of W48 written in UTC (Sunday 16:00 UTC): not W47 at all.
        + simple_session("w48", start="16:00:00", day="2026-11-22")
        # Sunday 23:59:59 local of W46 written in UTC: not W47.
        + simple_session("w46", start="15:59:59", day="2026-11-15")
    )
    offsets = {
        "mon-0830": "Z",
        "mon-0830b": "-01:00",
        "sun-2259": "+00:00",
        "sun-2330": "+09:00",
        "w48": "Z",
        "w46": "Z",
    }
    fixed = []
    for e in evs:
        e = dict(e)
        e["ts"] = e["ts"][:-6] + offsets[e["session"]] if e["ts"].endswith("+08:00") else e["ts"]
        fixed.append(e)
    doc = assess(fixed)
    s = shop_of(doc)
    assert s["sessions"] == {"total": 4, "human": 4, "assessed": 3, "invalid": 0, "pure_robot": 0}
    items = drill_down(summaries_from_log(to_log(fixed)), WEEK, "no_service_rate", "s1")["items"]
    assert sorted(i["session"] for i in items) == ["mon-0830", "mon-0830b", "sun-2259"]
    w48 = assess(fixed, week="2026-W48")
    assert shop_of(w48)["sessions"]["total"] == 1


# --- §4 rounds and response time --------------------------------------------------------------


@pytest.mark.parametrize(("reply", "in_time"), [(180, True), (181, False), (180.000001, False)])
def test_three_minute_reply_at_exactly_180_is_in_time(reply: float, in_time: bool) -> None:
    """docs/rules.md §3 (1): a reply at exactly 180 s is in time; 181 s is not."""
    doc = assess(simple_session("x1", reply_after=reply))  # type: ignore[arg-type]
    m = metric(doc, "three_minute_reply_rate")
    assert (m["numerator"], m["denominator"]) == ((1 if in_time else 0), 1)
    assert m["passed"] is in_time


def test_response_time_cap_600() -> None:
    """docs/rules.md §3 note 2: capped at 600 s; an unanswered round counts 600 s."""
    doc = assess(
        simple_session("late", reply_after=700)
        + simple_session("never", reply_after=None, start="10:00:00")
        + simple_session("quick", reply_after=20, start="11:00:00")
    )
    m = metric(doc, "avg_response_seconds")
    assert (m["numerator"], m["denominator"]) == (600 + 600 + 20, 3)
    assert m["value"] == pytest.approx(1220 / 3)
    assert m["passed"] is False
    s = summarize(simple_session("late", reply_after=700))
    assert s.rounds[0].raw_us == 700 * US and s.rounds[0].response_us == 600 * US


def test_rounds_start_at_first_buyer_message_and_end_at_first_reply() -> None:
    """docs/rules.md §3 (1): further buyer messages inside an open round start no new round."""
    evs = [
        opened(at("09:00:00")),
        assigned(at("09:00:00")),
        system(at("09:00:00")),  # welcome
        buyer(at("09:00:10")),
        buyer(at("09:00:20"), kind="product_card"),
        buyer(at("09:00:50"), kind="order_card"),
        agent_msg(at("09:01:10")),  # answers the round of 09:00:10: 60 s
        agent_msg(at("09:01:20")),  # extra agent message: no round
        buyer(at("09:02:00")),
        assist(at("09:02:20")),  # robot-assist answers: 20 s
        buyer(at("09:03:00")),  # unanswered at close
        closed(at("09:40:00")),
    ]
    s = summarize(evs)
    assert [(r.raw_us, r.answered_by) for r in s.rounds] == [
        (60 * US, "agent"),
        (20 * US, "robot_assist"),
        (None, None),
    ]
    assert s.no_service == (3,)
    doc = assess(evs)
    m = metric(doc, "avg_response_seconds")
    assert (m["numerator"], m["denominator"]) == (60 + 20 + 600, 3)


def test_product_and_order_cards_count_as_questions() -> None:
    """docs/rules.md §2.1: a product or order card counts as a question, like text."""
    evs = [
        opened(at("09:00:00")),
        assigned(at("09:00:00")),
        buyer(at("09:00:05"), kind="order_card"),
    ]
    s = summarize([*evs, agent_msg(at("09:00:35")), closed(at("09:10:00"))])
    assert len(s.rounds) == 1 and s.rounds[0].raw_us == 30 * US


def test_system_and_robot_messages_never_answer() -> None:
    """docs/rules.md §3 (1): system (welcome) and robot messages never answer a round."""
    evs = [
        opened(at("09:00:00")),
        buyer(at("09:00:00")),
        assigned(at("09:00:01")),
        system(at("09:00:01")),
        robot(at("09:00:02")),
        system(at("09:00:30")),
        closed(at("09:30:00")),
    ]
    s = summarize(evs)
    assert len(s.rounds) == 1 and s.rounds[0].answer_us is None
    # §5 conditions 2 and 3: welcome only, last round unanswered.
    assert s.no_service == (2, 3)


def test_robot_assist_counts_as_human_reply() -> None:
    """docs/rules.md §3 note 1: robot-assist auto-replies count as human replies."""
    evs = [
        opened(at("09:00:00")),
        buyer(at("09:00:00")),
        assigned(at("09:00:00")),
        assist(at("09:00:20")),
        closed(at("09:10:00")),
    ]
    s = summarize(evs)
    assert s.rounds[0].raw_us == 20 * US
    assert s.rounds[0].agent == "a1"  # no agent on the message: the assigned agent
    assert s.no_service == ()
    doc = assess(evs)
    assert metric(doc, "three_minute_reply_rate")["numerator"] == 1
    assert shop_of(doc)["extra"]["n_second_reply_rate"]["numerator"] == 1


def test_ties_in_ts_keep_file_order() -> None:
    """docs/interfaces.md: ties in ts keep file order (the agent line first: no answer)."""
    base = [opened(at("09:00:00")), assigned(at("09:00:00"))]
    first = summarize(
        [*base, agent_msg(at("09:00:10")), buyer(at("09:00:10")), closed(at("09:30:00"))]
    )
    second = summarize(
        [*base, buyer(at("09:00:10")), agent_msg(at("09:00:10")), closed(at("09:30:00"))]
    )
    assert first.rounds[0].answer_us is None
    assert second.rounds[0].raw_us == 0


def test_round_answered_after_23_or_next_week_is_measured_in_full() -> None:
    """docs/rules.md §3: response measured in full when the answer comes after 23:00 or next
    week."""
    evs = [
        opened(at("22:58:00", "2026-11-22")),
        buyer(at("22:58:00", "2026-11-22")),
        assigned(at("22:58:00", "2026-11-22")),
        agent_msg(at("00:00:30", "2026-11-23")),  # W48, 62.5 minutes later
        closed(at("00:10:00", "2026-11-23")),
    ]
    m = metric(assess(evs), "avg_response_seconds")
    assert (m["numerator"], m["denominator"]) == (600.0, 1)


def test_session_without_close_is_closed_30_minutes_after_last_event() -> None:
    """docs/rules.md §2.1: no close recorded → closed 30 minutes after its last event."""
    evs = [
        opened(at("09:00:00")),
        buyer(at("09:00:00")),
        assigned(at("09:00:00")),
        buyer(at("09:05:00")),
    ]
    s = summarize(evs)
    assert s.close_implied
    assert s.close_us - s.last_event_us == 30 * 60 * US
    assert s.rounds[-1].answer_us is None and 3 in s.no_service


def test_events_after_close_are_not_replayed() -> None:
    """docs/rules.md §2.1: a closed session is over; a late rating or flag still applies."""
    evs = [
        opened(at("09:00:00")),
        buyer(at("09:00:00")),
        assigned(at("09:00:00")),
        agent_msg(at("09:00:10")),
        closed(at("09:05:00")),
        buyer(at("09:06:00")),
        ev(at("09:07:00"), "rated", score=1),
    ]
    s = summarize(evs)
    assert len(s.rounds) == 1 and s.ignored_after_close == 1 and s.rating == 1


# --- transfers and attribution ----------------------------------------------------------------


def test_transfer_attributes_rounds_to_the_answering_agent() -> None:
    """docs/rules.md §3: a round goes to who answered it, else to the agent assigned at its
    start."""
    evs = [
        opened(at("09:00:00")),
        buyer(at("09:00:00")),
        assigned(at("09:00:00"), agent="a1"),
        agent_msg(at("09:00:30"), agent="a1"),
        buyer(at("09:01:00")),
        ev(at("09:01:30"), "transferred", agent="a2", from_="a1"),
        agent_msg(at("09:02:00"), agent="a2"),  # answers the 09:01:00 round: a2, 60 s
        buyer(at("09:03:00")),  # unanswered: assigned at its start is a2
        closed(at("09:40:00")),
    ]
    s = summarize(evs)
    assert [r.agent for r in s.rounds] == ["a1", "a2", "a2"]
    assert s.agents == ("a1", "a2") and s.final_agent == "a2"
    agents = {a["agent"]: a for a in shop_of(assess(evs))["agents"]}
    assert agents["a1"]["metrics"]["avg_response_seconds"]["numerator"] == 30
    assert agents["a2"]["metrics"]["avg_response_seconds"]["numerator"] == 60 + 600
    assert agents["a2"]["sessions_assessed"] == 1 and agents["a1"]["sessions_assessed"] == 0


def test_unanswered_round_before_transfer_stays_with_first_agent() -> None:
    evs = [
        opened(at("09:00:00")),
        buyer(at("09:00:00")),
        assigned(at("09:00:00"), agent="a1"),
        ev(at("09:00:30"), "transferred", agent="a2", from_="a1"),
        closed(at("09:30:00")),
    ]
    s = summarize(evs)
    assert s.rounds[0].agent == "a1" and s.rounds[0].answer_us is None


# --- queued and offline sessions (§5 condition 1) ---------------------------------------------


@pytest.mark.parametrize(
    ("kind", "taken_after", "no_service"),
    [
        ("queued", "09:15:00", False),  # exactly 15 minutes: in time
        ("queued", "09:15:01", True),
        ("offline", "09:15:00", False),
        ("offline", "09:15:00.000001", True),
        ("offline", None, True),  # never taken
    ],
)
def test_wait_taken_at_15_minutes_exactly_and_later(
    kind: str, taken_after: str | None, no_service: bool
) -> None:
    """docs/rules.md §3 (1) no-service 1: assigned at exactly 15 minutes of waiting is in time."""
    evs = [
        opened(at("09:00:00")),
        buyer(at("09:00:00")),
        ev(at("09:00:00"), kind),
        system(at("09:00:00")),
    ]
    if taken_after is not None:
        evs += [assigned(at(taken_after)), agent_msg(at(taken_after))]
        evs += [closed(at("09:20:00"))]
    else:
        evs += [closed(at("09:30:00"))]
    s = summarize(evs)
    assert s.human_entry_kind == kind
    assert (1 in s.no_service) is no_service
    m = metric(assess(evs), "no_service_rate")
    assert (m["numerator"], m["denominator"]) == (int(no_service), 1)


def test_queued_session_answered_late_scores_zero_in_three_minute_rate() -> None:
    """docs/rules.md §3 (1): a buyer message before the queue opens a round at the entry time."""
    evs = [
        opened(at("09:00:00")),
        buyer(at("09:00:00")),
        ev(at("09:00:05"), "queued"),
        assigned(at("09:05:00")),
        agent_msg(at("09:05:10")),
        closed(at("09:20:00")),
    ]
    s = summarize(evs)
    assert s.human_entry_us == s.rounds[0].start_us  # round opened at entry (09:00:05)
    assert s.rounds[0].raw_us == (5 * 60 + 5) * US
    assert s.rounds[0].agent == "a1"  # answered by a1
    assert s.waits[0].kind == "queued" and s.no_service == ()
    m = metric(assess(evs), "three_minute_reply_rate")
    assert (m["numerator"], m["denominator"]) == (0, 1)


def test_unanswered_round_of_a_queued_session_has_no_agent() -> None:
    """docs/rules.md §3 (1): unanswered → the agent assigned at its start: none while queued."""
    evs = [
        opened(at("09:00:00")),
        buyer(at("09:00:00")),
        ev(at("09:00:01"), "queued"),
        closed(at("09:30:00")),
    ]
    s = summarize(evs)
    assert s.rounds[0].agent is None
    assert s.no_service == (1,)  # never assigned: conditions 2 and 3 need an agent
    agents = shop_of(assess(evs))["agents"]
    assert [a["agent"] for a in agents] == [None]


def test_offline_session_at_night_is_human_but_not_assessed() -> None:
    evs = [
        opened(at("02:00:00")),
        buyer(at("02:00:00")),
        ev(at("02:00:00"), "offline"),
        closed(at("02:30:00")),
    ]
    s = shop_of(assess(evs))
    assert s["sessions"] == {"total": 1, "human": 1, "assessed": 0, "invalid": 0, "pure_robot": 0}
    assert s["metrics"]["no_service_rate"]["value"] is None


# --- no-service conditions 2 and 3 ------------------------------------------------------------


def test_welcome_only_is_no_service_condition_2() -> None:
    """docs/rules.md §3 (1) no-service 2: the welcome message does not count."""
    evs = [
        opened(at("09:00:00")),
        assigned(at("09:00:00")),
        system(at("09:00:00")),
        closed(at("09:30:00")),
    ]
    s = summarize(evs)
    assert s.rounds == () and s.no_service == (2,)
    m = metric(assess(evs), "no_service_rate")
    assert (m["numerator"], m["denominator"], m["value"]) == (1, 1, 1.0)
    # No buyer round: not in the 3-minute denominator.
    assert metric(assess(evs), "three_minute_reply_rate")["denominator"] == 0


def test_buyer_last_round_unanswered_is_condition_3() -> None:
    evs = simple_session("x1", reply_after=30)
    evs.insert(-1, buyer(at("09:02:00")))
    s = summarize(evs)
    assert s.no_service == (3,)


# --- robot: full-auto and hand-over -----------------------------------------------------------


def test_pure_robot_session_counts_in_no_metric() -> None:
    """docs/rules.md §2.1, §3 note 1: pure-robot sessions are in no response metric, nor ratings."""
    evs = [
        opened(at("09:00:00")),
        buyer(at("09:00:00")),
        robot(at("09:00:01")),
        buyer(at("09:00:30")),
        closed(at("09:10:00")),
        ev(at("09:11:00"), "rated", score=1),
    ]
    s = summarize(evs)
    assert s.pure_robot and s.rounds == ()
    doc = assess(evs)
    assert shop_of(doc)["sessions"] == {
        "total": 1,
        "human": 0,
        "assessed": 0,
        "invalid": 0,
        "pure_robot": 1,
    }
    assert all(m["value"] is None for m in shop_of(doc)["metrics"].values())
    assert shop_of(doc)["passed"] is True


def test_robot_then_human_handover_opens_round_at_entry() -> None:
    """docs/rules.md §3: a buyer message still unanswered at the human entry opens a round then."""
    evs = [
        opened(at("09:00:00")),
        buyer(at("09:00:00")),
        robot(at("09:00:01")),  # the robot answered: no round
        buyer(at("09:00:30")),  # 转人工: unanswered by the robot
        system(at("09:00:31")),  # hand-over notice: not an answer
        assigned(at("09:01:00")),
        agent_msg(at("09:01:40")),
        closed(at("09:10:00")),
    ]
    s = summarize(evs)
    assert len(s.rounds) == 1
    assert s.rounds[0].start_us == s.human_entry_us and s.rounds[0].raw_us == 40 * US


def test_robot_answered_before_handover_opens_no_round() -> None:
    evs = [
        opened(at("09:00:00")),
        buyer(at("09:00:00")),
        robot(at("09:00:01")),
        assigned(at("09:01:00")),
        system(at("09:01:00")),
        closed(at("09:30:00")),
    ]
    s = summarize(evs)
    assert s.rounds == () and s.no_service == (2,)


# --- §6 invalid sessions ----------------------------------------------------------------------


@pytest.mark.parametrize("reason", ["reported", "blacklisted", "risky"])
def test_invalid_sessions_are_left_out_of_every_metric(reason: str) -> None:
    """docs/rules.md §3 (2) note: reported, blacklisted or risky sessions are invalid."""
    good = simple_session("good", reply_after=30, rating=5)
    bad = simple_session("bad", reply_after=None, rating=1, start="10:00:00")
    bad.append(ev(at("11:00:00"), "flagged", session="bad", reason=reason))  # after close
    doc = assess(good + bad)
    s = shop_of(doc)
    assert s["sessions"] == {"total": 2, "human": 2, "assessed": 1, "invalid": 1, "pure_robot": 0}
    for name in ("no_service_rate", "three_minute_reply_rate", "dissatisfaction_rate"):
        assert metric(doc, name)["denominator"] == 1
    assert metric(doc, "avg_response_seconds")["denominator"] == 1
    assert metric(doc, "no_service_rate")["numerator"] == 0
    summary = summarize(bad)
    assert summary.invalid_reasons == (reason,)
    assert not any(r.assessed for r in summary.rounds)


# --- §5 dissatisfaction -----------------------------------------------------------------------


@pytest.mark.parametrize(("score", "dissatisfied"), [(1, 1), (2, 1), (3, 1), (4, 0), (5, 0)])
def test_scores_one_to_three_are_dissatisfied(score: int, dissatisfied: int) -> None:
    """docs/rules.md §3 (2): 1, 2, 3 (very dissatisfied, dissatisfied, neutral) / rated sessions."""
    m = metric(assess(simple_session("x1", rating=score)), "dissatisfaction_rate")
    assert (m["numerator"], m["denominator"]) == (dissatisfied, 1)


def test_changed_rating_last_one_counts() -> None:
    """docs/rules.md §3 (2): one rating per session, the last one counts."""
    evs = simple_session("x1", rating=2)
    evs.append(ev(at("09:20:00"), "rated", score=5))
    s = summarize(evs)
    assert (s.rating, s.ratings) == (5, 2)
    assert metric(assess(evs), "dissatisfaction_rate")["numerator"] == 0
    evs.append(ev(at("09:21:00"), "rated", score=3))
    assert metric(assess(evs), "dissatisfaction_rate")["numerator"] == 1


def test_unrated_sessions_are_not_in_the_dissatisfaction_denominator() -> None:
    doc = assess(simple_session("a", rating=1) + simple_session("b", start="10:00:00"))
    m = metric(doc, "dissatisfaction_rate")
    assert (m["numerator"], m["denominator"], m["value"]) == (1, 1, 1.0)


# --- standards and zero denominators ----------------------------------------------------------


def test_zero_denominators_have_no_value_and_do_not_fail() -> None:
    """docs/rules.md §3: a metric with a zero denominator has no value and is not failed."""
    doc = assess(simple_session("x1", start="23:30:00"))
    s = shop_of(doc)
    for m in s["metrics"].values():
        assert m["value"] is None and m["passed"] is None and m["denominator"] == 0
    assert s["passed"] is True


def test_standard_boundaries_are_strict_except_three_minute_rate() -> None:
    """docs/rules.md §3: "< 20%", "< 90 s", "< 30%" strict; "≥ 80%" includes 80%."""
    # 5 sessions: 1 unanswered (no service, late round) → no-service 1/5 = 20 % fails,
    # 3-minute 4/5 = 80 % passes.
    evs: list[dict[str, object]] = []
    for i in range(4):
        evs += simple_session(f"ok{i}", start=f"1{i}:00:00", reply_after=0)
    evs += simple_session("bad", start="15:00:00", reply_after=None)
    doc = assess(evs)  # type: ignore[arg-type]
    ns = metric(doc, "no_service_rate")
    tm = metric(doc, "three_minute_reply_rate")
    assert (ns["numerator"], ns["denominator"], ns["passed"]) == (1, 5, False)
    assert (tm["numerator"], tm["denominator"], tm["passed"]) == (4, 5, True)
    assert ns["standard"] == "< 0.20" and tm["standard"] == ">= 0.80"
    # average exactly 90 s fails: 600 + 4 × 0 = 600 over 5 rounds → 120; use 2 rounds of 90.
    avg = assess(
        simple_session("a", reply_after=90) + simple_session("b", start="10:00:00", reply_after=90)
    )
    m = metric(avg, "avg_response_seconds")
    assert (m["value"], m["passed"], m["standard"]) == (90.0, False, "< 90")
    below = assess(simple_session("a", reply_after=89.999999))  # type: ignore[arg-type]
    assert metric(below, "avg_response_seconds")["passed"] is True
    # dissatisfaction exactly 30 % fails.
    evs = [
        e
        for i in range(10)
        for e in simple_session(f"r{i}", start=f"1{i % 10}:00:00", rating=1 if i < 3 else 5)
    ]
    m = metric(assess(evs), "dissatisfaction_rate")  # type: ignore[arg-type]
    assert (m["numerator"], m["denominator"], m["passed"], m["standard"]) == (
        3,
        10,
        False,
        "< 0.30",
    )


def test_shop_fails_when_any_metric_fails_and_shops_sorted() -> None:
    doc = assess(
        simple_session("x1", shop="s2", reply_after=None)
        + simple_session("x1", shop="s1", reply_after=5)
    )
    assert [s["shop"] for s in doc["shops"]] == ["s1", "s2"]
    assert shop_of(doc, "s1")["passed"] is True
    assert shop_of(doc, "s2")["passed"] is False


def test_json_shape_matches_interfaces() -> None:
    """docs/interfaces.md `--json`: keys of the document, the shop and each metric."""
    doc = assess(simple_session("x1"))
    assert {"week", "timezone", "from", "to", "shops"} <= doc.keys()
    s = doc["shops"][0]
    assert {"shop", "sessions", "metrics", "passed"} <= s.keys()
    assert set(s["sessions"]) == {"total", "human", "assessed", "invalid", "pure_robot"}
    assert set(s["metrics"]) == {
        "no_service_rate",
        "three_minute_reply_rate",
        "avg_response_seconds",
        "dissatisfaction_rate",
    }
    for m in s["metrics"].values():
        assert set(m) == {"value", "numerator", "denominator", "standard", "passed"}
    orjson.dumps(doc)  # plain JSON


def test_n_second_rate_and_first_response_are_reported_not_assessed() -> None:
    """docs/rules.md §3: N-second reply rate (N = 30) and first response time, not assessed."""
    doc = assess(
        simple_session("a", reply_after=30) + simple_session("b", start="10:00:00", reply_after=31)
    )
    extra = shop_of(doc)["extra"]
    assert extra["n_second_reply_rate"]["numerator"] == 1
    assert extra["n_second_reply_rate"]["denominator"] == 2
    assert extra["n_second_reply_rate"]["seconds"] == 30
    assert "passed" not in extra["n_second_reply_rate"]
    assert extra["first_response_seconds"]["value"] == 30.5
    cfg = AssessmentConfig(n_second_seconds=31)
    doc = assess(
        simple_session("a", reply_after=30) + simple_session("b", start="10:00:00", reply_after=31),
        config=cfg,
    )
    assert shop_of(doc)["extra"]["n_second_reply_rate"]["numerator"] == 2


def test_per_day_breakdown() -> None:
    evs = simple_session("mon", reply_after=10) + simple_session(
        "tue", reply_after=200, day="2026-11-17"
    )
    days = {d["date"]: d for d in shop_of(assess(evs))["days"]}
    assert set(days) == {"2026-11-16", "2026-11-17"}
    assert days["2026-11-16"]["metrics"]["three_minute_reply_rate"]["value"] == 1.0
    assert days["2026-11-17"]["metrics"]["three_minute_reply_rate"]["value"] == 0.0


def test_configurable_standards_and_hours() -> None:
    cfg = AssessmentConfig(hours_start="09:00:00", standard_avg_response_seconds=100.0)
    doc = assess(simple_session("a", start="08:30:00", reply_after=95), config=cfg)
    assert shop_of(doc)["sessions"]["assessed"] == 0
    doc = assess(simple_session("a", start="09:30:00", reply_after=95), config=cfg)
    assert metric(doc, "avg_response_seconds")["passed"] is True
    assert metric(doc, "avg_response_seconds")["standard"] == "< 100"


# --- summaries: JSON round trip ---------------------------------------------------------------


def test_summary_round_trips_through_json() -> None:
    evs = [
        opened(at("09:00:00")),
        buyer(at("09:00:00")),
        ev(at("09:00:00"), "queued"),
        assigned(at("09:16:00"), agent="a1"),
        agent_msg(at("09:16:10.5")),
        ev(at("09:17:00"), "transferred", agent="a2", from_="a1"),
        buyer(at("09:18:00")),
        ev(at("09:40:00"), "rated", score=3),
        ev(at("09:41:00"), "flagged", reason="risky"),
    ]
    s = summarize(evs)
    again = SessionSummary.from_dict(orjson.loads(orjson.dumps(s.to_dict())))
    assert again == s
    assert assess_log(to_log(evs), WEEK) == assess(evs)


# --- drill-down -------------------------------------------------------------------------------


def test_drill_down_lists_the_sessions_that_failed() -> None:
    evs = (
        simple_session("fast", reply_after=10)
        + simple_session("slow", start="10:00:00", reply_after=200)
        + simple_session("never", start="11:00:00", reply_after=None, rating=2)
    )
    summaries = summaries_from_log(to_log(evs))
    doc = assess(evs)
    for figure, key in [
        ("no_service_rate", "no_service_rate"),
        ("three_minute_reply_rate", "three_minute_reply_rate"),
        ("avg_response_seconds", "avg_response_seconds"),
        ("dissatisfaction_rate", "dissatisfaction_rate"),
    ]:
        d = drill_down(summaries, WEEK, figure, "s1")
        m = metric(doc, key)
        assert (d["numerator"], d["denominator"]) == (m["numerator"], m["denominator"])
    tmr = drill_down(summaries, WEEK, "three_minute_reply_rate", "s1")
    assert [i["session"] for i in tmr["items"] if i["bad"]] == ["slow", "never"]
    assert "answered after 200 s" in tmr["items"][0]["why"]
    ns = drill_down(summaries, WEEK, "no_service_rate", "s1")
    assert [(i["session"], i["conditions"]) for i in ns["items"] if i["bad"]] == [("never", [2, 3])]
    by_agent = drill_down(summaries, WEEK, "avg_response_seconds", "s1", agent="a1", day=MON)
    assert by_agent["denominator"] == 3
    with pytest.raises(ValueError):
        drill_down(summaries, WEEK, "nonsense", "s1")


# --- rule 2.2.1 -------------------------------------------------------------------------------


def _unanswered(i: int, start: str, shop: str = "s1") -> list[dict[str, object]]:
    return simple_session(f"u{i:02d}", start=start, reply_after=None, shop=shop)  # type: ignore[return-value]


def test_ten_unanswered_sessions_in_a_row_are_a_2_2_1_finding() -> None:
    """docs/rules.md 2.2.1: ≥ 10 human sessions in a row closing with the last round unanswered."""
    evs = [e for i in range(10) for e in _unanswered(i, f"{9 + i // 6:02d}:{(i % 6) * 10:02d}:00")]
    findings = detect_no_human_reply(summaries_from_log(to_log(evs)))  # type: ignore[arg-type]
    assert len(findings) == 1
    assert findings[0].count == 10 and findings[0].sessions[0] == "u00"


def test_nine_in_a_row_or_a_broken_run_is_not_a_finding() -> None:
    nine = [e for i in range(9) for e in _unanswered(i, f"{9 + i // 6:02d}:{(i % 6) * 10:02d}:00")]
    assert detect_no_human_reply(summaries_from_log(to_log(nine))) == []  # type: ignore[arg-type]
    broken = (
        nine + simple_session("ok", start="10:35:00", reply_after=5) + _unanswered(9, "10:45:00")
    )
    assert detect_no_human_reply(summaries_from_log(to_log(broken))) == []  # type: ignore[arg-type]


def test_2_2_1_sequence_ignores_sessions_closing_outside_hours() -> None:
    # 10 unanswered; one of them closes at 23:10 (outside hours): only 9 count.
    evs = [e for i in range(9) for e in _unanswered(i, f"{9 + i // 6:02d}:{(i % 6) * 10:02d}:00")]
    evs += _unanswered(9, "22:55:00")  # simple_session closes 5 min later: 23:00
    assert detect_no_human_reply(summaries_from_log(to_log(evs))) == []  # type: ignore[arg-type]
    evs += _unanswered(10, "21:00:00")
    found = detect_no_human_reply(summaries_from_log(to_log(evs)))  # type: ignore[arg-type]
    assert [f.count for f in found] == [10]


def test_hours_boundary_config_is_respected() -> None:
    assert CFG.hours_start_s == 8 * 3600 and CFG.hours_end_s == 22 * 3600 + 59 * 60 + 59
