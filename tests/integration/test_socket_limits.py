"""One socket cannot eat the server's memory: everything queued for a connection is bounded,
a reader that falls behind is closed with 4008 and resumes by sequence, and resume replies
come in pages."""

from __future__ import annotations

import asyncio
import re
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
import websockets

from tests.integration.harness import Api, Server, Socket, assigned_pair, fresh_database_url

LIMITS = {
    "ws_outbound_max_frames": 40,
    "ws_outbound_max_bytes": 32 * 1024,
    "ws_resume_page": 5,
}


@pytest.fixture
def small_server(tmp_path: Path) -> Iterator[Server]:
    srv = Server(tmp_path, fresh_database_url(tmp_path), overrides=LIMITS, send_buffer_bytes=4096)
    srv.start()
    yield srv
    srv.stop()


async def too_slow_closes(api: Api) -> float:
    text = (await api.http.get("/metrics/")).text
    found = re.search(r"^feige_ws_closed_too_slow_total ([0-9.]+)$", text, re.M)
    return float(found.group(1)) if found else 0.0


async def resume_all(sock: Socket, wanted: dict[int, int]) -> list[dict[str, Any]]:
    """Ask until the server says there is no more, from the last seq received each time."""
    got: list[dict[str, Any]] = []
    while True:
        await sock.send({"op": "resume", "resume": wanted})
        resumed = await sock.expect(op="resumed")
        page = [f["message"] for f in sock.seen if f.get("type") == "message"]
        sock.seen = [f for f in sock.seen if f.get("type") != "message"]
        assert len(page) == resumed["count"]
        got.extend(page)
        for message in page:
            wanted[message["session_id"]] = max(wanted[message["session_id"]], message["seq"])
        if not resumed["more"]:
            return got


async def test_a_reader_that_falls_behind_is_closed_with_4008_and_resumes(
    small_server: Server,
) -> None:
    agent, buyer, agent_ws, buyer_ws, sid = await assigned_pair(small_server, "c-slow")
    for i in range(8):  # ~6 KB each: a resume page holds two within half the byte budget
        await agent_ws.send_text(f"long{i}", f"{i}" + "长" * 1999, session_id=sid)
    before = await too_slow_closes(agent)

    # A client that asks for resume replies over and over and never reads them. Its kernel
    # buffer is tiny and its library keeps one frame, so the replies pile up on the server.
    raw = socket.socket()
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    raw.connect(("127.0.0.1", small_server.port))
    slow = await websockets.connect(
        small_server.ws_url, sock=raw, max_queue=1, max_size=None, ping_interval=None
    )
    await slow.send(orjson.dumps({"op": "auth", "token": buyer.token}).decode())
    greedy = orjson.dumps({"op": "resume", "resume": {str(sid): 0}}).decode()
    for _ in range(300):
        await slow.send(greedy)
    for _ in range(200):
        if await too_slow_closes(agent) > before:
            break
        await asyncio.sleep(0.02)
    else:
        raise AssertionError("the slow reader was never closed")
    with pytest.raises(websockets.ConnectionClosed) as closed:
        while True:
            await asyncio.wait_for(slow.recv(), 10)
    assert closed.value.rcvd is not None
    assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (4008, "too slow; resume")

    # The other sockets never noticed, and a new socket of the same client gets everything by
    # resuming page by page.
    ack = await buyer_ws.send_text("after", "还在吗", session_id=sid)
    assert (await agent_ws.message(seq=ack["seq"]))["client_id"] == "after"
    fresh = await buyer.socket()
    got = await resume_all(fresh, {sid: 0})
    assert [m["seq"] for m in got] == list(range(1, ack["seq"] + 1))


async def test_resume_replies_come_in_pages(small_server: Server) -> None:
    _agent, buyer, agent_ws, buyer_ws, sid = await assigned_pair(small_server, "c-pages")
    for i in range(11):
        await agent_ws.send_text(f"p{i}", f"第{i}条", session_id=sid)
    last = (await buyer.ok("GET", f"/api/sessions/{sid}"))["last_seq"]
    assert last >= 12
    # The resume in the auth frame is paged the same way.
    sock = Socket(await websockets.connect(small_server.ws_url))
    await sock.send({"op": "auth", "token": buyer.token, "resume": {sid: 0}})
    await sock.expect(op="ready")
    first = await sock.expect(op="resumed")
    assert (first["count"], first["more"]) == (5, True)
    page = [f["message"]["seq"] for f in sock.seen if f.get("type") == "message"]
    assert page == [1, 2, 3, 4, 5]
    sock.seen.clear()
    rest = await resume_all(sock, {sid: 5})
    assert [m["seq"] for m in rest] == list(range(6, last + 1))
    # Several sessions share one page: the limit is per reply, not per session.
    await buyer_ws.send_text("other", "你好", shop_id=2)
    other = (await buyer.ok("GET", "/api/sessions"))[0]["id"]
    await sock.send({"op": "resume", "resume": {sid: 0, other: 0}})
    assert (await sock.expect(op="resumed"))["count"] == 5


async def test_resume_maps_are_checked(small_server: Server) -> None:
    _agent, _buyer, _agent_ws, buyer_ws, sid = await assigned_pair(small_server, "c-keys")
    bad = [
        {"99999999999999999999": 0},
        {"-1": 0},
        {"abc": 0},
        {"²": 0},
        {"٣": 0},
        {str(sid): -1},
        {str(sid): 2**64 - 1},
        {str(sid): "0"},
        {str(sid): True},
        {str(sid): 1.5},
        [sid, 0],
        "17:42",
    ]
    for resume in bad:
        await buyer_ws.send({"op": "resume", "resume": resume})
        error = await buyer_ws.expect(op="error")
        assert error["code"] == "malformed" and error["for"] == "resume", (resume, error)
    many = {str(i): 0 for i in range(1, 1002)}
    await buyer_ws.send({"op": "resume", "resume": many})
    assert (await buyer_ws.expect(op="error"))["code"] == "too_large"
    await buyer_ws.send({"op": "ping"})
    await buyer_ws.expect(op="pong")
