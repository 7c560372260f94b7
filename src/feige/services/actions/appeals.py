"""Appeals (docs/enforcement.md, "Appeals"): a shop's owners and managers appeal a confirmed
violation or a measure once, within the policy's days, with text and images; a reviewer
other than the one who decided grants or rejects it with a reason. Granted, the reversal
(points, deposit, measures) is followed by a reassessment of the weeks it touches."""

from __future__ import annotations

from feige.domain import Row
from feige.services import assessment
from feige.services.context import Context, Principal
from feige.services.errors import Forbidden, Invalid, NotFound
from feige.services.lib import appeals, enforcement
from feige.services.lib.appeals import REJECTED, TARGETS, UPHELD

MAX_TEXT = 2000
MAX_IMAGES = 9


async def file(
    ctx: Context,
    principal: Principal,
    target_kind: str,
    target_id: int,
    text: str,
    image_ids: list[str],
) -> Row:
    if not principal.is_supervisor:
        raise Forbidden()
    if target_kind not in TARGETS:
        raise Invalid(detail="target_kind: violation | measure")
    text = (text or "").strip()
    if not 1 <= len(text) <= MAX_TEXT:
        raise Invalid(detail=f"text 1–{MAX_TEXT}")
    if len(image_ids) > MAX_IMAGES or len(set(image_ids)) != len(image_ids):
        raise Invalid(detail=f"images: at most {MAX_IMAGES}, each once")
    return await ctx.write_and_publish(
        appeals.file_appeal,
        principal,
        target_kind,
        target_id,
        text,
        image_ids,
        enforcement.policy_of(ctx.settings),
        ctx.clock(),
    )


async def list_appeals(
    ctx: Context,
    principal: Principal,
    status: str | None,
    shop_id: int | None,
    before_id: int | None,
    limit: int,
) -> list[Row]:
    """Reviewers: every shop's (``shop_id`` filters); owners and managers: their shop's."""
    if principal.is_supervisor:
        if shop_id is not None and shop_id != principal.shop_id:
            raise NotFound(what="shop")
        shop_id = principal.shop_id
    elif not principal.is_staff:
        raise Forbidden()
    return await ctx.db.read(
        appeals.appeals_for, status, shop_id, before_id, max(1, min(limit, 500))
    )


async def decide(
    ctx: Context, principal: Principal, appeal_id: int, decision: str, reason: str
) -> Row:
    if not principal.is_staff:
        raise Forbidden()
    if decision not in (UPHELD, REJECTED):
        raise Invalid(detail="decision: upheld | rejected")
    reason = (reason or "").strip()
    if not 1 <= len(reason) <= 500:
        raise Invalid(detail="reason 1–500")
    view, rerun = await ctx.write_and_publish(
        appeals.decide_appeal,
        principal,
        appeal_id,
        decision,
        reason,
        enforcement.policy_of(ctx.settings),
        ctx.clock(),
    )
    weeks: list[str] = []
    if rerun is not None and rerun.get("span"):
        weeks = await assessment.rerun_assessed_weeks(ctx, rerun["shop_id"], rerun["span"])
    elif rerun is not None and rerun.get("weeks"):
        weeks = await assessment.rerun_weeks(ctx, rerun["shop_id"], rerun["weeks"])
    return {**view, "weeks_reassessed": weeks}
