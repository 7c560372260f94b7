"""What rebuilding the robot's rolling windows from the store costs across nodes (rule 2.2.1;
docs/performance.md, "Rebuilding the windows across nodes").

Across nodes the holder of the ``robot_window`` lease rebuilds every shop's window from the
store every 10 s (``RobotWatch.rebuild`` → ``robot_mode.recent_rounds``). One run:

* a real store (SQLite in a temporary folder, or ``--database-url`` PostgreSQL, emptied
  first), migrated, with ``--shops`` shops of ``--agents`` agents and ``--sessions``
  sessions of the last hour, ``--messages`` messages each (buyer and agent in turn), their
  open and assigned events, and a closing for a share of them;
* then, ``--repeat`` times, a 10-second step: ``--grown`` of the sessions (open ones) get
  one more message (inserted and ``last_seq`` bumped as the message path does), and, in
  alternating order, (a) the baseline, ``recent_rounds`` without a cache (every session
  re-read and re-summarised, the behaviour before the cache), and (b) ``recent_rounds``
  with the warm ``RoundsCache`` (only the grown sessions read again). Both must return the
  same rounds.

    python bench/robot_rebuild.py                         # 2,000 sessions × 20 messages
    python bench/robot_rebuild.py --database-url postgresql+psycopg://…/feige_bench
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
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine

from feige.config import Settings
from feige.domain import AgentStatus, EventType, MemberRole, SenderRole, SessionState
from feige.metrics import AssessmentConfig
from feige.services.assessment.summaries import metrics_config
from feige.services.lib import accounts
from feige.services.lib.robot_mode import RecentRounds, RoundsCache, recent_rounds
from feige.store import accounts as account_store
from feige.store import messages as message_store
from feige.store import migrate
from feige.store import sessions as session_store
from feige.store.db import create_db_engine
from feige.store.tables import messages, session_events

STEP_SECONDS = 10.0  # how often the lease holder rebuilds (SHARED_REBUILD_SECONDS)


def empty_database(url: str) -> None:
    """The bench's PostgreSQL database, emptied (as bench/chat_throughput.py does)."""
    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as pg:
        pg.autocommit = True
        pg.execute("DROP SCHEMA IF EXISTS public CASCADE")
        pg.execute("CREATE SCHEMA public")


def seed(
    conn: Connection,
    rng: random.Random,
    now: float,
    *,
    shops: int,
    agents: int,
    sessions: int,
    per_session: int,
    closed_share: float,
) -> dict[int, tuple[int, int, str]]:
    """Shops, agents and the last hour's sessions as the live path leaves them in the store.
    Returns the open sessions: id → (agent, last seq, role of the last message)."""
    day = now - 86_400
    staff: list[tuple[int, list[int]]] = []
    for s in range(shops):
        shop = accounts.create_shop(conn, f"压测店{s}", f"rb_owner{s}", "x", day, None, "even", 50)
        ids = [
            accounts.create_member(
                conn,
                {
                    "shop_id": shop["id"],
                    "username": f"rb_agent{s}_{n}",
                    "password_hash": "x",
                    "role": MemberRole.AGENT.value,
                    "display_name": f"客服{s}-{n}",
                    "status": AgentStatus.ONLINE.value,
                    "capacity": 50,
                    "created_at": day,
                },
            )["id"]
            for n in range(agents)
        ]
        staff.append((shop["id"], ids))
    buyers = [
        account_store.insert_consumer(
            conn, external_id=f"rb-buyer-{n}", nickname=f"买家{n}", created_at=day
        )
        for n in range(sessions)  # one each: a buyer has one open session per shop
    ]
    message_rows: list[dict[str, object]] = []
    event_rows: list[dict[str, object]] = []
    open_sessions: dict[int, tuple[int, int, str]] = {}
    for n in range(sessions):
        shop_id, shop_agents = staff[n % shops]
        agent = shop_agents[rng.randrange(agents)]
        buyer = buyers[n]
        # The session's gaps first: the buyer writes 5–60 s after an answer, the agent
        # answers after a lognormal delay (median 20 s, capped at 4 minutes).
        gaps = [
            rng.uniform(5, 60) if i % 2 == 0 else min(240.0, rng.lognormvariate(3.0, 0.8))
            for i in range(per_session)
        ]
        span = 1.0 + sum(gaps)
        opened = now - 3600 + rng.random() * max(0.0, 3600 - span - 20)
        t = opened + 1.0  # assigned a second after it opened
        stamps = []
        for gap in gaps:
            t += gap
            stamps.append(t)
        close_at = t + rng.uniform(30, 300)
        closed = rng.random() < closed_share and close_at < now
        last_seq = len(stamps)
        session_id = session_store.insert_session(
            conn,
            shop_id=shop_id,
            consumer_id=buyer,
            agent_id=agent,
            state=SessionState.CLOSED.value if closed else SessionState.ASSIGNED.value,
            entry="product",
            entry_card=None,
            order_no=None,
            opened_at=opened,
            wait_started_at=None,
            assigned_at=opened + 1.0,
            closed_at=close_at if closed else None,
            close_reason="agent" if closed else None,
            last_activity_at=stamps[-1],
            last_seq=last_seq,
            consumer_read_seq=last_seq,
            agent_read_seq=last_seq,
            rating=None,
            invalid_reasons=None,
            summary_dirty=closed,
        )
        event = {"session_id": session_id, "shop_id": shop_id}
        event_rows.append(
            {
                **event,
                "type": EventType.OPEN.value,
                "ts": opened,
                "data": {"consumer": str(buyer), "entry": "product"},
                "after_seq": 0,
            }
        )
        event_rows.append(
            {
                **event,
                "type": EventType.ASSIGNED.value,
                "ts": opened + 1.0,
                "data": {"agent": str(agent)},
                "after_seq": 0,
            }
        )
        role = SenderRole.AGENT.value
        for i, at in enumerate(stamps):
            role = SenderRole.BUYER.value if i % 2 == 0 else SenderRole.AGENT.value
            message_rows.append(
                {
                    "session_id": session_id,
                    "seq": i + 1,
                    "sender_role": role,
                    "sender_id": buyer if role == SenderRole.BUYER.value else agent,
                    "kind": "text",
                    "content": {"text": "在吗？" if role == SenderRole.BUYER.value else "在的亲"},
                    "client_id": None,
                    "created_at": at,
                }
            )
        if closed:
            event_rows.append(
                {
                    **event,
                    "type": EventType.CLOSED.value,
                    "ts": close_at,
                    "data": {},
                    "after_seq": last_seq,
                }
            )
        else:
            open_sessions[session_id] = (agent, last_seq, role)
    for start in range(0, len(message_rows), 5000):
        conn.execute(messages.insert(), message_rows[start : start + 5000])
    conn.execute(session_events.insert(), event_rows)
    return open_sessions


def grow(
    engine: Engine,
    rng: random.Random,
    open_sessions: dict[int, tuple[int, int, str]],
    count: int,
    now: float,
) -> list[int]:
    """One 10-second step of chat: ``count`` open sessions get their next message, written
    as the message path writes it (``next_seq`` then the message row)."""
    chosen = rng.sample(sorted(open_sessions), min(count, len(open_sessions)))
    with engine.begin() as conn:
        for session_id in chosen:
            agent, _, last_role = open_sessions[session_id]
            role = SenderRole.BUYER if last_role == SenderRole.AGENT.value else SenderRole.AGENT
            at = now - rng.uniform(0, STEP_SECONDS)
            seq = session_store.next_seq(conn, session_id, at, True)
            message_store.insert_message(
                conn,
                session_id=session_id,
                seq=seq,
                sender_role=role.value,
                sender_id=None if role is SenderRole.BUYER else agent,
                kind="text",
                content={"text": "还在吗？" if role is SenderRole.BUYER else "在的亲"},
                client_id=None,
                created_at=at,
            )
            open_sessions[session_id] = (agent, seq, role.value)
    return chosen


def rebuild(
    engine: Engine, now: float, config: AssessmentConfig, cache: RoundsCache | None
) -> tuple[float, RecentRounds]:
    """One rebuild's read, as ``RobotWatch._rebuild`` makes it (its own read connection)."""
    since = now - 3600 - 3600  # the window's span and the calm period of the switch-off
    started = time.perf_counter()
    with engine.connect() as conn:
        recent = recent_rounds(conn, since, now, config, cache)
    return time.perf_counter() - started, recent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sessions", type=int, default=2000)
    parser.add_argument("--messages", type=int, default=20, help="messages per session")
    parser.add_argument(
        "--grown",
        type=float,
        default=0.05,
        help="share of the sessions (open ones) that get a message per 10 s step",
    )
    parser.add_argument("--closed", type=float, default=0.6, help="share of sessions closed")
    parser.add_argument("--shops", type=int, default=20)
    parser.add_argument("--agents", type=int, default=5, help="agents per shop")
    parser.add_argument("--repeat", type=int, default=6, help="10-second steps timed")
    parser.add_argument("--seed", type=int, default=2201)
    parser.add_argument(
        "--database-url",
        help="PostgreSQL (postgresql+psycopg://…), emptied first; default SQLite in a temp dir",
    )
    args = parser.parse_args(argv)
    if args.database_url and not args.database_url.startswith("postgresql"):
        parser.error("--database-url: a PostgreSQL URL (postgresql+psycopg://…)")
    settings = Settings()
    config = metrics_config(settings)
    # A fixed afternoon inside assessment hours: only rounds in hours count.
    tz = ZoneInfo(settings.timezone)
    now = datetime(2026, 11, 16, 16, 0, tzinfo=tz).timestamp()
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as folder:
        url = args.database_url or f"sqlite:///{Path(folder) / 'bench.db'}"
        if args.database_url:
            empty_database(url)
        engine = create_db_engine(url)
        migrate.upgrade(engine)
        started = time.perf_counter()
        with engine.begin() as conn:
            open_sessions = seed(
                conn,
                rng,
                now,
                shops=args.shops,
                agents=args.agents,
                sessions=args.sessions,
                per_session=args.messages,
                closed_share=args.closed,
            )
        backend = engine.dialect.name
        if backend == "postgresql":
            # The statistics autovacuum gathers within a minute of such a load: without them
            # the planner reads each session's last event id backwards through the whole
            # event table's primary key (0.2 ms a session here), not through its index.
            with engine.begin() as conn:
                conn.exec_driver_sql("ANALYZE")
        print(
            f"{backend}: seeded {args.sessions:,} sessions × {args.messages} messages"
            f" ({len(open_sessions):,} open) over {args.shops} shops"
            f" in {time.perf_counter() - started:.1f} s"
        )
        cache = RoundsCache()
        cold_s, first = rebuild(engine, now, config, cache)
        print(
            f"first rebuild (cache empty): {cold_s * 1000:.1f} ms, {len(first.counted):,}"
            f" counted rounds, {len(first.sessions):,} human sessions"
        )
        # Every round is answered inside assessment hours: each one counts.
        answered = args.sessions * (args.messages // 2)
        assert len(first.counted) >= answered, "rounds missing: are the records human sessions?"
        # Only open sessions get messages: at most all of them grow.
        grown = min(round(args.sessions * args.grown), len(open_sessions))
        base_times: list[float] = []
        cached_times: list[float] = []
        for step in range(args.repeat):
            now += STEP_SECONDS
            chosen = grow(engine, rng, open_sessions, grown, now)
            assert len(chosen) == grown
            before = cache.summarised
            if step % 2:
                base_s, base = rebuild(engine, now, config, None)
                cached_s, cached = rebuild(engine, now, config, cache)
            else:
                cached_s, cached = rebuild(engine, now, config, cache)
                base_s, base = rebuild(engine, now, config, None)
            assert cached == base, "the cached rebuild differs from the full one"
            assert cache.summarised - before == len(chosen), "read again: not only the grown"
            base_times.append(base_s)
            cached_times.append(cached_s)
        engine.dispose()
    base_ms = statistics.median(base_times) * 1000
    cached_ms = statistics.median(cached_times) * 1000
    ratio = base_ms / cached_ms
    print(
        f"{args.repeat} steps of {STEP_SECONDS:.0f} s, {grown} sessions grown each"
        f" ({grown / args.sessions:.0%}); {len(base.counted):,} counted rounds, same in (a) and (b)"
    )
    print(f"(a) baseline, no cache (all re-read): {base_ms:8.1f} ms per rebuild (median)")
    print(f"(b) warm cache (grown re-read):       {cached_ms:8.1f} ms per rebuild (median)")
    print(f"ratio (a) / (b): {ratio:.1f}×")
    print(
        json.dumps(
            {
                "backend": backend,
                "sessions": args.sessions,
                "messages": args.messages,
                "grown": grown,
                "counted_rounds": len(base.counted),
                "first_ms": round(cold_s * 1000, 2),
                "baseline_ms": round(base_ms, 2),
                "cached_ms": round(cached_ms, 2),
                "baseline_all_ms": [round(t * 1000, 2) for t in base_times],
                "cached_all_ms": [round(t * 1000, 2) for t in cached_times],
                "ratio": round(ratio, 2),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
