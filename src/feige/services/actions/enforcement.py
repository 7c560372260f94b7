"""The reviewer's side of enforcement (docs/enforcement.md): shop-side reports and
blacklistings reviewed before they leave the metrics (docs/rules.md §3 (2) note)."""

from __future__ import annotations

from feige.domain import Row
from feige.services import assessment
from feige.services.context import Context, Principal
from feige.services.errors import Forbidden, Invalid
from feige.services.lib import enforcement
from feige.services.lib.enforcement import DISMISSED, UPHELD

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
