"""For any figure, the sessions and rounds behind it — so a merchant can see why it failed.

Uses the same predicates as the aggregation (``session_assessed``, ``week_rounds``), and the
tests check that numerators and denominators here equal the assessment's.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from feige.domain import US_PER_SECOND
from feige.metrics.assessment import Week, parse_week, session_assessed, week_rounds
from feige.metrics.config import DEFAULT_CONFIG, AssessmentConfig
from feige.metrics.summary import Round, SessionSummary
from feige.metrics.timeutil import LocalClock, day_name

SESSION_FIGURES = (
    "no_service_rate",
    "three_minute_reply_rate",
    "dissatisfaction_rate",
    "first_response_seconds",
)
ROUND_FIGURES = ("avg_response_seconds", "n_second_reply_rate")
FIGURES = SESSION_FIGURES + ROUND_FIGURES

_NO_SERVICE_WHY = {
    1: "waited (queued/offline) and no agent took it within the wait limit",
    2: "agent assigned but no agent or robot-assist message was ever sent",
    3: "agent assigned and the buyer's last round was left unanswered",
}


def _secs(us: int | None) -> float | None:
    return None if us is None else us / US_PER_SECOND


def round_dict(r: Round, clock: LocalClock, config: AssessmentConfig) -> dict[str, Any]:
    """A round as people read it (local times, seconds)."""
    limit = config.in_time_seconds * US_PER_SECOND
    return {
        "start": clock.iso(r.start_us),
        "answer": None if r.answer_us is None else clock.iso(r.answer_us),
        "response_seconds": r.response_us / US_PER_SECOND,
        "raw_seconds": _secs(r.raw_us),
        "agent": r.agent,
        "answered_by": r.answered_by,
        "assessed": r.assessed,
        "in_time": r.raw_us is not None and r.raw_us <= limit,
    }


def drill_down(
    summaries: Iterable[SessionSummary],
    week: str | Week,
    figure: str,
    shop: str,
    config: AssessmentConfig = DEFAULT_CONFIG,
    agent: str | None = None,
    day: str | None = None,
) -> dict[str, Any]:
    """Sessions (or rounds) counted in ``figure`` for ``shop`` in ``week``.

    ``agent`` narrows to one agent (session figures by the session's final agent, round
    figures by the round's agent), ``day`` to one local date 'YYYY-MM-DD'. Each item says
    whether it is in the numerator (``counts``) and whether it hurts the figure (``bad``).
    """
    if figure not in FIGURES:
        raise ValueError(f"unknown figure {figure!r}; one of {', '.join(FIGURES)}")
    w = parse_week(week, config) if isinstance(week, str) else week
    clock = LocalClock(config.timezone)
    in_time = config.in_time_seconds * US_PER_SECOND
    nsec = config.n_second_seconds * US_PER_SECOND
    items: list[dict[str, Any]] = []
    numerator: float = 0
    denominator = 0
    for s in sorted((s for s in summaries if s.shop == shop), key=lambda s: s.session):
        if figure in ROUND_FIGURES:
            for r in week_rounds(s, w):
                if agent is not None and r.agent != agent:
                    continue
                if day is not None and day_name(clock.day(r.start_us)) != day:
                    continue
                denominator += 1
                item = {
                    "session": s.session,
                    "consumer": s.consumer,
                    **round_dict(r, clock, config),
                }
                if figure == "avg_response_seconds":
                    numerator += r.response_us
                    item["counts"] = True
                    item["bad"] = (
                        r.response_us >= config.standard_avg_response_seconds * US_PER_SECOND
                    )
                else:
                    ok = r.raw_us is not None and r.raw_us <= nsec
                    numerator += ok
                    item["counts"] = ok
                    item["bad"] = not ok
                items.append(item)
            continue
        if not session_assessed(s, w):
            continue
        assert s.human_entry_us is not None
        if agent is not None and s.final_agent != agent:
            continue
        if day is not None and day_name(clock.day(s.human_entry_us)) != day:
            continue
        rounds = week_rounds(s, w)
        base: dict[str, Any] = {
            "session": s.session,
            "consumer": s.consumer,
            "human_entry": clock.iso(s.human_entry_us),
            "human_entry_kind": s.human_entry_kind,
            "agent": s.final_agent,
            "close": clock.iso(s.close_us),
            "close_implied": s.close_implied,
        }
        if figure == "no_service_rate":
            counts = bool(s.no_service)
            why = "; ".join(f"{c}: {_NO_SERVICE_WHY[c]}" for c in s.no_service)
            extra: dict[str, Any] = {
                "conditions": list(s.no_service),
                "waits": [
                    {
                        "kind": wt.kind,
                        "start": clock.iso(wt.start_us),
                        "taken": None if wt.end_us is None else clock.iso(wt.end_us),
                        "wait_seconds": _secs(
                            None if wt.end_us is None else wt.end_us - wt.start_us
                        ),
                    }
                    for wt in s.waits
                ],
                "rounds": [round_dict(r, clock, config) for r in s.rounds],
            }
            bad = counts
        elif figure == "three_minute_reply_rate":
            if not rounds:
                continue
            late = [r for r in rounds if r.raw_us is None or r.raw_us > in_time]
            counts = not late
            why = "; ".join(
                f"round at {clock.iso(r.start_us)} "
                + (
                    "unanswered"
                    if r.raw_us is None
                    else f"answered after {r.raw_us / US_PER_SECOND:g} s"
                )
                for r in late
            )
            extra = {"rounds": [round_dict(r, clock, config) for r in rounds]}
            bad = not counts
        elif figure == "dissatisfaction_rate":
            if s.rating is None:
                continue
            counts = s.rating in config.dissatisfied_scores
            why = f"rated {s.rating}" + (f" (last of {s.ratings} ratings)" if s.ratings > 1 else "")
            extra = {
                "rating": s.rating,
                "rated_at": None if s.rating_us is None else clock.iso(s.rating_us),
            }
            bad = counts
        else:  # first_response_seconds
            if not s.rounds:
                continue
            first = s.rounds[0]
            counts = True
            numerator += first.response_us
            why = f"first round answered after {first.response_us / US_PER_SECOND:g} s (capped)"
            extra = {"rounds": [round_dict(first, clock, config)]}
            bad = first.raw_us is None or first.raw_us > in_time
            denominator += 1
            items.append({**base, **extra, "counts": counts, "bad": bad, "why": why})
            continue
        denominator += 1
        numerator += counts
        items.append({**base, **extra, "counts": counts, "bad": bad, "why": why})
    if figure in ("avg_response_seconds", "first_response_seconds"):
        numerator = numerator / US_PER_SECOND
    items.sort(
        key=lambda it: (
            not it["bad"],
            it.get("human_entry") or it.get("start") or "",
            it["session"],
        )
    )
    return {
        "shop": shop,
        "week": w.name,
        "figure": figure,
        "agent": agent,
        "day": day,
        "numerator": numerator,
        "denominator": denominator,
        "value": None if denominator == 0 else numerator / denominator,
        "items": items,
    }
