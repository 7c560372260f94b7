"""Lexicons: data files per category and cue class, compiled into one Aho–Corasick automaton.

Loaded once at construction (packaged files through importlib.resources, plus the operator's
directories and files); checking a message is then one automaton pass over its compact view.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

import ahocorasick_rs

from feige.moderation.categories import CATEGORIES
from feige.moderation.normalize import normalize_term

#: Cue classes read by the structured detectors (``cue.<name>.txt``).
CUE_KINDS = (
    "im",
    "phone",
    "email",
    "pay",
    "bank",
    "verb",
    "after",
    "neg",
    "warn",
    "ctx",
    "store",
    "return",
    "money",
    "offplat",
    "onplat",
    "review",
    "threat",
    "promo",
    "harm",
    "sex",
)
#: Cue classes that alone can lead to a finding, so a message holding one takes the slow path.
ACTIVE_CUES = frozenset({"im", "pay", "store", "offplat", "threat", "harm", "sex"})
#: Cue classes that make a number worth the slow path.
NUMERIC_CUES = frozenset({"phone", "bank", "pay", "im"})


_ASCII_DIGITS = frozenset("0123456789")
_ZERO_DIGITS = re.compile(r"[1-9]")

#: Bits of ``Lexicon.fast_masks``: a pattern that can lead to a finding, an advertising word,
#: a cue that makes a bare number a finding.
ACTIVE, PROMO, NUMERIC = 1, 2, 4


@dataclass(frozen=True, slots=True)
class Tag:
    """What one lexicon pattern means."""

    kind: str  # "term", "allow" or a cue class
    category: str = ""  # for "term"
    doubtful: bool = False
    ascii: bool = False  # pure ASCII alphanumerics: must stand alone between letters


@dataclass(frozen=True, slots=True)
class Hit:
    """One automaton match on the compact view."""

    tag: Tag
    start: int
    end: int


class _NoPatterns:
    """Stands in for an automaton without patterns (ahocorasick-rs refuses an empty list)."""

    def find_matches_as_indexes(
        self, haystack: str, overlapping: bool = False
    ) -> list[tuple[int, int, int]]:
        return []


def _automaton(patterns: Iterable[str]) -> ahocorasick_rs.AhoCorasick | _NoPatterns:
    chosen = list(patterns)
    if not chosen:
        return _NoPatterns()
    return ahocorasick_rs.AhoCorasick(chosen, matchkind=ahocorasick_rs.MATCHKIND_STANDARD)


def _packaged() -> Iterator[tuple[str, str]]:
    root = resources.files("feige.moderation").joinpath("lexicons")
    for entry in sorted(root.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".txt") and entry.name != "README.txt":
            yield entry.name[: -len(".txt")], entry.read_text(encoding="utf-8")


def _extra(paths: Iterable[str | Path]) -> Iterator[tuple[str, str]]:
    for p in paths:
        path = Path(p)
        files = sorted(path.glob("*.txt")) if path.is_dir() else [path]
        for f in files:
            if f.name != "README.txt":
                yield f.stem, f.read_text(encoding="utf-8")


def _kind_of(stem: str) -> tuple[str, str] | None:
    if stem == "allow":
        return "allow", ""
    if stem.startswith("cue.") and stem[4:] in CUE_KINDS:
        return stem[4:], ""
    if stem in CATEGORIES:
        return "term", stem
    return None


@lru_cache(maxsize=1)
def _homophone_index() -> dict[str, tuple[str, ...]]:
    """Toneless pinyin -> common characters (GB2312 level 1) whose main reading it is."""
    from pypinyin import Style, lazy_pinyin

    index: dict[str, list[str]] = {}
    for hi in range(0xB0, 0xD8):
        for lo in range(0xA1, 0xFF):
            try:
                ch = bytes((hi, lo)).decode("gb2312")
            except UnicodeDecodeError:
                continue
            index.setdefault(lazy_pinyin(ch, style=Style.NORMAL)[0], []).append(ch)
    return {k: tuple(v) for k, v in index.items()}


def homophones(term: str) -> set[str]:
    """Variants of ``term`` with one CJK character replaced by a homophone (微信 -> 薇信)."""
    from pypinyin import Style, lazy_pinyin

    index = _homophone_index()
    out: set[str] = set()
    for i, ch in enumerate(term):
        if not "\u4e00" <= ch <= "\u9fff":
            continue
        reading = lazy_pinyin(ch, style=Style.NORMAL)[0]
        for alt in index.get(reading, ()):
            if alt != ch:
                out.add(term[:i] + alt + term[i + 1 :])
    whole = "".join(lazy_pinyin(term, style=Style.NORMAL))
    if whole.isascii() and len(whole) >= 4:
        out.add(whole)  # pinyin spelled out: weixin, koukou, zhifubao
    return out


def parse(text: str) -> Iterator[tuple[str, bool, bool]]:
    """Lines of a lexicon file: (term, doubtful, expand homophones)."""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        doubtful = line.startswith("?")
        expand = line.startswith("~")
        if doubtful or expand:
            line = line[1:].strip()
        if line:
            yield line, doubtful, expand


class Lexicon:
    """All patterns of every category and cue class in one automaton."""

    def __init__(
        self,
        paths: Iterable[str | Path] = (),
        extra_terms: Mapping[str, Iterable[str]] | None = None,
        expand_homophones: bool = True,
    ) -> None:
        sources = list(_packaged()) + list(_extra(paths))
        for stem, terms in (extra_terms or {}).items():
            sources.append((stem, "\n".join(terms)))
        tags: dict[str, set[Tag]] = {}
        for stem, text in sources:
            kind = _kind_of(stem)
            if kind is None:
                continue
            for term, doubtful, expand in parse(text):
                variants = {term}
                if expand and expand_homophones:
                    variants |= homophones(term)
                for v in variants:
                    norm = normalize_term(v)
                    if not norm:
                        continue
                    tag = Tag(kind[0], kind[1], doubtful, norm.isascii() and norm.isalnum())
                    tags.setdefault(norm, set()).add(tag)
        # An allow-listed or doubtful entry from an operator overrides nothing else: keep all.
        self.patterns: list[str] = sorted(tags)
        self.tags: list[tuple[Tag, ...]] = [
            tuple(sorted(tags[p], key=lambda t: (t.kind, t.category))) for p in self.patterns
        ]
        #: Patterns that can lead to a finding (advertising words only feed the spam window).
        active = [any(t.kind == "term" or t.kind in ACTIVE_CUES for t in ts) for ts in self.tags]
        #: Cues that make a bare number a finding (phone, bank, payment words).
        numeric = [any(t.kind in NUMERIC_CUES for t in ts) for ts in self.tags]
        self.automaton = ahocorasick_rs.AhoCorasick(
            self.patterns, matchkind=ahocorasick_rs.MATCHKIND_STANDARD
        )
        # Small automata for the fast path: "is there anything that can lead to a finding?"
        # answered by one non-overlapping scan, without looking at inert context words.
        self.active_patterns = _automaton(
            p for p, a in zip(self.patterns, active, strict=True) if a
        )
        self.promo_words = _automaton(
            p
            for p, ts in zip(self.patterns, self.tags, strict=True)
            if any(t.kind == "promo" for t in ts)
        )
        self.numeric_cues = _automaton(p for p, n in zip(self.patterns, numeric, strict=True) if n)
        # The three questions above in one overlapping scan (the engine's first look at a
        # text): each pattern's answers as bits of ``fast_masks``.
        fast = [
            (p, (ACTIVE if a else 0) | (PROMO if any(t.kind == "promo" for t in ts) else 0)
             | (NUMERIC if n else 0))
            for p, ts, a, n in zip(self.patterns, self.tags, active, numeric, strict=True)
        ]  # fmt: skip
        self.fast_patterns = _automaton(p for p, m in fast if m)
        self.fast_masks: list[int] = [m for _p, m in fast if m]
        #: The same answers from patterns without a digit only (0 for the others): what a
        #: text says whatever its numbers are (一直 reads 1直, 一星 1星: those hold digits).
        self.fast_masks_digit_free: list[int] = [
            0 if any(c.isdigit() for c in p) else m for p, m in fast if m
        ]
        #: The patterns with a digit, asked again of every text (a small automaton).
        digit_fast = [(p, m) for p, m in fast if m and any(c.isdigit() for c in p)]
        self.digit_patterns = _automaton(p for p, _m in digit_fast)
        self.digit_masks: list[int] = [m for _p, m in digit_fast]
        #: Every pattern with an ASCII digit, whatever it means (the slow path's hits).
        self.patterns_with_digits = _automaton(
            p for p in self.patterns if not _ASCII_DIGITS.isdisjoint(p)
        )
        #: The fast path's patterns with a digit, each with its ASCII digits read as 0: where
        #: one of them is in a text with its ASCII digits read as 0, one of the patterns can
        #: be in a text that differs only in its ASCII digits (the engine's skeletons).
        self.digit_skeletons: tuple[str, ...] = tuple(
            sorted({_ZERO_DIGITS.sub("0", p) for p, _m in digit_fast})
        )
        #: Of those, the patterns of ASCII digits only (12315), and the skeletons of the others.
        self.digits_only: tuple[str, ...] = tuple(
            sorted(p for p, _m in digit_fast if _ASCII_DIGITS.issuperset(p))
        )
        self.mixed_digit_skeletons: tuple[str, ...] = tuple(
            sorted(
                {
                    _ZERO_DIGITS.sub("0", p)
                    for p, _m in digit_fast
                    if not _ASCII_DIGITS.issuperset(p)
                }
            )
        )

    def __len__(self) -> int:
        return len(self.patterns)

    def matches(self, compact: str) -> list[tuple[int, int, int]]:
        """(pattern index, start, end) of every match, overlapping (fast path)."""
        return self.automaton.find_matches_as_indexes(compact, overlapping=True)

    def hits(self, matches: list[tuple[int, int, int]]) -> list[Hit]:
        return [Hit(tag, s, e) for i, s, e in matches for tag in self.tags[i]]
