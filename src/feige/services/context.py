"""What every action needs: who is acting and the running parts of the node."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson

from feige.config import Settings
from feige.domain import SenderRole
from feige.realtime.broker import Broker
from feige.realtime.presence import Presence
from feige.realtime.revocations import RevocationWatch
from feige.store.db import Database

PrincipalKind = Literal["staff", "member", "consumer"]
# Every node listens here for revoked accounts (docs/security.md, "Revocation").
REVOCATIONS_CHANNEL = "platform:revocations"


@dataclass(frozen=True, slots=True)
class Principal:
    kind: PrincipalKind
    id: int
    role: str
    name: str
    shop_id: int | None = None
    # The account's token version when its token was issued (docs/security.md, "Revocation").
    token_version: int = 0

    @property
    def channel(self) -> str:
        return f"{self.kind}:{self.id}"

    @property
    def is_supervisor(self) -> bool:
        """Shop owners and managers see every session of their shop."""
        return self.kind == "member" and self.role in ("owner", "manager")

    @property
    def is_staff(self) -> bool:
        return self.kind == "staff"

    @property
    def sender_role(self) -> SenderRole:
        """What this principal's messages are: a consumer's, the buyer's; a member's, an agent's."""
        return SenderRole.BUYER if self.kind == "consumer" else SenderRole.AGENT


@dataclass
class Outbox:
    """Events produced inside a transaction, published only after it commits."""

    items: list[tuple[tuple[str, ...], dict[str, Any]]] = field(default_factory=list)

    def add(self, channels: tuple[str, ...], event: dict[str, Any]) -> None:
        self.items.append((channels, event))

    def discard(self) -> None:
        """The transaction that produced these events rolled back: none of them happened (the
        writer re-runs the job alone, which adds its events again)."""
        self.items.clear()


@dataclass
class Context:
    settings: Settings
    db: Database
    broker: Broker
    presence: Presence
    moderator: Any = None
    demo: bool = False
    clock: Callable[[], float] = time.time
    # The node's abuse limits (api/ratelimit.Limiter): applied at the edge, kept here so
    # the socket and the routes share one instance.
    limiter: Any = None
    # session id → (shop id, consumer id): fixed for a session's life, so safe to remember.
    session_parties: dict[int, tuple[int, int]] = field(default_factory=dict)
    revocations: RevocationWatch = field(default_factory=RevocationWatch)
    # Image scans running now and how many may run at once (compliance.scan_gate).
    image_scan_gate: Any = None

    async def parties(self, session_id: int) -> tuple[int, int] | None:
        known = self.session_parties.get(session_id)
        if known is None:
            from feige.store import sessions as session_store

            row = await self.db.read(session_store.session_by_id, session_id)
            if row is None:
                return None
            if len(self.session_parties) >= 200_000:
                self.session_parties.clear()
            known = self.session_parties[session_id] = (row["shop_id"], row["consumer_id"])
        return known

    async def publish(
        self, outbox: Outbox, skip: Any = None, skip_message: int | None = None
    ) -> None:
        """Send the committed events. The subscriber ``skip`` (the sending socket) does not
        get the event of message ``skip_message``: its ack carried that message already."""
        for channels, event in outbox.items:
            payload = orjson.dumps({"op": "event", **event})
            own = skip_message is not None and event.get("message", {}).get("id") == skip_message
            await self.broker.publish(channels, payload, skip if own else None)
