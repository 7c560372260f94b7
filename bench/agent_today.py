"""What one ``GET /api/agent/today`` costs the database, before and after it read only the
caller's sessions (docs/performance.md, "An agent's figures today").

    .venv/bin/python bench/agent_today.py                          # 3,000 sessions, 10 agents
    .venv/bin/python bench/agent_today.py --sessions 500 --agents 5

One run: a fresh SQLite store with one shop of ``--agents`` agents and ``--sessions``
sessions today (chatted through the library as live chat writes them; a fifth still open,
some transferred), then, for every agent, the read job of the route:

* baseline: the shop's whole day summarised and assessed, the agent's line picked out
  (what the route did before);
* real: ``agent_summaries_sync`` — only the sessions the agent served — then the same
  assessment.

Both give the same figures for every agent (checked); the mean time per call of each and
their ratio are printed, and a final JSON line.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from feige.config import Settings
from feige.domain import AgentStatus, MemberRole, SenderRole
from feige.metrics import Week, assess_week
from feige.services.assessment.queries import _period
from feige.services.assessment.summaries import (
    agent_summaries_sync,
    metrics_config,
    refresh_summaries_sync,
    summaries_sync,
)
from feige.services.context import Outbox
from feige.services.lib import accounts, assignment, conversation
from feige.store import migrate
from feige.store.db import create_db_engine


def seed(conn: Connection, settings: Settings, agents: int, sessions: int, day: float) -> list[int]:
    """One shop, its agents, and a day of sessions; returns the agents' ids."""
    rng = random.Random(7)
    outbox = Outbox()  # nobody listens: the events go nowhere
    shop = accounts.create_shop(conn, "压测店", "bench_owner", "x", day, None, "even", 50)
    agent_ids = [
        accounts.create_member(
            conn,
            {
                "shop_id": shop["id"],
                "username": f"bench_agent{n}",
                "password_hash": "x",
                "role": MemberRole.AGENT.value,
                "display_name": f"客服{n}",
                "status": AgentStatus.ONLINE.value,
                "capacity": 50,
                "created_at": day,
            },
        )["id"]
        for n in range(agents)
    ]
    buyers = [
        accounts.consumer_signed_in(conn, f"bench-buyer-{n}", "", day)["id"]
        for n in range(sessions)
    ]
    shop_row = {**shop, "welcome_message": None}
    span = 12 * 3600  # 08:00 to 20:00 local
    for n, buyer in enumerate(buyers):
        t = day + 8 * 3600 + span * n / sessions
        session = conversation.open_session(conn, shop["id"], buyer, "product", None, t)
        agent = agent_ids[n % agents]
        assignment.assign(conn, outbox, session, shop_row, agent, t)
        for round_ in range(rng.randint(1, 4)):
            t += rng.uniform(5, 30)
            say(conn, outbox, session, SenderRole.BUYER, buyer, "在吗", t)
            t += rng.uniform(5, 240)
            say(conn, outbox, session, SenderRole.AGENT, agent, "在的", t)
            if round_ == 0 and n % 17 == 0:  # handed to the next agent
                target = {"id": agent_ids[(n + 1) % agents]}
                assignment.move_to(conn, outbox, session, target, "客服", t + 10)
                agent = target["id"]
        if n % 5:
            assignment.close(conn, outbox, session, "agent", t + 30)
    while refresh_summaries_sync(conn, metrics_config(settings)):
        pass  # the summariser's work, done up front as a running node keeps it
    return agent_ids


def say(
    conn: Connection, outbox: Outbox, session: Any, role: SenderRole, who: int, text: str, t: float
) -> None:
    conversation.append_message(
        conn, outbox, session, role=role, sender_id=who, kind="text", content={"text": text}, now=t
    )


def line_of(shops: list[dict[str, Any]], agent: str) -> dict[str, Any] | None:
    return next((a for shop in shops for a in shop["agents"] if a["agent"] == agent), None)


def baseline(conn: Connection, span: Week, settings: Settings, shop_id: int, agent: int) -> Any:
    config = metrics_config(settings)
    return line_of(
        assess_week(summaries_sync(conn, span, config, shop_id), span, config)["shops"], str(agent)
    )


def real(conn: Connection, span: Week, settings: Settings, shop_id: int, agent: int) -> Any:
    config = metrics_config(settings)
    summaries = agent_summaries_sync(conn, span, config, shop_id, agent)
    return line_of(assess_week(summaries, span, config)["shops"], str(agent))


def timed(fn: Any, *args: Any, repeat: int) -> tuple[float, Any]:
    """Mean seconds per call over ``repeat`` calls, and the last answer."""
    started = time.perf_counter()
    for _ in range(repeat):
        answer = fn(*args)
    return (time.perf_counter() - started) / repeat, answer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sessions", type=int, default=3000)
    parser.add_argument("--agents", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    settings = Settings()
    tz = ZoneInfo(settings.timezone)
    today = datetime.now(tz).replace(hour=0, minute=0, second=0, microsecond=0).timestamp()
    span = _period(today + 20 * 3600, "today", metrics_config(settings))
    with tempfile.TemporaryDirectory() as folder:
        engine = create_db_engine(f"sqlite:///{Path(folder) / 'bench.db'}")
        migrate.upgrade(engine)
        started = time.perf_counter()
        with engine.begin() as conn:
            agent_ids = seed(conn, settings, args.agents, args.sessions, today)
        print(
            f"seeded {args.sessions:,} sessions, {args.agents} agents"
            f" in {time.perf_counter() - started:.1f} s"
        )
        old_times, new_times = [], []
        with engine.connect() as conn:
            for agent in agent_ids:
                old_s, old = timed(baseline, conn, span, settings, 1, agent, repeat=args.repeat)
                new_s, new = timed(real, conn, span, settings, 1, agent, repeat=args.repeat)
                if old != new:
                    print(f"agent {agent}: figures differ\n{old}\n{new}", file=sys.stderr)
                    return 1
                old_times.append(old_s)
                new_times.append(new_s)
        engine.dispose()
    old_ms, new_ms = statistics.mean(old_times) * 1000, statistics.mean(new_times) * 1000
    print(f"baseline (the shop's whole day): {old_ms:8.1f} ms per call")
    print(f"real (the agent's sessions):     {new_ms:8.1f} ms per call")
    print(
        f"ratio baseline / real: {old_ms / new_ms:.1f}x"
        f"  (same figures for all {len(agent_ids)} agents)"
    )
    print(
        json.dumps(
            {
                "sessions": args.sessions,
                "agents": args.agents,
                "baseline_ms": round(old_ms, 2),
                "real_ms": round(new_ms, 2),
                "ratio": round(old_ms / new_ms, 2),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
