"""REST of the full-auto robot (docs/robot-modes.md, "Full-auto"; docs/protocol.md, "The
full-auto robot"): the buyer's 转人工 button, the shop's interception words, the robot's own
figures and satisfaction."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from feige.api.checks import PathId, QueryId, refuse_odd_input
from feige.api.deps import Caller, Ctx
from feige.services.actions import full_auto
from feige.services.assessment import robot as robot_figures

router = APIRouter(dependencies=[Depends(refuse_odd_input)], tags=["robot"])
Json = dict[str, Any]


class WordsIn(BaseModel):
    words: list[Any]


@router.post("/api/sessions/{session_id}/handover", tags=["sessions"])
async def handover(ctx: Ctx, caller: Caller, session_id: PathId) -> Json:
    """The buyer presses 转人工 while the full-auto robot serves the session: it goes to
    human service (an agent, the queue, or an offline message) and every party gets a
    ``handover`` event. Pressed again afterwards: the session as it is (``handover`` null).
    A session the robot never served answers 422 ``not_robot_session``."""
    return await full_auto.request_handover(ctx, caller, session_id)


@router.get("/api/robot/interception-words")
async def get_interception_words(ctx: Ctx, caller: Caller, shop_id: QueryId = None) -> Json:
    """The shop's interception words (``custom`` false: the platform's defaults)."""
    return await full_auto.interception_words(ctx, caller, shop_id)


@router.put("/api/robot/interception-words")
async def put_interception_words(
    ctx: Ctx, caller: Caller, body: WordsIn, shop_id: QueryId = None
) -> Json:
    """Owners and managers set the words that send a buyer to a person at once (at most 100,
    1–20 characters each; an empty list: none)."""
    return await full_auto.set_interception_words(ctx, caller, shop_id, body.words)


@router.get("/api/robot/satisfaction", tags=["metrics"])
async def robot_satisfaction(
    ctx: Ctx,
    caller: Caller,
    period: Annotated[Literal["today", "week"], Query()] = "week",
    shop_id: QueryId = None,
) -> Json:
    """The robot's sessions opened today or this week: received, robot-only, handed over
    (by reason), and the satisfaction of the robot-only sessions, apart from the shop's
    human figures (owners, managers, staff)."""
    return await robot_figures.robot_report(ctx, caller, period, shop_id)
