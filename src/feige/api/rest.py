"""REST endpoints (see /docs). Each one validates, calls one service, returns its result."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, File, Query, Request, UploadFile
from fastapi.responses import FileResponse, StreamingResponse
from pydantic import BaseModel, Field

from feige.api import ratelimit
from feige.api.checks import BodyId, OptionalQuerySeq, PathId, QueryId, QuerySeq, refuse_odd_input
from feige.api.deps import Caller, Ctx, bearer, current_principal
from feige.api.streaming import streamed_assessment
from feige.realtime import frames
from feige.services import assessment
from feige.services.actions import (
    accounts,
    feedback,
    health,
    history,
    images,
    receipts,
    review,
    serving,
    sign_in,
)
from feige.services.actions import quick_replies as quick_reply_actions
from feige.services.actions import send as send_action
from feige.services.lib.views import principal_view

router = APIRouter(dependencies=[Depends(refuse_odd_input)])
Json = dict[str, Any]


class LoginIn(BaseModel):
    kind: Literal["staff", "member"] = "member"
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class ConsumerTokenIn(BaseModel):
    external_id: str = Field(min_length=1, max_length=128)
    nickname: str = Field(default="", max_length=64)
    ts: int
    signature: str = Field(min_length=1, max_length=128)


class DemoConsumerIn(BaseModel):
    external_id: str = Field(min_length=1, max_length=128)
    nickname: str = Field(default="", max_length=64)


class StatusIn(BaseModel):
    status: Literal["online", "break", "offline"]


class TransferIn(BaseModel):
    to_agent: BodyId


class RateIn(BaseModel):
    score: int = Field(ge=1, le=5)


class ReasonIn(BaseModel):
    reason: str = Field(default="", max_length=500)


class QuickReplyIn(BaseModel):
    title: str = Field(min_length=1, max_length=64)
    content: str = Field(min_length=1, max_length=4000)
    scope: Literal["shop", "personal"] = "personal"


class ReviewIn(BaseModel):
    decision: Literal["confirmed", "dismissed"]


class ShopIn(BaseModel):
    name: str = Field(min_length=1, max_length=128)
    owner_username: str = Field(min_length=3, max_length=64)
    owner_password: str = Field(min_length=6, max_length=256)


class ShopSettingsIn(BaseModel):
    routing_mode: Literal["priority", "even"] | None = None
    welcome_message: str | None = Field(default=None, max_length=500)


class MemberIn(BaseModel):
    username: str = Field(min_length=3, max_length=64)
    password: str = Field(min_length=6, max_length=256)
    display_name: str = Field(default="", max_length=64)
    role: Literal["agent", "manager"] = "agent"
    capacity: int | None = Field(default=None, ge=1, le=200)


class MemberPatch(BaseModel):
    capacity: int | None = Field(default=None, ge=1, le=200)
    active: bool | None = None
    password: str | None = Field(default=None, min_length=6, max_length=256)
    role: Literal["agent", "manager", "owner"] | None = None
    display_name: str | None = Field(default=None, min_length=1, max_length=64)


class StaffIn(BaseModel):
    username: str = Field(min_length=3, max_length=64)
    password: str = Field(min_length=6, max_length=256)
    display_name: str = Field(default="", max_length=64)
    role: Literal["reviewer", "admin"] = "reviewer"


class StaffPatch(BaseModel):
    active: bool | None = None
    password: str | None = Field(default=None, min_length=6, max_length=256)
    role: Literal["reviewer", "admin"] | None = None


class PasswordIn(BaseModel):
    current_password: str = Field(min_length=1, max_length=256)
    new_password: str = Field(min_length=6, max_length=256)


class SendIn(BaseModel):
    """The REST twin of the WebSocket ``send`` frame, for integrations without a socket."""

    client_id: str = Field(min_length=1, max_length=64)
    kind: str
    content: dict[str, Any]
    session_id: BodyId | None = None
    shop_id: BodyId | None = None
    entry: str | None = None
    entry_card: dict[str, Any] | None = None
    suggestion: str | None = Field(
        default=None, description="An agent's text sent from a robot suggestion: its question."
    )


# --- health and sign-in ------------------------------------------------------------------------


@router.get("/healthz", tags=["ops"])
async def healthz(ctx: Ctx) -> Json:
    return await health.health(ctx)


@router.post("/api/auth/login", tags=["auth"])
async def login(ctx: Ctx, request: Request, body: LoginIn) -> Json:
    """Failed sign-ins are limited per account and per client address (429 with
    Retry-After, growing while the failures go on); successful ones never count."""
    address = ratelimit.client_address(request.scope)
    async with ratelimit.limiter_of(ctx).login_attempt(body.kind, body.username, address):
        return await sign_in.login(ctx, body.kind, body.username, body.password)


@router.post("/api/integration/consumer-token", tags=["auth"])
async def consumer_token(ctx: Ctx, body: ConsumerTokenIn) -> Json:
    """The marketplace vouches for its user with HMAC-SHA256(platform_secret,
    "external_id\\nnickname\\nts") in hex; ``ts`` within five minutes."""
    return await sign_in.consumer_token(
        ctx, body.external_id, body.nickname, body.ts, body.signature
    )


@router.post("/api/auth/demo-consumer", tags=["auth"])
async def demo_consumer(ctx: Ctx, body: DemoConsumerIn) -> Json:
    return await sign_in.demo_consumer_token(ctx, body.external_id, body.nickname)


@router.get("/api/me", tags=["auth"])
async def me(caller: Caller) -> Json:
    return principal_view(caller)


@router.post("/api/me/password", tags=["auth"])
async def change_password(ctx: Ctx, caller: Caller, body: PasswordIn) -> Json:
    """Change your own password. Every other sign-in of the account ends (its sockets close);
    the answer carries a new token for this one."""
    return await accounts.change_password(ctx, caller, body.current_password, body.new_password)


@router.post("/api/auth/logout-all", tags=["auth"])
async def logout_all(ctx: Ctx, caller: Caller) -> Json:
    """Sign out everywhere: every token of the account stops working, every socket closes."""
    return await accounts.sign_out_everywhere(ctx, caller)


# --- sessions -----------------------------------------------------------------------------------


@router.get("/api/sessions", tags=["sessions"])
async def list_sessions(
    ctx: Ctx,
    caller: Caller,
    state: Annotated[str | None, Query(max_length=16)] = None,
    order_no: Annotated[str | None, Query(max_length=64)] = None,
    consumer: Annotated[str | None, Query(max_length=128)] = None,
    before_id: QueryId = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[Json]:
    return await history.list_sessions(
        ctx,
        caller,
        state=state,
        order_no=order_no,
        consumer=consumer,
        before_id=before_id,
        limit=limit,
    )


@router.get("/api/sessions/{session_id}", tags=["sessions"])
async def get_session(ctx: Ctx, caller: Caller, session_id: PathId) -> Json:
    return await history.get_session(ctx, caller, session_id)


@router.get("/api/sessions/{session_id}/messages", tags=["sessions"])
async def messages(
    ctx: Ctx,
    caller: Caller,
    session_id: PathId,
    after_seq: OptionalQuerySeq = None,
    before_seq: OptionalQuerySeq = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[Json]:
    return await history.history(
        ctx, caller, session_id, after_seq=after_seq, before_seq=before_seq, limit=limit
    )


@router.get("/api/sessions/{session_id}/earlier", tags=["sessions"])
async def earlier(
    ctx: Ctx, caller: Caller, session_id: PathId, limit: Annotated[int, Query(ge=1, le=100)] = 20
) -> list[Json]:
    """The same consumer's other sessions with this shop, newest first (no messages)."""
    return await history.earlier_sessions(ctx, caller, session_id, limit)


@router.get("/api/sessions/{session_id}/events", tags=["sessions"])
async def events(ctx: Ctx, caller: Caller, session_id: PathId) -> list[Json]:
    return await history.session_events(ctx, caller, session_id)


@router.post("/api/messages", tags=["sessions"])
async def send(ctx: Ctx, caller: Caller, body: SendIn) -> Json:
    await ratelimit.limiter_of(ctx).check_send(caller)
    return frames.ack(await send_action.send(ctx, caller, body.model_dump(exclude_none=True)))


@router.post("/api/sessions/{session_id}/read", tags=["sessions"])
async def read(ctx: Ctx, caller: Caller, session_id: PathId, seq: QuerySeq) -> Json:
    return await receipts.mark_read(ctx, caller, session_id, seq)


@router.post("/api/sessions/{session_id}/take", tags=["reception"])
async def take(ctx: Ctx, caller: Caller, session_id: PathId) -> Json:
    return await serving.take(ctx, caller, session_id)


@router.post("/api/sessions/{session_id}/transfer", tags=["reception"])
async def transfer(ctx: Ctx, caller: Caller, session_id: PathId, body: TransferIn) -> Json:
    return await serving.transfer(ctx, caller, session_id, body.to_agent)


@router.post("/api/sessions/{session_id}/close", tags=["reception"])
async def close(ctx: Ctx, caller: Caller, session_id: PathId) -> Json:
    return await serving.close(ctx, caller, session_id)


@router.post("/api/sessions/{session_id}/rating", tags=["sessions"])
async def rate(ctx: Ctx, caller: Caller, session_id: PathId, body: RateIn) -> Json:
    return await feedback.rate(ctx, caller, session_id, body.score)


@router.post("/api/sessions/{session_id}/report", tags=["sessions"])
async def report(ctx: Ctx, caller: Caller, session_id: PathId, body: ReasonIn) -> Json:
    return await feedback.report(ctx, caller, session_id, body.reason)


@router.post("/api/sessions/{session_id}/blacklist", tags=["sessions"])
async def blacklist(ctx: Ctx, caller: Caller, session_id: PathId, body: ReasonIn) -> Json:
    return await feedback.blacklist(ctx, caller, session_id, body.reason)


@router.post("/api/sessions/{session_id}/images", tags=["sessions"])
async def upload_image(
    ctx: Ctx, caller: Caller, session_id: PathId, file: Annotated[UploadFile, File()]
) -> Json:
    limit = ctx.settings.max_image_bytes
    data = await file.read(limit + 1)
    await ratelimit.limiter_of(ctx).check_upload(caller, min(len(data), limit))
    return await images.upload_image(ctx, caller, session_id, data)


@router.get("/api/images/{image_id}/url", tags=["sessions"])
async def image_url(ctx: Ctx, caller: Caller, image_id: str) -> Json:
    """A link to the image that works without a token for ``image_url_ttl_seconds``
    (5 minutes by default): for ``<img src>``, which cannot send an Authorization header."""
    return await images.image_link(ctx, caller, image_id)


@router.get("/api/images/{image_id}", tags=["sessions"])
async def image(
    ctx: Ctx,
    request: Request,
    image_id: str,
    exp: Annotated[int | None, Query()] = None,
    sig: Annotated[str | None, Query(max_length=128)] = None,
    scope: Annotated[Literal["review"] | None, Query()] = None,
) -> FileResponse:
    """With ``Authorization: Bearer …``, or as a signed link from ``…/url``. An image
    recalled for a violation opens for platform reviewers only."""
    if exp is not None or sig is not None:
        path, content_type = await images.open_signed_image(ctx, image_id, exp, sig, scope or "")
    else:
        caller = await current_principal(request, ctx, bearer(request))
        path, content_type = await images.open_image(ctx, caller, image_id)
    return FileResponse(path, media_type=content_type)


# --- the agent's workbench ----------------------------------------------------------------------


@router.post("/api/agent/status", tags=["reception"])
async def set_status(ctx: Ctx, caller: Caller, body: StatusIn) -> Json:
    return await serving.set_status(ctx, caller, body.status)


@router.get("/api/quick-replies", tags=["workbench"])
async def quick_replies(
    ctx: Ctx, caller: Caller, q: Annotated[str | None, Query(max_length=64)] = None
) -> list[Json]:
    return await quick_reply_actions.list_quick_replies(ctx, caller, q)


@router.post("/api/quick-replies", tags=["workbench"])
async def add_quick_reply(ctx: Ctx, caller: Caller, body: QuickReplyIn) -> Json:
    return await quick_reply_actions.create_quick_reply(
        ctx, caller, body.title, body.content, body.scope
    )


@router.delete("/api/quick-replies/{reply_id}", tags=["workbench"])
async def delete_quick_reply(ctx: Ctx, caller: Caller, reply_id: PathId) -> Json:
    await quick_reply_actions.delete_quick_reply(ctx, caller, reply_id)
    return {"deleted": reply_id}


# --- shop administration --------------------------------------------------------------------------


@router.get("/api/shop/members", tags=["shop"])
async def members(ctx: Ctx, caller: Caller) -> list[Json]:
    return await accounts.list_members(ctx, caller)


@router.post("/api/shop/members", tags=["shop"])
async def add_member(ctx: Ctx, caller: Caller, body: MemberIn) -> Json:
    return await accounts.create_member(
        ctx, caller, body.username, body.password, body.display_name, body.role, body.capacity
    )


@router.patch("/api/shop/members/{member_id}", tags=["shop"])
async def patch_member(ctx: Ctx, caller: Caller, member_id: PathId, body: MemberPatch) -> Json:
    """Owner > manager > agent: a member changes only members of lower rank."""
    return await accounts.update_member(
        ctx,
        caller,
        member_id,
        body.capacity,
        body.active,
        body.password,
        body.role,
        body.display_name,
    )


@router.patch("/api/shop/settings", tags=["shop"])
async def shop_settings(ctx: Ctx, caller: Caller, body: ShopSettingsIn) -> Json:
    return await accounts.update_shop(ctx, caller, body.routing_mode, body.welcome_message)


@router.get("/api/shop/blacklist", tags=["shop"])
async def shop_blacklist(ctx: Ctx, caller: Caller) -> list[Json]:
    return await feedback.list_blacklist(ctx, caller)


# --- platform -------------------------------------------------------------------------------------


@router.post("/api/platform/shops", tags=["platform"])
async def create_shop(ctx: Ctx, caller: Caller, body: ShopIn) -> Json:
    return await accounts.create_shop(
        ctx, caller, body.name, body.owner_username, body.owner_password
    )


@router.get("/api/platform/staff", tags=["platform"])
async def list_staff(ctx: Ctx, caller: Caller) -> list[Json]:
    """The platform's staff accounts (admins only)."""
    return await accounts.list_staff(ctx, caller)


@router.post("/api/platform/staff", tags=["platform"])
async def add_staff(ctx: Ctx, caller: Caller, body: StaffIn) -> Json:
    """An admin adds a reviewer or another admin."""
    return await accounts.add_staff(
        ctx, caller, body.username, body.password, body.display_name, body.role
    )


@router.patch("/api/platform/staff/{staff_id}", tags=["platform"])
async def patch_staff(ctx: Ctx, caller: Caller, staff_id: PathId, body: StaffPatch) -> Json:
    """Admin > reviewer: an admin changes reviewers, or demotes itself (not the last admin)."""
    return await accounts.update_staff(ctx, caller, staff_id, body.active, body.password, body.role)


@router.get("/api/violations", tags=["compliance"])
async def list_violations(
    ctx: Ctx,
    caller: Caller,
    status: Annotated[Literal["pending", "confirmed", "dismissed"] | None, Query()] = None,
    shop_id: QueryId = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[Json]:
    """Reviewers: every record with the original text. Shop supervisors: their shop's."""
    return await review.list_violations(ctx, caller, status, shop_id, limit)


@router.post("/api/violations/{violation_id}/review", tags=["compliance"])
async def review_violation(ctx: Ctx, caller: Caller, violation_id: PathId, body: ReviewIn) -> Json:
    return await review.review(ctx, caller, violation_id, body.decision)


# --- service metrics and the weekly assessment (docs/rules.md §3) -------------------------


@router.get("/api/metrics/live", tags=["metrics"])
async def live_metrics(
    ctx: Ctx,
    caller: Caller,
    period: Annotated[Literal["today", "week"], Query()] = "week",
    shop_id: QueryId = None,
) -> Json:
    """The four assessed metrics so far today or this week (owners, managers, staff)."""
    return await assessment.live(ctx, caller, period, shop_id)


@router.get("/api/agent/today", tags=["metrics"])
async def agent_today(ctx: Ctx, caller: Caller) -> Json:
    """The caller's own figures so far today (shop members): sessions, rounds, average
    response, 3-minute reply rate, unanswered rounds."""
    return await assessment.agent_today(ctx, caller)


@router.get("/api/assessments", tags=["metrics"])
async def past_assessments(
    ctx: Ctx,
    caller: Caller,
    shop_id: QueryId = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
) -> list[Json]:
    return await assessment.past(ctx, caller, shop_id, limit)


@router.get("/api/assessments/{week}/drilldown", tags=["metrics"])
async def drilldown(
    ctx: Ctx,
    caller: Caller,
    week: str,
    figure: str,
    shop_id: QueryId = None,
    agent: str | None = None,
    day: str | None = None,
) -> Json:
    """The sessions and rounds behind one figure of a week."""
    return await assessment.drill(ctx, caller, week, figure, shop_id, agent, day)


@router.get("/api/measures", tags=["metrics"])
async def list_measures(ctx: Ctx, caller: Caller, shop_id: QueryId = None) -> list[Json]:
    return await assessment.list_measures(ctx, caller, shop_id)


@router.post(
    "/api/platform/assessments/{week}/run",
    tags=["platform"],
    response_class=StreamingResponse,
    responses={200: {"content": {"application/json": {}}}},
)
async def rerun_assessment(ctx: Ctx, caller: Caller, week: str) -> StreamingResponse:
    """Run a week's assessment again (platform admins): the saved document, the new measures
    and the 10-in-a-row records. A large platform's document runs to tens of megabytes:
    it is encoded a few shops at a time, letting chat run in between, instead of in one
    pass on the event loop (seconds for 2,000 shops)."""
    result = await assessment.rerun(ctx, caller, week)
    return StreamingResponse(streamed_assessment(result), media_type="application/json")
