"""Rule 2.2.1 "long time without reply" (docs/rules.md 2.2.1)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from feige.metrics.config import DEFAULT_CONFIG, AssessmentConfig
from feige.metrics.summary import SessionSummary
from feige.metrics.timeutil import LocalClock


@dataclass(frozen=True, slots=True)
class NoHumanReplyFinding:
    """A run of human sessions in a row closing with the buyer's last round unanswered."""

    shop: str
    sessions: tuple[str, ...]  # in close order
    first_close_us: int
    last_close_us: int

    @property
    def count(self) -> int:
        return len(self.sessions)


def detect_no_human_reply(
    summaries: Iterable[SessionSummary], config: AssessmentConfig = DEFAULT_CONFIG
) -> list[NoHumanReplyFinding]:
    """Maximal runs of ≥ ``no_human_reply_streak`` such sessions per shop, by close time.

    The sequence is a shop's valid human sessions that close during assessment hours, ordered
    by close time (ties by session id); sessions closing outside the hours, invalid and
    pure-robot sessions are not part of it, so they neither count nor break a run.
    """
    clock = LocalClock(config.timezone)
    start_s = config.hours_start_s
    end_s = config.hours_end_s
    per_shop: dict[str, list[SessionSummary]] = {}
    for s in summaries:
        if s.valid_human and clock.in_window(s.close_us, start_s, end_s):
            per_shop.setdefault(s.shop, []).append(s)
    findings: list[NoHumanReplyFinding] = []
    need = config.no_human_reply_streak
    for shop in sorted(per_shop):
        seq = sorted(per_shop[shop], key=lambda s: (s.close_us, s.session))
        run: list[SessionSummary] = []
        for item in [*seq, None]:
            if item is not None and item.last_round_unanswered:
                run.append(item)
                continue
            if len(run) >= need:
                findings.append(
                    NoHumanReplyFinding(
                        shop, tuple(x.session for x in run), run[0].close_us, run[-1].close_us
                    )
                )
            run = []
    return findings
