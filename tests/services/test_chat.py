"""Sending, acknowledging and reading, at the service level (docs/architecture.md, the
message path)."""

from __future__ import annotations

from typing import Any

import pytest

from feige.services.actions import receipts, send
from feige.services.errors import Conflict, Forbidden, NotFound

from .conftest import WELCOME, Client, World


def text(client_id: str, body: str, **target: Any) -> dict[str, Any]:
    return {"client_id": client_id, "kind": "text", "content": {"text": body}, **target}


async def test_a_first_message_opens_a_session_that_reaches_the_online_agent(world: World) -> None:
    agent, buyer = world.agents[0], world.buyers[0]
    await world.online(agent)
    ack = await send.send(
        world.ctx, buyer.principal, text("c1", "有 M 码吗？", shop_id=world.shop_id), buyer.origin
    )

    # The welcome notice came first; the buyer's message is the session's second.
    assert (ack["seq"], ack["duplicate"], ack["message"]["content"]) == (
        2,
        False,
        {"text": "有 M 码吗？"},
    )
    session_events = agent.take_events("session")
    assert [(e["change"], e["session"]["agent_id"]) for e in session_events] == [
        ("assigned", agent.principal.id)
    ]
    said = [e["message"]["content"]["text"] for e in agent.take_events("message")]
    assert said == [WELCOME, "有 M 码吗？"]
    # The sending socket has its message in the ack, not a second time as an event.
    assert [e["message"]["content"]["text"] for e in buyer.take_events("message")] == [WELCOME]
    # The shop's supervisors see it all.
    assert len(world.owner.take_events("message")) == 2


async def test_the_senders_other_sockets_get_the_message_event(world: World) -> None:
    await world.online(world.agents[0])
    buyer = world.buyers[0]
    phone = world.connect(Client(buyer.principal))
    ack = await send.send(
        world.ctx, buyer.principal, text("c1", "在吗", shop_id=world.shop_id), buyer.origin
    )
    mine = [e["message"]["id"] for e in buyer.take_events("message")]
    other = [e["message"]["id"] for e in phone.take_events("message")]
    assert ack["message_id"] not in mine and ack["message_id"] in other


async def test_a_resend_gets_the_same_ack_and_a_reused_id_is_refused(world: World) -> None:
    await world.online(world.agents[0])
    buyer = world.buyers[0]
    first = await send.send(world.ctx, buyer.principal, text("c1", "在吗", shop_id=world.shop_id))
    again = await send.send(world.ctx, buyer.principal, text("c1", "在吗", shop_id=world.shop_id))
    assert again["duplicate"] and again["message_id"] == first["message_id"]
    assert again["seq"] == first["seq"]
    with pytest.raises(Conflict) as refused:
        await send.send(world.ctx, buyer.principal, text("c1", "另一句", shop_id=world.shop_id))
    assert refused.value.code == "idempotency_conflict"


async def test_only_the_serving_agent_replies(world: World) -> None:
    serving_agent, other = world.agents[0], world.agents[1]
    await world.online(serving_agent, other)
    buyer = world.buyers[0]
    ack = await send.send(world.ctx, buyer.principal, text("c1", "在吗", shop_id=world.shop_id))
    session_id = ack["session_id"]
    session_agent = (buyer.take_events("session"))[0]["session"]["agent_id"]
    server, bystander = (
        (serving_agent, other)
        if session_agent == serving_agent.principal.id
        else (other, serving_agent)
    )
    reply = await send.send(world.ctx, server.principal, text("a1", "在的", session_id=session_id))
    assert [e["message"]["id"] for e in buyer.take_events("message")][-1] == reply["message_id"]
    # Another agent does not even see the session; a supervisor sees it but does not serve it.
    with pytest.raises(NotFound):
        await send.send(world.ctx, bystander.principal, text("a2", "我也在", session_id=session_id))
    with pytest.raises(Forbidden) as refused:
        await send.send(world.ctx, world.owner.principal, text("o1", "我来", session_id=session_id))
    assert refused.value.code == "not_your_session"


async def test_a_read_receipt_is_kept_up_to_the_last_message_and_told_to_the_other_side(
    world: World,
) -> None:
    agent, buyer = world.agents[0], world.buyers[0]
    await world.online(agent)
    ack = await send.send(world.ctx, buyer.principal, text("c1", "在吗", shop_id=world.shop_id))
    agent.take_events()
    marked = await receipts.mark_read(world.ctx, agent.principal, ack["session_id"], 99)
    assert marked == {"session_id": ack["session_id"], "agent_read_seq": ack["seq"]}
    assert buyer.take_events("read") == [
        {"type": "read", "session_id": ack["session_id"], "reader": "member", "seq": ack["seq"]}
    ]
    # Marking the same again changes nothing and tells nobody.
    await receipts.mark_read(world.ctx, agent.principal, ack["session_id"], ack["seq"])
    assert buyer.take_events("read") == []
