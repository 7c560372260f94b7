"""Reception at the service level (docs/rules.md 2.1, 2.2.1): routing, the queue, offline
messages, take, transfer, close and the idle closer."""

from __future__ import annotations

import pytest

from feige.services.actions import history, send, serving
from feige.services.errors import Invalid

from .conftest import World
from .test_chat import text


async def test_a_full_shop_queues_and_a_close_hands_the_next_session_over(world: World) -> None:
    agent = world.agents[0]
    await world.online(agent)  # capacity 1
    first, second = world.buyers
    a = await send.send(world.ctx, first.principal, text("c1", "在吗", shop_id=world.shop_id))
    b = await send.send(
        world.ctx, second.principal, text("c1", "在吗", shop_id=world.shop_id), second.origin
    )
    queued = await history.get_session(world.ctx, second.principal, b["session_id"])
    assert queued["state"] == "queued" and queued["agent_id"] is None
    notices = [e["message"]["content"]["text"] for e in second.take_events("message")]
    assert notices == [world.ctx.settings.queue_prompt]
    # Every agent of the shop sees the waiting session.
    assert b["session_id"] in {e["session"]["id"] for e in world.agents[2].take_events("session")}

    closed = await serving.close(world.ctx, agent.principal, a["session_id"])
    assert closed["state"] == "closed"
    handed = await history.get_session(world.ctx, second.principal, b["session_id"])
    assert (handed["state"], handed["agent_id"]) == ("assigned", agent.principal.id)
    assert world.agents[2].take_events("waiting_removed") == [
        {"type": "waiting_removed", "session_id": b["session_id"]}
    ]


async def test_nobody_online_leaves_an_offline_message_that_an_agent_takes(world: World) -> None:
    buyer, agent = world.buyers[0], world.agents[1]
    ack = await send.send(world.ctx, buyer.principal, text("c1", "在吗", shop_id=world.shop_id))
    waiting = await history.get_session(world.ctx, buyer.principal, ack["session_id"])
    assert waiting["state"] == "offline"
    with pytest.raises(Invalid) as busy:  # an offline agent takes nothing
        await serving.take(world.ctx, agent.principal, ack["session_id"])
    assert busy.value.code == "agent_busy"
    await world.online(agent)  # offline messages wait to be taken; the queue is drained
    assert (await history.get_session(world.ctx, buyer.principal, ack["session_id"]))[
        "state"
    ] == "offline"
    taken = await serving.take(world.ctx, agent.principal, ack["session_id"])
    assert (taken["state"], taken["agent_id"]) == ("assigned", agent.principal.id)
    with pytest.raises(Invalid) as again:
        await serving.take(world.ctx, agent.principal, ack["session_id"])
    assert again.value.code == "not_waiting"


async def test_a_transfer_moves_the_session_and_tells_the_buyer_the_new_name(world: World) -> None:
    first, second = world.agents[0], world.agents[1]
    buyer = world.buyers[0]
    await world.online(first)
    ack = await send.send(world.ctx, buyer.principal, text("c1", "在吗", shop_id=world.shop_id))
    await world.online(second)
    for client in (first, second, buyer):
        client.take_events()
    moved = await serving.transfer(
        world.ctx, first.principal, ack["session_id"], second.principal.id
    )
    assert moved["agent_id"] == second.principal.id
    # The agent who handed it over learns it is gone; the new one that it has arrived.
    for agent in (first, second):
        assert [e["change"] for e in agent.take_events("session")] == ["transferred"]
    notice = buyer.take_events("message")[-1]["message"]
    assert notice["sender_role"] == "system" and "客服2" in notice["content"]["text"]
    with pytest.raises(Invalid) as busy:  # not to the agent serving it already
        await serving.transfer(world.ctx, second.principal, ack["session_id"], second.principal.id)
    assert busy.value.code == "invalid"


async def test_the_idle_closer_closes_silent_sessions_only(world: World) -> None:
    await world.online(world.agents[0], world.agents[1])
    quiet = await send.send(
        world.ctx, world.buyers[0].principal, text("c1", "在吗", shop_id=world.shop_id)
    )
    world.clock.advance(world.ctx.settings.session_idle_close_seconds - 10)
    busy = await send.send(
        world.ctx, world.buyers[1].principal, text("c1", "在吗", shop_id=world.shop_id)
    )
    world.clock.advance(20)
    assert await serving.close_idle(world.ctx) == 1
    states = {
        s["id"]: s["state"] for s in await history.list_sessions(world.ctx, world.owner.principal)
    }
    assert states == {quiet["session_id"]: "closed", busy["session_id"]: "assigned"}
