"""What the detectors of one slow-path check share: the views, the lexicon hits by kind, and
the context rules that cancel a hit (allow-list entries, negations, warnings)."""

from __future__ import annotations

import bisect
from dataclasses import dataclass

from feige.moderation.config import ModerationConfig
from feige.moderation.detectors import negation
from feige.moderation.lexicon import Hit
from feige.moderation.normalize import Views

#: Sentence and clause boundaries in the original text.
SENTENCE_END = frozenset("。.!?！？;；\n")
CLAUSE_END = SENTENCE_END | frozenset(",，、")
ASCII_LETTERS = frozenset("abcdefghijklmnopqrstuvwxyz")


@dataclass(slots=True)
class Finding:
    """One detector result before the policy: [start, end) in the original text. ``match``
    replaces the text under the span when there is none to quote (decoded QR content, a file
    format); ``doubtful`` caps the action at the configured doubtful action."""

    category: str
    start: int
    end: int
    detector: str
    doubtful: bool = False
    match: str | None = None


class DetectionContext:
    """One message on the slow path, as every detector reads it."""

    __slots__ = ("_denials", "by_kind", "config", "text", "views")

    def __init__(self, views: Views, hits: list[Hit], config: ModerationConfig) -> None:
        self.views = views
        self.text = views.text
        self.config = config
        self.by_kind: dict[str, list[Hit]] = {}
        self._denials: list[negation.Scope] | None = None
        for h in hits:
            self.by_kind.setdefault(h.tag.kind, []).append(h)

    def hits_of(self, kind: str) -> list[Hit]:
        return self.by_kind.get(kind, [])

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        """Original [start, end) of compact [start, end)."""
        return self.views.span(start, end)

    def allowed(self, start: int, end: int) -> bool:
        """The compact span lies inside an allow-list entry."""
        return any(a.start <= start and end <= a.end for a in self.hits_of("allow"))

    def compact_index(self, original: int) -> int:
        """Compact index of the first compact char at or after original offset ``original``."""
        return bisect.bisect_left(self.views.starts, original)

    def clean_between(self, a: int, b: int, stops: frozenset[str]) -> bool:
        """No clause or sentence boundary in the original text between offsets a and b."""
        lo, hi = (a, b) if a <= b else (b, a)
        return not any(ch in stops for ch in self.text[lo:hi])

    def negated(self, start_c: int) -> bool:
        """A negation ends at most ``negation_gap`` compact chars before ``start_c``, in the
        same clause."""
        gap = self.config.negation_gap
        for n in self.hits_of("neg"):
            reach = gap if n.end - n.start > 1 else 2  # 别, 勿: only right before
            if n.end <= start_c and start_c - n.end <= reach:
                a = self.views.ends[n.end - 1]
                starts = self.views.starts
                b = starts[start_c] if start_c < len(starts) else len(self.text)
                if self.clean_between(a, b, CLAUSE_END):
                    return True
        return False

    def denials(self) -> list[negation.Scope]:
        """The negations of the message and what each denies (found on first use)."""
        if self._denials is None:
            self._denials = negation.scopes(self.views)
        return self._denials

    def denied(self, start_c: int, end_c: int) -> bool:
        """Compact [start_c, end_c) names an act the message denies ("我不会骚扰你的")."""
        found = self.denials()
        return bool(found) and negation.denied(self.views, found, start_c, end_c)

    def warned(self, start_o: int, end_o: int) -> bool:
        """A warning word ("是骗子", "谨防") in the same sentence as [start_o, end_o)."""
        for w in self.hits_of("warn"):
            ws, we = self.original_span(w.start, w.end)
            if (we <= start_o and self.clean_between(we, start_o, SENTENCE_END)) or (
                ws >= end_o and self.clean_between(end_o, ws, SENTENCE_END)
            ):
                return True
        return False

    def cancelled(self, start_c: int, start_o: int, end_o: int) -> bool:
        """Negated or warned against: the message speaks against what it names."""
        return self.negated(start_c) or self.warned(start_o, end_o)

    def near(self, kind: str, start: int, end: int, before: int, after: int) -> list[Hit]:
        """Hits of ``kind`` ending within ``before`` chars before ``start`` or starting within
        ``after`` chars after ``end`` (compact), or overlapping."""
        return [
            h
            for h in self.hits_of(kind)
            if (start - before <= h.end <= start)
            or (end <= h.start <= end + after)
            or (h.start < end and start < h.end)
        ]


def stands_alone(views: Views, hit: Hit) -> bool:
    """An ASCII cue ('vx', 'sb', 'q') must not be part of a longer word ('new xbox', 'usb')."""
    o_s, o_e = views.span(hit.start, hit.end)
    w = views.wide
    before = w[o_s - 1] if o_s > 0 else " "
    after = w[o_e] if o_e < len(w) else " "
    return before not in ASCII_LETTERS and after not in ASCII_LETTERS
