"""Fan-out of committed events to every socket that should see them, on any node.

Services publish an event once, already serialised, to a set of channels (``consumer:7``,
``member:3``, ``shop:2:supervisors``…). The in-process broker hands it to the local
subscribers; a Redis broker with the same interface carries it between nodes. Messages lost
between nodes are recovered by sequence number from the store, so the broker may be lossy.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Protocol

# Which socket a request came from (a number the node gives each socket): data a service
# can pass along, so that a socket can be left out of an event without the socket object
# ever reaching the service.
Origin = int


class Subscriber(Protocol):
    @property
    def origin(self) -> Origin | None:
        """The socket's origin; None for a subscriber that is no socket (a node's watch)."""

    def deliver(self, payload: bytes) -> None:
        """Queue the payload for the socket; must not block."""


class Broker(Protocol):
    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def publish(
        self,
        channels: Iterable[str],
        payload: bytes,
        exclude: Origin | None = None,
        message_seq: tuple[int, int] | None = None,
    ) -> None:
        """Deliver to every subscriber of the channels, once each, except the socket whose
        origin is ``exclude``. ``message_seq`` is a message event's (session id, seq), when
        the caller has it (a broker that orders messages would otherwise read the payload)."""

    def subscribe(self, channel: str, subscriber: Subscriber) -> None: ...

    def unsubscribe(self, channel: str, subscriber: Subscriber) -> None: ...

    async def ready(self, channels: Iterable[str], timeout: float = 2.0) -> bool:
        """Wait until events published to ``channels`` reach this node from now on."""

    def observe(self, session_id: int, last_seq: int, channels: tuple[str, ...]) -> None:
        """A socket of this node has the session up to ``last_seq``: a broker that can lose
        events uses it to notice a later gap."""


class LocalFanout:
    """Channel → local subscribers; each subscriber gets a payload once per publish."""

    def __init__(self) -> None:
        self._channels: dict[str, set[Subscriber]] = defaultdict(set)

    def subscribe(self, channel: str, subscriber: Subscriber) -> None:
        self._channels[channel].add(subscriber)

    def unsubscribe(self, channel: str, subscriber: Subscriber) -> None:
        members = self._channels.get(channel)
        if members is not None:
            members.discard(subscriber)
            if not members:
                del self._channels[channel]

    def has_subscribers(self, channel: str) -> bool:
        return channel in self._channels

    def channels(self) -> list[str]:
        """Every channel with a subscriber on this node."""
        return list(self._channels)

    def deliver(
        self, channels: Iterable[str], payload: bytes, exclude: Origin | None = None
    ) -> None:
        seen: set[Subscriber] = set()
        for channel in channels:
            for subscriber in self._channels.get(channel, ()):
                if subscriber not in seen:
                    seen.add(subscriber)
                    if exclude is None or subscriber.origin != exclude:
                        subscriber.deliver(payload)


class MemoryBroker:
    """The single-node broker: publish is local delivery."""

    def __init__(self) -> None:
        self.local = LocalFanout()

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def publish(
        self,
        channels: Iterable[str],
        payload: bytes,
        exclude: Origin | None = None,
        message_seq: tuple[int, int] | None = None,
    ) -> None:
        self.local.deliver(channels, payload, exclude)

    def subscribe(self, channel: str, subscriber: Subscriber) -> None:
        self.local.subscribe(channel, subscriber)

    def unsubscribe(self, channel: str, subscriber: Subscriber) -> None:
        self.local.unsubscribe(channel, subscriber)

    async def ready(self, channels: Iterable[str], timeout: float = 2.0) -> bool:
        return True

    def observe(self, session_id: int, last_seq: int, channels: tuple[str, ...]) -> None:
        return None
