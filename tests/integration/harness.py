"""Start the real app on a free port and drive it like users do: HTTP and WebSocket."""

from __future__ import annotations

import asyncio
import io
import os
import shutil
import socket
import sqlite3
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
import uvicorn
import websockets
from PIL import Image
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from feige.app import create_app
from feige.config import Settings

PASSWORD = "feige123"


def png(width: int = 8, height: int = 8, color: Any = (200, 30, 30)) -> bytes:
    """A small real PNG to upload."""
    buf = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buf, "PNG")
    return buf.getvalue()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def fresh_database_url(tmp: Path) -> str:
    """SQLite in the test's folder, or a freshly emptied PostgreSQL schema when CI asks."""
    url = os.environ.get("FEIGE_TEST_DATABASE_URL", "")
    if not url:
        return f"sqlite:///{tmp / 'feige.db'}"
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    return url


@dataclass
class Server:
    data_dir: Path
    database_url: str
    port: int = 0  # 0: a free one, chosen when the server binds
    overrides: dict[str, Any] = field(default_factory=dict)
    clock: Any = None
    demo: bool = True
    # The kernel send buffer of accepted sockets (0: the system's). A small one makes a client
    # that stops reading push back on the server at once, as a slow phone would.
    send_buffer_bytes: int = 0
    _server: uvicorn.Server | None = None
    _thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    def settings(self) -> Settings:
        values: dict[str, Any] = {
            "data_dir": self.data_dir,
            "database_url": self.database_url,
            "secret_key": "k" * 40,
        }
        return Settings(**{**values, **self.overrides})

    def start(self) -> None:
        """Start on a database that, for a demo server, holds the demo (DemoTemplates)."""
        if self.demo:
            DEMO_TEMPLATES.fill(self)
        self.boot()

    def boot(self) -> None:
        """Start the app on its database as it is (a demo server seeds an empty one)."""
        self.app = create_app(self.settings(), demo=self.demo)
        if self.clock is not None:
            self.app.state.ctx.clock = self.clock
        config = uvicorn.Config(
            self.app,
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            ws_max_size=64 * 1024,
            lifespan="on",
            server_header=False,
        )
        self._server = uvicorn.Server(config)
        # Bind before starting, so no other process can take the port in between.
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if self.send_buffer_bytes:
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, self.send_buffer_bytes)
        listener.bind(("127.0.0.1", self.port))
        self.port = listener.getsockname()[1]
        server = self._server
        self._thread = threading.Thread(target=lambda: server.run(sockets=[listener]), daemon=True)
        self._thread.start()
        deadline = time.time() + 20
        while not self._server.started:
            if time.time() > deadline or not self._thread.is_alive():
                raise RuntimeError("server did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        assert self._server is not None and self._thread is not None
        self._server.should_exit = True
        self._thread.join(timeout=20)

    @property
    def ctx(self) -> Any:
        return self.app.state.ctx


MakeServer = Callable[..., Server]


# Settings that limit or expose a running server and play no part in seeding the demo: servers
# differing only in these share one template. Any other setting a test overrides (the time
# zone, the language, the idle close, the moderation policy …) gets a template of its own.
NOT_SEEDING = frozenset(
    {
        "assessment_scheduler",
        "card_url_domains",
        "enforcement_policy_path",
        "marketplace_webhook_secret",
        "marketplace_webhook_url",
        "consumer_send_rate",
        "frame_ancestors",
        "idle_check_interval_seconds",
        "log_level",
        "login_failures_per_address",
        "login_failures_per_username",
        "max_image_bytes",
        "max_json_body_bytes",
        "max_sockets_per_account",
        "member_send_rate",
        "metrics_enabled",
        "metrics_token",
        "ping_rate_per_socket",
        "rate_limit_key_prefix",
        "rate_limits_enabled",
        "redis_url",
        "rest_rate_per_address",
        "rest_rate_per_token",
        "summary_refresh_seconds",
        "token_ttl_seconds",
        "upload_bytes_per_day",
        "upload_count_rate",
        "upload_sweep_interval_seconds",
        "ws_outbound_max_bytes",
        "ws_outbound_max_frames",
        "ws_ready_max_sessions",
        "ws_resume_page",
        "webhook_poll_seconds",
        "webhook_retry_seconds",
    }
)


class DemoTemplates:
    """The demo database, seeded once per set of seeding inputs (the server's settings but
    ``NOT_SEEDING``, and its clock at start) by a real ``serve --demo`` start, then copied
    into every empty database a
    demo server is about to open. Seeding writes two weeks of history; a copy takes
    milliseconds. SQLite copies a template file, PostgreSQL recreates the test's database
    from a template database (``CREATE DATABASE … TEMPLATE``)."""

    def __init__(self) -> None:
        self._folder: Path | None = None
        self._templates: dict[str, str] = {}  # key → template database URL

    def fill(self, server: Server) -> None:
        """Give ``server``'s database the demo, unless it has tables already (a restart, or a
        second node sharing a PostgreSQL database)."""
        if not _is_empty(server.database_url):
            return
        seeding = {k: v for k, v in server.overrides.items() if k not in NOT_SEEDING}
        backend = make_url(server.database_url).get_backend_name()
        key = repr((backend, sorted(seeding.items()), server.clock() if server.clock else None))
        template = self._templates.get(key)
        if template is None:
            template = self._templates[key] = self._seed(server, seeding, len(self._templates))
        _copy_database(template, server.database_url)

    def _seed(self, like: Server, overrides: dict[str, Any], number: int) -> str:
        if self._folder is None:
            self._folder = Path(tempfile.mkdtemp(prefix="feige-demo-"))
        folder = self._folder / f"template{number}"
        folder.mkdir()
        url = _template_url(like.database_url, number, folder)
        seeder = Server(folder, url, overrides=overrides, clock=like.clock)
        seeder.boot()  # the product's own first start seeds it
        seeder.stop()
        return url

    def drop(self) -> None:
        for url in self._templates.values():
            if not url.startswith("sqlite"):
                _drop_database(url)
        self._templates.clear()
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)
            self._folder = None


DEMO_TEMPLATES = DemoTemplates()


def _is_empty(url: str) -> bool:
    if url.startswith("sqlite"):
        path = make_url(url).database
        return path is not None and not Path(path).exists()
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return not inspect(conn).get_table_names()
    finally:
        engine.dispose()


def _template_url(like: str, number: int, folder: Path) -> str:
    if like.startswith("sqlite"):
        return f"sqlite:///{folder / 'feige.db'}"
    url = make_url(like)
    name = f"{url.database}_demo{number}"
    _maintenance(
        like, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"'
    )
    return url.set(database=name).render_as_string(hide_password=False)


def _copy_database(template: str, target: str) -> None:
    if template.startswith("sqlite"):
        with sqlite3.connect(make_url(template).database) as src:
            dst = sqlite3.connect(make_url(target).database)
            try:
                src.backup(dst)
            finally:
                dst.close()
        return
    name, source = make_url(target).database, make_url(template).database
    _maintenance(
        target,
        f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)',
        f'CREATE DATABASE "{name}" TEMPLATE "{source}"',
    )


def _drop_database(url: str) -> None:
    _maintenance(url, f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')


def _maintenance(url: str, *statements: str) -> None:
    """Run statements on the PostgreSQL server of ``url`` from its ``postgres`` database."""
    engine = create_engine(
        make_url(url).set(database="postgres").render_as_string(hide_password=False),
        isolation_level="AUTOCOMMIT",
    )
    try:
        with engine.connect() as conn:
            for statement in statements:
                conn.execute(text(statement))
    finally:
        engine.dispose()


class Api:
    """An HTTP client signed in as one user."""

    def __init__(
        self, server: Server, token: str | None = None, principal: dict[str, Any] | None = None
    ) -> None:
        self.server = server
        self.token = token
        self.principal = principal or {}
        headers = {"authorization": f"Bearer {token}"} if token else {}
        self.http = httpx.AsyncClient(base_url=server.base_url, headers=headers, timeout=10)

    @property
    def id(self) -> int:
        return int(self.principal["id"])

    async def get(self, path: str, **kw: Any) -> httpx.Response:
        return await self.http.get(path, **kw)

    async def post(self, path: str, json: Any = None, **kw: Any) -> httpx.Response:
        return await self.http.post(path, json=json, **kw)

    async def ok(self, method: str, path: str, json: Any = None, **kw: Any) -> Any:
        response = await self.http.request(method, path, json=json, **kw)
        assert response.status_code == 200, (response.status_code, response.text)
        return response.json()

    async def socket(self, resume: dict[int, int] | None = None) -> Socket:
        sock = Socket(await websockets.connect(self.server.ws_url, max_size=2**20))
        await sock.send({"op": "auth", "token": self.token, "resume": resume or {}})
        sock.ready = await sock.expect(op="ready")
        await sock.expect(op="resumed")
        return sock

    async def aclose(self) -> None:
        await self.http.aclose()


async def login(
    server: Server, username: str, kind: str = "member", password: str = PASSWORD
) -> Api:
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        r = await http.post(
            "/api/auth/login", json={"kind": kind, "username": username, "password": password}
        )
        assert r.status_code == 200, r.text
        body = r.json()
    return Api(server, body["token"], body["principal"])


async def consumer(server: Server, external_id: str, nickname: str = "") -> Api:
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        r = await http.post(
            "/api/auth/demo-consumer", json={"external_id": external_id, "nickname": nickname}
        )
        assert r.status_code == 200, r.text
        body = r.json()
    return Api(server, body["token"], body["principal"])


class Socket:
    """A WebSocket client that keeps frames it was not waiting for, in order."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.seen: list[dict[str, Any]] = []
        self.ready: dict[str, Any] = {}

    async def send(self, frame: dict[str, Any]) -> None:
        await self.ws.send(orjson.dumps(frame, option=orjson.OPT_NON_STR_KEYS).decode())

    async def send_raw(self, data: str | bytes) -> None:
        await self.ws.send(data)

    async def _find(self, wanted: Any, timeout: float, what: Any) -> dict[str, Any]:
        """The first frame (already seen or arriving) that ``wanted`` accepts. A frame may be
        an array of events the server coalesced; each counts on its own, in order."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            for i, frame in enumerate(self.seen):
                if wanted(frame):
                    return self.seen.pop(i)
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise AssertionError(f"no frame matching {what}; seen {self.seen[-5:]}")
            data = orjson.loads(await asyncio.wait_for(self.ws.recv(), remaining))
            self.seen.extend(data if isinstance(data, list) else [data])

    async def expect(self, timeout: float = 5.0, **match: Any) -> dict[str, Any]:
        """The first frame whose keys equal ``match``."""
        return await self._find(
            lambda f: all(f.get(k) == v for k, v in match.items()), timeout, match
        )

    async def message(self, timeout: float = 5.0, **match: Any) -> dict[str, Any]:
        """The next ``message`` event whose message has the given fields."""
        frame = await self._find(
            lambda f: (
                f.get("type") == "message"
                and all(f["message"].get(k) == v for k, v in match.items())
            ),
            timeout,
            match,
        )
        return frame["message"]  # type: ignore[no-any-return]

    async def send_text(self, client_id: str, text_: str, **target: Any) -> dict[str, Any]:
        await self.send(
            {
                "op": "send",
                "client_id": client_id,
                "kind": "text",
                "content": {"text": text_},
                **target,
            }
        )
        return await self.expect(op="ack", client_id=client_id)

    async def close(self) -> None:
        await self.ws.close()


class FakeClock:
    """The server's clock, moved by the test (the rules are about local times of day)."""

    def __init__(self, start: float) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


async def assigned_pair(server: Server, external: str) -> tuple[Api, Api, Socket, Socket, int]:
    """An online agent of shop 1 and a consumer whose first message opened a session that
    went to that agent: (agent, buyer, agent socket, buyer socket, session id)."""
    agent = await login(server, "shop1_agent1")
    await agent.ok("POST", "/api/agent/status", {"status": "online"})
    buyer = await consumer(server, external)
    buyer_ws, agent_ws = await buyer.socket(), await agent.socket()
    sid = (await buyer_ws.send_text("open", "你好", shop_id=1))["session_id"]
    return agent, buyer, agent_ws, buyer_ws, sid
