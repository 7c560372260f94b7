"""A tiny DSL for hand-written event logs: local times on 2026-W47 (Mon 2026-11-16)."""

from __future__ import annotations

from typing import Any

import orjson

from feige.metrics import (
    AssessmentConfig,
    SessionSummary,
    assess_log,
    parse_lines,
    summarise_session,
)

WEEK = "2026-W47"
MON = "2026-11-16"  # Monday of 2026-W47
CFG = AssessmentConfig()


def at(clock: str, day: str = MON, offset: str = "+08:00") -> str:
    """'09:00:00' → '2026-11-16T09:00:00+08:00'."""
    return f"{day}T{clock}{offset}"


def ev(ts: str, type_: str, session: str = "x1", shop: str = "s1", **extra: Any) -> dict[str, Any]:
    if "ts" not in ts and "T" not in ts:
        ts = at(ts)
    obj: dict[str, Any] = {"ts": ts, "shop": shop, "session": session, "type": type_}
    if "from_" in extra:
        extra["from"] = extra.pop("from_")
    obj.update(extra)
    return obj


def buyer(ts: str, **kw: Any) -> dict[str, Any]:
    return ev(ts, "message", role="buyer", kind=kw.pop("kind", "text"), **kw)


def agent_msg(ts: str, agent: str = "a1", **kw: Any) -> dict[str, Any]:
    return ev(ts, "message", role="agent", agent=agent, **kw)


def assist(ts: str, **kw: Any) -> dict[str, Any]:
    return ev(ts, "message", role="robot_assist", **kw)


def robot(ts: str, **kw: Any) -> dict[str, Any]:
    return ev(ts, "message", role="robot", **kw)


def system(ts: str, **kw: Any) -> dict[str, Any]:
    return ev(ts, "message", role="system", **kw)


def opened(ts: str, consumer: str = "c1", **kw: Any) -> dict[str, Any]:
    return ev(ts, "open", consumer=consumer, entry="product", **kw)


def assigned(ts: str, agent: str = "a1", **kw: Any) -> dict[str, Any]:
    return ev(ts, "assigned", agent=agent, **kw)


def closed(ts: str, **kw: Any) -> dict[str, Any]:
    return ev(ts, "closed", **kw)


def simple_session(
    session: str,
    start: str = "09:00:00",
    reply_after: int | None = 30,
    shop: str = "s1",
    day: str = MON,
    rating: int | None = None,
    agent: str = "a1",
) -> list[dict[str, Any]]:
    """open + buyer + assigned + welcome + (agent reply after N s) + close after 5 min."""
    from datetime import datetime, timedelta

    t0 = datetime.fromisoformat(at(start, day))

    def t(sec: float) -> str:
        return (t0 + timedelta(seconds=sec)).isoformat()

    kw = {"session": session, "shop": shop}
    evs = [
        opened(t(0), consumer=f"c-{session}", **kw),
        buyer(t(0), **kw),
        assigned(t(0), agent=agent, **kw),
        system(t(0), **kw),
    ]
    if reply_after is not None:
        evs.append(agent_msg(t(reply_after), agent=agent, **kw))
    evs.append(closed(t(max(300, (reply_after or 0) + 60)), **kw))
    if rating is not None:
        evs.append(ev(t(400), "rated", score=rating, **kw))
    return evs


def to_log(events: list[dict[str, Any]]) -> bytes:
    return b"".join(orjson.dumps(e) + b"\n" for e in events)


def summarize(events: list[dict[str, Any]], config: AssessmentConfig = CFG) -> SessionSummary:
    return summarise_session(parse_lines(to_log(events).splitlines()), config)


def assess(
    events: list[dict[str, Any]], week: str = WEEK, config: AssessmentConfig = CFG
) -> dict[str, Any]:
    return assess_log(to_log(events), week, config)


def shop_of(doc: dict[str, Any], shop: str = "s1") -> dict[str, Any]:
    for s in doc["shops"]:
        if s["shop"] == shop:
            return s
    raise KeyError(shop)


def metric(doc: dict[str, Any], name: str, shop: str = "s1") -> dict[str, Any]:
    return shop_of(doc, shop)["metrics"][name]
