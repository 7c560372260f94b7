"""What every action needs: who is acting and the running parts of the node."""

from __future__ import annotations

import asyncio
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from feige.config import Settings
from feige.domain import SenderRole
from feige.realtime import frames
from feige.realtime.broker import Broker, Origin
from feige.realtime.presence import Presence
from feige.realtime.revocations import RevocationWatch
from feige.services import channels
from feige.store.db import Database

PrincipalKind = Literal["staff", "member", "consumer"]
T = TypeVar("T")


# Which process this is (host:pid:random), for the leases of background jobs that run on one
# node at a time.
NODE_NAME = f"{socket.gethostname()}:{os.getpid()}:{os.urandom(3).hex()}"


@dataclass(frozen=True, slots=True)
class Principal:
    kind: PrincipalKind
    id: int
    role: str
    name: str
    shop_id: int | None = None
    # The account's token version when its token was issued (docs/security.md, "Revocation").
    token_version: int = 0
    # Where the request came from, for the audit log (set by the transport; docs/enforcement.md).
    ip: str | None = None
    user_agent: str | None = None

    @property
    def channel(self) -> str:
        return channels.account(self.kind, self.id)

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
class SendLane:
    """One socket's sends while any of them waits (for the store, for an image scan): the
    waiting one holds the lock until its job is queued to the writer, and later ones queue
    behind it instead of overtaking."""

    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    waiting: int = 0


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
    # Image scans running now and how many may run at once (screening's ScanGate).
    image_scan_gate: Any = None
    # The lanes of the sockets that have a send waiting now, by origin (actions/send.py).
    send_lanes: dict[Origin, SendLane] = field(default_factory=dict)
    # Called with each committed outbox before its events go out: the node's live state that
    # follows the message path (the robot's rolling window, services/actions/robot_mode.py).
    observers: list[Callable[[Outbox], None]] = field(default_factory=list)
    # The robot's live watch (services/actions/robot_mode.RobotWatch), once started.
    robot_watch: Any = None
    # The robot's assist side (services/actions/robot_assist.AssistWatch), once started.
    robot_assist: Any = None
    # The full-auto robot (services/actions/full_auto.FullAutoWatch), once started.
    robot_full_auto: Any = None
    # This process among the nodes, for the leases of what one node at a time does.
    node: str = NODE_NAME

    async def write_and_publish(self, job: Callable[..., T], *args: Any) -> T:
        """Run ``job(conn, outbox, *args)`` in the next group commit, then publish its events."""
        outbox = Outbox()
        result = await self.db.write(job, *args, outbox=outbox)
        await self.publish(outbox)
        return result

    async def publish(
        self, outbox: Outbox, origin: Origin | None = None, acked_message: int | None = None
    ) -> None:
        """Send the committed events. The socket ``origin`` (where a send came from) does not
        get the event of message ``acked_message``: its ack carries that message already."""
        for observe in self.observers:
            observe(outbox)
        for audience, event in outbox.items:
            if not audience:
                continue  # for this node's observers only (the full-auto robot's turns)
            message = event.get("message")
            if message is None:
                await self.broker.publish(audience, frames.event(event))
                continue
            own = acked_message is not None and message.get("id") == acked_message
            # A message event's (session, seq) given, so a broker need not parse the frame.
            sequenced = (
                (message["session_id"], message["seq"]) if event.get("type") == "message" else None
            )
            await self.broker.publish(
                audience, frames.event(event), origin if own else None, message_seq=sequenced
            )
