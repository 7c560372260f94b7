"""One session's events → its summary (docs/rules.md §2.1, §3).

The summary holds everything the weekly assessment needs, so that the store can keep one per
session (recomputed on close and on late events) and a week is an aggregate over summaries,
not a replay of every message. Times are epoch microseconds (integers: exact comparisons).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, NamedTuple

from feige.domain import US_PER_SECOND
from feige.metrics.config import DEFAULT_CONFIG, AssessmentConfig
from feige.metrics.events import (
    AGENT,
    ASSIGNED,
    BUYER,
    CLOSED,
    FLAGGED,
    OFFLINE,
    OPEN,
    QUEUED,
    RATED,
    ROBOT,
    ROBOT_ASSIST,
    TRANSFERRED,
    Event,
    Record,
)
from feige.metrics.timeutil import LocalClock

SUMMARY_VERSION = 1


class Round(NamedTuple):
    """A buyer round (docs/rules.md §3 (1))."""

    start_us: int
    answer_us: int | None  # first agent / robot_assist message after the start
    response_us: int  # answer − start capped at the response cap; the cap when unanswered
    raw_us: int | None  # answer − start uncapped; None when unanswered
    agent: str | None  # who answered, else the agent assigned at the start
    answered_by: str | None  # "agent" | "robot_assist"
    in_hours: bool  # start inside assessment hours (any week)
    assessed: bool  # in_hours and the session is a valid human session


class Wait(NamedTuple):
    """A wait for human service: queued or offline, until an agent took it (docs/rules.md §3)."""

    kind: str  # "queued" | "offline"
    start_us: int
    end_us: int | None  # when an agent was assigned; None: never taken


@dataclass(slots=True)
class SessionSummary:
    """Everything about one session that any metric needs, and nothing more."""

    shop: str
    session: str
    consumer: str | None
    entry: str | None
    opened_us: int  # the open event, else the first event
    last_event_us: int
    human_entry_us: int | None  # first queued / offline / assigned; None: pure robot
    human_entry_kind: str | None
    entry_in_hours: bool
    waits: tuple[Wait, ...]
    agents: tuple[str, ...]  # every agent assigned or transferred to, in order
    final_agent: str | None
    staff_messages: int  # agent + robot_assist messages (docs/rules.md §3 (1) no-service 2)
    messages: int
    buyer_messages: int
    rounds: tuple[Round, ...]
    first_response_us: int | None  # first round, uncapped; None when no round or unanswered
    no_service: tuple[int, ...]  # conditions of docs/rules.md §3 met: 1, 2, 3
    rating: int | None  # last rating wins
    rating_us: int | None
    ratings: int  # how many rated events (a changed rating shows as > 1)
    invalid_reasons: tuple[str, ...]
    close_us: int
    close_implied: bool  # no close recorded: last event + idle close (docs/rules.md §2.1)
    ignored_after_close: int  # message/routing events after the close, not replayed

    @property
    def human(self) -> bool:
        return self.human_entry_us is not None

    @property
    def pure_robot(self) -> bool:
        return self.human_entry_us is None

    @property
    def invalid(self) -> bool:
        return bool(self.invalid_reasons)

    @property
    def valid_human(self) -> bool:
        return self.human_entry_us is not None and not self.invalid_reasons

    @property
    def anchor_us(self) -> int:
        """The time that puts the session in a week: human entry, else opening."""
        return self.human_entry_us if self.human_entry_us is not None else self.opened_us

    @property
    def last_round_unanswered(self) -> bool:
        return bool(self.rounds) and self.rounds[-1].answer_us is None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict (the store persists one per session)."""
        return {
            "v": SUMMARY_VERSION,
            "shop": self.shop,
            "session": self.session,
            "consumer": self.consumer,
            "entry": self.entry,
            "opened_us": self.opened_us,
            "last_event_us": self.last_event_us,
            "human_entry_us": self.human_entry_us,
            "human_entry_kind": self.human_entry_kind,
            "entry_in_hours": self.entry_in_hours,
            "waits": [list(w) for w in self.waits],
            "agents": list(self.agents),
            "final_agent": self.final_agent,
            "staff_messages": self.staff_messages,
            "messages": self.messages,
            "buyer_messages": self.buyer_messages,
            "rounds": [list(r) for r in self.rounds],
            "first_response_us": self.first_response_us,
            "no_service": list(self.no_service),
            "rating": self.rating,
            "rating_us": self.rating_us,
            "ratings": self.ratings,
            "invalid_reasons": list(self.invalid_reasons),
            "close_us": self.close_us,
            "close_implied": self.close_implied,
            "ignored_after_close": self.ignored_after_close,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SessionSummary:
        """Inverse of :meth:`to_dict`."""
        if d.get("v") != SUMMARY_VERSION:
            raise ValueError(f"unsupported summary version {d.get('v')!r}")
        return cls(
            shop=d["shop"],
            session=d["session"],
            consumer=d["consumer"],
            entry=d["entry"],
            opened_us=d["opened_us"],
            last_event_us=d["last_event_us"],
            human_entry_us=d["human_entry_us"],
            human_entry_kind=d["human_entry_kind"],
            entry_in_hours=d["entry_in_hours"],
            waits=tuple(Wait(*w) for w in d["waits"]),
            agents=tuple(d["agents"]),
            final_agent=d["final_agent"],
            staff_messages=d["staff_messages"],
            messages=d["messages"],
            buyer_messages=d["buyer_messages"],
            rounds=tuple(Round(*r) for r in d["rounds"]),
            first_response_us=d["first_response_us"],
            no_service=tuple(d["no_service"]),
            rating=d["rating"],
            rating_us=d["rating_us"],
            ratings=d["ratings"],
            invalid_reasons=tuple(d["invalid_reasons"]),
            close_us=d["close_us"],
            close_implied=d["close_implied"],
            ignored_after_close=d["ignored_after_close"],
        )


_new_tuple = tuple.__new__  # building NamedTuples without the Python-level __new__


class _Replayed(NamedTuple):
    """What replaying one session's records in order found (:meth:`Summariser._replay`)."""

    opened_us: int | None
    consumer: str | None
    entry: str | None
    entry_us: int | None  # human entry
    entry_kind: str | None
    agents: list[str]
    waits: list[Wait]
    rounds: list[Round]
    staff: int
    messages: int
    buyers: int
    rating: int | None
    rating_us: int | None
    ratings: int
    reasons: set[str]
    closed_us: int | None
    ignored: int


class Summariser:
    """Replays sorted records; holds the config-derived constants and the zone cache."""

    __slots__ = ("cap", "clock", "config", "end_s", "idle", "start_s", "wait_limit")

    def __init__(self, config: AssessmentConfig = DEFAULT_CONFIG) -> None:
        self.config = config
        self.clock = LocalClock(config.timezone)
        self.cap = config.response_cap_seconds * US_PER_SECOND
        self.wait_limit = config.no_service_wait_seconds * US_PER_SECOND
        self.idle = config.idle_close_seconds * US_PER_SECOND
        self.start_s = config.hours_start_s
        self.end_s = config.hours_end_s

    def summarise(self, shop: str, session: str, records: list[Record]) -> SessionSummary:
        """Records of one session (any order, unique seq) → summary. Sorts ``records`` in place."""
        records.sort()
        replayed = self._replay(records)
        rounds = replayed.rounds
        if replayed.reasons or replayed.entry_us is None:
            # Only a valid human session's rounds are assessed (docs/rules.md §3).
            rounds = [r._replace(assessed=False) for r in rounds]
        return self._summary(shop, session, records, replayed, rounds)

    def _in_hours(self, us: int) -> bool:
        return self.clock.in_window(us, self.start_s, self.end_s)

    def _replay(self, records: list[Record]) -> _Replayed:
        """The session's story, event by event: entry, waits, agents, rounds, rating, flags.

        One loop with locals and a chain of comparisons: it runs for every event of a week.
        Message and routing events after the close are counted and otherwise ignored."""
        in_window = self.clock.in_window
        start_s = self.start_s
        end_s = self.end_s
        cap = self.cap

        opened_us: int | None = None
        consumer: str | None = None
        entry: str | None = None
        entry_us: int | None = None
        entry_kind: str | None = None
        current: str | None = None
        agents: list[str] = []
        waits: list[Wait] = []
        wait_start: int | None = None
        wait_kind = ""
        pending = False  # buyer message before human entry, not yet answered by the robot
        closed: int | None = None
        rounds: list[Round] = []
        r_start: int | None = None  # open round
        r_agent: str | None = None
        staff = 0
        messages = 0
        buyers = 0
        rating: int | None = None
        rating_us: int | None = None
        ratings = 0
        reasons: set[str] = set()
        ignored = 0

        for ts, _seq, code, a, b in records:
            if code == BUYER:
                if closed is not None:
                    ignored += 1
                    continue
                messages += 1
                buyers += 1
                if entry_us is None:
                    pending = True
                elif r_start is None:
                    r_start = ts
                    r_agent = current
            elif code == AGENT or code == ROBOT_ASSIST:  # noqa: SIM109 (faster than a tuple)
                if closed is not None:
                    ignored += 1
                    continue
                messages += 1
                staff += 1
                if entry_us is None:
                    pending = False
                elif r_start is not None:
                    raw = ts - r_start
                    ok = in_window(r_start, start_s, end_s)
                    rounds.append(
                        _new_tuple(
                            Round,
                            (
                                r_start,
                                ts,
                                raw if raw < cap else cap,
                                raw,
                                a if a is not None else current,
                                "agent" if code == AGENT else "robot_assist",
                                ok,
                                ok,
                            ),
                        )
                    )
                    r_start = None
            elif code > ROBOT_ASSIST and code < RATED:  # robot, system
                if closed is not None:
                    ignored += 1
                    continue
                messages += 1
                if code == ROBOT and entry_us is None:
                    pending = False
            elif code == ASSIGNED or code == TRANSFERRED:  # noqa: SIM109 (faster than a tuple)
                if closed is not None:
                    ignored += 1
                    continue
                current = a
                if not agents or agents[-1] != a:
                    agents.append(a)
                if wait_start is not None:
                    waits.append(_new_tuple(Wait, (wait_kind, wait_start, ts)))
                    wait_start = None
                if entry_us is None:
                    entry_us = ts
                    entry_kind = "assigned"
                    if pending:
                        r_start = ts
                        r_agent = a
            elif code == QUEUED or code == OFFLINE:  # noqa: SIM109 (faster than a tuple)
                if closed is not None:
                    ignored += 1
                    continue
                kind = "queued" if code == QUEUED else "offline"
                current = None
                if wait_start is None:
                    wait_start = ts
                    wait_kind = kind
                if entry_us is None:
                    entry_us = ts
                    entry_kind = kind
                    if pending:
                        r_start = ts
                        r_agent = None
            elif code == RATED:
                rating = a
                rating_us = ts
                ratings += 1
            elif code == FLAGGED:
                reasons.add(a)
            elif code == CLOSED:
                if closed is None:
                    closed = ts
            elif code == OPEN and opened_us is None:
                opened_us = ts
                consumer = a
                entry = b

        # What is still open at the end: a round never answered, a wait never taken.
        if r_start is not None:
            ok = in_window(r_start, start_s, end_s)
            rounds.append(_new_tuple(Round, (r_start, None, cap, None, r_agent, None, ok, ok)))
        if wait_start is not None:
            waits.append(_new_tuple(Wait, (wait_kind, wait_start, None)))
        return _Replayed(
            opened_us,
            consumer,
            entry,
            entry_us,
            entry_kind,
            agents,
            waits,
            rounds,
            staff,
            messages,
            buyers,
            rating,
            rating_us,
            ratings,
            reasons,
            closed,
            ignored,
        )

    def _no_service(self, replayed: _Replayed, rounds: list[Round]) -> tuple[int, ...]:
        """The no-service conditions a human session meets (docs/rules.md §3 (1)): 1 a wait
        too long or never taken, 2 assigned but no staff message, 3 the last round unanswered."""
        if replayed.entry_us is None:
            return ()
        met: list[int] = []
        limit = self.wait_limit
        if any(w.end_us is None or w.end_us - w.start_us > limit for w in replayed.waits):
            met.append(1)
        if replayed.agents:
            if replayed.staff == 0:
                met.append(2)
            if rounds and rounds[-1].answer_us is None:
                met.append(3)
        return tuple(met)

    def _summary(
        self,
        shop: str,
        session: str,
        records: list[Record],
        replayed: _Replayed,
        rounds: list[Round],
    ) -> SessionSummary:
        last_us = records[-1][0]
        entry_us = replayed.entry_us
        agents = replayed.agents
        closed = replayed.closed_us
        return SessionSummary(
            shop=shop,
            session=session,
            consumer=replayed.consumer,
            entry=replayed.entry,
            opened_us=replayed.opened_us if replayed.opened_us is not None else records[0][0],
            last_event_us=last_us,
            human_entry_us=entry_us,
            human_entry_kind=replayed.entry_kind,
            entry_in_hours=entry_us is not None and self._in_hours(entry_us),
            waits=tuple(replayed.waits),
            agents=tuple(agents),
            final_agent=agents[-1] if agents else None,
            staff_messages=replayed.staff,
            messages=replayed.messages,
            buyer_messages=replayed.buyers,
            rounds=tuple(rounds),
            first_response_us=rounds[0].raw_us if rounds else None,
            no_service=self._no_service(replayed, rounds),
            rating=replayed.rating,
            rating_us=replayed.rating_us,
            ratings=replayed.ratings,
            invalid_reasons=tuple(sorted(replayed.reasons)),
            close_us=closed if closed is not None else last_us + self.idle,
            close_implied=closed is None,
            ignored_after_close=replayed.ignored,
        )


def summarise_session(
    events: Iterable[Event], config: AssessmentConfig = DEFAULT_CONFIG
) -> SessionSummary:
    """One session's events (any order; ties broken by ``seq``) → its summary."""
    evs = list(events)
    if not evs:
        raise ValueError("a session needs at least one event")
    keys = {(e.shop, e.session) for e in evs}
    if len(keys) != 1:
        raise ValueError(f"events of more than one session: {sorted(keys)}")
    shop, session = keys.pop()
    ordered = sorted((e.to_record() for e in evs), key=_ts_seq)
    # Renumber so that ties are already broken: the replay's plain sort then keeps this order.
    records = [(r[0], i, r[2], r[3], r[4]) for i, r in enumerate(ordered)]
    return Summariser(config).summarise(shop, session, records)


def _ts_seq(rec: Record) -> tuple[int, int]:
    return rec[0], rec[1]
