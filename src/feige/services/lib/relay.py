"""What a node reads to repair its fan-out (realtime/sequencer.py): messages a broker lost,
and sessions' last seqs. The node's own plumbing, for no principal: what it reads goes only
to sockets that already listen on the session's channels."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection

from feige.domain import Row, SessionState
from feige.services import channels
from feige.services.lib.accounts import REVOKED
from feige.services.lib.views import message_view, session_view
from feige.store import accounts as account_store
from feige.store import events as event_store
from feige.store import messages as message_store
from feige.store import sessions as session_store

# The ``change`` of a ``session`` event that re-states a session after a loss
# (docs/protocol.md): the row as a fresh fetch gives it, with no side effects of its own.
SYNC = "sync"
# The ``reason`` of a ``revoked`` event a node re-states from the store.
MISSED_REVOCATION = "revoked"


def messages_between(
    conn: Connection, session_id: int, after_seq: int, upto_seq: int
) -> list[dict[str, Any]]:
    """The session's messages with ``after_seq < seq <= upto_seq``, in order."""
    limit = max(0, upto_seq - after_seq)
    rows = message_store.messages_page(conn, session_id, after_seq, None, limit)
    return [message_view(row) for row in rows if row["seq"] <= upto_seq]


def last_seqs(conn: Connection, session_ids: Sequence[int]) -> dict[int, int]:
    return session_store.last_seqs(conn, session_ids)


def changed_since(conn: Connection, since: float, scan: int) -> tuple[set[int], bool]:
    """Sessions whose state changed (a stored session event) since ``since``."""
    return event_store.sessions_with_events_since(conn, since, scan)


def session_snapshots(
    conn: Connection, known: dict[int, tuple[str, ...]]
) -> list[tuple[tuple[str, ...], dict[str, Any]]]:
    """A ``session`` event (``change: sync``) for each session, as its row is now, to its
    current audience and to the channels the node knew it by (``known``: an agent it was
    transferred away from learns it is gone). The consumer's copy carries its place in the
    queue, as the REST view does; the read marks are in the row."""
    out: list[tuple[tuple[str, ...], dict[str, Any]]] = []
    rows = session_store.sessions_by_ids(conn, sorted(known))
    queues: dict[int, dict[int, int]] = {}
    for session in rows:
        consumer = channels.account("consumer", session["consumer_id"])
        audience = channels.session_audience(session) + known.get(session["id"], ())
        others = tuple(c for c in dict.fromkeys(audience) if c != consumer)
        out.append((others, {"type": "session", "change": SYNC, "session": session_view(session)}))
        mine: Row = dict(session)
        if session["state"] == SessionState.QUEUED:
            shop = session["shop_id"]
            if shop not in queues:
                queued = session_store.queued_sessions(conn, shop)
                queues[shop] = {row["id"]: i + 1 for i, row in enumerate(queued)}
            mine["queue_position"] = queues[shop].get(session["id"])
        out.append(
            ((consumer,), {"type": "session", "change": SYNC, "session": session_view(mine)})
        )
    return out


def token_versions(conn: Connection, accounts: list[str]) -> dict[str, int]:
    """Account channel (``member:5``) → its token version now, for accounts ever revoked."""
    by_kind: dict[str, list[int]] = {}
    for account in accounts:
        kind, _, number = account.partition(":")
        if kind in account_store.ACCOUNT_TABLES and number.isdigit():
            by_kind.setdefault(kind, []).append(int(number))
    found: dict[str, int] = {}
    for kind, ids in by_kind.items():
        for start in range(0, len(ids), 500):
            versions = account_store.token_versions(conn, kind, ids[start : start + 500])
            found.update({channels.account(kind, i): v for i, v in versions.items() if v > 0})
    return found


def revoked_event(account: str, version: int) -> tuple[tuple[str, ...], dict[str, Any]]:
    """The ``revoked`` event a node missed, re-stated: to the account's sockets (those whose
    token is older close) and the node's watch."""
    kind, _, number = account.partition(":")
    return (
        channels.revocation_audience(kind, int(number)),
        {"type": REVOKED, "account": account, "version": version, "reason": MISSED_REVOCATION},
    )
