"""A shop as a consumer or a member sees it from outside (its public card), and a
consumer's block of a shop, inside a write job (docs/web.md, "Blocking a shop")."""

from __future__ import annotations

from sqlalchemy import Connection

from feige.domain import AgentStatus, FlagReason, Row, SessionState
from feige.services.context import Outbox, Principal
from feige.services.errors import NotFound
from feige.services.lib import assignment
from feige.services.lib.conversation import flag
from feige.store import accounts as account_store
from feige.store import sessions as session_store
from feige.store import shop_blocks as block_store


def _shop(conn: Connection, shop_id: int) -> Row:
    shop = account_store.shop_by_id(conn, shop_id)
    if shop is None:
        raise NotFound(what="shop")
    return shop


def is_online(conn: Connection, shop_id: int) -> bool:
    """Someone answers: an active member online, or one on break still serving sessions."""
    return any(
        row["status"] == AgentStatus.ONLINE
        or (row["status"] == AgentStatus.BREAK and row["open_sessions"] > 0)
        for row in account_store.agent_loads(conn, shop_id)
    )


def latest_session(conn: Connection, shop_id: int, consumer_id: int) -> Row | None:
    """The consumer's newest session with the shop (the open one, if any: a pair has at
    most one open session, and it is the newest)."""
    rows = session_store.list_sessions(conn, shop_id=shop_id, consumer_id=consumer_id, limit=1)
    return rows[0] if rows else None


def shop_card(conn: Connection, principal: Principal, shop_id: int) -> Row:
    """Name and whether anyone answers, for anyone signed in; a consumer also learns
    whether it blocked the shop and its newest session there (its own data)."""
    shop = _shop(conn, shop_id)
    card: Row = {"id": shop["id"], "name": shop["name"], "online": is_online(conn, shop_id)}
    if principal.kind == "consumer":
        latest = latest_session(conn, shop_id, principal.id)
        card["blocked"] = block_store.has_blocked(conn, principal.id, shop_id)
        card["last_session_id"] = latest["id"] if latest else None
    return card


def block(conn: Connection, outbox: Outbox, consumer_id: int, shop_id: int, now: float) -> Row:
    """The consumer blocks the shop: its open session with the shop closes (the shop can
    reach the consumer only in one), no new one opens until the block is lifted, and the
    newest session is flagged as blacklisted, at once, as a consumer's report is
    (docs/rules.md §3 (2) note: consumer-side acts count at once)."""
    _shop(conn, shop_id)
    if not block_store.has_blocked(conn, consumer_id, shop_id):
        block_store.insert_block(conn, consumer_id, shop_id, now)
    latest = latest_session(conn, shop_id, consumer_id)
    if latest is not None:
        session = session_store.session_by_id(conn, latest["id"])
        assert session is not None
        if session["state"] != SessionState.CLOSED:
            assignment.close(conn, outbox, session, "blocked", now)
        flag(conn, outbox, session, FlagReason.BLACKLISTED, now)
    return {"shop_id": shop_id, "blocked": True}


def unblock(conn: Connection, consumer_id: int, shop_id: int) -> Row:
    """Lifted: the consumer may open sessions with the shop again (its earlier flags stay)."""
    _shop(conn, shop_id)
    block_store.delete_block(conn, consumer_id, shop_id)
    return {"shop_id": shop_id, "blocked": False}
