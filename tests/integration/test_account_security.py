"""Accounts as an attacker tries them (docs/security.md): minted tokens, rank, revocation,
enumeration and files on disk. Each test fails on the code before the security work."""

from __future__ import annotations

import asyncio
import stat
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import websockets

from feige.services.actions.sign_in import platform_signature
from tests.integration.harness import (
    Api,
    Server,
    Socket,
    assigned_pair,
    consumer,
    fresh_database_url,
    login,
    png,
)

pytestmark = pytest.mark.asyncio


async def closed_with(sock: Socket, timeout: float = 5.0) -> tuple[int, list[dict[str, Any]]]:
    """Read until the server closes the socket: its close code and the frames before it."""
    frames: list[dict[str, Any]] = list(sock.seen)
    try:
        async with asyncio.timeout(timeout):
            while True:
                data = orjson.loads(await sock.ws.recv())
                frames.extend(data if isinstance(data, list) else [data])
    except websockets.ConnectionClosed as closed:
        assert closed.rcvd is not None
        return closed.rcvd.code, frames


def error_code(response: httpx.Response) -> str:
    return str(response.json()["error"]["code"])


# --- 1. nobody mints consumer tokens without the marketplace's secret -----------------------


@pytest.fixture
def bare_server(tmp_path: Path) -> Iterator[Server]:
    """A server as a real deployment starts it: no demo, no platform secret configured."""
    srv = Server(tmp_path, fresh_database_url(tmp_path), demo=False)
    srv.start()
    yield srv
    srv.stop()


async def test_without_a_platform_secret_no_consumer_token_can_be_minted(
    bare_server: Server,
) -> None:
    # The secret the code used to default to, and an empty one: both refused.
    ts = int(bare_server.ctx.clock())
    async with httpx.AsyncClient(base_url=bare_server.base_url) as http:
        for secret in ("feige-platform-integration-secret", ""):
            body = {"external_id": "mallory", "nickname": "", "ts": ts}
            body["signature"] = platform_signature(secret, "mallory", "", ts)
            r = await http.post("/api/integration/consumer-token", json=body)
            assert r.status_code == 403, r.text
            assert error_code(r) == "integration_not_configured"
            assert "FEIGE_PLATFORM_SECRET" in r.json()["error"]["message"]


async def test_the_demo_generates_its_platform_secret_privately(server: Server) -> None:
    path = server.data_dir / "platform_secret"
    secret = path.read_text().strip()
    assert len(secret) >= 32 and secret == server.ctx.settings.platform_secret
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    ts = int(server.ctx.clock())
    body = {"external_id": "m1", "nickname": "", "ts": ts}
    body["signature"] = platform_signature(secret, "m1", "", ts)
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        r = await http.post("/api/integration/consumer-token", json=body)
    assert r.status_code == 200, r.text


# --- 2. rank: owner > manager > agent, admin > reviewer -------------------------------------


async def member_id(owner: Api, username: str) -> int:
    members = await owner.ok("GET", "/api/shop/members")
    return int(next(m["id"] for m in members if m["username"] == username))


async def test_a_manager_cannot_take_over_the_owner(server: Server) -> None:
    owner = await login(server, "shop1_owner")
    await owner.ok(
        "POST",
        "/api/shop/members",
        {"username": "shop1_mgr", "password": "secret99", "role": "manager"},
    )
    manager = await login(server, "shop1_mgr", password="secret99")
    owner_id = await member_id(owner, "shop1_owner")
    agent_id = await member_id(owner, "shop1_agent1")
    for change in ({"password": "hijacked1"}, {"active": False}, {"capacity": 1}):
        r = await manager.http.patch(f"/api/shop/members/{owner_id}", json=change)
        assert r.status_code == 403 and error_code(r) == "outranked", (change, r.text)
    # Not itself into a higher role, nor an agent into its own rank.
    r = await manager.http.patch(f"/api/shop/members/{manager.id}", json={"role": "owner"})
    assert r.status_code == 403 and error_code(r) == "outranked"
    r = await manager.http.patch(f"/api/shop/members/{agent_id}", json={"role": "manager"})
    assert r.status_code == 403 and error_code(r) == "outranked"
    # What a manager may do: change an agent.
    changed = await manager.ok("PATCH", f"/api/shop/members/{agent_id}", {"capacity": 4})
    assert changed["capacity"] == 4
    # The owner's password still works; the manager's attempt changed nothing.
    await login(server, "shop1_owner")
    # An agent manages nobody.
    agent = await login(server, "shop1_agent2")
    r = await agent.http.patch(f"/api/shop/members/{agent_id}", json={"capacity": 2})
    assert r.status_code == 403


async def test_the_last_owner_stays_an_owner(server: Server) -> None:
    owner = await login(server, "shop1_owner")
    r = await owner.http.patch(f"/api/shop/members/{owner.id}", json={"role": "manager"})
    assert r.status_code == 422 and error_code(r) == "last_owner"
    r = await owner.http.patch(f"/api/shop/members/{owner.id}", json={"active": False})
    assert r.status_code == 422
    # With a co-owner appointed, the first may step down; the co-owner is then out of reach
    # of the one who stepped down.
    agent_id = await member_id(owner, "shop1_agent3")
    await owner.ok("PATCH", f"/api/shop/members/{agent_id}", {"role": "owner"})
    stepped = await owner.ok("PATCH", f"/api/shop/members/{owner.id}", {"role": "manager"})
    assert stepped["role"] == "manager"
    manager = await login(server, "shop1_owner")
    r = await manager.http.patch(f"/api/shop/members/{agent_id}", json={"active": False})
    assert r.status_code == 403 and error_code(r) == "outranked"


async def test_platform_staff_ranks(server: Server) -> None:
    admin = await login(server, "admin", kind="staff")
    reviewer = await login(server, "reviewer", kind="staff")
    staff = {s["username"]: s for s in await admin.ok("GET", "/api/platform/staff")}
    # A reviewer manages nobody and cannot see the staff list.
    r = await reviewer.http.patch(
        f"/api/platform/staff/{staff['admin']['id']}", json={"password": "hijacked1"}
    )
    assert r.status_code == 403
    assert (await reviewer.get("/api/platform/staff")).status_code == 403
    # An admin adds a second admin, and cannot change that peer.
    peer = await admin.ok(
        "POST",
        "/api/platform/staff",
        {"username": "admin2", "password": "secret99", "role": "admin"},
    )
    r = await admin.http.patch(f"/api/platform/staff/{peer['id']}", json={"active": False})
    assert r.status_code == 403 and error_code(r) == "outranked"
    # It changes a reviewer: the reviewer's token stops working at once.
    await admin.ok("PATCH", f"/api/platform/staff/{staff['reviewer']['id']}", {"active": False})
    r = await reviewer.get("/api/me")
    assert r.status_code == 401 and error_code(r) == "token_revoked"
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        r = await http.post(
            "/api/auth/login",
            json={"kind": "staff", "username": "reviewer", "password": "feige123"},
        )
    assert r.status_code == 401
    # The last active admin cannot step down; with two, one may.
    second = await login(server, "admin2", kind="staff", password="secret99")
    await second.ok("PATCH", f"/api/platform/staff/{second.id}", {"role": "reviewer"})
    r = await admin.http.patch(f"/api/platform/staff/{admin.id}", json={"role": "reviewer"})
    assert r.status_code == 422 and error_code(r) == "last_admin"


# --- 3. revocation reaches old tokens and live sockets ---------------------------------------


async def test_deactivating_an_agent_closes_its_sockets_and_hands_back_its_sessions(
    server: Server,
) -> None:
    agent, _buyer, agent_ws, buyer_ws, sid = await assigned_pair(server, "rv-buyer")
    other = await login(server, "shop1_agent2")
    await other.ok("POST", "/api/agent/status", {"status": "online"})
    owner = await login(server, "shop1_owner")
    await owner.ok("PATCH", f"/api/shop/members/{agent.id}", {"active": False})

    code, frames = await closed_with(agent_ws)
    assert code == 4401
    assert any(f.get("type") == "revoked" and f.get("reason") == "deactivated" for f in frames)
    assert frames[-1]["op"] == "error" and frames[-1]["code"] == "token_revoked", [
        (f.get("op"), f.get("type"), f.get("change"), f.get("code")) for f in frames
    ]
    r = await agent.get("/api/me")
    assert r.status_code == 401 and error_code(r) == "token_revoked"

    # The buyer is told, and the session now belongs to the agent who can still serve it.
    await buyer_ws.message(content={"text": "原客服已离开，正在为您安排其他客服"})
    session = await owner.ok("GET", f"/api/sessions/{sid}")
    assert session["agent_id"] == other.id and session["state"] == "assigned"
    other_ws = await other.socket()
    ack = await buyer_ws.send_text("after", "还在吗", session_id=sid)
    assert ack["session_id"] == sid
    await other_ws.message(content={"text": "还在吗"}, session_id=sid)
    members = {m["id"]: m for m in await owner.ok("GET", "/api/shop/members")}
    assert members[agent.id]["status"] == "offline" and not members[agent.id]["active"]


async def test_a_deactivated_agents_session_waits_when_nobody_can_take_it(server: Server) -> None:
    agent, _buyer, _agent_ws, buyer_ws, sid = await assigned_pair(server, "rv-wait")
    owner = await login(server, "shop1_owner")
    await owner.ok("PATCH", f"/api/shop/members/{agent.id}", {"active": False})
    await buyer_ws.message(content={"text": "原客服已离开，正在为您安排其他客服"})
    session = await owner.ok("GET", f"/api/sessions/{sid}")
    assert session["agent_id"] is None and session["state"] == "offline"
    # The events of the session record the wait, so the metrics see it (rules: waits).
    events = [e["type"] for e in await owner.ok("GET", f"/api/sessions/{sid}/events")]
    assert events[-1] == "offline" or "offline" in events


async def test_a_password_change_by_the_owner_signs_the_agent_out(server: Server) -> None:
    owner = await login(server, "shop1_owner")
    agent = await login(server, "shop1_agent1")
    sock = await agent.socket()
    await owner.ok("PATCH", f"/api/shop/members/{agent.id}", {"password": "newpass99"})
    code, frames = await closed_with(sock)
    assert code == 4401
    assert any(f.get("reason") == "password_changed" for f in frames)
    assert (await agent.get("/api/me")).status_code == 401
    fresh = await login(server, "shop1_agent1", password="newpass99")
    assert (await fresh.get("/api/me")).status_code == 200


async def test_a_role_change_signs_the_member_out(server: Server) -> None:
    owner = await login(server, "shop1_owner")
    await owner.ok(
        "POST",
        "/api/shop/members",
        {"username": "shop1_mgr2", "password": "secret99", "role": "manager"},
    )
    manager = await login(server, "shop1_mgr2", password="secret99")
    sock = await manager.socket()
    await owner.ok("PATCH", f"/api/shop/members/{manager.id}", {"role": "agent"})
    code, _ = await closed_with(sock)
    assert code == 4401
    # Its old token would still say "manager": it is refused, a new sign-in says agent.
    assert (await manager.get("/api/shop/blacklist")).status_code == 401
    again = await login(server, "shop1_mgr2", password="secret99")
    assert again.principal["role"] == "agent"


async def test_changing_ones_own_password(server: Server) -> None:
    agent = await login(server, "shop1_agent1")
    other_device = await login(server, "shop1_agent1")
    sock = await other_device.socket()
    r = await agent.post(
        "/api/me/password", {"current_password": "wrong", "new_password": "newpass99"}
    )
    assert r.status_code == 422 and error_code(r) == "wrong_password"
    body = await agent.ok(
        "POST", "/api/me/password", {"current_password": "feige123", "new_password": "newpass99"}
    )
    code, _ = await closed_with(sock)
    assert code == 4401
    assert (await agent.get("/api/me")).status_code == 401
    renewed = Api(server, body["token"], body["principal"])
    assert (await renewed.get("/api/me")).status_code == 200
    # Nobody changes their own password through the member form, which asks no old one.
    owner = await login(server, "shop1_owner")
    r = await owner.http.patch(f"/api/shop/members/{owner.id}", json={"password": "x" * 8})
    assert r.status_code == 403


async def test_sign_out_everywhere(server: Server) -> None:
    buyer = await consumer(server, "rv-everywhere")
    phone, laptop = await buyer.socket(), await buyer.socket()
    await buyer.ok("POST", "/api/auth/logout-all")
    for sock in (phone, laptop):
        code, _ = await closed_with(sock)
        assert code == 4401
    r = await buyer.get("/api/me")
    assert r.status_code == 401 and error_code(r) == "token_revoked"
    again = await consumer(server, "rv-everywhere")
    assert (await again.get("/api/me")).status_code == 200


async def test_a_socket_acts_on_no_frame_once_its_account_is_revoked(server: Server) -> None:
    """The node's revocation watch is checked on every frame, even if the event that closes
    the socket has not reached it (another node revoked the account)."""
    buyer = await consumer(server, "rv-frame")
    sock = await buyer.socket()
    server.ctx.revocations.versions[f"consumer:{buyer.id}"] = 5
    await sock.send({"op": "send", "client_id": "x", "kind": "text", "content": {"text": "hi"}})
    code, frames = await closed_with(sock)
    assert code == 4401
    assert not any(f.get("op") == "ack" for f in frames)


async def test_a_socket_closes_when_its_token_expires(tmp_path: Path) -> None:
    srv = Server(tmp_path, fresh_database_url(tmp_path), overrides={"token_ttl_seconds": 3})
    srv.start()
    try:
        buyer = await consumer(srv, "rv-expiry")
        sock = await buyer.socket()
        code, frames = await closed_with(sock, timeout=8)
        assert code == 4401
        assert frames[-1]["code"] == "token_expired"
    finally:
        srv.stop()


async def test_a_sign_in_says_how_long_the_token_lives_not_only_until_when(
    tmp_path: Path,
) -> None:
    """``expires_at`` is on the server's clock; ``expires_in`` lets a browser whose clock is
    hours off count the lifetime on its own (web/src/stores/account.ts)."""
    srv = Server(tmp_path, fresh_database_url(tmp_path), overrides={"token_ttl_seconds": 600})
    srv.start()
    try:
        async with httpx.AsyncClient(base_url=srv.base_url) as http:
            r = await http.post(
                "/api/auth/login",
                json={"kind": "member", "username": "shop1_agent1", "password": "feige123"},
            )
        body = r.json()
        assert r.status_code == 200 and body["expires_in"] == 600
        assert abs(body["expires_at"] - (time.time() + 600)) <= 5
    finally:
        srv.stop()


# --- 13. creating accounts does not reveal who exists ----------------------------------------


async def test_taken_usernames_all_answer_alike(server: Server) -> None:
    owner = await login(server, "shop1_owner")
    answers = []
    for taken in ("shop1_agent1", "shop2_agent1", "admin"):
        r = await owner.post("/api/shop/members", json={"username": taken, "password": "pw1234"})
        answers.append((r.status_code, r.json()))
    assert answers[0] == answers[1] == answers[2]
    assert answers[0][0] == 422 and answers[0][1]["error"]["code"] == "username_unavailable"
    assert "admin" not in str(answers[2][1]) and "shop2" not in str(answers[1][1])


# --- 11. files only the server's user can read ---------------------------------------------


async def test_the_data_dir_is_private_from_creation(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    data.chmod(0o755)
    srv = Server(data, f"sqlite:///{data / 'feige.db'}")
    srv.start()
    try:
        _agent, buyer, _a, _b, sid = await assigned_pair(srv, "files")
        r = await buyer.http.post(
            f"/api/sessions/{sid}/images", files={"file": ("a.png", png(), "image/png")}
        )
        assert r.status_code == 200, r.text
        assert stat.S_IMODE(data.stat().st_mode) == 0o700
        for path in (data / "feige.db", data / "feige.db-wal", data / "feige.db-shm"):
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
        uploads = [p for p in (data / "uploads").rglob("*") if p.is_file()]
        assert uploads
        for path in uploads:
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
        for folder in [data / "uploads", *(p for p in (data / "uploads").rglob("*") if p.is_dir())]:
            assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder
    finally:
        srv.stop()


async def test_the_signing_key_exists_before_the_first_sign_in(tmp_path: Path) -> None:
    srv = Server(tmp_path, fresh_database_url(tmp_path), demo=False)
    srv.overrides["secret_key"] = ""
    srv.start()
    try:
        key = tmp_path / "secret_key"
        assert key.exists() and stat.S_IMODE(key.stat().st_mode) == 0o600
        assert len(key.read_text().strip()) == 64
    finally:
        srv.stop()
