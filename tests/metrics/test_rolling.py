"""The incremental rolling window of rule 2.2.1 (``feige.metrics.rolling``) against the same
figure recomputed from scratch over every round ever counted, for random message sequences;
and the rule's decisions on hand-made ones (docs/rules.md 2.2.1)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from feige.metrics.rolling import ASSIST, FULL_AUTO, OFF, RoundWatch, SwitchRule, effective_mode

RULE = SwitchRule(span_seconds=3600, min_rounds=5, cap_seconds=600)
SHOPS = (1, 2)


def in_hours(ts: float) -> bool:
    return int(ts) % 5 != 0  # some starts outside the hours


class Recount:
    """Every round with the time it counts and its seconds, kept whole: the window is then
    a filter (docs/rules.md §3 (1) rounds, 2.2.1 window)."""

    def __init__(self) -> None:
        self.open: dict[int, float] = {}
        self.closed: set[int] = set()
        self.invalid: set[int] = set()
        self.counted: list[tuple[int, int, float, float]] = []  # session, shop, at, seconds

    def buyer(self, session: int, at: float) -> None:
        if session not in self.closed and session not in self.open:
            self.open[session] = at

    def reply(self, session: int, shop: int, at: float) -> None:
        start = self.open.pop(session, None)
        if start is None or session in self.closed:
            if start is not None:
                self.open[session] = start
            return
        if in_hours(start):
            wait = at - start
            if wait <= RULE.cap_seconds:
                self.counted.append((session, shop, at, wait))
            else:
                self.counted.append((session, shop, start + RULE.cap_seconds, RULE.cap_seconds))

    def window(self, shop: int, now: float, shop_of: dict[int, int]) -> tuple[int, float]:
        rows = [c for c in self.counted if c[1] == shop]
        rows += [
            (s, shop_of[s], start + RULE.cap_seconds, RULE.cap_seconds)
            for s, start in self.open.items()
            if shop_of[s] == shop and in_hours(start)
        ]
        inside = [
            r[3] for r in rows if r[0] not in self.invalid and now - RULE.span_seconds < r[2] <= now
        ]
        return len(inside), sum(inside)


step = st.tuples(
    st.floats(min_value=0, max_value=400, allow_nan=False),
    st.sampled_from(["buyer", "reply", "reply", "close", "flag"]),
    st.integers(min_value=0, max_value=7),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(step, min_size=1, max_size=120))
def test_the_window_equals_the_figure_recomputed_from_scratch(steps: list[Any]) -> None:
    watch = RoundWatch(RULE, in_hours)
    recount = Recount()
    shop_of = {s: SHOPS[s % 2] for s in range(8)}
    for s, shop in shop_of.items():
        watch.human_session(s, shop, True)
    now = 1_000_000.0
    for dt, op, session in steps:
        now += dt
        shop = shop_of[session]
        if op == "buyer":
            watch.buyer_message(session, now)
            recount.buyer(session, now)
        elif op == "reply":
            watch.staff_reply(session, now)
            recount.reply(session, shop, now)
        elif op == "close":
            watch.session_closed(session)
            recount.closed.add(session)
        else:
            watch.session_invalid(session, shop)
            recount.invalid.add(session)
        watch.advance(now)
        for each in SHOPS:
            rounds, total = recount.window(each, now, shop_of)
            window = watch.shop(each)
            assert window.rounds == rounds
            assert window.total == pytest.approx(total, abs=1e-6)


def test_decisions_on_a_hand_made_hour() -> None:
    watch = RoundWatch(RULE, lambda ts: True)
    t = 0.0
    for session in range(4):  # four slow rounds: not enough
        watch.human_session(session, 1, True)
        watch.buyer_message(session, t)
        t += 120
        watch.staff_reply(session, t)
    assert watch.decide(1, t) is None
    watch.human_session(4, 1, True)
    watch.buyer_message(4, t)
    t += 100
    watch.staff_reply(4, t)
    decision = watch.decide(1, t)
    assert decision is not None and (decision.switch, decision.rounds) == ("on", 5)
    assert decision.average == pytest.approx((4 * 120 + 100) / 5)
    # Full-auto is never switched; the stored mode is what the rule works from.
    watch.set_state(1, FULL_AUTO, False)
    assert watch.decide(1, t) is None
    watch.set_state(1, OFF, True, t)
    assert watch.decide(1, t) is None  # held on, not calm
    # Quick answers bring it to 60 s exactly: calm from that answer, off an hour later.
    session = 5
    while watch.shop(1).average > 60:  # type: ignore[operator]
        watch.human_session(session, 1, True)
        watch.buyer_message(session, t)
        t += 10
        watch.staff_reply(session, t)
        session += 1
    calm_from = t
    assert watch.shop(1).calm_since == calm_from
    watch.advance(calm_from + 3599)
    assert watch.decide(1, calm_from + 3599) is None
    decision = watch.decide(1, calm_from + 3600)
    assert decision is not None and decision.switch == "off"


def test_effective_mode() -> None:
    assert effective_mode(OFF, False) == OFF
    assert effective_mode(OFF, True) == ASSIST
    assert effective_mode(ASSIST, False) == ASSIST
    assert effective_mode(FULL_AUTO, True) == FULL_AUTO
