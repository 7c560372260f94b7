"""The robot's assist mode on a node (docs/robot-modes.md, "Assist").

``AssistWatch`` follows the committed message path (``Context.observers``, no I/O there):
each buyer text is queued, and the watch's own task — off the message path — reads whether
the shop is assisted, ranks the shop robot's suggestions (the robot is built once per shop
and rebuilt when the shop's entries change) and pushes them to the session's agent. The top
suggestion, when confident (the robot's own threshold), is held as the round's pending
auto-reply: a tick sends it as ``robot_assist`` once ``robot_assist_reply_seconds`` passed
without a staff reply, after the compliance engine let it through.

Across nodes the timer lives on the node that committed the buyer's text. If that node dies
before it fires, ``recover_replies`` (run under the ``robot_turns`` lease by one node) finds
the round in the store — a buyer text still its session's last message, past its due time
— ranks it again and gives the reply; ``robot_assist.auto_reply`` holds the session's row
and gives it only while the round is still the buyer's, so never twice and never after an
agent answered (docs/robot-modes.md, "Scale-out").
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

import structlog

from feige.domain import MessageKind, ModerationAction, SenderRole
from feige.realtime import frames
from feige.robot import KnowledgeEntry, Robot, fill_answer
from feige.services import channels
from feige.services.context import Context, Outbox
from feige.services.lib import knowledge, robot_assist
from feige.services.lib.watch_loop import step_on_wake

log = structlog.get_logger("feige.robot")

_STAFF_REPLIES = frozenset({SenderRole.AGENT.value, SenderRole.ROBOT_ASSIST.value})
# After a buyer text wakes the watch, it waits this long for more before reading: under load
# each wake read the shops' modes on a reader thread again (hundreds of reads a second at
# 3,000 msg/s, docs/performance.md); 50 ms later a suggestion is no later to a person.
GATHER_SECONDS = 0.05
# Whether a shop's robot assists, as last read, is trusted this long (real seconds): a shop
# switched to assist gets its first suggestions at most this much later, and under load the
# modes are read once a second per shop, not on every step.
MODE_SECONDS = 1.0


@dataclass(frozen=True, slots=True)
class BuyerText:
    """A committed buyer text waiting for its suggestions."""

    session_id: int
    seq: int
    message_id: int
    text: str
    at: float


@dataclass(frozen=True, slots=True)
class PendingReply:
    """The robot's answer to a round, sent when nobody answered it in time."""

    seq: int
    at: float
    question: str
    text: str


@dataclass
class AssistWatch:
    """The node's assist side (see the module's docstring)."""

    ctx: Context
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    queued: list[BuyerText] = field(default_factory=list)
    pending: dict[int, PendingReply] = field(default_factory=dict)  # by session
    robots: dict[int, tuple[tuple[KnowledgeEntry, ...], Robot]] = field(default_factory=dict)
    modes: dict[int, tuple[float, bool]] = field(default_factory=dict)  # shop: read at, assists

    # --- following the committed message path (no I/O) ---------------------------------

    def observe(self, outbox: Outbox) -> None:
        """Called with every committed outbox; a fault here never reaches the message path."""
        try:
            for _, event in outbox.items:
                kind = event.get("type")
                if kind == "message":
                    self._message(event["message"])
                elif kind == "robot_mode":  # changed through this node: read it again now
                    self.modes.pop(int(event["shop_id"]), None)
        except Exception:
            log.exception("robot_assist_observe_failed")

    def _message(self, message: dict[str, Any]) -> None:
        role, session_id = message["sender_role"], message["session_id"]
        if role in _STAFF_REPLIES:
            self.pending.pop(session_id, None)
        elif role == SenderRole.BUYER:
            self.pending.pop(session_id, None)  # a new round: the old answer no longer fits
            if message["kind"] == MessageKind.TEXT:
                self.queued.append(
                    BuyerText(
                        session_id,
                        message["seq"],
                        message["id"],
                        message["content"]["text"],
                        message["created_at"],
                    )
                )
                self.wake.set()

    # --- off the message path ------------------------------------------------------------

    async def inputs(self, ids: list[int], shop_of: dict[int, int]) -> dict[int, Any]:
        """``assist_inputs`` for these sessions, trusting the shops' modes read in the last
        ``MODE_SECONDS``."""
        started = time.monotonic()
        known = {s: a for s, (at, a) in self.modes.items() if started - at < MODE_SECONDS}
        modes = dict(known)
        found: dict[int, Any] = await self.ctx.db.read(
            robot_assist.assist_inputs, ids, shop_of, self.ctx.clock(), modes
        )
        for shop, assists in modes.items():
            if shop not in known:
                self.modes[shop] = (started, assists)
        return found

    async def robot_of(self, shop_id: int, entries: tuple[KnowledgeEntry, ...]) -> Robot:
        """The shop's robot, rebuilt (in a thread) only when its entries changed."""
        cached = self.robots.get(shop_id)
        if cached is not None and cached[0] == entries:
            return cached[1]
        robot = await asyncio.to_thread(
            knowledge.robot_for, entries, self.ctx.settings.robot_word_vectors
        )
        self.robots[shop_id] = (entries, robot)
        return robot

    async def suggest(
        self, buyer: BuyerText, found: dict[str, Any] | None, push: bool = True
    ) -> None:
        """Rank the suggestions for one buyer text, push them (unless ``push`` is False: a
        round recovered from a dead node, whose agent had them then), hold a confident one.
        ``found``: what ``assist_inputs`` read for its session (None: no assist there)."""
        ctx = self.ctx
        if found is None:
            return
        robot = await self.robot_of(found["shop_id"], found["entries"])
        if robot.handover_reason(buyer.text) is not None:
            return  # the buyer asks for a person: no robot answer
        limit = ctx.settings.robot_assist_suggestions
        items: list[dict[str, Any]] = []
        for candidate in robot.suggestions(buyer.text, limit=limit):
            answer = fill_answer(candidate.entry.answer, found["context"])
            if answer is None:
                continue  # the session lacks a value the answer needs
            items.append(
                {
                    "question": candidate.entry.question,
                    "answer": answer,
                    "confidence": round(candidate.confidence, 4),
                }
            )
        if not items:
            return
        if push and found["agent_id"] is not None:
            await ctx.broker.publish(
                channels.suggestion_audience(found["agent_id"]),
                frames.suggestions(buyer.session_id, buyer.seq, buyer.message_id, items),
            )
        top = items[0]
        if top["confidence"] >= robot.config.threshold and buyer.session_id not in self.pending:
            self.pending[buyer.session_id] = PendingReply(
                buyer.seq, buyer.at, top["question"], top["answer"]
            )

    def _compliant(self, text: str, session_id: int) -> bool:
        """The robot's reply passes the compliance engine like an agent's message."""
        moderator = self.ctx.moderator
        if moderator is None:
            return True
        parties = self.ctx.session_parties.get(session_id)
        recipient = channels.account("consumer", parties[1]) if parties else None
        verdict = moderator.check_text(text, role=SenderRole.AGENT.value, recipient=recipient)
        return bool(verdict.action is ModerationAction.ALLOW)

    async def step(self) -> None:
        """Suggest for the queued buyer texts, then send the auto-replies now due."""
        ctx = self.ctx
        while self.queued:
            # Every text queued now in one read: under load a read per buyer text (four
            # queries on a reader thread) cost more than the rest of the send path's reads.
            batch, self.queued = self.queued, []
            ids = [buyer.session_id for buyer in batch]
            parties = ctx.session_parties
            shop_of = {i: parties[i][0] for i in ids if i in parties}
            try:
                found = await self.inputs(ids, shop_of)
            except Exception:
                log.exception("robot_suggest_failed", sessions=len(set(ids)))
                continue
            for buyer in batch:
                try:
                    await self.suggest(buyer, found.get(buyer.session_id))
                except Exception:  # one message's fault never stops the others
                    log.exception("robot_suggest_failed", session=buyer.session_id)
        now = ctx.clock()
        due = now - ctx.settings.robot_assist_reply_seconds
        for session_id, reply in list(self.pending.items()):
            if reply.at > due:
                continue
            del self.pending[session_id]
            if not self._compliant(reply.text, session_id):
                log.warning("robot_reply_refused", session=session_id, question=reply.question)
                continue
            sent = await ctx.write_and_publish(
                robot_assist.auto_reply, session_id, reply.seq, reply.question, reply.text, now
            )
            if sent is not None:
                log.info("robot_assist_replied", session=session_id, question=reply.question)

    async def run(self) -> None:
        tick = self.ctx.settings.robot_tick_seconds
        # Build the robot of a shop that keeps the platform's defaults as they are (most
        # shops) before the first buyer writes: it loads the segmenter's dictionary and reads
        # every default question, a second or two that the first suggestion would otherwise wait.
        try:
            await asyncio.to_thread(knowledge.robot_for, (), self.ctx.settings.robot_word_vectors)
        except Exception:
            log.exception("robot_warm_up_failed")
        await step_on_wake(self.wake, tick, self.step, "robot_assist_failed", GATHER_SECONDS)

    async def recover(self, rows: list[dict[str, Any]]) -> int:
        """Hold, as due now, the auto-replies of rounds read from the store (``rows``:
        ``unanswered_buyer_texts``) that this node does not have queued or pending itself;
        the next step sends them. Returns how many were held."""
        mine = {b.session_id for b in self.queued} | set(self.pending)
        buyers = [
            BuyerText(
                row["session_id"],
                row["seq"],
                row["message_id"],
                str((row["content"] or {}).get("text") or ""),
                row["created_at"],
            )
            for row in rows
            if row["session_id"] not in mine
        ]
        if not buyers:
            return 0
        shop_of = {row["session_id"]: row["shop_id"] for row in rows}
        ids = [buyer.session_id for buyer in buyers]
        found = await self.inputs(ids, shop_of)
        held = 0
        for buyer in buyers:
            try:
                await self.suggest(buyer, found.get(buyer.session_id), push=False)
            except Exception:
                log.exception("robot_suggest_failed", session=buyer.session_id)
                continue
            held += buyer.session_id in self.pending
        if held:
            self.wake.set()
        return held


async def recover_replies(ctx: Context) -> int:
    """Rounds whose auto-reply was due ``robot_turn_recovery_seconds`` ago and not given:
    the node that held its timer died (run on one node at a time, under the ``robot_turns``
    lease). Looks back far enough for the lease to pass to another node when its holder was
    the node that died (``max(3 × interval, 5 s)``, then a sweep), and no further: a round
    left unanswered for another reason (not confident, refused by the compliance engine) is
    ranked again by a few sweeps only. Returns how many replies were held."""
    watch: AssistWatch | None = ctx.robot_assist
    if watch is None:
        return 0
    now = ctx.clock()
    grace = ctx.settings.robot_turn_recovery_seconds
    before = now - ctx.settings.robot_assist_reply_seconds - grace
    since = before - max(8 * grace, 15.0)
    rows = await ctx.db.read(robot_assist.unanswered_buyer_texts, since, before, 500)
    held = await watch.recover(rows)
    if held:
        log.warning("robot_assist_replies_recovered", count=held)
    return held


def start_assist(ctx: Context) -> asyncio.Task[None]:
    """Follow the message path and tick."""
    watch = AssistWatch(ctx)
    ctx.robot_assist = watch
    ctx.observers.append(watch.observe)
    return asyncio.create_task(watch.run())
