"""The full-auto robot's figures as owners, managers and platform staff read them
(docs/robot-modes.md, "Full-auto"): its sessions, its hand-overs and its own satisfaction,
apart from the shop's human service (docs/rules.md §3 note 1)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from feige.domain import US_PER_SECOND
from feige.metrics.robot_satisfaction import RobotSession, robot_figures
from feige.services.assessment.queries import _period, _shop_scope
from feige.services.assessment.summaries import metrics_config
from feige.services.context import Context, Principal
from feige.store import robot_sessions as robot_store


async def robot_report(
    ctx: Context, principal: Principal, period: str, shop_id: int | None
) -> dict[str, Any]:
    """The robot's sessions opened today or this week, per shop."""
    scope = _shop_scope(principal, shop_id)
    config = metrics_config(ctx.settings)
    span = _period(ctx.clock(), period, config)
    start, end = span.start_us / US_PER_SECOND, span.end_us / US_PER_SECOND

    def job(conn: Connection) -> list[dict[str, Any]]:
        by_shop: dict[int, list[RobotSession]] = {}
        for row in robot_store.robot_sessions_between(conn, scope, start, end):
            by_shop.setdefault(int(row["shop_id"]), []).append(
                RobotSession(row["rating"], bool(row["invalid_reasons"]), row["handover_reason"])
            )
        if scope is not None:
            by_shop.setdefault(scope, [])
        return [
            {"shop": str(shop), **robot_figures(rows, config.dissatisfied_scores)}
            for shop, rows in sorted(by_shop.items())
        ]

    return {"period": period, "from": start, "to": end, "shops": await ctx.db.read(job)}
