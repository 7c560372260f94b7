"""Enforcement (docs/enforcement.md): the reviewer queue, and the shop's side of measures.
Each route validates, calls one action, returns its result."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field

from feige.api.checks import PathId, QueryId, refuse_odd_input
from feige.api.deps import Caller, Ctx
from feige.services.actions import audit, enforcement

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


@router.post("/api/reviews/reports/{report_id}/decision")
async def decide_report(
    ctx: Ctx, caller: Caller, report_id: PathId, body: ReportDecisionIn
) -> Json:
    """Reviewers: uphold (the session leaves the metrics; weeks already assessed are
    assessed again) or dismiss a shop-side report or blacklisting."""
    return await enforcement.decide_report(ctx, caller, report_id, body.decision, body.reason)


# --- the audit log (platform admins) -------------------------------------------------------------


class AuditFilters(BaseModel):
    actor_kind: Literal["staff", "member"] | None = None
    actor_id: int | None = Field(default=None, ge=1, le=2**53)
    action: str | None = Field(default=None, max_length=48)
    shop_id: int | None = Field(default=None, ge=1, le=2**53)
    record_kind: str | None = Field(default=None, max_length=32)
    record_id: str | None = Field(default=None, max_length=64)
    since: float | None = Field(default=None, description="epoch seconds, inclusive")
    until: float | None = Field(default=None, description="epoch seconds, exclusive")
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
