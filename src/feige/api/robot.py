"""REST of the robot's mode and its automatic switch (docs/rules.md 2.2.1; docs/protocol.md,
"The robot's mode")."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from feige.api.checks import QueryId, refuse_odd_input
from feige.api.deps import Caller, Ctx
from feige.services.actions import robot_mode

router = APIRouter(dependencies=[Depends(refuse_odd_input)], tags=["robot"])
Json = dict[str, Any]


class RobotModeIn(BaseModel):
    mode: Literal["off", "assist", "full_auto"]


@router.get("/api/robot/mode")
async def get_robot_mode(ctx: Ctx, caller: Caller, shop_id: QueryId = None) -> Json:
    """The shop's robot mode: ``mode`` (what runs), ``manual_mode`` (the shop's own choice),
    ``rule_on`` (the automatic switch holds assist on, rule 2.2.1) and the rolling figure
    (``window``: average response seconds and rounds of the last 60 minutes). Members read
    their shop's; platform staff name a shop."""
    return await robot_mode.get_mode(ctx, caller, shop_id)


@router.put("/api/robot/mode")
async def set_robot_mode(
    ctx: Ctx, caller: Caller, body: RobotModeIn, shop_id: QueryId = None
) -> Json:
    """Owners and managers set their shop's mode. Turning assist off while the rule holds it
    on answers 409 ``robot_held_by_rule``. A change is a switch record, and the shop's
    supervisors get a ``robot_mode`` event."""
    return await robot_mode.set_mode(ctx, caller, shop_id, body.mode)


@router.get("/api/robot/switches")
async def robot_switches(
    ctx: Ctx,
    caller: Caller,
    shop_id: QueryId = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[Json]:
    """The shop's switch records, newest first: when, by rule or by hand, the mode before
    and after, and for the rule the rolling average and its rounds."""
    return await robot_mode.list_switches(ctx, caller, shop_id, limit)
