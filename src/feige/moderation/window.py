"""A short window of each sender's recent pieces per session: a contact sent in two or three
messages (``138`` / ``1234`` / ``5678``; ``微`` / ``信`` / ``号 abc123``) is read joined.

Pure and bounded: at most ``max_pieces`` pieces of at most ``max_chars`` characters per
(session, sender), at most ``max_keys`` keys (least recently used dropped). The engine keeps one
per process; what it holds is lost on restart and not shared between nodes (a contact split
across a restart, or across two nodes serving one sender, is read piece by piece).
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Hashable

#: A piece worth joining: short, and holding digits or Latin letters, or one or two
#: characters long ("微", "信"); the engine also keeps short pieces with an IM or phone cue
#: ("我的微信"). Ordinary short replies ("谢谢亲", "好的呢") and sentences are not kept.
_FRAGMENT = re.compile(r"[0-9a-z]")


def is_fragment(compact: str, max_chars: int = 16) -> bool:
    """Could this message (its compact view) be one piece of a split contact?"""
    n = len(compact)
    return n <= 2 or (n <= max_chars and _FRAGMENT.search(compact) is not None)


#: One remembered piece: its text and the caller's reference to the message (its client
#: message id in the product, so that the record can name the stored message; None when the
#: caller gave none).
Piece = tuple[str, Hashable]


class SplitWindow:
    """Recent short messages per key, oldest first."""

    __slots__ = ("_pieces", "forget", "max_chars", "max_keys", "max_pieces")

    def __init__(self, max_pieces: int = 3, max_chars: int = 16, max_keys: int = 50_000) -> None:
        self.max_pieces = max_pieces
        self.max_chars = max_chars
        self.max_keys = max_keys
        self._pieces: OrderedDict[Hashable, list[Piece]] = OrderedDict()
        #: ``forget(key, None)``: :meth:`clear` without a Python call (the engine ends a
        #: sender's window at nearly every message).
        self.forget = self._pieces.pop

    def recent(self, key: Hashable) -> list[Piece]:
        """The pieces before this message (oldest first); empty when there are none."""
        return self._pieces.get(key) or []

    def push(self, key: Hashable, text: str, fragment: bool, ref: Hashable = None) -> None:
        """Remember a message that passed alone. A long or ordinary message ends the window:
        what came before it is no longer one utterance with what comes after."""
        if not fragment:
            self._pieces.pop(key, None)
            return
        pieces = self._pieces.get(key)
        if pieces is None:
            if len(self._pieces) >= self.max_keys:
                self._pieces.popitem(last=False)
            self._pieces[key] = [(text, ref)]
            return
        self._pieces.move_to_end(key)
        pieces.append((text, ref))
        if len(pieces) >= self.max_pieces:
            del pieces[0]

    def clear(self, key: Hashable) -> None:
        """Forget a key's pieces (they were acted on as one violation)."""
        self._pieces.pop(key, None)

    def __len__(self) -> int:
        return len(self._pieces)
