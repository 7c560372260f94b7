"""Rows as clients hold them: the one shape of each, whether it comes in an event or from
a REST answer."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from feige.domain import Row

if TYPE_CHECKING:
    from feige.services.context import Principal

VIOLATION_FIELDS = (
    "id",
    "kind",
    "shop_id",
    "session_id",
    "message_id",
    "sender_role",
    "sender_id",
    "categories",
    "clauses",
    "evidence",
    "action",
    "status",
    "created_at",
    "reviewed_at",
)


def session_view(session: Row) -> dict[str, Any]:
    """The session as every participant's client holds it (events and REST agree)."""
    return {
        "id": session["id"],
        "shop_id": session["shop_id"],
        "consumer_id": session["consumer_id"],
        "agent_id": session["agent_id"],
        "state": session["state"],
        "entry": session["entry"],
        "entry_card": session["entry_card"],
        "order_no": session["order_no"],
        "opened_at": session["opened_at"],
        "closed_at": session["closed_at"],
        "last_seq": session["last_seq"],
        "consumer_read_seq": session["consumer_read_seq"],
        "agent_read_seq": session["agent_read_seq"],
        "rating": session["rating"],
        "invalid": bool(session["invalid_reasons"]),
        # Counts the row's changes: of two views of one session, a client keeps the later.
        "version": session["version"],
        # Filled for the consumer while the session is queued (lib/queue.py); None otherwise.
        "queue_position": session.get("queue_position"),
    }


def message_view(message: Row) -> dict[str, Any]:
    return {
        "id": message["id"],
        "session_id": message["session_id"],
        "seq": message["seq"],
        "sender_role": message["sender_role"],
        "sender_id": message["sender_id"],
        "kind": message["kind"],
        "content": message["content"],
        "client_id": message["client_id"],
        "created_at": message["created_at"],
    }


def principal_view(principal: Principal) -> dict[str, Any]:
    return {
        "kind": principal.kind,
        "id": principal.id,
        "role": principal.role,
        "name": principal.name,
        "shop_id": principal.shop_id,
    }


def member_view(row: Row, open_sessions: int) -> dict[str, Any]:
    """A shop member, with its load (the sessions it serves now): transfers are chosen by it."""
    return {
        "id": row["id"],
        "shop_id": row["shop_id"],
        "username": row["username"],
        "display_name": row["display_name"],
        "role": row["role"],
        "status": row["status"],
        "capacity": row["capacity"],
        "active": bool(row["active"]),
        "open_sessions": open_sessions,
    }


def shop_view(row: Row) -> dict[str, Any]:
    return {
        "id": row["id"],
        "name": row["name"],
        "routing_mode": row["routing_mode"],
        "welcome_message": row["welcome_message"],
    }


def staff_view(row: Row) -> dict[str, Any]:
    return {
        "id": row["id"],
        "username": row["username"],
        "display_name": row["display_name"],
        "role": row["role"],
        "active": bool(row["active"]),
    }


def quick_reply_view(row: Row) -> Row:
    return {
        "id": row["id"],
        "title": row["title"],
        "content": row["content"],
        "scope": "personal" if row["member_id"] is not None else "shop",
    }


def violation_view(row: Row, *, with_original: bool) -> Row:
    view = {k: row[k] for k in VIOLATION_FIELDS}
    if with_original:
        view["original"] = row["original"]
    return view
