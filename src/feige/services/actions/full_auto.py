"""The full-auto robot on a node (docs/robot-modes.md, "Full-auto"), and the requests around
it: the buyer's 转人工 button, the shop's interception words.

``FullAutoWatch`` follows the committed message path (``Context.observers``, no I/O there):
the consumer's send job marks each buyer message in a session the robot serves (an outbox
item with no audience, ``full_auto.ROBOT_TURN``). The watch's own task — off the message path,
in arrival order — reads what the robot needs (one read job), decides (the pure
``feige.robot.full_auto.decide``), lets the compliance engine check an answer, and writes the
turn in one job that re-reads the session: an answer, an unanswered question, or a hand-over.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import structlog

from feige.domain import ModerationAction, Row, SenderRole
from feige.robot import Robot
from feige.robot import full_auto as decisions
from feige.services import channels
from feige.services.context import Context, Outbox, Principal
from feige.services.errors import Forbidden, Invalid, NotFound
from feige.services.lib import full_auto, knowledge
from feige.services.lib.watch_loop import step_on_wake

log = structlog.get_logger("feige.robot")


@dataclass(frozen=True, slots=True)
class BuyerTurn:
    session_id: int
    shop_id: int
    seq: int
    text: str | None  # None: an image or a card, which the robot cannot read


@dataclass
class FullAutoWatch:
    """The node's full-auto side (see the module's docstring)."""

    ctx: Context
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    queued: list[BuyerTurn] = field(default_factory=list)

    def observe(self, outbox: Outbox) -> None:
        """Called with every committed outbox; a fault here never reaches the message path."""
        try:
            for _, event in outbox.items:
                if event.get("type") == full_auto.ROBOT_TURN:
                    self.queued.append(
                        BuyerTurn(
                            event["session_id"], event["shop_id"], event["seq"], event["text"]
                        )
                    )
                    self.wake.set()
        except Exception:
            log.exception("robot_full_auto_observe_failed")

    async def robot_of(self, entries: tuple[Any, ...]) -> Robot:
        """The shop's robot (built in a thread once per distinct set of entries)."""
        return await asyncio.to_thread(knowledge.robot_for, entries)

    def _compliant(self, text: str, session_id: int) -> bool:
        """The robot's answer passes the compliance engine like an agent's message."""
        moderator = self.ctx.moderator
        if moderator is None:
            return True
        parties = self.ctx.session_parties.get(session_id)
        recipient = channels.account("consumer", parties[1]) if parties else None
        verdict = moderator.check_text(text, role=SenderRole.AGENT.value, recipient=recipient)
        return bool(verdict.action is ModerationAction.ALLOW)

    async def turn(self, buyer: BuyerTurn) -> Row | None:
        """The robot's turn on one buyer message."""
        ctx = self.ctx
        found = await ctx.db.read(full_auto.turn_input, buyer.session_id)
        if found is None:
            return None  # handed over meanwhile, or closed
        if not found["full_auto"]:
            turn = decisions.Turn("handover", reason=decisions.MODE_CHANGED)
        else:
            robot = await self.robot_of(found["entries"])
            turn = decisions.decide(robot, buyer.text, found["context"], found["words"])
            if turn.kind == "answer" and not self._compliant(turn.text or "", buyer.session_id):
                log.warning("robot_reply_refused", session=buyer.session_id, question=turn.question)
                turn = decisions.Turn("miss", question=turn.question)
        done: Row | None = await ctx.write_and_publish(
            full_auto.robot_turn, buyer.session_id, buyer.seq, turn, ctx.settings, ctx.clock()
        )
        if done is not None:
            log.info(
                "robot_full_auto_turn",
                session=buyer.session_id,
                kind=turn.kind,
                reason=turn.reason,
                question=turn.question,
            )
        return done

    async def step(self) -> None:
        while self.queued:
            buyer = self.queued.pop(0)
            try:
                await self.turn(buyer)
            except Exception:  # one message's fault never stops the others
                log.exception("robot_full_auto_failed", session=buyer.session_id)

    async def run(self) -> None:
        tick = self.ctx.settings.robot_tick_seconds
        await step_on_wake(self.wake, tick, self.step, "robot_full_auto_watch_failed")


async def recover_turns(ctx: Context) -> int:
    """Buyer messages to the robot that no turn took within ``robot_turn_recovery_seconds``
    (the node that committed them died before the robot's turn, or its queue was lost): this
    node takes them (run on one node at a time, under a lease; the turn's job takes each
    once, ``robot_sessions.last_turn_seq``). Returns how many were queued."""
    watch: FullAutoWatch | None = ctx.robot_full_auto
    if watch is None:
        return 0
    now = ctx.clock()
    grace = ctx.settings.robot_turn_recovery_seconds
    since = now - max(ctx.settings.session_idle_close_seconds, grace * 2)
    pending = await ctx.db.read(full_auto.pending_turns, since, now - grace, 500)
    queued = {(t.session_id, t.seq) for t in watch.queued}
    added = 0
    for row in pending:
        if (row["session_id"], row["seq"]) in queued:
            continue
        watch.queued.append(BuyerTurn(row["session_id"], row["shop_id"], row["seq"], row["text"]))
        added += 1
    if added:
        log.warning("robot_turns_recovered", count=added)
        watch.wake.set()
    return added


def start_full_auto(ctx: Context) -> asyncio.Task[None]:
    """Follow the message path."""
    watch = FullAutoWatch(ctx)
    ctx.robot_full_auto = watch
    ctx.observers.append(watch.observe)
    return asyncio.create_task(watch.run())


# --- requests ----------------------------------------------------------------------------


async def request_handover(ctx: Context, principal: Principal, session_id: int) -> Row:
    """The buyer presses 转人工 while the robot serves the session."""
    if principal.kind != "consumer":
        raise Forbidden()
    return await ctx.write_and_publish(
        full_auto.request_handover, principal, session_id, ctx.settings, ctx.clock()
    )


def _shop_of(principal: Principal, shop_id: int | None) -> int:
    """Members their own shop; platform staff name one."""
    if principal.is_staff:
        if shop_id is None:
            raise Invalid(detail="shop_id")
        return shop_id
    if principal.kind != "member" or principal.shop_id is None:
        raise Forbidden()
    if shop_id is not None and shop_id != principal.shop_id:
        raise NotFound(what="shop")
    return principal.shop_id


async def interception_words(ctx: Context, principal: Principal, shop_id: int | None) -> Row:
    return await ctx.db.read(full_auto.interception_view, _shop_of(principal, shop_id))


async def set_interception_words(
    ctx: Context, principal: Principal, shop_id: int | None, words: Any
) -> Row:
    """Owners and managers set their shop's words (an empty list: none at all)."""
    if not principal.is_supervisor:
        raise Forbidden()
    shop = _shop_of(principal, shop_id)
    cleaned = full_auto.clean_words(words)

    def job(conn: Any, outbox: Outbox) -> Row:
        return full_auto.put_interception_words(conn, shop, cleaned, ctx.clock())

    return await ctx.write_and_publish(job)
