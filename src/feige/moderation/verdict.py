"""The engine's answer for one message, and how masked text is made from it."""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from typing import Any, NamedTuple

from feige.domain import ModerationAction
from feige.moderation import categories as cat

_ACTION_NAMES = {
    ModerationAction.ALLOW: ("通过", "allow"),
    ModerationAction.MASK: ("打码后发送", "delivered masked"),
    ModerationAction.REVIEW: ("发送并提交人工审核", "delivered, queued for review"),
    ModerationAction.BLOCK: ("拦截，未发送", "blocked, not delivered"),
}


class Evidence(NamedTuple):
    """One finding: category, [start, end) in the original text, the matched original
    substring (or decoded QR content), and the detector that found it."""

    category: str
    start: int
    end: int
    match: str
    detector: str


class Verdict(NamedTuple):
    """The engine's answer for one message (docs/rules.md, actions). Immutable; a NamedTuple
    because building it is on the hot path (a frozen dataclass costs microseconds)."""

    action: ModerationAction
    categories: tuple[str, ...] = ()
    clauses: tuple[str, ...] = ()
    spans: tuple[tuple[int, int], ...] = ()
    #: What the recipient sees: masked for mask/review, None for block (and for images).
    text: str | None = None
    #: Findings that set the action (non-allow): (category, start, end, match, detector).
    evidence: tuple[Evidence, ...] = ()
    #: Findings the policy let through (e.g. a buyer's own phone number).
    allowed: tuple[Evidence, ...] = ()
    #: Actions per evidence item, same order as ``evidence``.
    actions: tuple[ModerationAction, ...] = ()
    #: Earlier messages of the same sender that this one completes (a contact sent in pieces),
    #: oldest first; empty for a message judged alone.
    pieces: tuple[str, ...] = ()
    #: The callers' references of those pieces (``check_text(ref=…)``: the product passes the
    #: client message id), same order; None for a piece checked without one. Not in the
    #: ``--jsonl`` output, whose ``pieces`` stay the texts.
    piece_refs: tuple[Hashable, ...] = ()

    @property
    def delivered(self) -> bool:
        return self.action != ModerationAction.BLOCK

    def to_json(self, id: Any) -> dict[str, Any]:
        """The ``feige moderate --jsonl`` output line (docs/interfaces.md)."""
        out = {
            "id": id,
            "action": str(self.action),
            "categories": list(self.categories),
            "clauses": list(self.clauses),
            "text": self.text,
            "spans": [[s, e] for s, e in self.spans],
        }
        if self.pieces:
            out["pieces"] = list(self.pieces)
        return out

    def describe(self, lang: str = "zh") -> str:
        """One line for the sender or an operator: action, categories, clauses."""
        en = lang.lower().startswith("en")
        head = _ACTION_NAMES[self.action][1 if en else 0]
        if not self.categories:
            return head
        parts = [
            f"{cat.LABELS[c][1 if en else 0]} ({'clause' if en else '第'} {cat.CLAUSES[c]}"
            f"{'' if en else ' 条'})"
            for c in self.categories
        ]
        return f"{head}: " + ("; " if en else "；").join(parts)


def merge_spans(spans: Iterable[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    """Sorted, overlapping or touching spans joined."""
    out: list[list[int]] = []
    for s, e in sorted(spans):
        if out and s <= out[-1][1]:
            out[-1][1] = max(out[-1][1], e)
        else:
            out.append([s, e])
    return tuple((s, e) for s, e in out)


def mask(text: str, spans: tuple[tuple[int, int], ...]) -> str:
    """``text`` with every non-space character inside ``spans`` replaced by ``*``."""
    if not spans:
        return text
    chars = list(text)
    for s, e in spans:
        for i in range(s, e):
            if not chars[i].isspace():
                chars[i] = "*"
    return "".join(chars)
