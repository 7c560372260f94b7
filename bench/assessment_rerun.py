"""Chat latency while a large week is assessed again on SQLite (docs/performance.md).

    .venv/bin/python bench/assessment_rerun.py                     # 1 M sessions, 100 pairs
    .venv/bin/python bench/assessment_rerun.py --sessions 100000   # quick

What it does, in one run:

1. Starts ``feige serve --demo`` once on a fresh SQLite store (schema and demo accounts), stops
   it, and inserts ``--sessions`` closed sessions of the week just ended, with their
   summaries, spread over ``--shops`` shops — directly with SQL (``executemany``), as if the
   summariser had kept them.
2. Restarts the server and connects ``--pairs`` consumer–agent pairs (the clients of
   ``bench/chat_throughput.py``), which chat open loop at ``--rate`` messages/s in total.
3. Measures the end-to-end latency of that chat alone for ``--seconds``, then again while a
   platform admin reruns the week (``POST /api/platform/assessments/{week}/run``), over the
   whole rerun.
4. Prints both p99s, their ratio, the rerun's duration, whether the 100 ms bar holds, and a
   final JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import random
import shutil
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from itertools import accumulate
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import orjson

from chat_throughput import (
    NS,
    PASSWORD,
    TARGET_P99_MS,
    Consumer,
    Load,
    ServerProcess,
    connect_all,
    feige_accounts,
    feige_server,
    percentile,
)

ZONE = ZoneInfo("Asia/Shanghai")  # the platform's default time zone (docs/rules.md §3)
US = 1_000_000
ROWS_PER_INSERT = 20_000


# --- the store ------------------------------------------------------------------------------


def last_week_monday(now: datetime) -> datetime:
    """Local midnight starting the week just ended (the week a rerun may assess)."""
    local = now.astimezone(ZONE)
    monday = (local - timedelta(days=local.weekday() + 7)).date()
    return datetime(monday.year, monday.month, monday.day, tzinfo=ZONE)


def summary(shop: int, session: int, opened: float, rng: random.Random) -> dict[str, Any]:
    """A session's stored summary (the shape of ``SessionSummary.to_dict``, version 1): a
    buyer question at the human entry and one or two rounds, answered or not."""
    t0 = round(opened * US)
    rounds = []
    start = t0
    for _ in range(rng.choice((1, 1, 2))):
        wait = rng.choice((20, 45, 90, 150, 240, None))
        answer = None if wait is None else start + wait * US
        raw = None if wait is None else wait * US
        response = 600 * US if raw is None else min(raw, 600 * US)
        answered_by = None if wait is None else "agent"
        rounds.append([start, answer, response, raw, f"a{shop}-1", answered_by, True, True])
        start += 300 * US
    last = start + 60 * US
    unanswered = rounds[-1][1] is None
    return {
        "v": 1,
        "shop": str(shop),
        "session": str(session),
        "consumer": f"c{session}",
        "entry": "product",
        "opened_us": t0,
        "last_event_us": last,
        "human_entry_us": t0,
        "human_entry_kind": "assigned",
        "entry_in_hours": True,
        "waits": [],
        "agents": [f"a{shop}-1"],
        "final_agent": f"a{shop}-1",
        "staff_messages": sum(r[1] is not None for r in rounds),
        "messages": 2 * len(rounds),
        "buyer_messages": len(rounds),
        "rounds": rounds,
        "first_response_us": rounds[0][3],
        "no_service": [3] if unanswered else [],
        "rating": rng.choice((None, None, 1, 3, 4, 5, 5)),
        "rating_us": None,
        "ratings": 0,
        "invalid_reasons": [],
        "close_us": last,
        "close_implied": False,
        "ignored_after_close": 0,
    }


def seed_week(db_path: Path, sessions: int, shops: int, monday: datetime) -> float:
    """Closed sessions of the week with clean summaries, inserted in bulk; returns seconds."""
    started = time.perf_counter()
    rng = random.Random(9)
    week_start = monday.timestamp()
    now = time.time()
    conn = sqlite3.connect(db_path)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=OFF")
        first_shop = conn.execute("SELECT coalesce(max(id), 0) + 1 FROM shops").fetchone()[0]
        shop_ids = list(range(first_shop, first_shop + shops))
        conn.executemany(
            "INSERT INTO shops (id, name, routing_mode, created_at) VALUES (?, ?, 'priority', ?)",
            [(s, f"压测店铺 {s}", now) for s in shop_ids],
        )
        (consumer,) = conn.execute(
            "INSERT INTO consumers (external_id, nickname, created_at) VALUES (?, ?, ?) "
            "RETURNING id",
            (f"bench-rerun-{os.getpid()}", "压测买家", now),
        ).fetchone()
        first = conn.execute("SELECT coalesce(max(id), 0) + 1 FROM sessions").fetchone()[0]
        # A few big shops, many small ones (weights 1, 1/2, 1/3, …).
        cum = list(accumulate(1 / (k + 1) for k in range(shops)))
        for base in range(0, sessions, ROWS_PER_INSERT):
            session_rows = []
            summary_rows = []
            count = min(base + ROWS_PER_INSERT, sessions) - base
            owners = rng.choices(shop_ids, cum_weights=cum, k=count)
            for i, shop in enumerate(owners, base):
                sid = first + i
                day = rng.randrange(7)
                opened = week_start + day * 86400 + rng.uniform(8 * 3600, 22 * 3600)
                doc = summary(shop, sid, opened, rng)
                closed = doc["close_us"] / US
                session_rows.append((sid, shop, consumer, opened, closed, closed))
                summary_rows.append(
                    (sid, shop, opened, doc["last_event_us"] / US, closed, orjson.dumps(doc), now)
                )
            conn.executemany(
                "INSERT INTO sessions (id, shop_id, consumer_id, state, entry, opened_at, "
                "closed_at, close_reason, last_activity_at, summary_dirty) "
                "VALUES (?, ?, ?, 'closed', 'product', ?, ?, 'agent', ?, 0)",
                session_rows,
            )
            conn.executemany(
                "INSERT INTO session_summaries (session_id, shop_id, first_event_at, "
                "last_event_at, close_at, data, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                summary_rows,
            )
        conn.commit()
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    return time.perf_counter() - started


# --- the load -------------------------------------------------------------------------------


async def chat_window(
    consumers: list[Consumer], load: Load, rate: float, until: asyncio.Future[Any] | float
) -> tuple[list[int], float]:
    """Open-loop sends at ``rate``/s over every consumer, from now until ``until`` (a deadline
    in monotonic seconds, or a future's completion); returns the sorted end-to-end latencies
    in ns of every message sent in that window, however late it arrives, and the window's
    length in seconds."""
    t0 = time.monotonic_ns()
    load.new_phase(t0, t0 + 24 * 3600 * NS)  # arrivals count until every send is drained
    step = NS / rate
    k, n = 0, len(consumers)
    while True:
        done = until.done() if isinstance(until, asyncio.Future) else time.monotonic() >= until
        if done:
            break
        due = int((time.monotonic_ns() - t0) / step) + 1
        while k < due:
            consumers[k % n].offer(t0 + int(k * step))
            k += 1
        await asyncio.sleep(0.001)
    stopped = time.monotonic_ns()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and any(c.inflight or c.backlog for c in consumers):
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.2)  # deliveries trail their acks a little
    return sorted(load.e2e), (stopped - t0) / NS


async def rerun(base_url: str, week: str) -> tuple[dict[str, Any], float]:
    async with httpx.AsyncClient(base_url=base_url, timeout=None) as http:
        body = {"kind": "staff", "username": "admin", "password": PASSWORD}
        login = await http.post("/api/auth/login", json=body)
        login.raise_for_status()
        token = login.json()["token"]
        started = time.monotonic()
        answer = await http.post(
            f"/api/platform/assessments/{week}/run",
            headers={"authorization": f"Bearer {token}"},
        )
        answer.raise_for_status()
        return answer.json(), time.monotonic() - started


async def main_async(args: argparse.Namespace) -> int:
    tmp = Path(tempfile.mkdtemp(prefix="feige-bench-rerun-"))
    data = tmp / "feige"
    data.mkdir()
    monday = last_week_monday(datetime.now(UTC))
    iso = monday.date().isocalendar()
    week = f"{iso.year}-W{iso.week:02d}"
    server: ServerProcess = feige_server(data, args.feige_src)
    print(
        f"assessment rerun: {args.sessions:,} sessions of {week} over {args.shops:,} shops; chat "
        f"{args.pairs} pairs at {args.rate:g} msg/s; {os.cpu_count()} CPUs, "
        f"Python {sys.version.split()[0]}",
        file=sys.stderr,
    )
    try:
        await server.start()  # schema and demo accounts
        server.stop()
        seeded = seed_week(data / "feige.db", args.sessions, args.shops, monday)
        print(f"  seeded in {seeded:.1f} s", file=sys.stderr)
        await server.start()
        accounts = await feige_accounts(server.base_url, args.pairs, args.per_agent)
        load = Load(args.window)
        agents, consumers = await connect_all(server.ws_url, accounts, load)
        await asyncio.sleep(1.0)
        await chat_window(consumers, load, args.rate, time.monotonic() + args.warmup)
        alone, alone_s = await chat_window(
            consumers, load, args.rate, time.monotonic() + args.seconds
        )
        print(f"  chat alone: {len(alone):,} messages in {alone_s:.1f} s", file=sys.stderr)
        job = asyncio.ensure_future(rerun(server.base_url, week))
        during, during_s = await chat_window(consumers, load, args.rate, job)
        result, rerun_s = job.result()
        print(
            f"  chat during the rerun: {len(during):,} messages in {during_s:.1f} s",
            file=sys.stderr,
        )
        errors, lost = load.errors, load.lost_sockets
        for client in (*consumers, *agents):
            if client.ws is not None:
                client.ws.close()
    finally:
        server.stop()
        if args.keep:
            print(f"data kept in {tmp}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    p99_alone, p99_during = percentile(alone, 99), percentile(during, 99)
    ratio = p99_during / p99_alone if p99_alone else math.nan
    shops = result["document"]["shops"]
    assessed = sum(s["sessions"]["assessed"] for s in shops)
    print()
    print(f"rerun of {week}: {rerun_s:.1f} s, {len(shops):,} shops, {assessed:,} sessions assessed")
    print(
        f"chat e2e p50 / p99 alone: {percentile(alone, 50):.1f} / {p99_alone:.1f} ms; "
        f"during the rerun: {percentile(during, 50):.1f} / {p99_during:.1f} ms "
        f"(max {during[-1] / 1e6 if during else math.nan:.1f} ms)"
    )
    print(f"p99 during / alone: {ratio:.2f}×")
    met = p99_during < TARGET_P99_MS and assessed >= args.sessions and not (errors or lost)
    print(
        f"target (chat p99 < {TARGET_P99_MS:g} ms during the rerun): {'met' if met else 'NOT met'}"
    )
    summary_line = {
        "bench": "assessment_rerun",
        "sessions": args.sessions,
        "shops": args.shops,
        "pairs": args.pairs,
        "rate": args.rate,
        "rerun_seconds": round(rerun_s, 2),
        "sessions_assessed": assessed,
        "p99_alone_ms": round(p99_alone, 2),
        "p99_during_ms": round(p99_during, 2),
        "max_during_ms": round(during[-1] / 1e6, 2) if during else None,
        "ratio": round(ratio, 3),
        "errors": errors,
        "lost_sockets": lost,
        "met": met,
    }
    print(orjson.dumps(summary_line).decode())
    return 0 if met else 1


def main() -> int:
    parser = argparse.ArgumentParser(description="Chat p99 while a large week is reassessed.")
    parser.add_argument("--sessions", type=int, default=1_000_000, help="sessions of the week")
    parser.add_argument("--shops", type=int, default=2_000)
    parser.add_argument("--pairs", type=int, default=100, help="consumers, one session each")
    parser.add_argument("--per-agent", type=int, default=10)
    parser.add_argument("--window", type=int, default=4, help="unacknowledged sends per consumer")
    parser.add_argument("--rate", type=float, default=500.0, help="chat messages/s in total")
    parser.add_argument("--seconds", type=float, default=15.0, help="chat alone, measured")
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--keep", action="store_true", help="keep the temporary data dir")
    parser.add_argument(
        "--feige-src", type=Path, default=None, help="serve Feige from this src/ directory"
    )
    args = parser.parse_args()
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main_async(args))
    return uvloop.run(main_async(args))


if __name__ == "__main__":
    sys.exit(main())
