"""The event log of docs/interfaces.md: one JSON object a line, any order, ties kept in file order.

Two representations of one event: the public :class:`Event` (aware datetime, enums), and the
internal *record*, a plain tuple ``(ts_us, seq, code, a, b)`` that sorts by time then file
order and costs one allocation — the assessment of a 10-million-message week handles every
event this way. Both are built by the same validation (:func:`record_from_obj`), so the two
paths accept exactly the same lines.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from feige.domain import Entry, EventType, FlagReason, MessageKind, SenderRole
from feige.metrics.timeutil import (
    KNOWN_SECONDS,
    KNOWN_TAILS,
    datetime_to_us,
    parse_ts_us,
    us_to_datetime,
)

# Record codes: one small int for (type, role) so the replay needs a single comparison.
OPEN, QUEUED, OFFLINE, ASSIGNED, TRANSFERRED = 0, 1, 2, 3, 4
BUYER, AGENT, ROBOT_ASSIST, ROBOT, SYSTEM = 5, 6, 7, 8, 9
RATED, FLAGGED, CLOSED = 10, 11, 12

Record = tuple[int, int, int, Any, Any]
"""(ts_us, seq, code, a, b); a/b by code: open (consumer, entry), assigned (agent, None),
transferred (agent, from), message (agent, kind), rated (score, None), flagged (reason, None)."""

TYPE_CODE: dict[str, int] = {
    "open": OPEN,
    "queued": QUEUED,
    "offline": OFFLINE,
    "assigned": ASSIGNED,
    "transferred": TRANSFERRED,
    "rated": RATED,
    "flagged": FLAGGED,
    "closed": CLOSED,
}
ROLE_CODE: dict[str, int] = {
    "buyer": BUYER,
    "agent": AGENT,
    "robot_assist": ROBOT_ASSIST,
    "robot": ROBOT,
    "system": SYSTEM,
}
_CODE_TYPE: dict[int, EventType] = {v: EventType(k) for k, v in TYPE_CODE.items()}
_CODE_ROLE: dict[int, SenderRole] = {v: SenderRole(k) for k, v in ROLE_CODE.items()}
KINDS = frozenset(k.value for k in MessageKind)
_ENTRIES = frozenset(e.value for e in Entry)
_REASONS = frozenset(r.value for r in FlagReason)


class EventLogError(ValueError):
    """A line of the event log that cannot be read; names the line (1-based)."""

    def __init__(self, line: int, message: str, offset: int | None = None) -> None:
        where = f"line {line}" if line > 0 else f"byte offset {offset}"
        super().__init__(f"{where}: {message}")
        self.line = line
        self.reason = message
        self.offset = offset


@dataclass(frozen=True, slots=True)
class Event:
    """One event of a session (docs/interfaces.md, event log)."""

    ts: datetime
    shop: str
    session: str
    type: EventType
    consumer: str | None = None
    entry: str | None = None
    agent: str | None = None
    from_agent: str | None = None
    role: SenderRole | None = None
    kind: str | None = None
    score: int | None = None
    reason: FlagReason | None = None
    seq: int = 0  # file order, breaks ties in ts

    def to_obj(self) -> dict[str, Any]:
        """The event-log object: common fields first, extras only when set."""
        obj: dict[str, Any] = {
            "ts": self.ts.isoformat(),
            "shop": self.shop,
            "session": self.session,
            "type": self.type.value,
        }
        for key, value in (
            ("consumer", self.consumer),
            ("entry", self.entry),
            ("role", self.role.value if self.role is not None else None),
            ("agent", self.agent),
            ("from", self.from_agent),
            ("kind", self.kind),
            ("score", self.score),
            ("reason", self.reason.value if self.reason is not None else None),
        ):
            if value is not None:
                obj[key] = value
        return obj

    def to_line(self) -> str:
        """One line of the event log (no trailing newline)."""
        return orjson.dumps(self.to_obj()).decode()

    def to_record(self) -> Record:
        """The internal record the summariser replays."""
        ts = datetime_to_us(self.ts)
        t = self.type
        if t is EventType.MESSAGE:
            if self.role is None:
                raise ValueError("a message event needs a role")
            return (ts, self.seq, ROLE_CODE[self.role.value], self.agent, self.kind)
        code = TYPE_CODE[t.value]
        if code == OPEN:
            return (ts, self.seq, code, self.consumer, self.entry)
        if code in (ASSIGNED, TRANSFERRED):
            if not self.agent:
                raise ValueError(f"a {t.value} event needs an agent")
            return (ts, self.seq, code, self.agent, self.from_agent)
        if code == RATED:
            if self.score is None or not 1 <= self.score <= 5:
                raise ValueError("a rated event needs a score 1–5")
            return (ts, self.seq, code, self.score, None)
        if code == FLAGGED:
            if self.reason is None:
                raise ValueError("a flagged event needs a reason")
            return (ts, self.seq, code, self.reason.value, None)
        return (ts, self.seq, code, None, None)


def _opt_str(obj: dict[str, Any], key: str, allowed: frozenset[str] | None = None) -> str | None:
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"{key!r} must be a string")
    if allowed is not None and value not in allowed:
        raise ValueError(f"unknown {key} {value!r}")
    return value


def _req_str(obj: dict[str, Any], key: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str) or not value:
        raise ValueError(f"missing or empty {key!r}")
    return value


def record_from_obj(obj: Any, seq: int) -> tuple[str, str, Record]:
    """Validate one decoded line → (shop, session, record); raises ValueError saying why."""
    if not isinstance(obj, dict):
        raise ValueError("not a JSON object")
    ts_text = obj.get("ts")
    if not isinstance(ts_text, str):
        raise ValueError("missing 'ts'")
    ts = parse_ts_us(ts_text)
    shop = _req_str(obj, "shop")
    session = _req_str(obj, "session")
    t = obj.get("type")
    if t == "message":
        role = obj.get("role")
        code = ROLE_CODE.get(role) if isinstance(role, str) else None
        if code is None:
            raise ValueError(f"message with unknown role {role!r}")
        return shop, session, (ts, seq, code, _opt_str(obj, "agent"), _opt_str(obj, "kind", KINDS))
    code = TYPE_CODE.get(t) if isinstance(t, str) else None
    if code is None:
        raise ValueError(f"unknown type {t!r}")
    if code == OPEN:
        return (
            shop,
            session,
            (ts, seq, code, _opt_str(obj, "consumer"), _opt_str(obj, "entry", _ENTRIES)),
        )
    if code in (ASSIGNED, TRANSFERRED):
        return shop, session, (ts, seq, code, _req_str(obj, "agent"), _opt_str(obj, "from"))
    if code == RATED:
        score = obj.get("score")
        if type(score) is not int or not 1 <= score <= 5:
            raise ValueError(f"rating score must be an integer 1–5, got {score!r}")
        return shop, session, (ts, seq, code, score, None)
    if code == FLAGGED:
        reason = obj.get("reason")
        if reason not in _REASONS:
            raise ValueError(f"unknown flag reason {reason!r}")
        return shop, session, (ts, seq, code, reason, None)
    return shop, session, (ts, seq, code, None, None)


def record_to_event(shop: str, session: str, rec: Record) -> Event:
    """Internal record → public Event (ts in UTC; the offset of the line is not kept)."""
    ts, seq, code, a, b = rec
    dt = us_to_datetime(ts)
    if BUYER <= code <= SYSTEM:
        return Event(
            dt, shop, session, EventType.MESSAGE, role=_CODE_ROLE[code], agent=a, kind=b, seq=seq
        )
    t = _CODE_TYPE[code]
    if code == OPEN:
        return Event(dt, shop, session, t, consumer=a, entry=b, seq=seq)
    if code in (ASSIGNED, TRANSFERRED):
        return Event(dt, shop, session, t, agent=a, from_agent=b, seq=seq)
    if code == RATED:
        return Event(dt, shop, session, t, score=a, seq=seq)
    if code == FLAGGED:
        return Event(dt, shop, session, t, reason=FlagReason(a), seq=seq)
    return Event(dt, shop, session, t, seq=seq)


def parse_line(line: str | bytes, lineno: int) -> Event | None:
    """One line → Event (seq = line number); None for a blank line."""
    parsed = _parse_record_line(line, lineno)
    if parsed is None:
        return None
    shop, session, rec = parsed
    obj = orjson.loads(line)
    ev = record_to_event(shop, session, rec)
    # Keep the offset the line was written with, for faithful round trips.
    return _with_ts(ev, datetime.fromisoformat(obj["ts"]))


def _with_ts(ev: Event, ts: datetime) -> Event:
    return Event(
        ts,
        ev.shop,
        ev.session,
        ev.type,
        ev.consumer,
        ev.entry,
        ev.agent,
        ev.from_agent,
        ev.role,
        ev.kind,
        ev.score,
        ev.reason,
        ev.seq,
    )


def _parse_record_line(line: str | bytes, lineno: int) -> tuple[str, str, Record] | None:
    if not line.strip():
        return None
    try:
        obj = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        raise EventLogError(lineno, f"not valid JSON ({exc})") from None
    try:
        return record_from_obj(obj, lineno)
    except ValueError as exc:
        raise EventLogError(lineno, str(exc)) from None


def parse_lines(lines: Iterable[str | bytes], first_line: int = 1) -> Iterator[Event]:
    """Lines of an event log → Events in file order; blank lines are skipped."""
    for lineno, line in enumerate(lines, first_line):
        ev = parse_line(line, lineno)
        if ev is not None:
            yield ev


def dump_lines(events: Iterable[Event]) -> Iterator[str]:
    """Events → event-log lines (no newlines), in the order given."""
    for ev in events:
        yield ev.to_line()


Groups = dict[tuple[str, str], list[Record]]


def group_lines(
    lines: Iterable[str | bytes], first_line: int = 1, groups: Groups | None = None
) -> Groups:
    """Lines → records grouped per (shop, session); seq is the line number (file order)."""
    out: Groups = {} if groups is None else groups
    for lineno, line in enumerate(lines, first_line):
        parsed = _parse_record_line(line, lineno)
        if parsed is None:
            continue
        shop, session, rec = parsed
        key = (shop, session)
        g = out.get(key)
        if g is None:
            out[key] = [rec]
        else:
            g.append(rec)
    return out


def group_events(events: Iterable[Event]) -> Groups:
    """Events → records grouped per (shop, session)."""
    out: Groups = {}
    for ev in events:
        out.setdefault((ev.shop, ev.session), []).append(ev.to_record())
    return out


def ingest_chunk(
    data: bytes,
    offset: int,
    groups: Groups,
    first_line: int | None = None,
) -> int:
    """Decode a block of whole lines into ``groups``; returns the number of lines read.

    ``offset`` is where the block starts in the whole log. A record's ``seq`` is
    ``offset << 24`` plus its line's index in the block: unique and in file order across blocks
    (a block holds fewer than 2**24 lines), so workers reading different parts of one file need
    not count lines first. Errors name the line when ``first_line`` (the line number of the
    block's first line) is given, else the byte offset (:class:`EventLogError` ``offset``).
    """
    loads = orjson.loads
    decode_error = orjson.JSONDecodeError
    seconds, tails = KNOWN_SECONDS, KNOWN_TAILS
    role_code, kinds = ROLE_CODE, KINDS
    lines = data.split(b"\n")
    if lines and not lines[-1]:
        lines.pop()
    base = offset << 24
    for seq, line in enumerate(lines, base):
        # Fast path for message lines of known sessions (most of any log). Anything else
        # goes through record_from_obj, which alone decides what is accepted.
        try:
            obj = loads(line)
            if obj["type"] == "message":
                code = role_code[obj["role"]]
                agent = obj.get("agent")
                kind = obj.get("kind")
                tss = obj["ts"]
                sec = seconds.get(tss[:19])
                tail = tails.get(tss[19:])
                g = groups.get((obj["shop"], obj["session"]))
                if (
                    g is not None
                    and sec is not None
                    and tail is not None
                    and (agent is None or type(agent) is str)
                    and (kind is None or kind in kinds)
                ):
                    g.append((sec + tail, seq, code, agent, kind))
                    continue
        except decode_error as exc:
            if not line.strip():
                continue
            raise located_error(
                first_line, lines, seq - base, offset, f"not valid JSON ({exc})"
            ) from None
        except Exception:
            pass
        try:
            shop, session, rec = record_from_obj(obj, seq)
        except ValueError as exc:
            raise located_error(first_line, lines, seq - base, offset, str(exc)) from None
        key = (shop, session)
        g = groups.get(key)
        if g is None:
            groups[key] = [rec]
        else:
            g.append(rec)
    return len(lines)


def located_error(
    first_line: int | None, lines: list[bytes], k: int, offset: int, message: str
) -> EventLogError:
    """The error of the ``k``-th line of a block: by line number when the block's first line
    is known, else by byte offset (a worker reading a slice of the file cannot count lines)."""
    if first_line is not None:
        return EventLogError(first_line + k, message, None)
    return EventLogError(0, message, offset + sum(len(x) + 1 for x in lines[:k]))


def line_number_at(data: bytes, offset: int) -> int:
    """1-based line number of the line starting at byte ``offset`` (for error messages)."""
    count = 0
    step = 1 << 24
    for a in range(0, offset, step):
        count += data[a : min(a + step, offset)].count(b"\n")
    return count + 1
