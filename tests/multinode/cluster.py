"""Real ``feige serve`` processes sharing one PostgreSQL database and one Redis, and clients
that talk to them as the web app does: REST for sign-in and setup, a WebSocket per user that
keeps, per session, the seq up to which it has every message and resumes from it
(docs/protocol.md §5)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
import websockets

import feige
from feige.services.lib.accounts import create_staff, hash_password
from feige.store.migrate import migrated_engine
from tests.multinode.conftest import free_port

PASSWORD = "feige123"
SRC = Path(feige.__file__).resolve().parent.parent


@dataclass
class Node:
    name: str
    env: dict[str, str]
    folder: Path
    port: int = field(default_factory=free_port)
    arguments: list[str] = field(default_factory=list)  # more ``feige serve`` options
    proc: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    def launch(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        log = (self.folder / "serve.log").open("ab")
        argv = [sys.executable, "-c", "from feige.commands.serve import main; main()"]
        argv += ["--demo", "--port", str(self.port), *self.arguments]
        env = {**self.env, "FEIGE_DATA_DIR": str(self.folder)}
        self.proc = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT)

    def wait_started(self, timeout: float = 120.0) -> None:
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                if httpx.get(self.base_url + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"node {self.name} did not start:\n{self.log()[-3000:]}")

    def log(self) -> str:
        path = self.folder / "serve.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def kill(self) -> None:
        """SIGKILL: no shutdown, no goodbye to its sockets or its lease."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()


def first_admin(database_url: str) -> None:
    """The schema and a platform admin, as a deployment's first steps make them: the nodes
    start with ``--demo`` (its consumer sign-in) but find staff and seed no demo history,
    which these tests do not need."""
    engine = migrated_engine(database_url)
    try:
        with engine.begin() as conn:
            create_staff(conn, "admin", hash_password(PASSWORD), "admin", "平台管理员", time.time())
    finally:
        engine.dispose()


class Cluster:
    """Nodes on one database (the demo, copied from a template) and one Redis."""

    def __init__(self, folder: Path, database_url: str, redis_url: str, **settings: str) -> None:
        self.folder = folder
        self.database_url = database_url
        first_admin(database_url)
        self.env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(SRC), os.environ.get("PYTHONPATH")])),
            "FEIGE_DATABASE_URL": database_url,
            "FEIGE_REDIS_URL": redis_url,
            "FEIGE_SECRET_KEY": "k" * 40,  # every node signs and checks the same tokens
            "FEIGE_PLATFORM_SECRET": "p" * 40,
            "FEIGE_RATE_LIMIT_KEY_PREFIX": f"feige-scaleout-test:{os.urandom(4).hex()}",
            "FEIGE_CONFIG": str(folder / "absent.toml"),
            "FEIGE_LOG_LEVEL": os.environ.get("FEIGE_MULTINODE_LOG_LEVEL", "WARNING"),
            "FEIGE_REST_RATE_PER_ADDRESS": "1000000 per minute",
            "FEIGE_CONSUMER_SEND_RATE": "1000000 per 10 seconds",
            "FEIGE_MEMBER_SEND_RATE": "1000000 per 10 seconds",
            "FEIGE_ASSESSMENT_SCHEDULER": "false",
            "FEIGE_REDIS_CATCH_UP_SECONDS": "1",
            "PYTHONUNBUFFERED": "1",
            **{f"FEIGE_{k.upper()}": v for k, v in settings.items()},
        }
        self.nodes: list[Node] = []

    def start(self, *names: str) -> list[Node]:
        """Start nodes at once (they all find the database migrated and seeded)."""
        nodes = [Node(name, self.env, self.folder / name) for name in names]
        self.nodes += nodes
        try:
            for node in nodes:
                node.launch()
            for node in nodes:
                node.wait_started()
        except BaseException:
            self.stop()  # no process outlives a failed start
            raise
        return nodes

    def revive(self) -> None:
        """Start again the nodes that are not running (a test killed one)."""
        dead = [n for n in self.nodes if n.proc is None or n.proc.poll() is not None]
        for node in dead:
            node.launch()
        for node in dead:
            node.wait_started()

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()


# --- REST ------------------------------------------------------------------------------------


_HTTP: dict[tuple[str, int], httpx.AsyncClient] = {}


def http_client(node: Node) -> httpx.AsyncClient:
    """One client (one connection pool) per node and event loop: making a client costs
    milliseconds of CPU, hundreds of them seconds."""
    key = (node.base_url, id(asyncio.get_running_loop()))
    if key not in _HTTP:
        limits = httpx.Limits(max_connections=50)
        _HTTP[key] = httpx.AsyncClient(base_url=node.base_url, timeout=60, limits=limits)
    return _HTTP[key]


async def post(node: Node, path: str, body: dict[str, Any], token: str | None = None) -> Any:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    response = await http_client(node).post(path, json=body, headers=headers)
    assert response.status_code == 200, f"POST {path}: {response.status_code} {response.text}"
    return response.json()


async def login(node: Node, username: str, kind: str = "member") -> str:
    body = {"kind": kind, "username": username, "password": PASSWORD}
    return str((await post(node, "/api/auth/login", body))["token"])


async def consumer_token(node: Node, external_id: str) -> str:
    body = {"external_id": external_id, "nickname": external_id}
    return str((await post(node, "/api/auth/demo-consumer", body))["token"])


@dataclass
class Shop:
    id: int
    owner_token: str
    agents: list[tuple[int, str]]  # (member id, token)


async def new_shop(node: Node, agents: int, capacity: int) -> Shop:
    """A shop of its own (no demo history), with ``agents`` agents online."""
    run = os.urandom(3).hex()
    admin = await login(node, "admin", "staff")
    shop = await post(
        node,
        "/api/platform/shops",
        {
            "name": f"多节点测试店 {run}",
            "owner_username": f"mn_{run}_owner",
            "owner_password": PASSWORD,
        },
        admin,
    )
    owner = await login(node, f"mn_{run}_owner")
    out = []
    for i in range(agents):
        name = f"mn_{run}_a{i}"
        body = {"username": name, "password": PASSWORD, "role": "agent", "capacity": capacity}
        member = await post(node, "/api/shop/members", body, owner)
        token = await login(node, name)
        await post(node, "/api/agent/status", {"status": "online"}, token)
        out.append((int(member["id"]), token))
    return Shop(int(shop["id"]), owner, out)


# --- sockets ---------------------------------------------------------------------------------


class Client:
    """One user's socket, reconnectable to any node. Keeps every message it was given (acks,
    events, resume replies) by session and seq; like the web app, it drops a message whose
    seq it already has, and counts how often that happened."""

    def __init__(self, token: str) -> None:
        self.token = token
        # Client ids are unique per sender and outlive a test: this client's own prefix.
        self.tag = os.urandom(3).hex()
        self.ws: Any = None
        self.reader: asyncio.Task[None] | None = None
        self.messages: dict[int, dict[int, dict[str, Any]]] = {}
        self.arrivals: dict[int, list[int]] = {}  # session → seqs in arrival order (events)
        self.duplicates = 0
        self.acks: dict[str, dict[str, Any]] = {}
        self.frames: list[dict[str, Any]] = []
        self.closed = asyncio.Event()
        self._changed = asyncio.Event()

    def last_seqs(self) -> dict[str, int]:
        """Per session, the seq up to which the client has every message: what it resumes
        from, as the web app does (an ack may bring a seq above a message event still on its
        way; resuming from the highest seq would never ask for that one)."""
        out: dict[str, int] = {}
        for session_id, kept in self.messages.items():
            if kept:
                have = 0
                while have + 1 in kept:
                    have += 1
                out[str(session_id)] = have
        return out

    async def connect(self, node: Node) -> None:
        self.closed.clear()
        self.ws = await websockets.connect(node.ws_url, max_size=None)
        auth = {"op": "auth", "token": self.token, "resume": self.last_seqs()}
        await self.ws.send(orjson.dumps(auth).decode())
        self.reader = asyncio.create_task(self._read())
        await self.wait(lambda: any(f.get("op") == "resumed" for f in self.frames), 20)

    async def _read(self) -> None:
        try:
            async for raw in self.ws:
                data = orjson.loads(raw)
                for frame in data if isinstance(data, list) else [data]:
                    self._take(frame)
                self._changed.set()
        except websockets.ConnectionClosed:
            pass
        finally:
            self.closed.set()
            self._changed.set()

    def _keep(self, message: dict[str, Any], live: bool) -> None:
        kept = self.messages.setdefault(message["session_id"], {})
        if message["seq"] in kept:
            self.duplicates += 1
            return
        kept[message["seq"]] = message
        if live:
            self.arrivals.setdefault(message["session_id"], []).append(message["seq"])

    def _take(self, frame: dict[str, Any]) -> None:
        self.frames.append(frame)
        op = frame.get("op")
        if op == "ack":
            self.acks[frame["client_id"].removeprefix(self.tag + "-")] = frame
            self._keep(frame["message"], live=False)
        elif op == "event" and frame.get("type") == "message":
            self._keep(frame["message"], live=True)

    async def wait(self, check: Callable[[], bool], timeout: float = 10.0) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        while not check():
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                raise AssertionError("timed out waiting")
            self._changed.clear()
            if check():
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), left)

    async def send(self, client_id: str, text: str, **target: Any) -> None:
        frame = {"op": "send", "client_id": f"{self.tag}-{client_id}", "kind": "text"}
        frame["content"] = {"text": text}
        await self.ws.send(orjson.dumps({**frame, **target}).decode())

    async def send_and_ack(self, client_id: str, text: str, **target: Any) -> dict[str, Any]:
        await self.send(client_id, text, **target)

        def answered() -> bool:
            return client_id in self.acks or any(
                f.get("op") == "error" and f.get("ref") == f"{self.tag}-{client_id}"
                for f in self.frames
            )

        await self.wait(answered, 15)
        assert client_id in self.acks, [f for f in self.frames if f.get("op") == "error"]
        return self.acks[client_id]

    def seqs(self, session_id: int) -> list[int]:
        return sorted(self.messages.get(session_id, {}))

    def texts_from(self, session_id: int, role: str) -> list[str]:
        kept = self.messages.get(session_id, {})
        return [
            kept[s]["content"].get("text", "")
            for s in sorted(kept)
            if kept[s]["sender_role"] == role
        ]

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        if self.reader is not None:
            await asyncio.gather(self.reader, return_exceptions=True)
