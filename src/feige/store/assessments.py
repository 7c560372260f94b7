"""SQL of the service metrics: session summaries, weekly results, measures, job claims."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, and_, delete, func, insert, or_, select, update

from feige.domain import Row
from feige.store.sql import all_rows
from feige.store.tables import (
    assessments,
    job_runs,
    measures,
    session_events,
    session_summaries,
    sessions,
    violations,
)


def dirty_closed_sessions(conn: Connection, limit: int) -> list[int]:
    """Closed sessions whose summary must be recomputed (closed or got a late event)."""
    stmt = (
        select(sessions.c.id)
        .where(and_(sessions.c.summary_dirty.is_(True), sessions.c.state == "closed"))
        .limit(limit)
    )
    return [r[0] for r in conn.execute(stmt)]


def put_summary(conn: Connection, session_id: int, values: Row) -> None:
    conn.execute(delete(session_summaries).where(session_summaries.c.session_id == session_id))
    conn.execute(insert(session_summaries).values(session_id=session_id, **values))


def mark_summaries_clean(conn: Connection, session_ids: list[int]) -> None:
    conn.execute(update(sessions).where(sessions.c.id.in_(session_ids)).values(summary_dirty=False))


def session_ids_overlapping(
    conn: Connection, start: float, end: float, shop_id: int | None = None
) -> list[int]:
    """Sessions alive at some time in [start, end): the sessions "of" a week or a day."""
    stmt = select(sessions.c.id).where(
        and_(
            sessions.c.opened_at < end,
            or_(sessions.c.closed_at.is_(None), sessions.c.closed_at >= start),
        )
    )
    if shop_id is not None:
        stmt = stmt.where(sessions.c.shop_id == shop_id)
    return [r[0] for r in conn.execute(stmt.order_by(sessions.c.id))]


def agent_session_ids_overlapping(
    conn: Connection, start: float, end: float, shop_id: int, agent_id: int
) -> list[int]:
    """The shop's sessions alive in [start, end) that were assigned or transferred to the
    agent: the only ones an agent's figures can come from (rounds and sessions are
    attributed to the agent serving them). The JSON ``data`` is matched here, in Python,
    so the query is the same on SQLite and PostgreSQL."""
    stmt = (
        select(session_events.c.session_id, session_events.c.data)
        .join(sessions, sessions.c.id == session_events.c.session_id)
        .where(
            and_(
                sessions.c.shop_id == shop_id,
                sessions.c.opened_at < end,
                or_(sessions.c.closed_at.is_(None), sessions.c.closed_at >= start),
                session_events.c.type.in_(("assigned", "transferred")),
            )
        )
    )
    agent = str(agent_id)
    found = {
        session_id
        for session_id, data in conn.execute(stmt)
        if isinstance(data, dict) and data.get("agent") == agent
    }
    return sorted(found)


def count_sessions_overlapping(conn: Connection, start: float, end: float) -> int:
    """How many sessions ``session_ids_overlapping`` would list."""
    stmt = select(func.count()).where(
        and_(
            sessions.c.opened_at < end,
            or_(sessions.c.closed_at.is_(None), sessions.c.closed_at >= start),
        )
    )
    return int(conn.execute(stmt).scalar_one())


def clean_summaries(conn: Connection, session_ids: list[int]) -> dict[int, Any]:
    """Stored summary documents of these sessions, where they are current."""
    stmt = (
        select(session_summaries.c.session_id, session_summaries.c.data)
        .join(sessions, sessions.c.id == session_summaries.c.session_id)
        .where(
            and_(
                session_summaries.c.session_id.in_(session_ids),
                sessions.c.summary_dirty.is_(False),
            )
        )
    )
    return {session_id: data for session_id, data in conn.execute(stmt)}


def put_assessment(conn: Connection, shop_id: int, week: str, result: Row, now: float) -> None:
    """A shop's result for a week; a re-run replaces it."""
    conn.execute(
        delete(assessments).where(
            and_(assessments.c.shop_id == shop_id, assessments.c.week == week)
        )
    )
    conn.execute(
        insert(assessments).values(
            shop_id=shop_id, week=week, passed=result["passed"], result=result, created_at=now
        )
    )


def failed_weeks(conn: Connection, shop_id: int, weeks: list[str]) -> list[str]:
    stmt = select(assessments.c.week).where(
        and_(
            assessments.c.shop_id == shop_id,
            assessments.c.week.in_(weeks),
            assessments.c.passed.is_(False),
        )
    )
    return sorted(w for (w,) in conn.execute(stmt))


def assessed_weeks(conn: Connection, shop_id: int, weeks: list[str]) -> list[str]:
    """Which of ``weeks`` have a stored result for the shop."""
    stmt = select(assessments.c.week).where(
        and_(assessments.c.shop_id == shop_id, assessments.c.week.in_(weeks))
    )
    return sorted(w for (w,) in conn.execute(stmt))


def add_measure_once(conn: Connection, measure: Row) -> bool:
    """Insert the measure unless one for the same shop, week and reason exists; one that a
    rerun reversed (the week passed then) is made pending again when the week fails again.
    One still in force keeps its measure and status but takes this run's ``details``."""
    exists = conn.execute(
        select(measures.c.id, measures.c.status).where(
            and_(
                measures.c.shop_id == measure["shop_id"],
                measures.c.week == measure["week"],
                measures.c.reason == measure["reason"],
            )
        )
    ).first()
    if exists is not None and exists.status == "reversed":
        conn.execute(
            update(measures)
            .where(measures.c.id == exists.id)
            .values(
                measure=measure["measure"],
                details=measure["details"],
                status=measure["status"],
                created_at=measure["created_at"],
            )
        )
        return True
    if exists is not None:
        # Still failed: the measure decided stays, but what failed is this run's (a partial
        # rerun may pass one metric and fail another; the record must not keep the old run's).
        conn.execute(
            update(measures).where(measures.c.id == exists.id).values(details=measure["details"])
        )
        return False
    conn.execute(insert(measures).values(**measure))
    return True


def no_human_reply_evidence(conn: Connection, shop_id: int) -> list[Any]:
    stmt = select(violations.c.evidence).where(
        and_(violations.c.kind == "no_human_reply", violations.c.shop_id == shop_id)
    )
    return [evidence for (evidence,) in conn.execute(stmt)]


def add_no_human_reply_record(
    conn: Connection, shop_id: int, sessions: list[str], original: Row, now: float
) -> int:
    """A rule 2.2.1 record (docs/rules.md 2.2.1) for a run of sessions, pending review."""
    result = conn.execute(
        insert(violations)
        .values(
            kind="no_human_reply",
            shop_id=shop_id,
            session_id=None,
            message_id=None,
            sender_role=None,
            sender_id=None,
            categories=["no_human_reply"],
            clauses=["2.2.1"],
            evidence={"sessions": sessions},
            action="review",
            original=original,
            status="pending",
            created_at=now,
        )
        .returning(violations.c.id)
    )
    return int(result.scalar_one())


def claim_job(
    conn: Connection, job: str, key: str, now: float, node: str, lease: float = 3600.0
) -> bool:
    """True for exactly one caller per (job, key), whatever the number of server processes;
    a claim left unfinished for ``lease`` seconds (its node died) may be taken over.

    Two nodes racing both insert; the unique key fails the second one's transaction, and the
    writer re-runs its job alone, which then sees the row and answers False.
    """
    taken = conn.execute(
        select(job_runs.c.finished_at, job_runs.c.started_at).where(
            and_(job_runs.c.job == job, job_runs.c.key == key)
        )
    ).first()
    if taken is None:
        conn.execute(insert(job_runs).values(job=job, key=key, started_at=now, node=node))
        return True
    if taken.finished_at is not None or taken.started_at > now - lease:
        return False
    stale = and_(
        job_runs.c.job == job,
        job_runs.c.key == key,
        job_runs.c.finished_at.is_(None),
        job_runs.c.started_at == taken.started_at,
    )
    result = conn.execute(update(job_runs).where(stale).values(started_at=now, node=node))
    return bool(result.rowcount == 1)


def finish_job(conn: Connection, job: str, key: str, now: float) -> None:
    conn.execute(
        update(job_runs)
        .where(and_(job_runs.c.job == job, job_runs.c.key == key))
        .values(finished_at=now)
    )


def list_assessments(conn: Connection, shop_id: int | None, limit: int) -> list[Row]:
    stmt = select(assessments).order_by(assessments.c.week.desc(), assessments.c.shop_id)
    if shop_id is not None:
        stmt = stmt.where(assessments.c.shop_id == shop_id)
    return all_rows(conn, stmt.limit(limit))


def list_measures(conn: Connection, shop_id: int | None, limit: int = 200) -> list[Row]:
    stmt = select(measures).order_by(measures.c.id.desc())
    if shop_id is not None:
        stmt = stmt.where(measures.c.shop_id == shop_id)
    return all_rows(conn, stmt.limit(limit))
