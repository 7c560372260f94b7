"""Violation records: reviewers read and decide them; a shop's supervisors read their own."""

from __future__ import annotations

from feige.domain import Row
from feige.services.context import Context, Principal
from feige.services.errors import Forbidden, Invalid
from feige.services.lib import enforcement, moderation_records
from feige.services.lib.moderation_records import CONFIRMED, DISMISSED


async def list_violations(
    ctx: Context, principal: Principal, status: str | None, shop_id: int | None, limit: int
) -> list[Row]:
    """Reviewers see every record with the original; a shop's supervisors see their shop's
    records without it."""
    if principal.is_staff:
        with_original = True
    elif principal.is_supervisor:
        shop_id, with_original = principal.shop_id, False
    else:
        raise Forbidden()
    return await ctx.db.read(
        moderation_records.violations_for, status, shop_id, max(1, min(limit, 500)), with_original
    )


async def review(ctx: Context, principal: Principal, violation_id: int, decision: str) -> Row:
    """A reviewer confirms or dismisses a pending record (docs/rules.md §4)."""
    if not principal.is_staff:
        raise Forbidden()
    if decision not in (CONFIRMED, DISMISSED):
        raise Invalid(detail="decision: confirmed | dismissed")
    # Confirmed: recalled, points and measures, or the consumer muted (docs/enforcement.md).
    return await ctx.write_and_publish(
        enforcement.review_violation,
        principal,
        violation_id,
        decision,
        enforcement.policy_of(ctx.settings),
        ctx.clock(),
    )
