"""Figures as owners, managers and platform staff read them: live figures, past weeks, the
sessions behind a figure, measures. Owners and managers read their own shop only."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from feige.domain import US_PER_SECOND, Row
from feige.metrics import (
    FIGURES,
    AssessmentConfig,
    SessionSummary,
    Week,
    assess_week,
    drill_down,
    parse_week,
)
from feige.metrics.timeutil import iso_week_name
from feige.services.assessment.figures import assessable_week
from feige.services.assessment.summaries import (
    agent_summaries_sync,
    metrics_config,
    summaries_sync,
)
from feige.services.context import Context, Principal
from feige.services.errors import Forbidden, Invalid, NotFound
from feige.store import assessments as store


def _shop_scope(principal: Principal, shop_id: int | None) -> int | None:
    """Owners and managers read their shop; platform staff any shop or all."""
    if principal.is_staff:
        return shop_id
    if principal.is_supervisor:
        if shop_id is not None and shop_id != principal.shop_id:
            raise NotFound(what="shop")
        return principal.shop_id
    # Every other role may read no shop's figures: a refusal by role, like the agent's.
    raise Forbidden()


def _period(now: float, period: str, config: AssessmentConfig) -> Week:
    tz = ZoneInfo(config.timezone)
    local = datetime.fromtimestamp(now, tz)
    if period == "today":
        start = local.replace(hour=0, minute=0, second=0, microsecond=0)
        end = start + timedelta(days=1)  # wall-clock arithmetic: the next local midnight
        return Week(
            start.date().isoformat(),
            round(start.timestamp() * US_PER_SECOND),
            round(end.timestamp() * US_PER_SECOND),
        )
    if period == "week":
        return parse_week(iso_week_name(local.date()), config)
    raise Invalid(detail="period: today | week")


async def live(
    ctx: Context, principal: Principal, period: str, shop_id: int | None
) -> dict[str, Any]:
    """Figures so far today or this week, computed the same way as the assessment."""
    scope = _shop_scope(principal, shop_id)
    config = metrics_config(ctx.settings)
    span = _period(ctx.clock(), period, config)

    def job(conn: Connection) -> dict[str, Any]:
        return assess_week(summaries_sync(conn, span, config, scope), span, config)

    document = await ctx.db.read(job)
    document["period"] = period
    return document


def _open_rounds(
    summaries: list[SessionSummary], agent: str, span: Week
) -> tuple[int, float | None]:
    """The agent's assessed rounds today still waiting for an answer in open sessions, and
    the average response over the answered ones only: the assessment counts an open round
    at the response cap "as if the day ended now", which the workbench shows as ongoing."""
    open_rounds, answered, total_us = 0, 0, 0
    for summary in summaries:
        for r in summary.rounds:
            if r.agent != agent or not r.assessed or not span.start_us <= r.start_us < span.end_us:
                continue
            if r.raw_us is None:
                open_rounds += 1 if summary.close_implied else 0
            else:
                answered += 1
                total_us += r.response_us
    return open_rounds, (total_us / answered / US_PER_SECOND if answered else None)


async def agent_today(ctx: Context, principal: Principal) -> dict[str, Any]:
    """The signed-in shop member's own figures so far today, attributed to agents as the
    assessment does (docs/rules.md §3 (1)): the workbench shows them to the agent. Only
    the agent's own sessions are read, not the shop's whole day (bench/agent_today.py)."""
    if principal.kind != "member" or principal.shop_id is None:
        raise Forbidden()
    config = metrics_config(ctx.settings)
    span = _period(ctx.clock(), "today", config)
    shop_id, mine = principal.shop_id, str(principal.id)

    def job(conn: Connection) -> tuple[dict[str, Any] | None, int, float | None]:
        summaries = agent_summaries_sync(conn, span, config, shop_id, principal.id)
        shops = assess_week(summaries, span, config)["shops"]
        agent = next((a for shop in shops for a in shop["agents"] if a["agent"] == mine), None)
        return (agent, *_open_rounds(summaries, mine, span))

    agent, open_rounds, answered_average = await ctx.db.read(job)
    if agent is None:  # nothing attributed to the agent yet today
        return {
            "date": span.name,
            "sessions": 0,
            "rounds": 0,
            "unanswered": 0,
            "open_rounds": 0,
            "average_response_seconds": None,
            "answered_average_seconds": None,
            "three_minute_rate": None,
        }
    return {
        "date": span.name,
        "sessions": agent["sessions_assessed"],
        "rounds": agent["rounds_assessed"],
        "unanswered": agent["extra"]["rounds"]["unanswered"],
        "open_rounds": open_rounds,
        "average_response_seconds": agent["metrics"]["avg_response_seconds"]["value"],
        "answered_average_seconds": answered_average,
        "three_minute_rate": agent["metrics"]["three_minute_reply_rate"]["value"],
    }


async def past(
    ctx: Context, principal: Principal, shop_id: int | None, limit: int = 20
) -> list[Row]:
    scope = _shop_scope(principal, shop_id)
    rows = await ctx.db.read(store.list_assessments, scope, limit)
    return [
        {"week": r["week"], "shop_id": r["shop_id"], "passed": r["passed"], "result": r["result"]}
        for r in rows
    ]


async def drill(
    ctx: Context,
    principal: Principal,
    week_name: str,
    figure: str,
    shop_id: int | None,
    agent: str | None = None,
    day: str | None = None,
) -> dict[str, Any]:
    """The sessions and rounds behind one figure, so a merchant sees what made it fail."""
    scope = _shop_scope(principal, shop_id)
    if scope is None:
        raise Invalid(detail="shop_id")
    if figure not in FIGURES:
        raise Invalid(detail=f"figure: {', '.join(FIGURES)}")
    config = metrics_config(ctx.settings)
    week = assessable_week(week_name, config, ctx.clock())

    def job(conn: Connection) -> dict[str, Any]:
        summaries = summaries_sync(conn, week, config, scope)
        return drill_down(summaries, week, figure, str(scope), config, agent=agent, day=day)

    return await ctx.db.read(job)


async def list_measures(ctx: Context, principal: Principal, shop_id: int | None) -> list[Row]:
    scope = _shop_scope(principal, shop_id)
    return await ctx.db.read(store.list_measures, scope)
