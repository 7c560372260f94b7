"""Events bring a client to the state a fresh fetch shows (as Zulip checks its events): for
each main action, every client's state from before plus the events it received (and, for
the sender, its ack) equals what it would load from scratch afterwards."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from feige.domain import Row
from feige.services.actions import history, send, serving
from feige.services.context import Principal
from feige.services.lib.tenancy import can_see

from .conftest import Client, World
from .test_chat import text

State = dict[str, dict[int, Any]]
#: Kept beside what a fresh fetch shows: the newest version seen of each session.
VERSIONS = "versions"


async def fetch(world: World, principal: Principal) -> State:
    """What a client loads when it starts: its sessions and their messages."""
    sessions = {}
    for row in await history.list_sessions(world.ctx, principal, limit=200):
        row.pop("consumer_nickname")
        sessions[row["id"]] = row
    return {
        "sessions": sessions,
        "messages": {
            sid: {m["seq"]: m for m in await history.history(world.ctx, principal, sid, limit=500)}
            for sid in sessions
        },
    }


async def apply(world: World, principal: Principal, state: State, event: Row) -> None:
    """What a client does with an event (docs/protocol.md)."""
    sessions, messages = state["sessions"], state["messages"]
    if event["type"] == "session":
        session = event["session"]
        # Two nodes' events about one session can cross: the later view wins, also over a
        # session the client has let go of (the newest version seen is kept apart).
        versions = state.setdefault(VERSIONS, {})
        if versions.get(session["id"], -1) > session["version"]:
            return
        versions[session["id"]] = session["version"]
        if not can_see(principal, session):
            sessions.pop(session["id"], None)
            messages.pop(session["id"], None)
            return
        if session["id"] not in sessions:  # new to this client: it loads the history
            loaded = await history.history(world.ctx, principal, session["id"], limit=500)
            messages[session["id"]] = {m["seq"]: m for m in loaded}
        sessions[session["id"]] = session
    elif event["type"] == "message":
        message = event["message"]
        session = sessions.get(message["session_id"])
        if session is not None:
            messages[session["id"]][message["seq"]] = message
            session["last_seq"] = max(session["last_seq"], message["seq"])
    elif event["type"] == "read":
        session = sessions.get(event["session_id"])
        if session is not None:
            column = "consumer_read_seq" if event["reader"] == "consumer" else "agent_read_seq"
            session[column] = event["seq"]
    elif event["type"] == "waiting_removed":
        session = sessions.get(event["session_id"])
        if (
            session is not None
            and not principal.is_supervisor
            and session["agent_id"] != principal.id
        ):
            sessions.pop(event["session_id"])
            messages.pop(event["session_id"])


async def converges(
    world: World,
    clients: list[Client],
    action: Callable[[], Awaitable[Row]],
    sender: Client | None = None,
) -> None:
    states = [await fetch(world, c.principal) for c in clients]
    for client in clients:
        client.take_events()
    result = await action()
    for client, state in zip(clients, states, strict=True):
        for event in client.take_events():
            await apply(world, client.principal, state, event)
        if client is sender:
            await apply(
                world, client.principal, state, {"type": "message", "message": result["message"]}
            )
        state.pop(VERSIONS, None)
        assert state == await fetch(world, client.principal), client.principal


def everyone(world: World) -> list[Client]:
    return [*world.buyers, *world.agents, world.owner]


async def test_send(world: World) -> None:
    buyer, agent = world.buyers[0], world.agents[0]
    await world.online(agent)

    async def first_message() -> Row:
        frame = text("c1", "有 M 码吗？", shop_id=world.shop_id)
        return await send.send(world.ctx, buyer.principal, frame, buyer.origin)

    await converges(world, everyone(world), first_message, sender=buyer)
    [session] = (await fetch(world, agent.principal))["sessions"]

    async def reply() -> Row:
        frame = text("a1", "有的", session_id=session)
        return await send.send(world.ctx, agent.principal, frame, agent.origin)

    await converges(world, everyone(world), reply, sender=agent)


async def test_take(world: World) -> None:
    buyer, agent = world.buyers[0], world.agents[1]
    ack = await send.send(world.ctx, buyer.principal, text("c1", "在吗", shop_id=world.shop_id))
    await world.online(agent)
    await converges(
        world, everyone(world), lambda: serving.take(world.ctx, agent.principal, ack["session_id"])
    )


async def test_transfer(world: World) -> None:
    first, second = world.agents[0], world.agents[1]
    await world.online(first)
    ack = await send.send(
        world.ctx, world.buyers[0].principal, text("c1", "在吗", shop_id=world.shop_id)
    )
    await world.online(second)

    async def transfer() -> Row:
        return await serving.transfer(
            world.ctx, first.principal, ack["session_id"], second.principal.id
        )

    await converges(world, everyone(world), transfer)


async def test_close_that_hands_over_the_next_waiting_session(world: World) -> None:
    agent = world.agents[0]
    await world.online(agent)
    served = await send.send(
        world.ctx, world.buyers[0].principal, text("c1", "在吗", shop_id=world.shop_id)
    )
    await send.send(world.ctx, world.buyers[1].principal, text("c1", "在吗", shop_id=world.shop_id))
    await converges(
        world,
        everyone(world),
        lambda: serving.close(world.ctx, agent.principal, served["session_id"]),
    )


async def test_session_events_that_cross_leave_the_later_view(world: World) -> None:
    """With two nodes, a take, a transfer and a close of one session may be published by
    three nodes, and a client may hear them in any order. Each view carries the row's
    version, rising in commit order; applied backwards, the events leave the buyer and the
    owner (who see the session throughout) as a fresh fetch. (An agent who loses sight of
    the session misses its messages meanwhile and reloads them when it regains it; heard
    out of order, that gap is filled by seq, which this model of a client does not do.)"""
    first, second = world.agents[0], world.agents[1]
    watchers = [world.buyers[0], world.owner]
    ack = await send.send(
        world.ctx, world.buyers[0].principal, text("c1", "在吗", shop_id=world.shop_id)
    )
    session_id = ack["session_id"]
    await world.online(first)
    await world.online(second)
    states = [await fetch(world, c.principal) for c in everyone(world)]
    for client in everyone(world):
        client.take_events()
    await serving.take(world.ctx, second.principal, session_id)
    await serving.transfer(world.ctx, second.principal, session_id, first.principal.id)
    await serving.close(world.ctx, first.principal, session_id)
    for client, state in zip(everyone(world), states, strict=True):
        events = client.take_events()
        versions = [e["session"]["version"] for e in events if e["type"] == "session"]
        assert versions == sorted(versions), client.principal  # in commit order, rising
        if client not in watchers:
            continue
        assert len(set(versions)) >= 3, versions  # the take, the transfer, the close
        for event in reversed(events):
            await apply(world, client.principal, state, event)
        state.pop(VERSIONS, None)
        assert state == await fetch(world, client.principal), client.principal
