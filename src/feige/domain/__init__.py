"""Pure vocabulary shared by every layer: roles, states, event types (docs/rules.md §2).

String enums so that values round-trip through JSON, SQL and the event log unchanged.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

# A stored record as services and the store pass it around: column name → value.
Row = dict[str, Any]
# Times are stored as epoch seconds; the metrics core and the store's summaries compute on
# integer epoch microseconds.
US_PER_SECOND = 1_000_000


class StaffRole(StrEnum):
    ADMIN = "admin"
    REVIEWER = "reviewer"


class MemberRole(StrEnum):
    OWNER = "owner"
    MANAGER = "manager"
    AGENT = "agent"


class SenderRole(StrEnum):
    """Who sent a message (docs/rules.md §2.1)."""

    BUYER = "buyer"
    AGENT = "agent"
    ROBOT_ASSIST = "robot_assist"
    ROBOT = "robot"
    SYSTEM = "system"


class MessageKind(StrEnum):
    TEXT = "text"
    IMAGE = "image"
    PRODUCT_CARD = "product_card"
    ORDER_CARD = "order_card"


class Entry(StrEnum):
    """Where the consumer opened the chat from (docs/rules.md §2.1)."""

    PRODUCT = "product"
    ORDER = "order"
    DIRECT = "direct"
    LIVE = "live"
    OTHER = "other"


class EventType(StrEnum):
    """Session event vocabulary of docs/interfaces.md (the event log)."""

    OPEN = "open"
    QUEUED = "queued"
    OFFLINE = "offline"
    ASSIGNED = "assigned"
    TRANSFERRED = "transferred"
    MESSAGE = "message"
    RATED = "rated"
    FLAGGED = "flagged"
    CLOSED = "closed"


class FlagReason(StrEnum):
    """Why a session is invalid for metrics (docs/rules.md §3 (2) note)."""

    REPORTED = "reported"
    BLACKLISTED = "blacklisted"
    RISKY = "risky"


class SessionState(StrEnum):
    """Where a session stands in reception (docs/rules.md 2.2.1)."""

    QUEUED = "queued"
    OFFLINE = "offline"
    ASSIGNED = "assigned"
    CLOSED = "closed"
    # Served by the full-auto robot, not yet handed to human service (docs/rules.md 2.1:
    # no human entry yet; docs/robot-modes.md, "Full-auto").
    ROBOT = "robot"


# Waiting for any agent of the shop to take it: every agent of the shop may see and take it.
WAITING_STATES = (SessionState.QUEUED.value, SessionState.OFFLINE.value)


class AgentStatus(StrEnum):
    """online: gets new sessions; break: keeps its sessions and takes transfers; offline."""

    ONLINE = "online"
    BREAK = "break"
    OFFLINE = "offline"


class RoutingMode(StrEnum):
    PRIORITY = "priority"
    EVEN = "even"


class ModerationAction(StrEnum):
    """Ordered from mildest to strictest (docs/rules.md 2.2.3–2.2.10)."""

    ALLOW = "allow"
    MASK = "mask"
    REVIEW = "review"
    BLOCK = "block"
