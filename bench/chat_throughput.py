"""Chat throughput: N consumer–agent pairs over WebSocket, Feige against a bare relay.

    .venv/bin/python bench/chat_throughput.py                   # 500 pairs, 10 s per phase
    .venv/bin/python bench/chat_throughput.py --pairs 100 --seconds 5 --rates max
    .venv/bin/python bench/chat_throughput.py --database-url postgresql+psycopg://…/bench \
        --processes 1,2,3                                      # scale-out: PostgreSQL + Redis

What it does, in one run:

1. Starts ``feige serve --demo`` (SQLite in a fresh temporary data dir) as a subprocess on
   loopback. As ``shop1_owner`` it creates ⌈pairs / per-agent⌉ agents with capacity
   ``--per-agent`` and puts them online, signs in ``--pairs`` consumers with the demo login,
   opens one WebSocket per user and lets every consumer open its session with a first
   message by ``shop_id`` (reception assigns it to the least-loaded agent).
2. Runs each load phase of ``--rates``: ``max`` is closed loop (every consumer keeps
   ``--window`` sends unacknowledged, the next goes out when an ack comes back), a number is
   open loop at that many messages/s in total, spread round-robin over the consumers, still
   bounded by the window. A phase is ``--warmup`` seconds, then ``--seconds`` measured.
3. Starts the baseline, ``bench/_relay.py`` (same uvicorn/FastAPI stack and frame format, no
   persistence), and runs the same clients and phases against it.
4. Prints a table, the Feige/relay ratio, whether the issue's target is met, and a final JSON
   line.

Measured at the client, all in one process (uvloop, a minimal WebSocket client, orjson):

* delivered messages/s — consumer messages received by the agents' sockets in the window;
* end-to-end latency — from the send's *scheduled* time to its arrival at the agent (in open
  loop a send held back by a full window counts its wait: no coordinated omission);
* ack latency — from the scheduled send time to the ack (Feige acks after the commit).

The client and server CPU use over the window are printed too: if the client's is near 100 %
the load generator, not the server, is the limit. After the run the Feige database is checked:
every acknowledged message must be stored, and every stored one delivered.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
import orjson

from _wsclient import WSClient, connect

NS = 1_000_000_000
PASSWORD = "feige123"
# Ordinary buyer questions, varied so moderation sees chat rather than one repeated line.
TEXTS = [
    "亲，这件衣服有 M 码吗？今天下单什么时候能发货？",
    "请问这款手机壳适合 iPhone 15 吗？",
    "好的，谢谢，我再看看别的颜色。",
    "发什么快递？大概几天能到上海？",
    "可以开发票吗？公司抬头那种。",
    "这个尺码偏大还是偏小呀？我平时穿 L。",
    "收到的商品有点划痕，可以换一个吗？",
    "这个是正品吗？质量怎么样？",
    "麻烦帮我催一下发货，谢谢。",
    "颜色和图片上的一样吗？",
]
TEXT = TEXTS[0]
CONTENTS = [{"text": t} for t in TEXTS]
BENCH_DIR = Path(__file__).resolve().parent
TARGET_RATE = 3000.0
TARGET_P99_MS = 100.0
T = TypeVar("T")


# --- measurement ---------------------------------------------------------------------------


class Load:
    """Counters shared by every client; a phase's window is [start, end) in monotonic ns."""

    def __init__(self, window: int) -> None:
        self.window = window
        self.closed_loop = False
        self.running = False
        self.start = self.end = 0
        self.e2e: list[int] = []
        self.ack: list[int] = []
        self.delivered_in_window = 0
        self.sent = self.acked = self.delivered = self.errors = self.unsent = 0
        self.lost_sockets = 0
        self.error_samples: list[bytes] = []

    def new_phase(self, start: int, end: int) -> None:
        self.start, self.end = start, end
        self.e2e, self.ack = [], []
        self.delivered_in_window = 0
        self.sent = self.acked = self.delivered = self.errors = self.unsent = 0

    def error(self, payload: bytes) -> None:
        self.errors += 1
        if len(self.error_samples) < 5:
            self.error_samples.append(payload[:300])


class Consumer:
    __slots__ = ("backlog", "idx", "inflight", "load", "n", "ready", "session_id", "token", "ws")

    def __init__(self, load: Load, idx: int, token: str) -> None:
        self.load = load
        self.idx = idx
        self.token = token
        self.ws: WSClient | None = None
        self.session_id: int | None = None
        self.inflight: dict[str, int] = {}  # client_id → scheduled send time
        self.backlog: deque[int] = deque()
        self.n = 0
        self.ready: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()

    def on_frame(self, payload: bytes) -> None:
        if payload[:1] == b"[":  # events the server coalesced into one frame
            for item in orjson.loads(payload):
                self.on_frame(orjson.dumps(item))
            return
        if payload.startswith(b'{"op":"event"'):
            return  # session events and notices
        frame = orjson.loads(payload)
        op = frame.get("op")
        if op == "ack":
            now = time.monotonic_ns()
            scheduled = self.inflight.pop(frame["client_id"], None)
            if scheduled is None:  # the session-opening message
                if not self.ready.done():
                    self.ready.set_result(frame)
                return
            load = self.load
            load.acked += 1
            if load.start <= now < load.end:
                load.ack.append(now - scheduled)
            if self.backlog:
                self.send(self.backlog.popleft())
            elif load.closed_loop and load.running:
                self.send(now)
        elif op == "error":
            self.load.error(payload)
            ref = frame.get("ref")
            if isinstance(ref, str) and self.inflight.pop(ref, None) is not None:
                if self.backlog:
                    self.send(self.backlog.popleft())
            elif not self.ready.done():
                self.ready.set_exception(RuntimeError(payload.decode(errors="replace")))

    def offer(self, scheduled: int) -> None:
        if len(self.inflight) < self.load.window:
            self.send(scheduled)
        else:
            self.backlog.append(scheduled)

    def send(self, scheduled: int) -> None:
        assert self.ws is not None
        self.n += 1
        client_id = f"{self.n}.{scheduled}"
        self.inflight[client_id] = scheduled
        frame = {
            "op": "send",
            "client_id": client_id,
            "kind": "text",
            "content": CONTENTS[self.n % len(CONTENTS)],
            "session_id": self.session_id,
        }
        self.ws.send(orjson.dumps(frame))
        self.load.sent += 1


class Agent:
    __slots__ = ("load", "ready", "token", "ws")

    def __init__(self, load: Load, token: str) -> None:
        self.load = load
        self.token = token
        self.ws: WSClient | None = None
        self.ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def on_frame(self, payload: bytes) -> None:
        if payload[:1] == b"[":  # events the server coalesced into one frame
            for item in orjson.loads(payload):
                self.on_frame(orjson.dumps(item))
            return
        if not payload.startswith(b'{"op":"event","type":"message"'):
            if payload.startswith(b'{"op":"resumed"') and not self.ready.done():
                self.ready.set_result(None)
            elif payload.startswith(b'{"op":"error"'):
                self.load.error(payload)
            return
        now = time.monotonic_ns()
        message = orjson.loads(payload)["message"]
        client_id = message["client_id"]
        if message["sender_role"] != "buyer" or not client_id or "." not in client_id:
            return  # welcome notices and session-opening messages
        load = self.load
        load.delivered += 1
        if load.start <= now < load.end:
            load.delivered_in_window += 1
            load.e2e.append(now - int(client_id.partition(".")[2]))


def percentile(sorted_ns: Sequence[int], q: float) -> float:
    """Nearest-rank percentile in milliseconds; NaN without samples."""
    if not sorted_ns:
        return math.nan
    rank = max(0, min(len(sorted_ns) - 1, math.ceil(q / 100 * len(sorted_ns)) - 1))
    return sorted_ns[rank] / 1e6


def process_cpu(pid: int, tick: float) -> float:
    """CPU seconds (user + system, all threads) of one process; 0 if it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat.rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / tick


def process_tree(pid: int) -> list[int]:
    """The process and its descendants (``feige serve --workers N``: the supervisor and its
    workers)."""
    out, todo = [], [pid]
    while todo:
        current = todo.pop()
        out.append(current)
        try:
            for task in Path(f"/proc/{current}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return out


class CpuMeter:
    """CPU seconds of the server (its process tree, all threads), of this client process, and
    of other components (PostgreSQL backends of the bench's database, its Redis) by name."""

    def __init__(
        self, server_pid: int | None, components: dict[str, Callable[[], list[int]]] | None = None
    ) -> None:
        self.server_pid = server_pid
        self.tick = os.sysconf("SC_CLK_TCK")
        self.components = components or {}

    def server(self) -> float:
        if self.server_pid is None:
            return math.nan
        return sum(process_cpu(p, self.tick) for p in process_tree(self.server_pid))

    def component_cpu(self) -> dict[str, float]:
        return {
            name: sum(process_cpu(p, self.tick) for p in pids())
            for name, pids in self.components.items()
        }

    def busy(self) -> float:
        """CPU seconds the whole machine has spent busy (every process, every core)."""
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
        ticks = [int(f) for f in fields[:8]]
        return (sum(ticks) - ticks[3] - ticks[4]) / self.tick

    def snapshot(self) -> tuple[float, float, float, float]:
        return time.monotonic(), self.server(), time.process_time(), self.busy()


# --- servers -------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class ServerProcess:
    name: str
    argv: list[str]
    env: dict[str, str]
    port: int
    log_path: Path
    proc: subprocess.Popen[bytes] | None = None
    # Other processes whose CPU counts per message (PostgreSQL backends, Redis), by name.
    components: dict[str, Callable[[], list[int]]] = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    async def start(self, timeout: float = 90.0) -> None:
        log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            self.argv, env=self.env, stdout=log, stderr=subprocess.STDOUT, cwd=self.log_path.parent
        )
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient(base_url=self.base_url, timeout=2) as http:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    break
                try:
                    if (await http.get("/healthz")).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.2)
        tail = self.log_path.read_text(errors="replace")[-3000:]
        self.stop()
        raise RuntimeError(f"{self.name} did not start; its log ends with:\n{tail}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def feige_server(data_dir: Path, src: Path | None = None) -> ServerProcess:
    port = free_port()
    env = dict(os.environ)
    if src is not None:  # a different checkout's src/, e.g. to measure a change
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(src), env.get("PYTHONPATH")]))
    env.update(
        {
            "FEIGE_DATA_DIR": str(data_dir),
            "FEIGE_DATABASE_URL": f"sqlite:///{data_dir / 'feige.db'}",
            "FEIGE_LOG_LEVEL": "WARNING",
            "FEIGE_CONFIG": str(data_dir / "absent.toml"),
            # The limits stay on (their cost is measured) but far above what a closed-loop
            # phase sends per buyer, or a large --pairs signs in from one address.
            "FEIGE_CONSUMER_SEND_RATE": "1000000 per 10 seconds",
            "FEIGE_REST_RATE_PER_ADDRESS": "1000000 per minute",
        }
    )
    # The ``feige`` console script runs this same command; calling it directly keeps the bench
    # independent of the other subcommands' imports.
    argv = [
        sys.executable,
        "-c",
        "from feige.commands.serve import main; main()",
        "--demo",
        "--port",
        str(port),
    ]
    return ServerProcess("feige", argv, env, port, data_dir / "feige-serve.log")


def plain_url(url: str) -> str:
    """A SQLAlchemy PostgreSQL URL as libpq reads it."""
    return url.replace("postgresql+psycopg://", "postgresql://")


def empty_database(url: str) -> None:
    import psycopg

    with psycopg.connect(plain_url(url), autocommit=True) as conn:
        conn.execute("DROP SCHEMA IF EXISTS public CASCADE")
        conn.execute("CREATE SCHEMA public")


def postgres_backends(url: str) -> Callable[[], list[int]]:
    """The pids of the server processes serving the bench's database (not the others')."""
    import psycopg

    database = url.rsplit("/", 1)[1].split("?")[0]

    def pids() -> list[int]:
        with psycopg.connect(plain_url(url), autocommit=True) as conn:
            rows = conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                (database,),
            ).fetchall()
        return [int(r[0]) for r in rows]

    return pids


class RedisProcess:
    """A redis-server of the bench's own, no persistence."""

    def __init__(self, folder: Path) -> None:
        self.port = free_port()
        binary = shutil.which("redis-server")
        if binary is None:
            raise SystemExit("redis-server is not installed (needed with --database-url)")
        argv = [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
        argv += ["--appendonly", "no", "--dir", str(folder)]
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL)
        time.sleep(0.3)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait()


def feige_scaled(
    data_dir: Path, database_url: str, redis: RedisProcess, workers: int, src: Path | None
) -> ServerProcess:
    """``feige serve --workers N`` on PostgreSQL and Redis (scale-out on one machine)."""
    server = feige_server(data_dir, src)
    server.name = f"feige×{workers}"
    server.env.update(
        {
            "FEIGE_DATABASE_URL": database_url,
            "FEIGE_REDIS_URL": redis.url,
            "FEIGE_RATE_LIMIT_KEY_PREFIX": f"feige-bench-{os.urandom(3).hex()}",
        }
    )
    server.argv += ["--workers", str(workers)]
    server.components = {
        "postgresql": postgres_backends(database_url),
        "redis": lambda: [redis.proc.pid],
    }
    return server


def relay_server(data_dir: Path) -> ServerProcess:
    port = free_port()
    argv = [sys.executable, str(BENCH_DIR / "_relay.py"), "--port", str(port)]
    return ServerProcess("relay", argv, dict(os.environ), port, data_dir / "relay.log")


# --- setup ---------------------------------------------------------------------------------


async def bounded(limit: int, jobs: Sequence[Callable[[], Awaitable[T]]]) -> list[T]:
    gate = asyncio.Semaphore(limit)

    async def one(job: Callable[[], Awaitable[T]]) -> T:
        async with gate:
            return await job()

    return list(await asyncio.gather(*(one(job) for job in jobs)))


@dataclass
class Accounts:
    shop_id: int
    agent_tokens: list[str]
    consumer_tokens: list[str]


async def feige_accounts(base_url: str, pairs: int, per_agent: int) -> Accounts:
    """Agents (as shop1_owner) put online, and demo consumers; all through the REST API."""
    run = os.urandom(3).hex()
    n_agents = math.ceil(pairs / per_agent)
    async with httpx.AsyncClient(base_url=base_url, timeout=120) as http:

        async def post(path: str, body: dict[str, Any], token: str | None = None) -> Any:
            headers = {"authorization": f"Bearer {token}"} if token else {}
            r = await http.post(path, json=body, headers=headers)
            if r.status_code != 200:
                raise RuntimeError(f"POST {path}: {r.status_code} {r.text[:300]}")
            return r.json()

        async def login(username: str) -> str:
            body = {"kind": "member", "username": username, "password": PASSWORD}
            return str((await post("/api/auth/login", body))["token"])

        owner = await post(
            "/api/auth/login", {"kind": "member", "username": "shop1_owner", "password": PASSWORD}
        )
        shop_id = int(owner["principal"]["shop_id"])
        names = [f"bench_{run}_a{i}" for i in range(n_agents)]

        def create(name: str) -> Callable[[], Awaitable[Any]]:
            body = {
                "username": name,
                "password": PASSWORD,
                "display_name": name,
                "role": "agent",
                "capacity": per_agent,
            }
            return lambda: post("/api/shop/members", body, owner["token"])

        await bounded(4, [create(n) for n in names])

        def online(name: str) -> Callable[[], Awaitable[str]]:
            async def job() -> str:
                token = await login(name)
                await post("/api/agent/status", {"status": "online"}, token)
                return token

            return job

        agent_tokens = await bounded(4, [online(n) for n in names])

        def buyer(i: int) -> Callable[[], Awaitable[str]]:
            async def job() -> str:
                body = {"external_id": f"bench-{run}-{i}", "nickname": f"买家{i}"}
                return str((await post("/api/auth/demo-consumer", body))["token"])

            return job

        consumer_tokens = await bounded(32, [buyer(i) for i in range(pairs)])
    return Accounts(shop_id, agent_tokens, consumer_tokens)


def relay_accounts(pairs: int, per_agent: int) -> Accounts:
    n_agents = math.ceil(pairs / per_agent)
    return Accounts(
        1,
        [f"member:{i + 1}" for i in range(n_agents)],
        [f"consumer:{i + 1}" for i in range(pairs)],
    )


async def open_socket(url: str, client: Consumer | Agent, load: Load) -> None:
    client.ws = await connect(url, client.on_frame)

    def lost() -> None:
        load.lost_sockets += 1

    client.ws.on_close = lost
    client.ws.send(orjson.dumps({"op": "auth", "token": client.token, "resume": {}}))


async def connect_all(
    url: str, accounts: Accounts, load: Load
) -> tuple[list[Agent], list[Consumer]]:
    agents = [Agent(load, t) for t in accounts.agent_tokens]
    await bounded(50, [lambda a=a: open_socket(url, a, load) for a in agents])  # type: ignore[misc]
    await asyncio.wait_for(asyncio.gather(*(a.ready for a in agents)), 60)
    consumers = [Consumer(load, i, t) for i, t in enumerate(accounts.consumer_tokens)]
    await bounded(50, [lambda c=c: open_socket(url, c, load) for c in consumers])  # type: ignore[misc]
    # A consumer's session opens with its first message, sent by shop id.
    for c in consumers:
        assert c.ws is not None
        frame = {
            "op": "send",
            "client_id": f"open-{c.idx}",
            "kind": "text",
            "content": {"text": TEXT},
            "shop_id": accounts.shop_id,
            "entry": "product",
        }
        c.ws.send(orjson.dumps(frame))
    acks = await asyncio.wait_for(asyncio.gather(*(c.ready for c in consumers)), 120)
    for c, ack in zip(consumers, acks, strict=True):
        c.session_id = int(ack["session_id"])
    if len({c.session_id for c in consumers}) != len(consumers):
        raise RuntimeError("consumers share sessions")
    return agents, consumers


# --- phases --------------------------------------------------------------------------------


@dataclass
class PhaseResult:
    server: str
    mode: str
    delivered_per_s: float
    e2e_p50_ms: float
    e2e_p99_ms: float
    ack_p50_ms: float
    ack_p99_ms: float
    sent: int
    acked: int
    delivered: int
    unsent: int
    errors: int
    server_cpu_pct: float
    client_cpu_pct: float
    other_cpu_pct: float
    server_cpu_us_per_msg: float
    writer_busy_pct: float = math.nan
    writer_batch: float = math.nan
    writer_us_per_job: float = math.nan
    wal_restarts: float = math.nan  # the writer's log restarts in the window, and their mean ms
    wal_restart_ms: float = math.nan
    # CPU µs per delivered message of PostgreSQL's backends and of Redis (PostgreSQL runs).
    pg_us_per_msg: float = math.nan
    redis_us_per_msg: float = math.nan
    notes: list[str] = field(default_factory=list)


async def writer_stats(http: httpx.AsyncClient | None) -> dict[str, float]:
    """Feige's group-commit histograms from /metrics (sums and counts)."""
    if http is None:
        return {}
    try:
        text = (await http.get("/metrics")).text
    except httpx.HTTPError:
        return {}
    out: dict[str, float] = {}
    for line in text.splitlines():
        name, _, value = line.partition(" ")
        if name in (
            "feige_commit_batch_size_sum",
            "feige_commit_batch_size_count",
            "feige_commit_seconds_sum",
            "feige_sqlite_wal_restart_seconds_sum",
            "feige_sqlite_wal_restart_seconds_count",
        ):
            out[name] = float(value)
    return out


async def run_phase(
    name: str,
    rate: float | None,
    consumers: list[Consumer],
    load: Load,
    meter: CpuMeter,
    warmup: float,
    seconds: float,
    metrics: httpx.AsyncClient | None = None,
) -> PhaseResult:
    t0 = time.monotonic_ns()
    load.new_phase(t0 + int(warmup * NS), t0 + int((warmup + seconds) * NS))
    load.running = True
    snaps: list[tuple[float, float, float, float]] = []
    writer: list[dict[str, float]] = []
    parts: list[dict[str, float]] = []

    async def meter_window() -> None:
        await asyncio.sleep(max(0.0, (load.start - time.monotonic_ns()) / NS))
        snaps.append(meter.snapshot())
        parts.append(meter.component_cpu())
        writer.append(await writer_stats(metrics))
        await asyncio.sleep(max(0.0, (load.end - time.monotonic_ns()) / NS))
        snaps.append(meter.snapshot())
        parts.append(meter.component_cpu())
        writer.append(await writer_stats(metrics))

    async def drive() -> None:
        if rate is None:
            load.closed_loop = True
            now = time.monotonic_ns()
            for _ in range(load.window):
                for c in consumers:
                    c.offer(now)
            await asyncio.sleep(max(0.0, (load.end - time.monotonic_ns()) / NS))
            return
        k, n = 0, len(consumers)
        step = NS / rate
        while True:
            now = time.monotonic_ns()
            if now >= load.end:
                return
            due = int((now - t0) / step) + 1
            while k < due:
                consumers[k % n].offer(t0 + int(k * step))
                k += 1
            await asyncio.sleep(0.001)

    await asyncio.gather(meter_window(), drive())
    load.running = load.closed_loop = False
    for c in consumers:
        load.unsent += len(c.backlog)
        c.backlog.clear()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        pending = sum(len(c.inflight) for c in consumers)
        if pending == 0 and load.delivered >= load.acked:
            break
        await asyncio.sleep(0.05)
    notes: list[str] = []
    pending = sum(len(c.inflight) for c in consumers)
    if pending:
        notes.append(f"{pending} sends never acknowledged")
    if load.delivered != load.acked:
        notes.append(f"acked {load.acked} but delivered {load.delivered}")
    if load.lost_sockets:
        notes.append(f"{load.lost_sockets} sockets closed by the server")
    (w0, s0, c0, b0), (w1, s1, c1, b1) = snaps
    e2e, ack = sorted(load.e2e), sorted(load.ack)
    busy = batch = per_job = restarts = restart_ms = math.nan
    if len(writer) == 2 and writer[0] and writer[1]:
        d = {k: writer[1][k] - writer[0].get(k, 0.0) for k in writer[1]}
        jobs, batches = d["feige_commit_batch_size_sum"], d["feige_commit_batch_size_count"]
        busy = 100 * d["feige_commit_seconds_sum"] / (w1 - w0)
        batch = jobs / batches if batches else math.nan
        per_job = 1e6 * d["feige_commit_seconds_sum"] / jobs if jobs else math.nan
        restarts = d.get("feige_sqlite_wal_restart_seconds_count", math.nan)
        if restarts == restarts:  # not NaN: the server reports them
            restart_ms = (
                1e3 * d["feige_sqlite_wal_restart_seconds_sum"] / restarts if restarts else 0.0
            )
    messages = load.delivered_in_window * (w1 - w0) / seconds

    def per_message(component: str) -> float:
        if component not in parts[0] or not messages:
            return math.nan
        return 1e6 * (parts[1][component] - parts[0][component]) / messages

    return PhaseResult(
        server=name,
        mode="max" if rate is None else f"{rate:g}/s",
        delivered_per_s=load.delivered_in_window / seconds,
        e2e_p50_ms=percentile(e2e, 50),
        e2e_p99_ms=percentile(e2e, 99),
        ack_p50_ms=percentile(ack, 50),
        ack_p99_ms=percentile(ack, 99),
        sent=load.sent,
        acked=load.acked,
        delivered=load.delivered,
        unsent=load.unsent,
        errors=load.errors,
        server_cpu_pct=100 * (s1 - s0) / (w1 - w0),
        client_cpu_pct=100 * (c1 - c0) / (w1 - w0),
        other_cpu_pct=100 * ((b1 - b0) - (s1 - s0) - (c1 - c0)) / (w1 - w0),
        server_cpu_us_per_msg=(
            1e6 * (s1 - s0) / (load.delivered_in_window * (w1 - w0) / seconds)
            if load.delivered_in_window
            else math.nan
        ),
        writer_busy_pct=busy,
        writer_batch=batch,
        writer_us_per_job=per_job,
        wal_restarts=restarts,
        wal_restart_ms=restart_ms,
        pg_us_per_msg=per_message("postgresql"),
        redis_us_per_msg=per_message("redis"),
        notes=notes,
    )


async def bench_server(
    server: ServerProcess,
    accounts_of: Callable[[], Awaitable[Accounts]],
    args: argparse.Namespace,
    rates: list[float | None],
) -> list[PhaseResult]:
    await server.start()
    try:
        started = time.monotonic()
        accounts = await accounts_of()
        load = Load(args.window)
        agents, consumers = await connect_all(server.ws_url, accounts, load)
        print(
            f"  {server.name}: {len(agents)} agents, {len(consumers)} consumers with open "
            f"sessions ({time.monotonic() - started:.1f} s setup)",
            file=sys.stderr,
        )
        await asyncio.sleep(0.5)
        meter = CpuMeter(server.proc.pid if server.proc else None, server.components)
        metrics = httpx.AsyncClient(base_url=server.base_url, timeout=5, follow_redirects=True)
        results = []
        for rate in rates:
            result = await run_phase(
                server.name,
                rate,
                consumers,
                load,
                meter,
                args.warmup,
                args.seconds,
                # One process's group-commit figures; with several workers /metrics is one
                # worker's, so they are left out.
                metrics if server.name in ("feige", "feige×1") else None,
            )
            restarts = ""
            if result.wal_restarts == result.wal_restarts:  # not NaN
                restarts = (
                    f" ({result.wal_restarts:.0f} log restarts by the writer,"
                    f" {result.wal_restart_ms:.1f} ms each)"
                )
            print(
                f"  {server.name} {result.mode}: {result.delivered_per_s:,.0f} msg/s{restarts}",
                file=sys.stderr,
            )
            results.append(result)
        if load.error_samples:
            print(f"  {server.name} errors, first ones:", file=sys.stderr)
            for sample in load.error_samples:
                print("    " + sample.decode(errors="replace"), file=sys.stderr)
        for client in (*consumers, *agents):
            if client.ws is not None:
                client.ws.close()
        await metrics.aclose()
        await asyncio.sleep(0.2)
        return results
    finally:
        server.stop()


def check_pg_store(url: str, acked: int) -> str:
    import psycopg

    with psycopg.connect(plain_url(url)) as conn:
        row = conn.execute(
            "SELECT count(*) FROM messages WHERE sender_role = 'buyer' AND client_id LIKE '%.%'"
        ).fetchone()
    stored = int(row[0]) if row else 0
    verdict = "ok" if stored == acked else "MISMATCH"
    return f"store check: {stored:,} benchmark messages stored, {acked:,} acknowledged — {verdict}"


def check_store(db_path: Path, acked: int) -> str:
    """Every acknowledged benchmark message must be in the database (after the server stops)."""
    with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True) as conn:
        (stored,) = conn.execute(
            "SELECT count(*) FROM messages WHERE sender_role = 'buyer' AND client_id LIKE '%.%'"
        ).fetchone()
    verdict = "ok" if stored == acked else "MISMATCH"
    return f"store check: {stored:,} benchmark messages stored, {acked:,} acknowledged — {verdict}"


# --- report --------------------------------------------------------------------------------


def fmt(x: float, digits: int = 1) -> str:
    return "—" if math.isnan(x) else f"{x:,.{digits}f}"


def print_table(results: list[PhaseResult]) -> None:
    head = (
        f"{'server':<7} {'load':>9} {'msg/s':>9} {'e2e p50':>8} {'e2e p99':>8} {'ack p50':>8} "
        f"{'ack p99':>8} {'srv cpu':>8} {'cli cpu':>8} {'others':>7} {'writer':>7} {'batch':>6} "
        f"{'µs/job':>7} {'srv µs/msg':>10} {'pg µs/msg':>9} {'redis µs':>8}  notes"
    )
    print(head)
    print("-" * len(head))
    for r in results:
        note = "; ".join(
            r.notes
            + ([f"{r.unsent:,} not sent (window full)"] if r.unsent else [])
            + ([f"{r.errors} errors"] if r.errors else [])
        )
        print(
            f"{r.server:<7} {r.mode:>9} {r.delivered_per_s:>9,.0f} {fmt(r.e2e_p50_ms):>8} "
            f"{fmt(r.e2e_p99_ms):>8} {fmt(r.ack_p50_ms):>8} {fmt(r.ack_p99_ms):>8} "
            f"{fmt(r.server_cpu_pct, 0) + '%':>8} {fmt(r.client_cpu_pct, 0) + '%':>8} "
            f"{fmt(r.other_cpu_pct, 0) + '%':>7} {fmt(r.writer_busy_pct, 0) + '%':>7} "
            f"{fmt(r.writer_batch):>6} "
            f"{fmt(r.writer_us_per_job, 0):>7} {fmt(r.server_cpu_us_per_msg, 0):>10} "
            f"{fmt(r.pg_us_per_msg, 0):>9} {fmt(r.redis_us_per_msg, 0):>8}  {note}"
        )
    busy = [r for r in results if r.other_cpu_pct > 25]
    if busy:
        worst = max(r.other_cpu_pct for r in busy)
        print(
            f"WARNING: other processes used up to {worst:.0f}% CPU during {len(busy)} window(s);"
            " those figures understate what this machine can do. Re-run on a quiet machine."
        )
    print(
        "(latencies in ms; cpu = CPU time / wall time over the window, 100% = one core; others ="
        " every other process on the machine; writer = Feige's group-commit thread: share of"
        " wall time running batches, jobs per batch, µs per job; srv µs/msg = server CPU per"
        " delivered message, the figure that holds even when the machine is shared; pg, redis"
        " µs/msg = CPU of the bench database's PostgreSQL backends and of its Redis per"
        " delivered message)"
    )


def parse_rates(text: str) -> list[float | None]:
    rates: list[float | None] = []
    for part in text.split(","):
        part = part.strip()
        rates.append(None if part == "max" else float(part))
    return rates


async def main_async(args: argparse.Namespace) -> int:
    rates = parse_rates(args.rates)
    tmp = Path(tempfile.mkdtemp(prefix="feige-bench-"))
    results: list[PhaseResult] = []
    store_note = ""
    print(
        f"chat throughput: {args.pairs} pairs, {args.per_agent} per agent, window "
        f"{args.window}, phases {args.rates} × ({args.warmup:g} s warm-up + {args.seconds:g} s); "
        f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}",
        file=sys.stderr,
    )
    try:
        if args.only in ("both", "feige") and args.database_url:
            redis = RedisProcess(tmp)
            try:
                for workers in args.processes:
                    folder = tmp / f"feige{workers}"
                    folder.mkdir()
                    empty_database(args.database_url)
                    scaled = feige_scaled(folder, args.database_url, redis, workers, args.feige_src)

                    async def scaled_accounts(s: ServerProcess = scaled) -> Accounts:
                        return await feige_accounts(s.base_url, args.pairs, args.per_agent)

                    phases = await bench_server(scaled, scaled_accounts, args, rates)
                    results += phases
                    note = check_pg_store(args.database_url, sum(r.acked for r in phases))
                    store_note += f"{scaled.name}: {note}\n"
            finally:
                redis.stop()
        elif args.only in ("both", "feige"):
            server = feige_server(tmp / "feige", args.feige_src)
            (tmp / "feige").mkdir()
            feige = await bench_server(
                server,
                lambda: feige_accounts(server.base_url, args.pairs, args.per_agent),
                args,
                rates,
            )
            results += feige
            store_note = check_store(tmp / "feige" / "feige.db", sum(r.acked for r in feige))
        if args.only in ("both", "relay"):
            (tmp / "relay").mkdir()
            server = relay_server(tmp / "relay")

            async def relay_accts() -> Accounts:
                return relay_accounts(args.pairs, args.per_agent)

            results += await bench_server(server, relay_accts, args, rates)
    finally:
        # Sends that were never acknowledged: keep the data and show the server's log (a
        # stalled loop leaves every thread's stack there, see FEIGE_LOOP_STALL_DUMP_SECONDS).
        unacked = any(r.acked < r.sent for r in results)
        if unacked:
            log = tmp / "feige" / "feige-serve.log"
            if log.exists():
                lines = log.read_text(errors="replace").splitlines()
                # The first problem usually explains the rest: show where it starts, and the end.
                first = next(
                    (i for i, line in enumerate(lines) if "[warning" in line or "[error" in line),
                    max(len(lines) - 30, 0),
                )
                shown = [*lines[first : first + 40], "…", *lines[-30:]]
                print("feige-serve.log:\n  " + "\n  ".join(shown), file=sys.stderr)
        if args.keep or unacked:
            print(f"data kept in {tmp}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    print()
    print_table(results)
    if store_note:
        print(store_note.rstrip())
    by = {(r.server, r.mode): r for r in results}
    ratios: dict[str, float] = {}
    for r in results:
        base = by.get(("relay", r.mode))
        if r.server.startswith("feige") and base is not None and base.delivered_per_s:
            key = r.mode if r.server == "feige" else f"{r.server} {r.mode}"
            ratios[key] = r.delivered_per_s / base.delivered_per_s
            print(
                f"{r.server} / relay at {r.mode}: {ratios[key]:.2f}× throughput, p99 "
                f"{fmt(r.e2e_p99_ms)} ms vs {fmt(base.e2e_p99_ms)} ms"
            )
    # The target, judged for each Feige configuration measured (one process on SQLite, or
    # each process count on PostgreSQL): met by the configurations that reach both figures.
    target: dict[str, Any] = {}
    configs = sorted({r.server for r in results if r.server.startswith("feige")})
    met_by = []
    for server in configs:
        peak = by.get((server, "max"))
        at_target = by.get((server, f"{TARGET_RATE:g}/s"))
        if peak is None and at_target is None:
            continue
        checks = []
        if peak is not None:
            checks.append(peak.delivered_per_s >= TARGET_RATE)
        if at_target is not None:
            checks.append(
                at_target.delivered_per_s >= 0.98 * TARGET_RATE
                and at_target.e2e_p99_ms < TARGET_P99_MS
            )
        ok = all(checks)
        target[server] = {
            "peak_msg_s": round(peak.delivered_per_s) if peak is not None else None,
            "p99_ms_at_3000": round(at_target.e2e_p99_ms, 1) if at_target is not None else None,
            "met": ok,
        }
        if ok:
            met_by.append(server)
        print(
            f"target (≥ {TARGET_RATE:,.0f} persisted msg/s, p99 < {TARGET_P99_MS:g} ms at "
            f"{args.pairs} sessions), {server}: {'met' if ok else 'NOT met'}"
        )
    if configs:
        target["met_by"] = met_by
        target["met"] = bool(met_by)
    one, two = by.get(("feige×1", "max")), by.get(("feige×2", "max"))
    if one is not None and two is not None:
        target["two_beat_one"] = two.delivered_per_s > one.delivered_per_s
        print(f"two processes beat one at max: {two.delivered_per_s / one.delivered_per_s:.2f}×")
    summary = {
        "bench": "chat_throughput",
        "pairs": args.pairs,
        "per_agent": args.per_agent,
        "window": args.window,
        "seconds": args.seconds,
        "cpus": os.cpu_count(),
        "python": sys.version.split()[0],
        "results": [
            {k: (round(v, 2) if isinstance(v, float) else v) for k, v in vars(r).items()}
            for r in results
        ],
        "ratio_feige_over_relay": {k: round(v, 3) for k, v in ratios.items()},
        "target": target,
    }
    print(orjson.dumps(summary).decode())
    failed = any(r.errors or r.notes for r in results) or "MISMATCH" in store_note
    return 1 if failed else 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Feige chat throughput against a bare relay baseline."
    )
    parser.add_argument("--pairs", type=int, default=500, help="consumers, one session each")
    parser.add_argument(
        "--per-agent",
        type=int,
        default=10,
        help="sessions per agent (its capacity); 1 = one agent per consumer",
    )
    parser.add_argument("--seconds", type=float, default=10.0, help="measured seconds per phase")
    parser.add_argument("--warmup", type=float, default=2.0, help="unmeasured seconds first")
    parser.add_argument("--window", type=int, default=4, help="unacknowledged sends per consumer")
    parser.add_argument(
        "--rates",
        default=f"max,{TARGET_RATE:g}",
        help="phases: 'max' (closed loop) or total messages/s (open loop), comma-separated",
    )
    parser.add_argument("--only", choices=("both", "feige", "relay"), default="both")
    parser.add_argument(
        "--database-url",
        default="",
        help="PostgreSQL (postgresql+psycopg://…, emptied before each run): Feige runs as "
        "`feige serve --workers N` for each N of --processes, on it and on a Redis of its own",
    )
    parser.add_argument(
        "--processes",
        default="1,2,3",
        help="with --database-url: the numbers of Feige processes to measure, comma-separated",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary data dir")
    parser.add_argument(
        "--feige-src",
        type=Path,
        default=None,
        help="serve Feige from this src/ directory (A/B a change) instead of the installed one",
    )
    args = parser.parse_args(argv)
    args.processes = [int(p) for p in str(args.processes).split(",") if p.strip()]
    if args.database_url and not args.database_url.startswith("postgresql"):
        parser.error("--database-url: a PostgreSQL URL (postgresql+psycopg://…)")
    if not 1 <= args.per_agent <= 200:
        parser.error("--per-agent: 1–200 (Feige's capacity limit)")
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main_async(args))
    return uvloop.run(main_async(args))


if __name__ == "__main__":
    sys.exit(main())
