"""A real deployment's first steps, as docs/README describe them: create the first admin with
``feige create-staff`` (no demo), sign in with it; and the demo's own first-run details."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from feige import i18n
from feige.cli import app
from tests.integration.harness import (
    Server,
    assigned_pair,
    consumer,
    fresh_database_url,
    login,
)

pytestmark = pytest.mark.asyncio


def create_staff(data_dir: Path, database_url: str, *args: str, stdin: str) -> tuple[int, str]:
    env = {"FEIGE_DATA_DIR": str(data_dir), "FEIGE_DATABASE_URL": database_url}
    result = CliRunner().invoke(app, ["create-staff", *args], input=stdin, env=env)
    return result.exit_code, result.output


async def test_the_first_admin_of_a_real_deployment(tmp_path: Path) -> None:
    url = fresh_database_url(tmp_path)
    code, out = create_staff(
        tmp_path, url, "boss", "--role", "admin", "--password-stdin", stdin="s3cret-pass\n"
    )
    assert code == 0, out
    assert "created admin boss" in out
    # The same name again is refused; so are a short password and an unknown role.
    code, out = create_staff(
        tmp_path, url, "boss", "--role", "reviewer", "--password-stdin", stdin="another-pass\n"
    )
    assert code == 1 and "not available" in out
    code, _ = create_staff(
        tmp_path, url, "rev", "--role", "reviewer", "--password-stdin", stdin="x"
    )
    assert code == 2
    code, _ = create_staff(
        tmp_path, url, "rev", "--role", "root", "--password-stdin", stdin="x" * 9
    )
    assert code == 2

    server = Server(tmp_path, url, demo=False)
    server.start()
    try:
        admin = await login(server, "boss", kind="staff", password="s3cret-pass")
        assert admin.principal["role"] == "admin"
        shop = await admin.ok(
            "POST",
            "/api/platform/shops",
            {"name": "第一家店", "owner_username": "first_owner", "owner_password": "pass1234"},
        )
        owner = await login(server, "first_owner", password="pass1234")
        assert owner.principal["shop_id"] == shop["id"]
    finally:
        server.stop()


async def test_create_staff_as_a_process(tmp_path: Path) -> None:
    """The process contract: the password on stdin's first line, a line on stdout, exit 0;
    a refusal on stderr with exit 1."""
    env = {
        **os.environ,
        "FEIGE_DATA_DIR": str(tmp_path),
        "FEIGE_DATABASE_URL": fresh_database_url(tmp_path),
    }

    def run(username: str) -> subprocess.CompletedProcess[str]:
        command = ["create-staff", username, "--role", "reviewer", "--password-stdin"]
        return subprocess.run(
            [sys.executable, "-m", "feige", *command],
            input="s3cret-pass\n",
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    done = run("rev")
    assert done.returncode == 0, done.stderr
    assert "created reviewer rev" in done.stdout
    again = run("rev")
    assert again.returncode == 1 and "not available" in again.stderr


async def test_the_demo_consumer_login_keeps_the_seeded_nickname(server: Server) -> None:
    buyer = await consumer(server, "buyer1")
    assert buyer.principal["name"] == "爱购物的小王"
    again = await consumer(server, "buyer1")
    assert again.principal["name"] == "爱购物的小王"
    renamed = await consumer(server, "buyer1", "小王")
    assert renamed.principal["name"] == "小王"
    fresh = await consumer(server, "brand-new")
    assert fresh.principal["name"] == "brand-new"


async def test_ready_lists_every_open_session_not_the_newest_ones(tmp_path: Path) -> None:
    """A supervisor's ``ready`` names the shop's open sessions however many closed ones are
    newer; past the limit it says there are more, and the REST list pages on."""
    server = Server(tmp_path, fresh_database_url(tmp_path), overrides={"ws_ready_max_sessions": 3})
    server.start()
    try:
        agent = await login(server, "shop1_agent1")
        await agent.ok("POST", "/api/agent/status", {"status": "online"})
        opened = []
        for i in range(4):  # four open sessions, oldest first
            buyer = await consumer(server, f"ready-open-{i}")
            sock = await buyer.socket()
            opened.append((await sock.send_text("q", "在吗", shop_id=1))["session_id"])
        for i in range(5):  # then five newer sessions, closed at once
            buyer = await consumer(server, f"ready-closed-{i}")
            sock = await buyer.socket()
            sid = (await sock.send_text("q", "你好", shop_id=1))["session_id"]
            await agent.ok("POST", f"/api/sessions/{sid}/close")
        owner = await login(server, "shop1_owner")
        ready = (await owner.socket()).ready
        listed = [s["id"] for s in ready["sessions"]]
        assert listed == sorted(opened, reverse=True)[:3]
        assert ready["sessions_more"] is True
        rest = await owner.ok(
            "GET", "/api/sessions", params={"state": "open", "before_id": listed[-1]}
        )
        assert [s["id"] for s in rest] == [min(opened)]
        assert (await agent.socket()).ready["sessions_more"] is True
    finally:
        server.stop()


async def test_the_interactive_docs_work_offline_with_authorize(server: Server) -> None:
    """/docs and /redoc load their assets from Feige itself, and the OpenAPI document declares
    the bearer scheme, so *Authorize* exists and signs every route in."""
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        for page, asset in (("/docs", "swagger-ui-bundle.js"), ("/redoc", "redoc.standalone.js")):
            html = (await http.get(page)).text
            assert "cdn." not in html and "googleapis" not in html
            src = next(part for part in html.split('"') if part.endswith(asset))
            script = await http.get(src)
            assert script.status_code == 200 and len(script.content) > 100_000
            assert (
                "cdn.jsdelivr.net" not in (await http.get(page)).headers["content-security-policy"]
            )
        document = (await http.get("/openapi.json")).json()
    schemes = document["components"]["securitySchemes"]
    assert schemes["bearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "The token from POST /api/auth/login (or a consumer token).",
    }
    assert {"bearer": []} in document["paths"]["/api/me"]["get"]["security"]
    assert "security" not in document["paths"]["/api/auth/login"]["post"]


async def test_the_platform_language_is_what_a_client_naming_none_reads(tmp_path: Path) -> None:
    server = Server(tmp_path, fresh_database_url(tmp_path), overrides={"language": "en"})
    server.start()
    try:
        async with httpx.AsyncClient(base_url=server.base_url) as http:
            r = await http.get("/api/me")
            assert r.json()["error"]["message"] == "Please sign in"
            r = await http.get("/api/me", headers={"accept-language": "zh-CN"})
            assert r.json()["error"]["message"] == "请先登录"
        agent, _buyer, _agent_ws, buyer_ws, sid = await assigned_pair(server, "lang-en")
        await agent.ok("POST", f"/api/sessions/{sid}/close")
        await buyer_ws.message(content={"text": "The session has ended. Thank you."})
    finally:
        server.stop()
        i18n.set_default_language("zh-CN")
