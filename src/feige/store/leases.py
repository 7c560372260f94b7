"""Leases on background jobs (``job_runs`` rows keyed ``lease``): which node runs a job that
must run on one node at a time (the idle close), taken over when its holder stops renewing."""

from __future__ import annotations

from sqlalchemy import Connection, and_, insert, select, update

from feige.store.tables import job_runs

LEASE_KEY = "lease"


def hold_lease(conn: Connection, job: str, node: str, now: float, seconds: float) -> bool:
    """True if ``node`` holds the job's lease now: it held it and renews it, or nobody held
    it, or its holder has not renewed it for ``seconds`` (it died). Two nodes racing for a
    free lease both insert; the key fails one, whose job is re-run alone and sees the row."""
    where = and_(job_runs.c.job == job, job_runs.c.key == LEASE_KEY)
    held = conn.execute(select(job_runs.c.node, job_runs.c.started_at).where(where)).first()
    if held is None:
        conn.execute(insert(job_runs).values(job=job, key=LEASE_KEY, started_at=now, node=node))
        return True
    if held.node != node and held.started_at > now - seconds:
        return False
    same = and_(where, job_runs.c.node == held.node, job_runs.c.started_at == held.started_at)
    result = conn.execute(update(job_runs).where(same).values(started_at=now, node=node))
    return bool(result.rowcount == 1)


def release_lease(conn: Connection, job: str, node: str) -> None:
    """A node stopping hands the lease on at once instead of after its expiry."""
    conn.execute(
        update(job_runs)
        .where(and_(job_runs.c.job == job, job_runs.c.key == LEASE_KEY, job_runs.c.node == node))
        .values(started_at=0.0)
    )
