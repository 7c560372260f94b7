"""The column engine's block decoder (msgspec, typed rows) against the line-by-line reference.

A block is either read whole by ``ColumnLog._ingest_typed`` or, when it cannot vouch for every
line, line by line with orjson (``_ingest_lines``): either way the columns, the names and the
errors must be exactly those of the line-by-line reading.
"""

from __future__ import annotations

import random
from typing import Any

import orjson
import pytest

from feige.metrics import EventLogError
from feige.metrics.columnar import ColumnLog
from tests.metrics.helpers import buyer, ev, simple_session, to_log
from tests.metrics.test_properties import _log

SHOP = b'"shop":"s1","session":"x9"'


def _state(log: ColumnLog) -> tuple[Any, ...]:
    return (
        log.ts.tobytes(),
        log.code.tobytes(),
        log.gid.tobytes(),
        log.aux.tobytes(),
        log.session_shop.tobytes(),
        log.key_list,
        log.shop_list,
        log.agent_list,
        log.keys,
        log.shops,
        log.agents,
    )


def _reference(blocks: list[bytes]) -> tuple[Any, ...] | str:
    log = ColumnLog()
    line = 1
    try:
        for block in blocks:
            line += log._ingest_lines(block, 0, first_line=line)
    except EventLogError as exc:
        return str(exc)
    return _state(log)


def _fast(blocks: list[bytes]) -> tuple[Any, ...] | str:
    log = ColumnLog()
    line = 1
    try:
        for block in blocks:
            line += log.ingest(block, 0, first_line=line)
    except EventLogError as exc:
        return str(exc)
    return _state(log)


@pytest.mark.parametrize("seed", range(8))
def test_random_logs_are_read_whole_and_identically(seed: int) -> None:
    events = _log(seed, 30, shops=4)
    random.Random(seed).shuffle(events)
    data = to_log(events)
    cut = data.index(b"\n", len(data) // 2) + 1
    blocks = [data[:cut], data[cut:]]
    log = ColumnLog()
    for block in blocks:
        assert log._ingest_typed(block) is not None  # the fast path, not a fallback
    assert _state(log) == _reference(blocks)


NORMAL = to_log(simple_session("x1") + simple_session("x2", agent="a2", rating=2))


@pytest.mark.parametrize(
    "line",
    [
        # valid, ordinary or not
        b'{"ts":"2026-11-16T09:00:05+08:00",' + SHOP + b',"type":"open","consumer":"c"}',
        b'{"ts":"2026-11-16T09:00:05Z",' + SHOP + b',"type":"queued","agent":"stray"}',
        b'{"ts":"2026-11-16T09:00:05.5+08:00",' + SHOP + b',"type":"closed"}',
        b'{"ts":"2026-11-16 09:00:05+08:00",' + SHOP + b',"type":"closed"}',
        b'{"ts":"2026-11-16T09:00:05+08:00",' + SHOP + b',"type":"message","role":"agent",'
        b'"agent":""}',
        b'{"ts":"2026-11-16T09:00:05+08:00",' + SHOP + b',"type":"message","role":"buyer",'
        b'"kind":null,"agent":null}',
        b'{"ts":"2026-11-16T09:00:05+08:00",' + SHOP + b',"type":"message","role":"buyer",'
        b'"text":"hello"}',
        b'{"ts":"2026-11-16T09:00:05+08:00",' + SHOP + b',"type":"closed","score":"x"}',
        b'{"ts":"2026-11-16T09:00:05+08:00",' + SHOP + b',"type":"closed","role":"nobody"}',
        b'{"ts":"2026-11-16T09:00:05+08:00",' + SHOP + b',"type":"closed","x":1e400}',
        b'{"ts":"2026-11-16T09:00:05+08:00",' + SHOP + b',"type":"closed","x":"\xff"}',
        b'{"ts":"2026-11-16T09:00:05+08:00",' + SHOP + b',"type":"closed","x":"\\ud800"}',
        b'{"ts":"2026-11-16T09:00:05+08:00",' + SHOP + b',"type":"closed","x":' + b"9" * 400 + b"}",
        b'{"ts":"x","ts":"2026-11-16T09:00:05+08:00",' + SHOP + b',"type":"closed"}',
        b'{"\\u0074s":"2026-11-16T09:00:05+08:00",' + SHOP + b',"type":"clo\\u0073ed"}',
        b'  {"ts":"2026-11-16T09:00:05+08:00",' + SHOP + b',"type":"closed"}  ',
        b'{"ts":"2026-11-16T09:00:05+08:00",' + SHOP + b',"type":"closed"}\r',
        b'{"ts":"2026-11-16T09:00:05+08:00",' + SHOP + b',"type":"rated","score":5}',
        b'{"ts":"2026-11-16T09:00:05+08:00",' + SHOP + b',"type":"flagged","reason":"risky"}',
        b'{"ts":"2026-11-16T09:00:05+08:00","shop":"\xe5\xba\x97","session":"\\u4f1a",'
        b'"type":"closed"}',
        b"",
        b"   ",
        # invalid: the error must name this line
        b'{"ts":"2026-11-16T09:00:05+08:00",' + SHOP + b',"type":"closed"} {"a":1}',
        b'{"ts":"2026-11-16T09:00:05+08:00",' + SHOP + b',\n"type":"closed"}',
        b'{"ts":"2026-11-16T09:00:05+08:00",' + SHOP + b',"type":"closed"}\r{"ts":1}',
        b'{"ts":"2026-11-16T09:00:05+08:00",' + SHOP + b',"type":"rated","score":true}',
        b'{"ts":"2026-11-16T09:00:05+08:00",' + SHOP + b',"type":"rated","score":5.0}',
        b'{"ts":"2026-11-16T09:00:05+08:00",' + SHOP + b',"type":"rated","score":0}',
        b'{"ts":"2026-11-16T09:00:05+08:00",' + SHOP + b',"type":"rated"}',
        b'{"ts":"2026-11-16T09:00:05+08:00",' + SHOP + b',"type":"flagged"}',
        b'{"ts":"2026-11-16T09:00:05+08:00",' + SHOP + b',"type":"message"}',
        b'{"ts":"2026-11-16T09:00:05+08:00",' + SHOP + b',"type":"message","role":"x"}',
        b'{"ts":"2026-11-16T09:00:05+08:00",' + SHOP + b',"type":"message","role":"buyer",'
        b'"kind":"video"}',
        b'{"ts":"2026-11-16T09:00:05+08:00",' + SHOP + b',"type":"assigned","agent":""}',
        b'{"ts":"2026-11-16T09:00:05+08:00",' + SHOP + b',"type":"transferred"}',
        b'{"ts":"2026-11-16T09:00:05+08:00",' + SHOP + b',"type":"open","entry":"tv"}',
        b'{"ts":"2026-11-16T09:00:05+08:00","shop":"","session":"x9","type":"closed"}',
        b'{"ts":"2026-11-16T09:00:05+08:00","shop":"s1","session":"","type":"closed"}',
        b'{"ts":"2026-11-16T09:00:05",' + SHOP + b',"type":"closed"}',
        b'{"ts":"2026-11-16T09:00:05+08:00\\u0000",' + SHOP + b',"type":"closed"}',
        b'{"ts":"2026-02-30T09:00:05+08:00",' + SHOP + b',"type":"closed"}',
        b'{"ts":20261116,' + SHOP + b',"type":"closed"}',
        b'{"ts":"2026-11-16T09:00:05+08:00",' + SHOP + b',"type":"reopened"}',
        b'{"ts":"2026-11-16T09:00:05+08:00",' + SHOP + b',"type":"closed","x":NaN}',
        b'{"ts":"2026-11-16T09:00:05+08:00",' + SHOP + b',"type":"closed",}',
        b'["2026-11-16T09:00:05+08:00"]',
    ],
)
@pytest.mark.parametrize("where", [0, 3, -1])
def test_any_line_reads_as_the_reference_reads_it(line: bytes, where: int) -> None:
    lines = NORMAL.split(b"\n")[:-1]
    lines.insert(where % (len(lines) + 1), line)
    data = b"\n".join(lines) + b"\n"
    blocks = [NORMAL, data, NORMAL[:-1]]  # the last block has no final newline
    assert _fast(blocks) == _reference(blocks)


def test_errors_name_the_line_after_typed_blocks() -> None:
    bad = orjson.dumps(ev("09:00:07", "message", role="buyer", kind="video")) + b"\n"
    blocks = [NORMAL, NORMAL, bad]
    result = _fast(blocks)
    assert isinstance(result, str)
    n = NORMAL.count(b"\n")
    assert result.startswith(f"line {2 * n + 1}:") and "kind" in result


def test_a_session_named_in_another_shop_is_another_session() -> None:
    data = to_log(
        [buyer("09:00:00", shop="s1", session="x"), buyer("09:00:01", shop="s2", session="x")]
    )
    log = ColumnLog()
    assert log._ingest_typed(data) == 2
    assert log.key_list == [("s1", "x"), ("s2", "x")]
    assert log.gid.tolist() == [0, 1]


def test_session_names_shared_between_shops_across_blocks() -> None:
    """Sessions are looked up by name first; a name in another shop must still be apart."""
    first = to_log(simple_session("x1", shop="s1") + simple_session("x2", shop="s2"))
    second = to_log(
        simple_session("x1", shop="s2", start="10:00:00")  # x1 of another shop
        + simple_session("x2", shop="s2", start="10:00:00")  # the same session again
        + simple_session("x1", shop="s3", start="11:00:00")  # a new shop, an old name
    )
    third = to_log(simple_session("x1", shop="s2", start="12:00:00"))
    blocks = [first, second, third, first]
    assert _fast(blocks) == _reference(blocks)
    log = ColumnLog()
    for block in blocks:
        log.ingest(block)
    assert log.key_list == [("s1", "x1"), ("s2", "x2"), ("s2", "x1"), ("s3", "x1")]
