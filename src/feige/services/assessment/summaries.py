"""Session summaries from the store's events (docs/rules.md §3): kept current for closed
sessions, computed on the fly for the others, and the store's week as an event log."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from feige.domain import US_PER_SECOND, EventType, FlagReason, Row, SenderRole
from feige.metrics import AssessmentConfig, Event, SessionSummary, Week, summarise_session
from feige.metrics.timeutil import us_to_datetime
from feige.store import assessments as store
from feige.store import events as event_store

EVENTS_PER_READ = 500  # sessions whose events one query reads


def metrics_config(settings: Any) -> AssessmentConfig:
    return AssessmentConfig.from_settings(settings)


def _us(ts: float) -> int:
    return round(ts * US_PER_SECOND)


def _event(row: Row, tz: ZoneInfo) -> Event:
    data = row["data"] or {}
    # Each instant converted on its own: the zone's offset at that instant, not in 1970.
    ts = us_to_datetime(_us(row["ts"]), tz)
    type_ = EventType(row["type"])
    role = SenderRole(data["role"]) if "role" in data else None
    reason = FlagReason(data["reason"]) if "reason" in data else None
    return Event(
        ts=ts,
        shop=str(row["shop_id"]),
        session=str(row["session_id"]),
        type=type_,
        consumer=data.get("consumer"),
        entry=data.get("entry"),
        agent=data.get("agent"),
        from_agent=data.get("from"),
        role=role,
        kind=data.get("kind"),
        score=data.get("score"),
        reason=reason,
        seq=row["id"],
    )


def events_by_session(
    conn: Connection, session_ids: list[int], config: AssessmentConfig
) -> dict[int, list[Event]]:
    tz = ZoneInfo(config.timezone)
    out: dict[int, list[Event]] = {}
    for start in range(0, len(session_ids), EVENTS_PER_READ):
        chunk = session_ids[start : start + EVENTS_PER_READ]
        for row in event_store.session_events_for(conn, chunk):
            out.setdefault(row["session_id"], []).append(_event(row, tz))
    return out


def refresh_summaries_sync(conn: Connection, config: AssessmentConfig, limit: int = 2000) -> int:
    """Recompute the summaries of closed sessions that closed or got a late event."""
    dirty = store.dirty_closed_sessions(conn, limit)
    if not dirty:
        return 0
    events = events_by_session(conn, dirty, config)
    now = datetime.now().timestamp()
    for session_id in dirty:
        summary = summarise_session(events[session_id], config)
        values = {
            "shop_id": int(summary.shop),
            "first_event_at": summary.opened_us / US_PER_SECOND,
            "last_event_at": summary.last_event_us / US_PER_SECOND,
            "close_at": summary.close_us / US_PER_SECOND,
            "data": summary.to_dict(),
            "updated_at": now,
        }
        store.put_summary(conn, session_id, values)
    store.mark_summaries_clean(conn, dirty)
    return len(dirty)


def summaries_sync(
    conn: Connection, span: Week, config: AssessmentConfig, shop_id: int | None = None
) -> list[SessionSummary]:
    """The summaries of the sessions alive during ``span``: stored ones for closed sessions,
    computed on the fly for the rest."""
    start, end = span.start_us / US_PER_SECOND, span.end_us / US_PER_SECOND
    return summaries_of_sync(conn, store.session_ids_overlapping(conn, start, end, shop_id), config)


def agent_summaries_sync(
    conn: Connection, span: Week, config: AssessmentConfig, shop_id: int, agent_id: int
) -> list[SessionSummary]:
    """Only the sessions of ``span`` that the agent served: its own figures come out the
    same as from the whole shop's, for a share of the work."""
    start, end = span.start_us / US_PER_SECOND, span.end_us / US_PER_SECOND
    ids = store.agent_session_ids_overlapping(conn, start, end, shop_id, agent_id)
    return summaries_of_sync(conn, ids, config)


def summaries_of_sync(
    conn: Connection, ids: list[int], config: AssessmentConfig
) -> list[SessionSummary]:
    """Stored summaries for these sessions where they are current, the rest computed."""
    stored: dict[int, SessionSummary] = {}
    for offset in range(0, len(ids), EVENTS_PER_READ):
        chunk = ids[offset : offset + EVENTS_PER_READ]
        for session_id, data in store.clean_summaries(conn, chunk).items():
            stored[session_id] = SessionSummary.from_dict(data)
    missing = [i for i in ids if i not in stored]
    for session_id, events in events_by_session(conn, missing, config).items():
        stored[session_id] = summarise_session(events, config)
    return [stored[i] for i in ids if i in stored]


def export_events_sync(
    conn: Connection,
    week: Week,
    config: AssessmentConfig,
    progress: Callable[[int, int], None] | None = None,
) -> Iterator[str]:
    """The week's sessions as event-log lines (docs/interfaces.md), session by session.
    ``progress(sessions_done, sessions_total)`` is called before each batch of sessions and
    once at the end."""
    ids = store.session_ids_overlapping(
        conn, week.start_us / US_PER_SECOND, week.end_us / US_PER_SECOND
    )
    for offset in range(0, len(ids), EVENTS_PER_READ):
        if progress is not None:
            progress(offset, len(ids))
        chunk = ids[offset : offset + EVENTS_PER_READ]
        by_session = events_by_session(conn, chunk, config)
        for session_id in chunk:
            for event in by_session.get(session_id, []):
                yield event.to_line()
    if progress is not None:
        progress(len(ids), len(ids))
