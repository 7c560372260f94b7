"""The rolling average response time of rule 2.2.1 and its automatic switch (docs/rules.md
2.2.1, "The robot and its automatic switch-on"), kept incrementally: pure, no I/O.

A round enters a shop's window when it is answered (its response time) or when it expires
unanswered at the response cap (the cap, docs/rules.md §3 note 2), and leaves it ``span``
seconds later. Every change costs O(1) amortised: a deque per shop, a running sum, and a heap
of the open rounds' expiry times. Nothing here reads a clock: the caller passes the time.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

OFF, ASSIST, FULL_AUTO = "off", "assist", "full_auto"
MODES = (OFF, ASSIST, FULL_AUTO)


def effective_mode(manual_mode: str, rule_on: bool) -> str:
    """The mode the shop runs in: the merchant's own choice, raised to ``assist`` while the
    rule holds it on (full-auto stays full-auto)."""
    if manual_mode == FULL_AUTO:
        return FULL_AUTO
    return ASSIST if rule_on or manual_mode == ASSIST else OFF


@dataclass(frozen=True, slots=True)
class SwitchRule:
    """The thresholds (docs/rules.md 2.2.1; settings ``robot_*``)."""

    span_seconds: float = 3600.0  # the rolling window
    min_rounds: int = 5  # fewer rounds in the window never switch assist on
    on_above_seconds: float = 90.0  # strictly above: switch on
    off_at_or_below_seconds: float = 60.0  # at or below …
    off_after_seconds: float = 3600.0  # … for this long: switch off
    cap_seconds: float = 600.0  # an unanswered round counts this much, once it has waited it


@dataclass(frozen=True, slots=True)
class Decision:
    """What the rule asks for a shop now, with the figure behind it."""

    shop: int
    switch: Literal["on", "off"]
    average: float | None
    rounds: int


@dataclass(slots=True)
class ShopWindow:
    """One shop: the rounds counted in the window, and the rule's state."""

    entries: deque[tuple[float, float, int]] = field(default_factory=deque)  # at, secs, session
    total: float = 0.0
    manual_mode: str = OFF
    rule_on: bool = False
    calm_since: float | None = None  # since when the figure is ≤ the calm limit (or empty)

    @property
    def rounds(self) -> int:
        return len(self.entries)

    @property
    def average(self) -> float | None:
        return self.total / len(self.entries) if self.entries else None


@dataclass(slots=True)
class _OpenRound:
    shop: int
    start: float
    assessed: bool
    expired: bool = False


@dataclass(slots=True)
class _Session:
    shop: int
    valid: bool
    round: _OpenRound | None = None
    closed: bool = False  # closed with its round still to expire (it counts then)


class RoundWatch:
    """Every open human session's open round and every shop's window (docs/rules.md §3 (1)
    rounds: a buyer message opens one when none is open; an ``agent`` or ``robot_assist``
    message answers it). ``in_hours(ts)`` says whether a round starting at ``ts`` is inside
    assessment hours."""

    def __init__(self, rule: SwitchRule, in_hours: Callable[[float], bool]) -> None:
        self.rule = rule
        self.in_hours = in_hours
        self.shops: dict[int, ShopWindow] = {}
        self.sessions: dict[int, _Session] = {}
        self._expiries: list[tuple[float, int, float]] = []  # due, session, round start
        self.now = 0.0  # the latest tick

    # --- what happened -----------------------------------------------------------------

    def shop(self, shop: int) -> ShopWindow:
        window = self.shops.get(shop)
        if window is None:
            window = self.shops[shop] = ShopWindow()
        return window

    def human_session(self, session: int, shop: int, valid: bool) -> None:
        """A session handed to human service (queued, offline or assigned)."""
        if session not in self.sessions:
            self.sessions[session] = _Session(shop, valid)
        elif not valid:
            self.session_invalid(session, shop)

    def session_invalid(self, session: int, shop: int) -> None:
        """A session flagged invalid, open or closed: its rounds leave the window and its
        open round will not count (docs/rules.md §3 (2) note)."""
        known = self.sessions.get(session)
        if known is not None:
            known.valid = False
            if known.round is not None:
                known.round.assessed = False
        self._forget(shop, session)

    def buyer_message(self, session: int, at: float) -> None:
        known = self.sessions.get(session)
        if known is None or known.round is not None or known.closed:
            return  # not a human session, or a round is open already
        self._expire_until(at)
        assessed = known.valid and self.in_hours(at)
        known.round = _OpenRound(known.shop, at, assessed)
        heapq.heappush(self._expiries, (at + self.rule.cap_seconds, session, at))

    def staff_reply(self, session: int, at: float) -> None:
        """An ``agent`` or ``robot_assist`` message: it answers the open round."""
        known = self.sessions.get(session)
        if known is None or known.round is None or known.closed:
            return
        self._expire_until(at)
        open_round, known.round = known.round, None
        if open_round.assessed and not open_round.expired:
            response = min(at - open_round.start, self.rule.cap_seconds)
            self._add(open_round.shop, at, response, session)

    def session_closed(self, session: int) -> None:
        """Closed is over (docs/rules.md 2.1); a round left open still counts the cap when
        it expires (§3 note 2), so the session is kept until then."""
        known = self.sessions.get(session)
        if known is None:
            return
        if known.round is not None and not known.round.expired:
            known.closed = True
        else:
            del self.sessions[session]

    def counted(self, shop: int, at: float, seconds: float, session: int) -> None:
        """A round counted before (the rebuild from the store), fed in time order."""
        self._expire_until(at)
        self._add(shop, at, seconds, session)

    def open_round(
        self,
        session: int,
        shop: int,
        valid: bool,
        start: float | None,
        assessed: bool,
        closed: bool = False,
    ) -> None:
        """A human session as the store holds it (the rebuild): open or closed, with the
        start of its unanswered last round, if any. A round already expired was fed to
        ``counted``; one still to expire counts when it does."""
        due = None if start is None else start + self.rule.cap_seconds
        if closed and (due is None or due <= self.now):
            return  # nothing of it can count any more
        known = self.sessions[session] = _Session(shop, valid, closed=closed)
        if start is None or due is None:
            return
        known.round = _OpenRound(shop, start, assessed)
        if due <= self.now:
            known.round.expired = True
        else:
            heapq.heappush(self._expiries, (due, session, start))

    # --- time passing ------------------------------------------------------------------

    def advance(self, now: float) -> None:
        """Expire open rounds and age counted ones out of every window, up to ``now`` (the
        periodic tick: O(shops)). The message path touches only its own shop."""
        self._expire_until(now)
        for window in self.shops.values():
            self._age(window, now)
        self.now = max(self.now, now)

    def _expire_until(self, now: float) -> None:
        """Rounds open for the cap by ``now`` enter their window at the cap, when they expired."""
        while self._expiries and self._expiries[0][0] <= now:
            due, session, start = heapq.heappop(self._expiries)
            known = self.sessions.get(session)
            if known is None or known.round is None or known.round.start != start:
                continue  # answered, or its session closed
            known.round.expired = True
            if known.round.assessed:
                self._add(known.shop, due, self.rule.cap_seconds, session)
            if known.closed:
                del self.sessions[session]

    def _age(self, window: ShopWindow, now: float) -> None:
        """Rounds counted ``span`` ago leave; the calm clock follows each exact moment."""
        cutoff = now - self.rule.span_seconds
        while window.entries and window.entries[0][0] <= cutoff:
            at, seconds, _ = window.entries.popleft()
            window.total = window.total - seconds if window.entries else 0.0
            self._recheck(window, at + self.rule.span_seconds)

    # --- the rule ----------------------------------------------------------------------

    def set_state(
        self, shop: int, manual_mode: str, rule_on: bool, rule_since: float | None = None
    ) -> None:
        """The shop's mode as the store holds it (after a switch, or at start-up)."""
        window = self.shop(shop)
        window.manual_mode, window.rule_on = manual_mode, rule_on
        if rule_on and window.calm_since is not None and rule_since is not None:
            # Calm counts from the switch-on at the earliest.
            window.calm_since = max(window.calm_since, rule_since)

    def decide(self, shop: int, now: float) -> Decision | None:
        """Switch assist on (figure above the limit over enough rounds, unless full-auto),
        or off (calm for long enough), or nothing."""
        window = self.shops.get(shop)
        if window is None:
            return None
        rule = self.rule
        average = window.average
        if not window.rule_on:
            if (
                window.manual_mode != FULL_AUTO
                and window.rounds >= rule.min_rounds
                and average is not None
                and average > rule.on_above_seconds
            ):
                return Decision(shop, "on", average, window.rounds)
            return None
        if window.calm_since is not None and now - window.calm_since >= rule.off_after_seconds:
            return Decision(shop, "off", average, window.rounds)
        return None

    def decisions(self, now: float) -> list[Decision]:
        """Every shop's decision after time has passed to ``now`` (the tick)."""
        self.advance(now)
        return [d for shop in list(self.shops) if (d := self.decide(shop, now)) is not None]

    # --- inside ------------------------------------------------------------------------

    def _add(self, shop: int, at: float, seconds: float, session: int) -> None:
        window = self.shop(shop)
        self._age(window, at)
        window.entries.append((at, seconds, session))
        window.total += seconds
        self._recheck(window, at)

    def _forget(self, shop: int, session: int) -> None:
        window = self.shops.get(shop)
        if window is None or not any(e[2] == session for e in window.entries):
            return
        window.entries = deque(e for e in window.entries if e[2] != session)
        window.total = sum(e[1] for e in window.entries)
        self._recheck(window, self.now)

    def _recheck(self, window: ShopWindow, at: float) -> None:
        average = window.average
        calm = average is None or average <= self.rule.off_at_or_below_seconds
        if not calm:
            window.calm_since = None
        elif window.calm_since is None:
            window.calm_since = at
