"""Compliance rules at the service level (docs/rules.md 2.2.3–2.2.10, §3 (2) note, §4):
blocked and masked messages, the records reviewers get, sessions made invalid."""

from __future__ import annotations

import pytest

from feige.services.actions import enforcement, feedback, history, review, send
from feige.services.context import Principal
from feige.services.errors import Forbidden

from .conftest import Client, World
from .test_chat import text


async def _session(world: World, buyer: Client) -> int:
    await world.online(world.agents[0])
    ack = await send.send(world.ctx, buyer.principal, text("c0", "在吗", shop_id=world.shop_id))
    return int(ack["session_id"])


async def test_an_agent_diverting_the_buyer_is_blocked_and_reviewers_get_the_record(
    world: World,
) -> None:
    buyer, agent = world.buyers[0], world.agents[0]
    session_id = await _session(world, buyer)
    reviewers = world.connect(Client(Principal("staff", 1, "reviewer", "审核员")))
    buyer.take_events()
    with pytest.raises(Forbidden) as blocked:
        await send.send(
            world.ctx,
            agent.principal,
            text("a1", "加我薇信 abc123 私聊优惠", session_id=session_id),
        )
    assert blocked.value.code == "blocked" and "2.2.3" in blocked.value.message("en")
    assert buyer.take_events("message") == []  # nothing was delivered
    [violation] = reviewers.take_events("violation")
    records = await review.list_violations(world.ctx, reviewers.principal, "pending", None, 10)
    assert [r["id"] for r in records] == [violation["id"]]
    assert records[0]["original"]["text"] == "加我薇信 abc123 私聊优惠"
    # Sent again under the same id: refused again, but recorded once.
    with pytest.raises(Forbidden):
        await send.send(
            world.ctx,
            agent.principal,
            text("a1", "加我薇信 abc123 私聊优惠", session_id=session_id),
        )
    assert reviewers.take_events("violation") == []
    decided = await review.review(world.ctx, reviewers.principal, violation["id"], "confirmed")
    assert decided["status"] == "confirmed"


async def test_a_buyers_contact_is_masked_and_abuse_makes_the_session_risky(world: World) -> None:
    buyer, agent = world.buyers[0], world.agents[0]
    session_id = await _session(world, buyer)
    ack = await send.send(
        world.ctx, buyer.principal, text("m1", "加我薇信 abc123", session_id=session_id)
    )
    delivered = agent.take_events("message")[-1]["message"]["content"]["text"]
    assert "abc123" not in delivered and "*" in delivered
    assert ack["moderation"]["action"] == "mask"
    with pytest.raises(Forbidden):
        await send.send(world.ctx, buyer.principal, text("m2", "傻逼客服", session_id=session_id))
    flagged = [e["session"] for e in agent.take_events("session") if e["change"] == "flagged"]
    assert [s["invalid"] for s in flagged] == [True]
    events = await history.session_events(world.ctx, world.owner.principal, session_id)
    assert [e["reason"] for e in events if e["type"] == "flagged"] == ["risky"]


async def test_a_blacklisted_consumer_is_refused_and_its_session_invalid(world: World) -> None:
    buyer, agent = world.buyers[0], world.agents[0]
    session_id = await _session(world, buyer)
    session = await feedback.blacklist(world.ctx, agent.principal, session_id, "骚扰")
    assert not session["invalid"]  # the shop's blacklisting counts once a reviewer upholds it
    with pytest.raises(Forbidden) as refused:
        await send.send(world.ctx, buyer.principal, text("c1", "在吗", session_id=session_id))
    assert refused.value.code == "blacklisted"
    listed = await feedback.list_blacklist(world.ctx, world.owner.principal)
    assert [(b["consumer_id"], b["reason"]) for b in listed] == [(buyer.principal.id, "骚扰")]
    # The consumer's report makes it invalid at once; the upheld blacklisting is a second
    # reason, recorded as its own event.
    await feedback.report(world.ctx, buyer.principal, session_id, "客服态度差")
    reviewer = Principal("staff", 1, "reviewer", "审核员")
    (pending,) = await enforcement.list_reports(
        world.ctx, reviewer, "pending", None, "blacklist", None, 10
    )
    await enforcement.decide_report(world.ctx, reviewer, pending["id"], "upheld", "属实")
    events = await history.session_events(world.ctx, world.owner.principal, session_id)
    assert [e["reason"] for e in events if e["type"] == "flagged"] == ["reported", "blacklisted"]
