"""Property tests (issue 4): order independence, rates within [0, 1], invalid sessions inert,
and the drill-down agreeing with the assessment, on random event logs."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from feige.metrics import (
    DEFAULT_CONFIG,
    FIGURES,
    SessionSummary,
    assess_log,
    assess_week,
    drill_down,
    parse_week,
    result_document,
    summaries_from_log,
)
from feige.metrics.columnar import ColumnLog, assess_columns, parse_ts_column
from feige.metrics.timeutil import parse_ts_us

WEEK = "2026-W47"
T0 = datetime.fromisoformat("2026-11-15T20:00:00+08:00")  # Sunday evening before W47
OFFSETS = ["+08:00", "Z", "-05:00", "+09:30"]
ROLES = ["buyer", "buyer", "buyer", "agent", "agent", "robot_assist", "robot", "system"]

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _fmt(t: datetime, offset: str) -> str:
    """The same instant written with another UTC offset."""
    if offset == "Z":
        return t.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return t.astimezone(datetime.fromisoformat(f"2026-01-01T00:00:00{offset}").tzinfo).isoformat()


def _session(
    rng: random.Random, shop: str, session: str, clock: list[datetime]
) -> list[dict[str, Any]]:
    """A random but plausible session; every event gets a distinct time (no ties)."""

    def tick(max_s: int) -> str:
        clock[0] += timedelta(seconds=rng.randint(1, max_s), microseconds=rng.randint(1, 999))
        return _fmt(clock[0], rng.choice(OFFSETS))

    base = {"shop": shop, "session": session}
    evs: list[dict[str, Any]] = [{"ts": tick(60), "type": "open", "consumer": "c", **base}]
    agents = ["a1", "a2", "a3"]
    routed = False
    for _ in range(rng.randint(0, 12)):
        r = rng.random()
        if r < 0.12 and not routed:
            kind = rng.choice(["queued", "offline", "assigned"])
            e: dict[str, Any] = {"ts": tick(200), "type": kind, **base}
            if kind == "assigned":
                e["agent"] = rng.choice(agents)
            evs.append(e)
            routed = True
        elif r < 0.2 and routed:
            evs.append(
                {"ts": tick(1200), "type": rng.choice(["assigned", "transferred"]), **base}
                | {"agent": rng.choice(agents)}
            )
        elif r < 0.25:
            evs.append({"ts": tick(100), "type": "queued", **base})
        else:
            role = rng.choice(ROLES)
            m: dict[str, Any] = {"ts": tick(400), "type": "message", "role": role, **base}
            if role == "agent" and rng.random() < 0.8:
                m["agent"] = rng.choice(agents)
            evs.append(m)
    if rng.random() < 0.8:
        evs.append({"ts": tick(900), "type": "closed", **base})
    for _ in range(rng.choice([0, 0, 1, 2])):
        evs.append({"ts": tick(600), "type": "rated", "score": rng.randint(1, 5), **base})
    if rng.random() < 0.1:
        evs.append({"ts": tick(600), "type": "flagged", "reason": "risky", **base})
    return evs


def _log(seed: int, n_sessions: int, shops: int = 3) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    events: list[dict[str, Any]] = []
    for i in range(n_sessions):
        clock = [T0 + timedelta(hours=rng.uniform(0, 24 * 8))]
        events += _session(rng, f"s{rng.randrange(shops)}", f"x{i}", clock)
    return events


def _bytes(events: list[dict[str, Any]]) -> bytes:
    return b"".join(orjson.dumps(e) + b"\n" for e in events)


@SETTINGS
@given(st.integers(0, 2**32), st.integers(1, 25), st.randoms(use_true_random=False))
def test_shuffling_lines_does_not_change_the_result(seed: int, n: int, rnd: random.Random) -> None:
    """docs/interfaces.md: lines may come in any order (no ties here)."""
    events = _log(seed, n)
    doc = assess_log(_bytes(events), WEEK)
    shuffled = list(events)
    rnd.shuffle(shuffled)
    assert assess_log(_bytes(shuffled), WEEK) == doc
    # The per-session replay and the streaming pipeline agree too.
    assert assess_week(summaries_from_log(_bytes(shuffled)), WEEK) == doc


@SETTINGS
@given(st.integers(0, 2**32), st.integers(1, 40), st.randoms(use_true_random=False))
def test_column_engine_equals_the_per_session_replay(seed: int, n: int, rnd: random.Random) -> None:
    """The numpy fast path computes the same document as the reference replay."""
    events = _log(seed, n, shops=4)
    rnd.shuffle(events)
    data = _bytes(events)
    log = ColumnLog()
    log.ingest(data)
    week = parse_week(WEEK)
    assert result_document(week, assess_columns(log, week), DEFAULT_CONFIG) == assess_log(
        data, WEEK
    )


@SETTINGS
@given(st.integers(0, 2**32), st.integers(1, 30))
def test_every_rate_is_within_zero_and_one(seed: int, n: int) -> None:
    doc = assess_log(_bytes(_log(seed, n)), WEEK)
    for shop in doc["shops"]:
        blocks = [shop] + shop["agents"] + shop["days"]
        for b in blocks:
            for name, m in b["metrics"].items():
                assert (m["value"] is None) == (m["denominator"] == 0)
                assert (m["passed"] is None) == (m["denominator"] == 0)
                if name != "avg_response_seconds" and m["value"] is not None:
                    assert 0 <= m["value"] <= 1
                    assert 0 <= m["numerator"] <= m["denominator"]
                elif m["value"] is not None:
                    assert 0 <= m["value"] <= 600
            nsec = b["extra"]["n_second_reply_rate"]
            assert nsec["value"] is None or 0 <= nsec["value"] <= 1
        assert shop["passed"] == (not any(m["passed"] is False for m in shop["metrics"].values()))
        s = shop["sessions"]
        assert s["total"] == s["human"] + s["pure_robot"]
        assert s["assessed"] <= s["human"] and s["invalid"] <= s["total"]


@SETTINGS
@given(
    st.integers(0, 2**32), st.integers(1, 20), st.sampled_from(["reported", "blacklisted", "risky"])
)
def test_adding_an_invalid_session_changes_nothing(seed: int, n: int, reason: str) -> None:
    """docs/rules.md §3 (2) note: an invalid session is left out of every metric."""
    events = _log(seed, n)
    before = assess_log(_bytes(events), WEEK)
    extra = _session(random.Random(seed + 1), "s0", "intruder", [T0 + timedelta(days=2)])
    extra.append({"ts": "2026-11-25T00:00:00+08:00", "shop": "s0", "session": "intruder",
                  "type": "flagged", "reason": reason})  # fmt: skip
    after = assess_log(_bytes(events + extra), WEEK)
    strip = {"total", "human", "invalid", "pure_robot"}

    def core(doc: dict[str, Any]) -> dict[str, Any]:
        return {
            s["shop"]: (
                s["metrics"],
                s["extra"],
                {k: v for k, v in s["sessions"].items() if k not in strip},
            )
            for s in doc["shops"]
            if s["sessions"]["assessed"] or s["extra"]["rounds"]["assessed"]
        }

    assert core(after) == core(before)


@SETTINGS
@given(st.integers(0, 2**32), st.integers(1, 25))
def test_drill_down_agrees_with_the_assessment(seed: int, n: int) -> None:
    summaries = summaries_from_log(_bytes(_log(seed, n)))
    doc = assess_week(summaries, WEEK)
    for shop in doc["shops"]:
        for figure in FIGURES:
            d = drill_down(summaries, WEEK, figure, shop["shop"])
            m = shop["metrics"].get(figure) or shop["extra"][figure]
            assert d["denominator"] == m["denominator"]
            assert abs(d["numerator"] - m["numerator"]) < 1e-9


@SETTINGS
@given(st.integers(0, 2**32), st.integers(1, 15))
def test_summaries_round_trip_through_json(seed: int, n: int) -> None:
    for s in summaries_from_log(_bytes(_log(seed, n))):
        assert SessionSummary.from_dict(orjson.loads(orjson.dumps(s.to_dict()))) == s


_TS_CHARS = "0123456789:-+TZ. x"


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.datetimes(
                min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.none()
            ),
            st.sampled_from(["+08:00", "Z", "-05:30", "+00:00", "+13:45", "-11:00"]),
            st.sampled_from(["seconds", "milliseconds", "microseconds"]),
            st.integers(-1, 31),
            st.sampled_from(_TS_CHARS),
        ),
        max_size=40,
    )
)
def test_column_timestamps_agree_with_fromisoformat(rows: list[Any]) -> None:
    """parse_ts_column vouches only for what datetime.fromisoformat reads, with its value."""
    texts = []
    for naive, offset, spec, pos, char in rows:
        text = naive.isoformat(timespec=spec) + offset
        if 0 <= pos < len(text):  # sometimes break one character
            text = text[:pos] + char + text[pos + 1 :]
        texts.append(text)
    us, ok = parse_ts_column(texts)
    for text, value, vouched in zip(texts, us.tolist(), ok.tolist(), strict=True):
        try:
            expected: int | None = parse_ts_us(text)
        except ValueError:
            expected = None
        if vouched:
            assert value == expected, text
