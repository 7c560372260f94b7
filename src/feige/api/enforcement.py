"""Enforcement (docs/enforcement.md): the reviewer queue, and the shop's side of measures.
Each route validates, calls one action, returns its result."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, File, Query, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, Field

from feige.api import ratelimit
from feige.api.checks import PathId, QueryId, refuse_odd_input
from feige.api.deps import Caller, Ctx
from feige.services.actions import appeals, audit, enforcement, images, webhooks

router = APIRouter(dependencies=[Depends(refuse_odd_input)], tags=["enforcement"])
Json = dict[str, Any]
Limit = Annotated[int, Query(ge=1, le=500)]


class ReportDecisionIn(BaseModel):
    decision: Literal["upheld", "dismissed"]
    reason: str = Field(default="", max_length=500)


@router.get("/api/reviews/reports")
async def list_reports(
    ctx: Ctx,
    caller: Caller,
    status: Annotated[Literal["pending", "counted", "upheld", "dismissed"] | None, Query()] = None,
    kind: Annotated[Literal["report", "blacklist"] | None, Query()] = None,
    shop_id: QueryId = None,
    before_id: QueryId = None,
    limit: Limit = 100,
) -> list[Json]:
    """Reviewers: reports and blacklistings, newest first (page with ``before_id``). A
    shop's are ``pending`` until decided; a consumer's are ``counted`` at once."""
    return await enforcement.list_reports(ctx, caller, status, shop_id, kind, before_id, limit)


@router.get("/api/reviews/reports/{report_id}")
async def report_evidence(ctx: Ctx, caller: Caller, report_id: PathId) -> Json:
    """Reviewers: one report or blacklisting with its evidence — the session and its latest
    messages, a message recalled for a violation with its original (``original``)."""
    return await enforcement.report_evidence(ctx, caller, report_id)


@router.post("/api/reviews/reports/{report_id}/decision")
async def decide_report(
    ctx: Ctx, caller: Caller, report_id: PathId, body: ReportDecisionIn
) -> Json:
    """Reviewers: uphold (the session leaves the metrics; weeks already assessed are
    assessed again) or dismiss a shop-side report or blacklisting."""
    return await enforcement.decide_report(ctx, caller, report_id, body.decision, body.reason)


# --- the audit log (platform admins) -------------------------------------------------------------


class AuditFilters(BaseModel):
    actor_kind: Literal["staff", "member", "system"] | None = None
    actor_id: int | None = Field(default=None, ge=1, le=2**53)
    action: str | None = Field(default=None, max_length=48)
    shop_id: int | None = Field(default=None, ge=1, le=2**53)
    record_kind: str | None = Field(default=None, max_length=32)
    record_id: str | None = Field(default=None, max_length=64)
    since: float | None = Field(
        default=None, ge=0, le=1e11, allow_inf_nan=False, description="epoch seconds, inclusive"
    )
    until: float | None = Field(
        default=None, ge=0, le=1e11, allow_inf_nan=False, description="epoch seconds, exclusive"
    )
    before_id: int | None = Field(default=None, ge=1, le=2**53)

    def columns(self) -> dict[str, Any]:
        return self.model_dump(exclude={"since", "until", "before_id"}, exclude_none=True)


AuditQuery = Annotated[AuditFilters, Query()]


@router.get("/api/platform/audit")
async def audit_log(ctx: Ctx, caller: Caller, q: AuditQuery, limit: Limit = 100) -> list[Json]:
    """Platform admins: every change by staff, owners and managers, newest first (who, what,
    which record, before/after, when, from where). Page with ``before_id``."""
    return await audit.query(ctx, caller, q.columns(), q.since, q.until, q.before_id, limit)


@router.get("/api/platform/audit/export", response_class=Response)
async def audit_export(ctx: Ctx, caller: Caller, q: AuditQuery) -> Response:
    """Platform admins: the same entries as CSV."""
    text = await audit.export_csv(ctx, caller, q.columns(), q.since, q.until, q.before_id)
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": 'attachment; filename="feige-audit.csv"'},
    )


# --- the reviewer queue: bulk decisions, consumers -----------------------------------------------


class BulkItem(BaseModel):
    kind: Literal["violation", "report"]
    id: int = Field(ge=1, le=2**53)


class BulkDecisionIn(BaseModel):
    items: list[BulkItem] = Field(min_length=1, max_length=100)
    decision: Literal["uphold", "dismiss"]
    reason: str = Field(default="", max_length=500)


@router.post("/api/reviews/bulk")
async def decide_many(ctx: Ctx, caller: Caller, body: BulkDecisionIn) -> list[Json]:
    """Reviewers: one decision over many violations (confirmed / dismissed) and shop-side
    reports or blacklistings (upheld / dismissed); one answer per item, a refused item
    (already decided, unknown) answered with its error."""
    items: list[tuple[str, int]] = [(item.kind, item.id) for item in body.items]
    return await enforcement.decide_many(ctx, caller, items, body.decision == "uphold", body.reason)


@router.get("/api/reviews/consumers/{consumer_id}")
async def consumer_record(ctx: Ctx, caller: Caller, consumer_id: PathId) -> Json:
    """Reviewers: a consumer's record — its mutes, bans and violations."""
    return await enforcement.consumer_record(ctx, caller, consumer_id)


@router.post("/api/reviews/consumer-restrictions/{restriction_id}/lift")
async def lift_consumer_restriction(ctx: Ctx, caller: Caller, restriction_id: PathId) -> Json:
    """Reviewers: lift a consumer's mute or ban at once."""
    return await enforcement.lift_consumer_restriction(ctx, caller, restriction_id)


# --- a shop's standing, ledgers, measures and inbox -----------------------------------------------


@router.get("/api/enforcement/standing")
async def standing(ctx: Ctx, caller: Caller, shop_id: QueryId = None) -> Json:
    """Owners and managers (their shop), staff (``shop_id``): points in the rolling window,
    deposit balance, the measures in effect and the chat features they refuse."""
    return await enforcement.standing(ctx, caller, shop_id)


@router.get("/api/enforcement/restrictions")
async def restrictions(ctx: Ctx, caller: Caller, shop_id: QueryId = None) -> Json:
    """Every member of the shop (agents too), staff (``shop_id``): what restricts the shop
    now — the chat features refused and until when (``holds``), until when the robot is
    forced on, the measures in effect with their cause. Live: the ``restrictions`` event."""
    return await enforcement.restrictions(ctx, caller, shop_id)


@router.get("/api/me/standing")
async def my_standing(ctx: Ctx, caller: Caller) -> Json:
    """Consumers: their own standing — ``ok``, ``muted`` (until when) or ``banned`` — why
    (the violation's categories) and how to appeal."""
    return await enforcement.my_standing(ctx, caller)


@router.get("/api/enforcement/points")
async def points_ledger(
    ctx: Ctx, caller: Caller, shop_id: QueryId = None, limit: Limit = 100
) -> Json:
    """The violation points ledger, each entry naming its source (violation, assessment
    measure, appeal reversal), and the running total over the window."""
    return await enforcement.points_ledger(ctx, caller, shop_id, limit)


@router.get("/api/enforcement/deposit")
async def deposit_ledger(
    ctx: Ctx, caller: Caller, shop_id: QueryId = None, limit: Limit = 100
) -> Json:
    """The deposit ledger (cents; withholdings negative, reversals positive) and balance."""
    return await enforcement.deposit_ledger(ctx, caller, shop_id, limit)


@router.get("/api/enforcement/measures")
async def measures(
    ctx: Ctx, caller: Caller, shop_id: QueryId = None, limit: Limit = 100
) -> list[Json]:
    """Measures imposed on the shop, newest first, with whether each is in effect now."""
    return await enforcement.measures(ctx, caller, shop_id, limit)


@router.get("/api/enforcement/inbox")
async def inbox(
    ctx: Ctx,
    caller: Caller,
    unread: bool = False,
    before_id: QueryId = None,
    limit: Limit = 50,
) -> Json:
    """Owners and managers: the shop's notifications (measures, decisions, appeals)."""
    return await enforcement.inbox(ctx, caller, unread, before_id, limit)


class MarkReadIn(BaseModel):
    ids: list[Annotated[int, Field(ge=1, le=2**53)]] | None = Field(
        default=None, min_length=1, max_length=500, description="None: every notification"
    )


@router.post("/api/enforcement/inbox/read")
async def mark_read(ctx: Ctx, caller: Caller, body: MarkReadIn) -> Json:
    """Owners and managers: mark notifications read."""
    return await enforcement.mark_read(ctx, caller, body.ids)


@router.get("/api/platform/webhooks")
async def webhook_outbox(
    ctx: Ctx, caller: Caller, delivered: bool | None = None, limit: Limit = 100
) -> list[Json]:
    """Platform admins: the marketplace webhook's outbox — events, attempts, last error."""
    return await webhooks.outbox(ctx, caller, delivered, limit)


# --- appeals -----------------------------------------------------------------------------------


class AppealIn(BaseModel):
    target_kind: Literal["violation", "measure"]
    target_id: int = Field(ge=1, le=2**53)
    text: str = Field(min_length=1, max_length=2000)
    image_ids: list[Annotated[str, Field(min_length=1, max_length=32)]] = Field(
        default_factory=list,
        max_length=9,
        description=(
            "The shop's uploads shown as evidence: POST /api/enforcement/appeal-images (any "
            "appeal), or an image of the record's session (POST /api/sessions/{id}/images)."
        ),
    )


class AppealDecisionIn(BaseModel):
    decision: Literal["upheld", "rejected"]
    reason: str = Field(min_length=1, max_length=500)


@router.post("/api/enforcement/appeal-images")
async def upload_appeal_image(
    ctx: Ctx, caller: Caller, file: Annotated[UploadFile, File()]
) -> Json:
    """Owners and managers: an image of evidence for an appeal of their shop (any appeal,
    one against a failed week's measure too), checked like any upload (size, type, pixels).
    Name its ``id`` in ``image_ids``; only the shop's owners and managers and platform
    reviewers can open it; unused, it is swept like any upload nothing sent."""
    limit = ctx.settings.max_image_bytes
    data = await file.read(limit + 1)
    await ratelimit.limiter_of(ctx).check_upload(caller, min(len(data), limit))
    return await images.upload_appeal_evidence(ctx, caller, data)


@router.post("/api/enforcement/appeals")
async def file_appeal(ctx: Ctx, caller: Caller, body: AppealIn) -> Json:
    """Owners and managers: appeal a confirmed violation or a measure of their shop, once,
    within the policy's days (7 by default), with text and images."""
    return await appeals.file(
        ctx, caller, body.target_kind, body.target_id, body.text, body.image_ids
    )


@router.get("/api/enforcement/appeals")
async def list_appeals(
    ctx: Ctx,
    caller: Caller,
    status: Annotated[Literal["pending", "upheld", "rejected"] | None, Query()] = None,
    shop_id: QueryId = None,
    before_id: QueryId = None,
    limit: Limit = 100,
) -> list[Json]:
    """Reviewers: every shop's appeals; owners and managers: their shop's. Newest first."""
    return await appeals.list_appeals(ctx, caller, status, shop_id, before_id, limit)


@router.post("/api/reviews/appeals/{appeal_id}/decision")
async def decide_appeal(
    ctx: Ctx, caller: Caller, appeal_id: PathId, body: AppealDecisionIn
) -> Json:
    """Reviewers (never the one whose decision is appealed): grant — the points, deposit
    withheld and measures are reversed and the weeks touched reassessed — or reject."""
    return await appeals.decide(ctx, caller, appeal_id, body.decision, body.reason)


# --- the reviewer queue: violations with filters and evidence ------------------------------------


@router.get("/api/reviews/violations")
async def violation_queue(
    ctx: Ctx,
    caller: Caller,
    status: Annotated[Literal["pending", "confirmed", "dismissed"] | None, Query()] = None,
    shop_id: QueryId = None,
    kind: Annotated[Literal["message", "no_human_reply"] | None, Query()] = None,
    sender_role: Annotated[Literal["buyer", "agent"] | None, Query()] = None,
    category: Annotated[str | None, Query(max_length=32)] = None,
    before_id: QueryId = None,
    limit: Limit = 100,
) -> list[Json]:
    """Reviewers: violation records with the original, newest first (page with
    ``before_id``), by status, shop, kind, sender role and category."""
    filters = {
        "status": status,
        "shop_id": shop_id,
        "kind": kind,
        "sender_role": sender_role,
        "category": category,
    }
    return await enforcement.violation_queue(ctx, caller, filters, before_id, limit)


@router.get("/api/reviews/violations/{violation_id}")
async def violation_evidence(ctx: Ctx, caller: Caller, violation_id: PathId) -> Json:
    """Reviewers: one record with its evidence — the original, the engine's spans and
    clauses, the session, and the messages around the flagged one."""
    return await enforcement.violation_evidence(ctx, caller, violation_id)
