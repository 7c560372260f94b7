"""Arbitrary frames on an authenticated socket: never an ``internal`` error, never an exception
in the server's log, and the socket still answers a ping afterwards.

Hypothesis draws JSON-ish frames (the real ops and garbage, every field with random types:
huge integers, lone surrogates, NUL, zero-width text, nested objects) and raw text and binary
frames. One server per test; each socket (a consumer's, then an agent's) gets its examples in
turn. Derandomized, so a failure reproduces."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from tests.integration.harness import PASSWORD, Server, fresh_database_url

OPS = ["send", "read", "typing", "resume", "ping", "auth", "", "SEND", "send ", "__class__"]
KINDS = ["text", "image", "product_card", "order_card", "video", "", "TEXT"]
ODD_STRINGS = [
    "\ud800",  # a lone surrogate: json.dumps writes it as the escape \ud800
    "\udc00x",
    "a\x00b",
    "\x00",
    "\u200b\u200d\ufeff",
    "\x01\x02\x7f",
    " \u3000 ",
    "长" * 300,
    "🙂",
    "1e999",
]
ODD_INTS = [0, -1, 2**31, 2**62, 2**63 - 1, 2**63, 2**64 - 1, 2**64, 10**30, -(10**30)]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from(ODD_INTS),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
    st.sampled_from(ODD_STRINGS),
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)


def frames(session_id: int) -> st.SearchStrategy[dict[str, Any]]:
    ids = st.one_of(st.just(session_id), st.just(1), st.sampled_from(ODD_INTS), values)
    texts = st.one_of(st.text(max_size=30), st.sampled_from(ODD_STRINGS), values)
    content = st.one_of(
        st.fixed_dictionaries({"text": texts}),
        st.fixed_dictionaries({"image_id": texts}),
        st.fixed_dictionaries({"product_id": texts}, optional={"title": texts, "price": texts}),
        st.fixed_dictionaries({"order_no": texts}, optional={"amount": texts, "status": texts}),
        values,
    )
    resume_keys = st.one_of(
        st.integers(min_value=-(2**70), max_value=2**70).map(str),
        st.sampled_from([str(session_id), "²", "٣", "", " 1", "1.0"]),
        st.text(max_size=5),
    )
    return st.fixed_dictionaries(
        {"op": st.one_of(st.sampled_from(OPS), values)},
        optional={
            "client_id": st.one_of(st.text(min_size=1, max_size=8), values),
            "session_id": ids,
            "shop_id": ids,
            "kind": st.one_of(st.sampled_from(KINDS), values),
            "content": content,
            "seq": ids,
            "resume": st.one_of(st.dictionaries(resume_keys, ids, max_size=3), values),
            "entry": st.one_of(st.sampled_from(["product", "order", "direct", "x"]), values),
            "entry_card": st.one_of(
                st.fixed_dictionaries({"kind": st.sampled_from(KINDS), "product_id": texts}),
                values,
            ),
            "token": values,
            "lang": values,
        },
    )


def plausible_frames(session_id: int) -> st.SearchStrategy[dict[str, Any]]:
    """Frames that are mostly right, so the write path runs too (acks, duplicates, client id
    conflicts, blank, NUL and oversize text, reads and typing in a real session)."""
    texts = st.one_of(
        st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=30),
        st.sampled_from(["你好", "在吗", "\u200b", "\x00", " \x01", "a\x00", "长" * 2001]),
    )
    contents = st.one_of(
        st.tuples(st.just("text"), st.fixed_dictionaries({"text": texts})),
        st.tuples(st.just("order_card"), st.fixed_dictionaries({"order_no": texts})),
    )
    return st.builds(
        lambda op, client_id, session_id, kind_content, seq, after: {
            "op": op,
            "client_id": client_id,
            "session_id": session_id,
            "kind": kind_content[0],
            "content": kind_content[1],
            "seq": seq,
            "resume": {str(session_id): after},
        },
        st.sampled_from(["send", "send", "send", "read", "typing", "resume"]),
        st.text(alphabet="abcdef", min_size=1, max_size=2),
        st.sampled_from([session_id] * 4 + ODD_INTS),
        contents,
        st.one_of(st.integers(min_value=0, max_value=50), st.sampled_from(ODD_INTS)),
        st.integers(min_value=0, max_value=60),
    )


def raw_frames() -> st.SearchStrategy[str | bytes]:
    return st.one_of(
        st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=40),
        st.binary(max_size=40),
        st.sampled_from(
            ["{", "[]", "null", "1e999", '{"op": NaN}', '{"op": "send"}{', '{"op":"\\u0000"}']
        ),
    )


def authenticate(ws: ClientConnection, token: str) -> list[dict[str, Any]]:
    ws.send(json.dumps({"op": "auth", "token": token}))
    seen: list[dict[str, Any]] = []
    read_until(ws, seen, "resumed")
    return seen


def read_until(ws: ClientConnection, seen: list[dict[str, Any]], op: str) -> None:
    """Read frames (arrays count element by element) until one with this op arrives."""
    while True:
        data = orjson.loads(ws.recv(timeout=10))
        batch = data if isinstance(data, list) else [data]
        seen.extend(batch)
        if any(f.get("op") == op for f in batch):
            return


def drain(ws: ClientConnection, seen: list[dict[str, Any]], quiet: float = 0.3) -> None:
    """Read until the server has said nothing for ``quiet`` seconds (answers to handled
    frames may arrive after the pong of a later ping)."""
    while True:
        try:
            data = orjson.loads(ws.recv(timeout=quiet))
        except TimeoutError:
            return
        seen.extend(data if isinstance(data, list) else [data])


def fuzz_socket(ws: ClientConnection, seen: list[dict[str, Any]], session_id: int) -> None:
    @settings(
        max_examples=150,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(
        batch=st.lists(
            st.one_of(frames(session_id), plausible_frames(session_id), raw_frames()),
            min_size=1,
            max_size=4,
        )
    )
    def example(batch: list[Any]) -> None:
        for frame in batch:
            # json.dumps, not orjson: it writes lone surrogates and huge ints as JSON allows.
            ws.send(frame if isinstance(frame, str | bytes) else json.dumps(frame))
        ws.send('{"op": "ping"}')
        read_until(ws, seen, "pong")

    example()
    drain(ws, seen)
    ws.send('{"op": "ping"}')
    read_until(ws, seen, "pong")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    """Rate limits off: the fuzzer pings after every batch, far more than a client would,
    and what it checks is that no frame breaks the socket (limits: test_rate_limits.py)."""
    srv = Server(tmp_path, fresh_database_url(tmp_path), overrides={"rate_limits_enabled": False})
    srv.start()
    yield srv
    srv.stop()


def test_arbitrary_frames_never_break_a_socket(
    server: Server, capfd: pytest.CaptureFixture[str]
) -> None:
    with httpx.Client(base_url=server.base_url, timeout=10) as http:
        agent = http.post(
            "/api/auth/login", json={"username": "shop1_agent1", "password": PASSWORD}
        ).json()
        auth = {"authorization": f"Bearer {agent['token']}"}
        assert http.post("/api/agent/status", json={"status": "online"}, headers=auth).is_success
        buyer = http.post("/api/auth/demo-consumer", json={"external_id": "c-fuzz"}).json()
        opened = http.post(
            "/api/messages",
            json={"client_id": "open", "kind": "text", "content": {"text": "你好"}, "shop_id": 1},
            headers={"authorization": f"Bearer {buyer['token']}"},
        ).json()
    session_id = opened["session_id"]
    started = time.monotonic()
    for token in (buyer["token"], agent["token"]):
        with connect(server.ws_url, max_size=2**22) as ws:
            seen = authenticate(ws, token)
            try:
                fuzz_socket(ws, seen, session_id)
            except ConnectionClosed as exc:
                raise AssertionError(f"the server closed the socket: {exc}") from exc
        internal = [f for f in seen if f.get("code") == "internal"]
        assert not internal, internal[:3]
        assert any(f.get("op") == "error" for f in seen)  # the garbage was answered
    assert time.monotonic() - started < 60
    log = capfd.readouterr()
    for marker in ("Traceback", "ws_frame_failed", "Exception in ASGI application"):
        assert marker not in log.out + log.err, (log.out + log.err)[-3000:]
