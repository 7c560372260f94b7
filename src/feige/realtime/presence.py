"""Who has a socket open right now. Business availability (online/break/offline) is the
agent's status in the store; presence only says whether anyone is connected to hear."""

from __future__ import annotations

from collections import Counter
from typing import Protocol


class Presence(Protocol):
    async def connected(self, who: str) -> None: ...

    async def disconnected(self, who: str) -> None: ...

    async def is_connected(self, who: str) -> bool: ...


class MemoryPresence:
    def __init__(self) -> None:
        self._sockets: Counter[str] = Counter()

    async def connected(self, who: str) -> None:
        self._sockets[who] += 1

    async def disconnected(self, who: str) -> None:
        self._sockets[who] -= 1
        if self._sockets[who] <= 0:
            del self._sockets[who]

    async def is_connected(self, who: str) -> bool:
        return self._sockets.get(who, 0) > 0
