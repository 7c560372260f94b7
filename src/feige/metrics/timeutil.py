"""Time arithmetic on integer epoch microseconds.

Integers keep "exactly 180 s" exact whatever the fractional seconds, and avoid the cost of
aware ``datetime`` objects on millions of events (docs/rules.md §3: stored in UTC, judged in the
platform time zone).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from feige.domain import US_PER_SECOND

DAY_US = 86_400 * US_PER_SECOND
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_US = timedelta(microseconds=1)

# The fast path splits a timestamp "YYYY-MM-DDTHH" ":MM:SS" "[.fff…](Z|±HH:MM)" and looks each
# piece up; every cache entry is checked against datetime.fromisoformat when it is made.
_MMSS: dict[str, int] = {
    f":{m:02d}:{s:02d}": (m * 60 + s) * US_PER_SECOND for m in range(60) for s in range(60)
}
_HOUR: dict[str, int] = {}  # "YYYY-MM-DDTHH" → epoch µs of that hour read as UTC
KNOWN_TAILS: dict[str, int] = {}  # ".123+08:00" → fraction µs − offset µs
_OFFSET: dict[str, int] = {}  # "+08:00" → offset µs
# "YYYY-MM-DDTHH:MM:SS" → epoch µs of that second read as UTC. With KNOWN_TAILS, what a
# per-line decoder may look a timestamp up in before calling parse_ts_us (the sum of both).
KNOWN_SECONDS: dict[str, int] = {}
_KNOWN_SECONDS_MAX = 1 << 20
_HOUR_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}")
_TAIL_RE = re.compile(r"(?:\.([0-9]{1,6}))?(Z|[+-][0-9]{2}:[0-9]{2})")
_TAIL_MAX = 1 << 16


def datetime_to_us(dt: datetime) -> int:
    """Aware datetime → epoch µs (exact integer arithmetic)."""
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError("timestamp has no UTC offset")
    return (dt - _EPOCH) // _ONE_US


def us_to_datetime(us: int, tz: ZoneInfo | None = None) -> datetime:
    """Epoch µs → aware datetime (UTC unless a zone is given)."""
    dt = _EPOCH + timedelta(microseconds=us)
    return dt.astimezone(tz) if tz is not None else dt


def _parse_with_fromisoformat(text: str) -> int:
    try:
        dt = datetime.fromisoformat(text)
    except (TypeError, ValueError):
        raise ValueError(f"not an ISO 8601 timestamp: {text!r}") from None
    if dt.tzinfo is None:
        raise ValueError(f"timestamp has no UTC offset: {text!r}")
    return datetime_to_us(dt)


def _parse_and_remember_pieces(text: str) -> int:
    """Parse with fromisoformat; when the form is the usual one, remember its pieces."""
    us = _parse_with_fromisoformat(text)
    head, mmss, tail = text[:13], text[13:19], text[19:]
    m = _TAIL_RE.fullmatch(tail)
    if mmss not in _MMSS or m is None or not _HOUR_RE.fullmatch(head):
        return us
    frac_text, off_text = m.group(1), m.group(2)
    off = _OFFSET.get(off_text)
    if off is None:
        off = _parse_with_fromisoformat("1970-01-01T00:00:00" + off_text) * -1
        _OFFSET[off_text] = off
    frac = int(frac_text.ljust(6, "0")) if frac_text else 0
    hour = us - _MMSS[mmss] - frac + off
    if len(_HOUR) > _TAIL_MAX:
        _HOUR.clear()
    _HOUR[head] = hour
    if len(KNOWN_TAILS) > _TAIL_MAX:
        KNOWN_TAILS.clear()
    KNOWN_TAILS[tail] = frac - off
    return us


def parse_ts_us(text: str) -> int:
    """ISO 8601 with offset → epoch µs; exactly what ``datetime.fromisoformat`` computes.

    Three slices and three dict look-ups for the usual ``YYYY-MM-DDTHH:MM:SS[.fff](±HH:MM|Z)``;
    anything else (and the first sight of each piece) goes through ``fromisoformat``.
    """
    base = _HOUR.get(text[:13])
    if base is not None:
        mmss = _MMSS.get(text[13:19])
        tail = KNOWN_TAILS.get(text[19:])
        if mmss is not None and tail is not None:
            if len(KNOWN_SECONDS) > _KNOWN_SECONDS_MAX:
                KNOWN_SECONDS.clear()
            KNOWN_SECONDS[text[:19]] = base + mmss
            return base + mmss + tail
    if type(text) is not str:
        raise ValueError(f"not an ISO 8601 timestamp: {text!r}")
    return _parse_and_remember_pieces(text)


class LocalClock:
    """Local wall-clock questions about epoch µs in one time zone, cached per 15 minutes.

    Zone offsets change at most every 15 minutes of UTC in any modern tz database entry.
    """

    __slots__ = ("_offsets", "tz", "tzname")

    def __init__(self, tzname: str) -> None:
        self.tzname = tzname
        self.tz = ZoneInfo(tzname)
        self._offsets: dict[int, int] = {}

    def offset_us(self, us: int) -> int:
        bucket = us // (900 * US_PER_SECOND)
        off = self._offsets.get(bucket)
        if off is None:
            dt = datetime.fromtimestamp(bucket * 900, UTC).astimezone(self.tz)
            delta = dt.utcoffset()
            off = 0 if delta is None else delta // _ONE_US
            self._offsets[bucket] = off
        return off

    def local_us(self, us: int) -> int:
        """µs since the epoch as read on a local wall clock (for day and time of day)."""
        return us + self.offset_us(us)

    def day(self, us: int) -> int:
        """Local calendar day number (days since 1970-01-01 local)."""
        return (us + self.offset_us(us)) // DAY_US

    def in_window(self, us: int, start_s: int, end_s: int) -> bool:
        """Local time of day within [start_s, end_s] seconds, end inclusive to its last µs."""
        tod = (us + self.offset_us(us)) % DAY_US
        return start_s * US_PER_SECOND <= tod < (end_s + 1) * US_PER_SECOND

    def iso(self, us: int) -> str:
        """Local ISO 8601 with offset, as people read it."""
        return us_to_datetime(us, self.tz).isoformat()

    def midnight_us(self, d: date) -> int:
        """Epoch µs of local midnight starting day ``d``."""
        return datetime_to_us(datetime.combine(d, time(), tzinfo=self.tz))


def day_name(day: int) -> str:
    """Local day number → 'YYYY-MM-DD'."""
    return _day_name(day)


@lru_cache(maxsize=4096)
def _day_name(day: int) -> str:
    return (date(1970, 1, 1) + timedelta(days=day)).isoformat()


_WEEK_RE = re.compile(r"([0-9]{4})-W([0-9]{2})")


def week_first_day(week: str, week_start: int = 0) -> date:
    """'2026-W47' → the local date the assessment week starts (ISO Monday + week_start days)."""
    m = _WEEK_RE.fullmatch(week.strip())
    if m is None:
        raise ValueError(f"not an ISO week like 2026-W47: {week!r}")
    try:
        monday = date.fromisocalendar(int(m.group(1)), int(m.group(2)), 1)
    except ValueError:
        raise ValueError(f"no such ISO week: {week!r}") from None
    return monday + timedelta(days=week_start)


def week_bounds(week: str, clock: LocalClock, week_start: int = 0) -> tuple[int, int]:
    """ISO week name → [first day 00:00, seven days later 00:00) local, as epoch µs."""
    first = week_first_day(week, week_start)
    return clock.midnight_us(first), clock.midnight_us(first + timedelta(days=7))


def iso_week_name(day: date) -> str:
    """The ISO week a local date falls in, as weeks are named everywhere: '2026-W47'."""
    iso = day.isocalendar()
    return f"{iso.year}-W{iso.week:02d}"


def week_just_ended(us: int, clock: LocalClock) -> str:
    """The week before the one containing ``us``, local: what the Tuesday run assesses."""
    return iso_week_name(date(1970, 1, 1) + timedelta(days=clock.day(us) - 7))
