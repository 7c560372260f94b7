"""Real-time delivery guarantees: ack after commit, idempotent resend, per-session order,
resume by sequence, several tabs, read receipts, typing (not stored), restart durability."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from tests.integration.harness import (
    Server,
    assigned_pair,
    consumer,
    free_port,
    fresh_database_url,
    login,
)

SHOP1 = 1


async def test_duplicate_send_returns_the_same_ack_and_one_message(server: Server) -> None:
    _agent, buyer, _agent_ws, buyer_ws, sid = await assigned_pair(server, "c-dup")
    first = await buyer_ws.send_text("same-id", "这条只发一次", session_id=sid)
    again = await buyer_ws.send_text("same-id", "这条只发一次", session_id=sid)
    assert again["message_id"] == first["message_id"] and again["seq"] == first["seq"]
    assert first["duplicate"] is False and again["duplicate"] is True
    # Over REST too (an integration retrying after a timeout).
    body = {
        "client_id": "same-id",
        "kind": "text",
        "content": {"text": "这条只发一次"},
        "session_id": sid,
    }
    rest = await buyer.ok("POST", "/api/messages", body)
    assert rest["message_id"] == first["message_id"]
    history = await buyer.ok("GET", f"/api/sessions/{sid}/messages", params={"limit": 500})
    assert sum(1 for m in history if m["client_id"] == "same-id") == 1


async def test_pipelined_sends_keep_order_and_every_tab_gets_them(server: Server) -> None:
    agent, _buyer, agent_ws, buyer_ws, sid = await assigned_pair(server, "c-order")
    second_tab = await agent.socket()
    for i in range(50):  # no waiting for acks: the server must keep the order
        await buyer_ws.send(
            {
                "op": "send",
                "client_id": f"p{i}",
                "kind": "text",
                "content": {"text": f"消息 {i}"},
                "session_id": sid,
            }
        )
    acks = [await buyer_ws.expect(op="ack", client_id=f"p{i}") for i in range(50)]
    seqs = [a["seq"] for a in acks]
    assert seqs == sorted(seqs) and len(set(seqs)) == 50
    for tab in (agent_ws, second_tab):
        got = [await tab.message(seq=s) for s in seqs]
        assert [m["content"]["text"] for m in got] == [f"消息 {i}" for i in range(50)]


def text_send(client_id: str, text: str, **target: Any) -> dict[str, Any]:
    frame = {"op": "send", "client_id": client_id, "kind": "text", "content": {"text": text}}
    return {**frame, **target}


async def test_a_burst_mixing_new_messages_resends_and_refusals_answers_each_as_alone(
    server: Server,
) -> None:
    """Sends pipelined on two sockets land in the same group commits, where PostgreSQL runs
    the plain ones together (store/db.py, ``batched``): each still gets the answer it would
    get alone, the session's seqs stay gap-free and in order, nothing is stored twice."""
    _agent, buyer, agent_ws, buyer_ws, sid = await assigned_pair(server, "c-burst")
    first = await buyer_ws.send_text("b0", "第一条", session_id=sid)
    burst = [
        text_send("b1", "一", session_id=sid),
        text_send("b0", "第一条", session_id=sid),  # a resend of a stored message
        text_send("b2", "二", session_id=sid),
        text_send("b2", "二", session_id=sid),  # a resend of one in the same burst
        text_send("b3", "三", session_id=sid),
        text_send("b1", "改了", session_id=sid),  # a client id reused: refused
        text_send("b4", "四", session_id=999_999),  # no such session: refused
        text_send("b5", "五", session_id=sid),
    ]
    replies = [text_send(f"a{i}", f"回复 {i}", session_id=sid) for i in range(4)]

    async def pipeline(ws: Any, frames: list[dict[str, Any]]) -> None:
        for frame in frames:
            await ws.send(frame)

    await asyncio.gather(pipeline(buyer_ws, burst), pipeline(agent_ws, replies))
    acks = {c: await buyer_ws.expect(op="ack", client_id=c) for c in ("b1", "b2", "b3", "b5")}
    resent = await buyer_ws.expect(op="ack", client_id="b0")
    assert resent["duplicate"] is True and resent["message_id"] == first["message_id"]
    again = await buyer_ws.expect(op="ack", client_id="b2")
    assert again["duplicate"] is True and again["message_id"] == acks["b2"]["message_id"]
    assert not any(a["duplicate"] for a in acks.values())
    assert (await buyer_ws.expect(op="error", ref="b1"))["code"] == "idempotency_conflict"
    assert (await buyer_ws.expect(op="error", ref="b4"))["code"] == "not_found"
    replied = [await agent_ws.expect(op="ack", client_id=f"a{i}") for i in range(4)]
    assert [a["seq"] for a in replied] == sorted(a["seq"] for a in replied)
    assert [acks[c]["seq"] for c in ("b1", "b2", "b3", "b5")] == sorted(
        acks[c]["seq"] for c in ("b1", "b2", "b3", "b5")
    )

    history = await buyer.ok("GET", f"/api/sessions/{sid}/messages", params={"limit": 500})
    assert [m["seq"] for m in history] == list(range(1, len(history) + 1))
    buyers = [m["client_id"] for m in history if m["sender_role"] == "buyer"]
    assert buyers == ["open", "b0", "b1", "b2", "b3", "b5"]
    assert [m["content"]["text"] for m in history if m["client_id"] == "b1"] == ["一"]
    assert sorted(m["client_id"] for m in history if m["sender_role"] == "agent") == [
        f"a{i}" for i in range(4)
    ]
    session = await buyer.ok("GET", f"/api/sessions/{sid}")
    assert session["last_seq"] == len(history)
    # The agent's socket got every buyer message of the burst once, in seq order.
    got = [await agent_ws.message(client_id=c) for c in ("b1", "b2", "b3", "b5")]
    assert [m["seq"] for m in got] == [acks[c]["seq"] for c in ("b1", "b2", "b3", "b5")]


async def test_reconnect_with_resume_gets_what_was_missed_in_order(server: Server) -> None:
    agent, _buyer, agent_ws, buyer_ws, sid = await assigned_pair(server, "c-resume")
    last = (await agent_ws.send_text("a0", "在的", session_id=sid))["seq"]
    await agent_ws.close()
    sent = [await buyer_ws.send_text(f"r{i}", f"离线时的消息{i}", session_id=sid) for i in range(5)]
    back = await agent.socket(resume={sid: last})
    assert {"id": sid, "state": "assigned", "last_seq": sent[-1]["seq"]} in back.ready["sessions"]
    # The resumed frames arrived before "resumed", already in order.
    replay = [f["message"] for f in back.seen if f.get("type") == "message"]
    assert [m["seq"] for m in replay] == [a["seq"] for a in sent]
    # REST pages through history the same way.
    page = await agent.ok(
        "GET", f"/api/sessions/{sid}/messages", params={"after_seq": last, "limit": 2}
    )
    assert [m["seq"] for m in page] == [sent[0]["seq"], sent[1]["seq"]]
    older = await agent.ok(
        "GET", f"/api/sessions/{sid}/messages", params={"before_seq": last, "limit": 100}
    )
    assert all(m["seq"] < last for m in older) and older == sorted(older, key=lambda m: m["seq"])


async def test_read_receipts_and_typing(server: Server) -> None:
    _agent, buyer, agent_ws, buyer_ws, sid = await assigned_pair(server, "c-read")
    ack = await buyer_ws.send_text("q", "有货吗", session_id=sid)
    await agent_ws.send({"op": "read", "session_id": sid, "seq": ack["seq"]})
    receipt = await buyer_ws.expect(type="read", session_id=sid)
    assert receipt["reader"] == "member" and receipt["seq"] == ack["seq"]
    assert (await buyer.ok("GET", f"/api/sessions/{sid}"))["agent_read_seq"] == ack["seq"]
    await agent_ws.send({"op": "typing", "session_id": sid})
    typing = await buyer_ws.expect(type="typing", session_id=sid)
    assert typing["who"] == "member"
    history = await buyer.ok("GET", f"/api/sessions/{sid}/messages")
    assert all(m["kind"] == "text" for m in history)  # typing left no trace
    await buyer_ws.send({"op": "ping"})
    assert (await buyer_ws.expect(op="pong"))["ts"] > 0


async def test_acked_messages_survive_a_killed_server(tmp_path: Path) -> None:
    """Acks follow the commit: SIGKILL the server, start it again, everything acked is there."""
    url = fresh_database_url(tmp_path)
    port = free_port()
    env = {
        **os.environ,
        "FEIGE_DATA_DIR": str(tmp_path),
        "FEIGE_DATABASE_URL": url,
        "FEIGE_SECRET_KEY": "k" * 40,
        "FEIGE_LOG_LEVEL": "WARNING",
    }

    def start() -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "from feige.commands.serve import main; main()",
                "--demo",
                "--port",
                str(port),
            ],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                    return proc
            except httpx.HTTPError:
                time.sleep(0.1)
        proc.kill()
        raise RuntimeError("server did not start")

    server = Server(tmp_path, url, port=port)
    proc = start()
    try:
        agent = await login(server, "shop1_agent1")
        await agent.ok("POST", "/api/agent/status", {"status": "online"})
        buyer = await consumer(server, "c-crash")
        ws = await buyer.socket()
        sid = (await ws.send_text("c0", "第一条", shop_id=SHOP1))["session_id"]
        for i in range(1, 200):
            await ws.send(
                {
                    "op": "send",
                    "client_id": f"c{i}",
                    "kind": "text",
                    "content": {"text": f"第{i}条"},
                    "session_id": sid,
                }
            )
        acked = [await ws.expect(op="ack", client_id=f"c{i}") for i in range(1, 200)]
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc = start()
        history = await buyer.ok("GET", f"/api/sessions/{sid}/messages", params={"limit": 500})
        stored = {m["client_id"]: m["seq"] for m in history}
        assert all(stored.get(a["client_id"]) == a["seq"] for a in acked)
        # Resending after the restart is still idempotent.
        ws2 = await buyer.socket()
        again = await ws2.send_text("c5", "第5条", session_id=sid)
        assert again["duplicate"] is True and again["seq"] == stored["c5"]
    finally:
        proc.kill()
        proc.wait()
        await asyncio.sleep(0)
