"""The full-auto robot's own figures (docs/robot-modes.md, "Full-auto"): pure-robot sessions
are left out of every assessed metric (docs/rules.md §3 note 1), so the ratings their buyers
give are the robot's satisfaction, reported on their own. Pure."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from feige.metrics.assessment import figure


@dataclass(frozen=True, slots=True)
class RobotSession:
    """One session the robot received: its rating, whether it is invalid, and why it was
    handed over (None: never, a pure-robot session)."""

    rating: int | None
    invalid: bool
    handover_reason: str | None


def robot_figures(
    sessions: Iterable[RobotSession], dissatisfied_scores: tuple[int, ...]
) -> dict[str, Any]:
    """The robot's sessions, hand-overs by reason, and the satisfaction of the valid
    pure-robot sessions: ratings 1–5, the dissatisfaction rate (1–3 by default, as for the
    shop's human service) and the average score."""
    received = 0
    robot_only = 0
    handovers: dict[str, int] = {}
    scores = {str(s): 0 for s in range(1, 6)}
    rated = dissatisfied = total = 0
    for s in sessions:
        received += 1
        if s.handover_reason is not None:
            handovers[s.handover_reason] = handovers.get(s.handover_reason, 0) + 1
            continue
        robot_only += 1
        if s.invalid or s.rating is None:
            continue
        rated += 1
        total += s.rating
        scores[str(s.rating)] = scores.get(str(s.rating), 0) + 1
        if s.rating in dissatisfied_scores:
            dissatisfied += 1
    return {
        "sessions": {
            "received": received,
            "robot_only": robot_only,
            "handed_over": received - robot_only,
        },
        "handovers": dict(sorted(handovers.items())),
        "satisfaction": {
            "rated": rated,
            "scores": scores,
            "average_score": figure(total, rated, rate=False),
            "dissatisfaction_rate": figure(dissatisfied, rated),
        },
    }
