"""Which accounts' tokens were revoked, as this node has heard (docs/security.md).

Every node subscribes one ``RevocationWatch`` to the revocations channel. A socket checks it
on every frame it receives, so a socket opened with a token revoked since never acts again,
even if the event that closes it was still on its way.
"""

from __future__ import annotations

import orjson


class RevocationWatch:
    """A broker subscriber: account channel (``member:5``) → its current token version."""

    origin = None  # not a socket

    def __init__(self) -> None:
        self.versions: dict[str, int] = {}

    def deliver(self, payload: bytes) -> None:
        event = orjson.loads(payload)
        account, version = event.get("account"), event.get("version")
        current = self.versions.get(account, -1) if isinstance(account, str) else None
        if current is not None and isinstance(version, int) and version > current:
            self.versions[account] = version

    def is_revoked(self, account: str, token_version: int) -> bool:
        return self.versions.get(account, token_version) > token_version
