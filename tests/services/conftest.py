"""Services driven the way the API drives them, on a temporary SQLite store: no HTTP, no
sockets. Each client is a broker subscriber on its principal's channels, as a socket is, and
keeps the events it receives."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pytest

from feige.config import Settings
from feige.domain import AgentStatus, MemberRole, Row
from feige.realtime.broker import MemoryBroker
from feige.realtime.presence import MemoryPresence
from feige.services import channels
from feige.services.actions import serving
from feige.services.context import Context, Principal
from feige.services.lib import accounts, screening
from feige.store import migrate
from feige.store.db import Database, create_db_engine

_ORIGINS = itertools.count(1)
WELCOME = "您好，欢迎光临"


@dataclass(eq=False)
class Client:
    """One signed-in client: its principal, and the events its socket would have received."""

    principal: Principal
    origin: int = field(default_factory=lambda: next(_ORIGINS))
    events: list[dict[str, Any]] = field(default_factory=list)

    def deliver(self, payload: bytes) -> None:
        frame = orjson.loads(payload)
        assert frame.pop("op") == "event"
        self.events.append(frame)

    def take_events(self, type_: str | None = None) -> list[dict[str, Any]]:
        """The events received and not taken yet (of one type, if given), in order."""
        taken = [e for e in self.events if type_ in (None, e["type"])]
        self.events = [e for e in self.events if type_ not in (None, e["type"])]
        return taken


@dataclass
class Clock:
    """The node's clock, moved by the test instead of slept."""

    now: float = 1_790_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class World:
    """A node (its context) with one shop: an owner, three agents, two consumers."""

    ctx: Context
    clock: Clock
    shop_id: int
    owner: Client
    agents: list[Client]
    buyers: list[Client]

    def connect(self, client: Client) -> Client:
        for channel in channels.subscriptions(client.principal):
            self.ctx.broker.subscribe(channel, client)
        return client

    async def online(self, *agents: Client) -> None:
        for agent in agents:
            await serving.set_status(self.ctx, agent.principal, AgentStatus.ONLINE.value)


def _seed(conn: Any, now: float) -> tuple[int, Row, list[Row], list[Row]]:
    shop = accounts.create_shop(conn, "飞鸽旗舰店", "owner", "x", now, WELCOME, "priority", 2)
    owner = accounts.sign_in_account(conn, "member", "owner")
    assert owner is not None
    agents = []
    for i in (1, 2, 3):
        values = {
            "shop_id": shop["id"],
            "username": f"agent{i}",
            "password_hash": "x",
            "role": MemberRole.AGENT.value,
            "display_name": f"客服{i}",
            "status": AgentStatus.OFFLINE.value,
            "capacity": 1,
            "created_at": now,
        }
        accounts.create_member(conn, values)
        agent = accounts.sign_in_account(conn, "member", f"agent{i}")
        assert agent is not None
        agents.append(agent)
    buyers = [accounts.consumer_signed_in(conn, f"buyer{i}", f"买家{i}", now) for i in (1, 2)]
    return shop["id"], owner, agents, buyers


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    settings = Settings(
        data_dir=tmp_path,
        database_url=f"sqlite:///{tmp_path / 'feige.db'}",
        secret_key="k" * 40,
    )
    engine = create_db_engine(settings.database_url)
    await asyncio.to_thread(migrate.upgrade, engine)
    clock = Clock()
    ctx = Context(
        settings,
        Database(engine, inline=True),
        MemoryBroker(),
        MemoryPresence(),
        moderator=screening.build_moderator(settings),
        clock=clock,
    )
    shop_id, owner, agents, buyers = ctx.db.write_sync(_seed, clock())
    await ctx.db.start()
    world = World(
        ctx,
        clock,
        shop_id,
        Client(accounts.principal_from_row("member", owner)),
        [Client(accounts.principal_from_row("member", a)) for a in agents],
        [Client(accounts.principal_from_row("consumer", b)) for b in buyers],
    )
    for client in (world.owner, *world.agents, *world.buyers):
        world.connect(client)
    try:
        yield world
    finally:
        await ctx.db.stop()
