"""The reviewer's side of enforcement (docs/enforcement.md): shop-side reports and
blacklistings reviewed before they leave the metrics (docs/rules.md §3 (2) note)."""

from __future__ import annotations

import asyncio

import structlog

from feige.domain import Row
from feige.services import assessment
from feige.services.context import Context, Principal
from feige.services.errors import Forbidden, Invalid, NotFound
from feige.services.lib import enforcement
from feige.services.lib.enforcement import DISMISSED, UPHELD

log = structlog.get_logger(__name__)
MAX_PAGE = 500


def _staff_only(principal: Principal) -> None:
    if not principal.is_staff:
        raise Forbidden()


def _reason(reason: str | None) -> str:
    reason = (reason or "").strip()
    if len(reason) > 500:
        raise Invalid(detail="reason ≤ 500")
    return reason


async def list_reports(
    ctx: Context,
    principal: Principal,
    status: str | None,
    shop_id: int | None,
    kind: str | None,
    before_id: int | None,
    limit: int,
) -> list[Row]:
    """Reviewers: reports and blacklistings, newest first, by status, shop and kind."""
    _staff_only(principal)
    return await ctx.db.read(
        enforcement.reports_for, status, shop_id, kind, before_id, max(1, min(limit, MAX_PAGE))
    )


async def report_evidence(ctx: Context, principal: Principal, report_id: int) -> Row:
    """Reviewers: a report with its session and latest messages, recalled ones with their
    originals."""
    _staff_only(principal)
    return await ctx.db.read(enforcement.report_evidence, report_id)


async def decide_report(
    ctx: Context, principal: Principal, report_id: int, decision: str, reason: str | None
) -> Row:
    """A reviewer upholds or dismisses a shop-side report or blacklisting; upheld, the
    session leaves the metrics and its weeks already assessed are assessed again."""
    _staff_only(principal)
    if decision not in (UPHELD, DISMISSED):
        raise Invalid(detail="decision: upheld | dismissed")
    report, span = await ctx.write_and_publish(
        enforcement.decide_report, principal, report_id, decision, _reason(reason), ctx.clock()
    )
    rerun: list[str] = []
    if span is not None:
        rerun = await assessment.rerun_assessed_weeks(ctx, report["shop_id"], span)
    return {**report, "weeks_reassessed": rerun}


def _shop_of(principal: Principal, shop_id: int | None) -> int:
    """Whose enforcement records a caller may read: staff any shop's (named), a shop's
    owners and managers their own (another shop's id answers 404, as if unknown)."""
    if principal.is_staff:
        if shop_id is None:
            raise Invalid(detail="shop_id required")
        return shop_id
    if not principal.is_supervisor or principal.shop_id is None:
        raise Forbidden()
    if shop_id is not None and shop_id != principal.shop_id:
        raise NotFound(what="shop")
    return principal.shop_id


async def standing(ctx: Context, principal: Principal, shop_id: int | None) -> Row:
    """The shop's points in the window, deposit balance and measures in effect now."""
    shop = _shop_of(principal, shop_id)
    policy = enforcement.policy_of(ctx.settings)
    return await ctx.db.read(enforcement.shop_standing, shop, policy, ctx.clock())


async def points_ledger(ctx: Context, principal: Principal, shop_id: int | None, limit: int) -> Row:
    shop = _shop_of(principal, shop_id)
    policy = enforcement.policy_of(ctx.settings)
    return await ctx.db.read(
        enforcement.points_ledger, shop, policy, ctx.clock(), max(1, min(limit, MAX_PAGE))
    )


async def deposit_ledger(
    ctx: Context, principal: Principal, shop_id: int | None, limit: int
) -> Row:
    shop = _shop_of(principal, shop_id)
    return await ctx.db.read(enforcement.deposit_ledger, shop, max(1, min(limit, MAX_PAGE)))


async def measures(
    ctx: Context, principal: Principal, shop_id: int | None, limit: int
) -> list[Row]:
    shop = _shop_of(principal, shop_id)
    return await ctx.db.read(
        enforcement.measures_of, shop, ctx.clock(), max(1, min(limit, MAX_PAGE))
    )


async def inbox(
    ctx: Context, principal: Principal, unread: bool, before_id: int | None, limit: int
) -> Row:
    """The shop's notifications (owners and managers), newest first."""
    shop = _shop_of(principal, None) if not principal.is_staff else None
    if shop is None:
        raise Forbidden()
    return await ctx.db.read(
        enforcement.inbox, shop, unread, before_id, max(1, min(limit, MAX_PAGE))
    )


async def mark_read(ctx: Context, principal: Principal, ids: list[int] | None) -> Row:
    """Mark the shop's notifications read (``ids`` None: all)."""
    if principal.is_staff:
        raise Forbidden()
    shop = _shop_of(principal, None)
    if ids is not None and not 1 <= len(ids) <= MAX_PAGE:
        raise Invalid(detail=f"ids: 1–{MAX_PAGE}")
    return await ctx.write_and_publish(enforcement.mark_read, shop, ids, ctx.clock())


async def decide_many(
    ctx: Context,
    principal: Principal,
    items: list[tuple[str, int]],
    uphold: bool,
    reason: str | None,
) -> list[Row]:
    """A reviewer's bulk decision: violations confirmed or dismissed, shop-side reports and
    blacklistings upheld or dismissed, one answer per item; weeks already assessed whose
    sessions changed are assessed again."""
    _staff_only(principal)
    if not 1 <= len(items) <= 100:
        raise Invalid(detail="items: 1–100")
    results = await ctx.write_and_publish(
        enforcement.decide_many,
        principal,
        items,
        uphold,
        _reason(reason),
        enforcement.policy_of(ctx.settings),
        ctx.clock(),
    )
    for result in results:
        span = result.pop("span", None)
        if span is not None:
            shop = await ctx.db.read(enforcement.report_shop, result["id"])
            result["weeks_reassessed"] = await assessment.rerun_assessed_weeks(ctx, shop, span)
    return results


async def consumer_record(ctx: Context, principal: Principal, consumer_id: int) -> Row:
    """Reviewers: a consumer's mutes, bans and violations."""
    _staff_only(principal)
    return await ctx.db.read(enforcement.consumer_record, consumer_id, ctx.clock())


async def lift_consumer_restriction(ctx: Context, principal: Principal, restriction_id: int) -> Row:
    """Reviewers lift a consumer's mute or ban at once."""
    _staff_only(principal)
    return await ctx.write_and_publish(
        enforcement.lift_consumer_restriction, principal, restriction_id, ctx.clock()
    )


async def violation_queue(
    ctx: Context, principal: Principal, filters: Row, before_id: int | None, limit: int
) -> list[Row]:
    """Reviewers: violation records with the original, filtered, newest first."""
    _staff_only(principal)
    return await ctx.db.read(
        enforcement.violation_queue, filters, before_id, max(1, min(limit, MAX_PAGE))
    )


async def violation_evidence(ctx: Context, principal: Principal, violation_id: int) -> Row:
    """Reviewers: a record with its evidence — the original, the spans and clauses, and the
    message in its context."""
    _staff_only(principal)
    return await ctx.db.read(enforcement.violation_evidence, violation_id)


# --- what restricts a shop now, for its members; a consumer's own standing ---------------------


async def restrictions(ctx: Context, principal: Principal, shop_id: int | None) -> Row:
    """Every member of a shop (agents too) reads what restricts the shop now — the features
    refused and until when, the robot forced on — so a composer holds its buttons before a
    send is refused; staff name the shop."""
    if principal.is_staff:
        if shop_id is None:
            raise Invalid(detail="shop_id required")
        shop = shop_id
    elif principal.kind == "member" and principal.shop_id is not None:
        if shop_id is not None and shop_id != principal.shop_id:
            raise NotFound(what="shop")
        shop = principal.shop_id
    else:
        raise Forbidden()
    return await ctx.db.read(enforcement.shop_restrictions, shop, ctx.clock())


async def my_standing(ctx: Context, principal: Principal) -> Row:
    """A consumer's own standing: muted until, banned, why, and how to appeal."""
    if principal.kind != "consumer":
        raise Forbidden()
    return await ctx.db.read(enforcement.consumer_standing, principal.id, ctx.clock())


# --- measures ending by the clock ----------------------------------------------------------------


async def tell_ended(ctx: Context) -> list[Row]:
    """One pass: every measure whose time ran out told once (inbox, sockets, webhook). A
    read first: the writer is taken only when a measure has ended."""
    if not await ctx.db.read(enforcement.measures_due, ctx.clock()):
        return []
    return await ctx.write_and_publish(enforcement.tell_ended, ctx.clock())


async def end_watch(ctx: Context) -> None:
    """The node's loop telling measures that end on their own (a restriction, the robot
    forced on); nodes share it: each end is claimed once."""
    while True:
        try:
            await tell_ended(ctx)
        except Exception:  # keep the loop alive; the next tick retries
            log.exception("measure_end_watch_failed")
        await asyncio.sleep(ctx.settings.webhook_poll_seconds)
