"""The robot's mode (docs/rules.md 2.2.1): read and set by the shop, switched by the rule.

``RobotWatch`` is the node's live side of the rule. It follows the committed message path
(``Context.observers``: no query per message) in a ``RoundWatch`` of every shop's rolling
window, rebuilt from the store at start-up; a tick expires unanswered rounds into the window
and applies the rule's decisions, each in one write job that re-reads the stored mode, so
several nodes never switch twice. Each session closing is noted for the 10-in-a-row run,
whose state lives in the store.

Across nodes (``FEIGE_REDIS_URL`` set) a node sees only its own commits, and a round's
buyer message and its answer may be committed on two nodes: a window fed from one node's
commits would count answered rounds as unanswered. There the windows are the store's alone
(``shared``): the holder of the ``robot_window`` lease rebuilds them from the store every
``robot_window_rebuild_seconds`` (10 s when 0) and applies the rule's decisions right after,
so one node decides, on every node's rounds, and another takes over when it dies; every
other node rebuilds its figure from the store when asked for it and it is older than that.
"""

from __future__ import annotations

import asyncio
import multiprocessing
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field

import structlog

from feige.domain import US_PER_SECOND, Row, SenderRole
from feige.metrics import AssessmentConfig
from feige.metrics.rolling import MODES, RoundWatch, SwitchRule
from feige.metrics.timeutil import LocalClock
from feige.services.assessment.summaries import metrics_config
from feige.services.context import Context, Outbox, Principal
from feige.services.errors import Forbidden, Invalid, NotFound
from feige.services.lib import leases, robot_mode
from feige.services.lib.watch_loop import step_on_wake

log = structlog.get_logger("feige.robot")

_STAFF_REPLIES = frozenset({SenderRole.AGENT.value, SenderRole.ROBOT_ASSIST.value})
_HUMAN_CHANGES = frozenset({"queued", "offline", "assigned", "transferred"})
# Across nodes: the lease of the node that decides, and how often it rebuilds by default.
WINDOW_LEASE = "robot_window"
SHARED_REBUILD_SECONDS = 10.0


def _readable_shop(principal: Principal, shop_id: int | None) -> int:
    """Members read their own shop's robot; platform staff any shop (named)."""
    if principal.is_staff:
        if shop_id is None:
            raise Invalid(detail="shop_id")
        return shop_id
    if principal.kind != "member" or principal.shop_id is None:
        raise Forbidden()
    if shop_id is not None and shop_id != principal.shop_id:
        raise NotFound(what="shop")
    return principal.shop_id


async def get_mode(ctx: Context, principal: Principal, shop_id: int | None) -> Row:
    """The shop's mode, and the rolling figure this node holds for it."""
    shop = _readable_shop(principal, shop_id)
    view = await ctx.db.read(robot_mode.current_mode, shop, ctx.clock())
    watch: RobotWatch | None = ctx.robot_watch
    if watch is not None:
        await watch.fresh()
    view["window"] = watch.figure(shop) if watch is not None else None
    return view


async def set_mode(ctx: Context, principal: Principal, shop_id: int | None, mode: str) -> Row:
    """Owners and managers choose their shop's mode (not while the rule holds assist on)."""
    if not principal.is_supervisor:
        raise Forbidden()
    shop = _readable_shop(principal, shop_id)
    if mode not in MODES:
        raise Invalid(detail="mode")
    view = await ctx.write_and_publish(
        robot_mode.set_by_hand, principal.id, shop, mode, ctx.clock(), ctx.settings
    )
    if ctx.robot_watch is not None:
        ctx.robot_watch.follow(view)
    return view


async def list_switches(
    ctx: Context, principal: Principal, shop_id: int | None, limit: int
) -> list[Row]:
    shop = _readable_shop(principal, shop_id)
    return await ctx.db.read(robot_mode.switch_records, shop, limit)


# --- the node's live watch --------------------------------------------------------------------


def switch_rule(ctx: Context) -> SwitchRule:
    s = ctx.settings
    return SwitchRule(
        span_seconds=s.robot_window_seconds,
        min_rounds=s.robot_window_min_rounds,
        on_above_seconds=s.robot_switch_on_above_seconds,
        off_at_or_below_seconds=s.robot_switch_off_at_or_below_seconds,
        off_after_seconds=s.robot_switch_off_after_seconds,
        cap_seconds=float(s.response_cap_seconds),
    )


def _in_hours(config: AssessmentConfig) -> Callable[[float], bool]:
    """Is a round starting at this time inside assessment hours (docs/rules.md §3)?"""
    clock = LocalClock(config.timezone)
    start, end = config.hours_start_s, config.hours_end_s

    def in_hours(ts: float) -> bool:
        return clock.in_window(round(ts * US_PER_SECOND), start, end)

    return in_hours


@dataclass
class RobotWatch:
    """The node's live side of rule 2.2.1 (see the module's docstring)."""

    ctx: Context
    config: AssessmentConfig
    rounds: RoundWatch
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    closes: list[tuple[int, int]] = field(default_factory=list)  # shop, session
    rebuilt_at: float = 0.0
    # The recent sessions' rounds as last read: a rebuild reads only those whose record grew.
    cache: robot_mode.RoundsCache = field(default_factory=robot_mode.RoundsCache)
    rebuilding: asyncio.Lock = field(default_factory=asyncio.Lock)
    # Several nodes: the rebuild runs in a worker process (robot_mode.recent_rounds_in_worker).
    worker: ProcessPoolExecutor | None = None
    # Several nodes: the windows come from the store only (see the module's docstring).
    shared: bool = False
    decided_at: float = 0.0  # when this node last tried the lease to decide (shared)

    @classmethod
    def of(cls, ctx: Context) -> RobotWatch:
        config = metrics_config(ctx.settings)
        rounds = RoundWatch(switch_rule(ctx), _in_hours(config))
        return cls(ctx, config, rounds, shared=bool(ctx.settings.redis_url))

    # --- following the committed message path (no I/O) ---------------------------------

    def observe(self, outbox: Outbox) -> None:
        """Called with every committed outbox, before its events go out: never lets a fault
        of its own reach the message path (the next rebuild or restart repairs the window)."""
        try:
            self._observe(outbox)
        except Exception:
            log.exception("robot_observe_failed")

    def _observe(self, outbox: Outbox) -> None:
        rounds = self.rounds
        for _, event in outbox.items:
            kind = event.get("type")
            if self.shared:  # only the closes, for the run of 10 (its state is in the store)
                if kind == "session" and event["change"] == "closed":
                    session = event["session"]
                    self.closes.append((session["shop_id"], session["id"]))
                    self.wake.set()
                continue
            if kind == "message":
                message = event["message"]
                role, session_id = message["sender_role"], message["session_id"]
                if role == SenderRole.BUYER:
                    rounds.buyer_message(session_id, message["created_at"])
                elif role in _STAFF_REPLIES:
                    rounds.staff_reply(session_id, message["created_at"])
                    known = rounds.sessions.get(session_id)
                    if known is not None and rounds.decide(known.shop, message["created_at"]):
                        self.wake.set()
            elif kind == "session":
                session, change = event["session"], event["change"]
                if change == "closed":
                    rounds.session_closed(session["id"])
                    self.closes.append((session["shop_id"], session["id"]))
                    self.wake.set()
                elif change == "flagged":
                    rounds.session_invalid(session["id"], session["shop_id"])
                elif change in _HUMAN_CHANGES and session["state"] != "closed":
                    rounds.human_session(session["id"], session["shop_id"], not session["invalid"])
            elif kind == "handover" and event.get("pending"):
                # The buyer's question the full-auto robot left unanswered: its round starts
                # at the human entry (docs/rules.md §3 (1)), after the routing event above.
                rounds.buyer_message(event["session_id"], event["at"])

    def follow(self, view: Row) -> None:
        """The store's mode after a switch (by hand or by rule)."""
        self.rounds.set_state(
            view["shop_id"], view["manual_mode"], view["rule_on"], view["rule_since"]
        )

    def figure(self, shop: int) -> Row:
        window = self.rounds.shops.get(shop)
        if window is None:
            return {"average_seconds": None, "rounds": 0, "calm_since": None}
        average = window.average
        return {
            "average_seconds": round(average, 3) if average is not None else None,
            "rounds": window.rounds,
            "calm_since": window.calm_since,
        }

    # --- from the store ----------------------------------------------------------------

    async def rebuild(self) -> None:
        """The windows as the store's recent rounds make them: at start-up, and (scale-out)
        every ``robot_window_rebuild_seconds``. One at a time: they share the cache."""
        async with self.rebuilding:
            await self._rebuild()

    async def _rebuild(self) -> None:
        now = self.ctx.clock()
        rule = self.rounds.rule
        since = now - rule.span_seconds - rule.off_after_seconds
        if self.shared:
            recent = await self._rebuild_in_worker(since, now)
        else:
            recent = await self.ctx.db.read(
                robot_mode.recent_rounds, since, now, self.config, self.cache
            )
        modes = await self.ctx.db.read(robot_mode.all_modes)
        fresh = RoundWatch(rule, self.rounds.in_hours)
        for view in modes:
            fresh.set_state(view["shop_id"], view["manual_mode"], view["rule_on"])
        for at, seconds, session, shop in recent.counted:
            fresh.counted(shop, at, seconds, session)
        fresh.advance(now)
        for session, shop, valid, start, assessed, closed in recent.sessions:
            fresh.open_round(session, shop, valid, start, assessed, closed)
        for view in modes:
            fresh.set_state(
                view["shop_id"], view["manual_mode"], view["rule_on"], view["rule_since"]
            )
        self.rounds = fresh
        self.rebuilt_at = now

    async def _rebuild_in_worker(self, since: float, now: float) -> robot_mode.RecentRounds:
        """The store's recent rounds, read in the worker process (started on first use; a
        worker that died is replaced on the next rebuild)."""
        if self.worker is None:
            self.worker = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
        url = self.ctx.settings.effective_database_url
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(
                self.worker, robot_mode.recent_rounds_in_worker, url, since, now, self.config
            )
        except BrokenProcessPool:
            self.stop_worker()
            raise

    def stop_worker(self) -> None:
        if self.worker is not None:
            self.worker.shutdown(wait=False, cancel_futures=True)
            self.worker = None

    async def step(self) -> None:
        """Note the closed sessions, let time pass, apply the rule's decisions."""
        ctx = self.ctx
        while self.closes:  # in close order; one that fails is logged and left to the weekly run
            shop, session = self.closes.pop(0)
            await ctx.write_and_publish(
                robot_mode.note_close, shop, session, self.config, ctx.clock()
            )
        if self.shared:
            if ctx.clock() - self.decided_at < self.every:
                return
            every = self.every
            self.decided_at = ctx.clock()
            if not await ctx.db.write(
                leases.hold, WINDOW_LEASE, ctx.node, ctx.clock(), max(3 * every, 5.0)
            ):
                return  # another node decides; this one's figure is rebuilt when asked
            await self.rebuild()
        else:
            every = ctx.settings.robot_window_rebuild_seconds
            if every > 0 and ctx.clock() - self.rebuilt_at >= every:
                await self.rebuild()
        now = ctx.clock()
        for decision in self.rounds.decisions(now):
            if decision.switch == "on" and not ctx.settings.robot_auto_switch:
                continue  # switched off by the operator: shops still held are let go when calm
            view = await ctx.write_and_publish(robot_mode.switch_by_rule, decision, now)
            self.follow(view)
            if view["rule_on"] != (decision.switch == "on"):
                continue  # the store said no (full-auto chosen, or another node was first)
            log.info(
                "robot_switched",
                shop=decision.shop,
                switch=decision.switch,
                average=decision.average,
                rounds=decision.rounds,
            )

    @property
    def every(self) -> float:
        """How often the windows are rebuilt from the store across nodes."""
        return self.ctx.settings.robot_window_rebuild_seconds or SHARED_REBUILD_SECONDS

    async def fresh(self) -> None:
        """Across nodes: the figure as the store makes it, at most ``every`` seconds old."""
        if not self.shared:
            return
        if self.ctx.clock() - self.rebuilt_at >= self.every:
            await self.rebuild()
        else:  # rounds left unanswered since the rebuild expire into the window on time
            self.rounds.advance(self.ctx.clock())

    async def run(self) -> None:
        tick = self.ctx.settings.robot_tick_seconds
        try:
            await step_on_wake(self.wake, tick, self.step, "robot_watch_failed")
        finally:
            self.stop_worker()


async def start_watch(ctx: Context) -> asyncio.Task[None]:
    """Rebuild the windows from the store, follow the message path, tick."""
    watch = RobotWatch.of(ctx)
    await watch.rebuild()
    ctx.robot_watch = watch
    ctx.observers.append(watch.observe)
    return asyncio.create_task(watch.run())
