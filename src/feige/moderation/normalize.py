"""Normalisation that sees through evasions and keeps a map back to the original text.

Two views of a message are built:

* ``wide`` -- one character per original character (so offsets are shared with the original):
  NFKC, digit and letter styles beyond NFKC (①⑴⒈❶➀➊㈠⓵㊀, 〇一二…九, 壹贰…玖, super- and
  subscripts, circled/squared/mathematical letters), accents stripped, traditional to
  simplified (OpenCC, per character), case folded.  URL, e-mail and token detectors read it
  because they need the punctuation.
* ``compact`` -- ``wide`` with separators, punctuation, symbols and emoji removed and runs of
  three or more identical non-digit characters collapsed to one.  Lexicon and cue matching
  reads it, so ``加 微-信`` and ``加🌟微🌟信`` both read ``加微信``.

Both steps are ``str.translate`` over a precomputed table (C speed); the per-character offset
map is only built when something matched, which keeps clean messages cheap.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from operator import itemgetter

#: Table size: the BMP and the supplementary planes that hold styled letters and emoji.
_LIMIT = 0x30000

_CN_DIGITS = {
    "〇": "0",
    "零": "0",
    "一": "1",
    "幺": "1",
    "壹": "1",
    "二": "2",
    "贰": "2",
    "三": "3",
    "叁": "3",
    "四": "4",
    "肆": "4",
    "五": "5",
    "伍": "5",
    "六": "6",
    "陆": "6",
    "七": "7",
    "柒": "7",
    "八": "8",
    "捌": "8",
    "九": "9",
    "玖": "9",
}

#: Look-alike letters from other scripts that NFKC keeps apart.
_HOMOGLYPHS = {
    "а": "a",
    "в": "b",
    "е": "e",
    "к": "k",
    "м": "m",
    "н": "h",
    "о": "o",
    "р": "p",
    "с": "c",
    "т": "t",
    "у": "y",
    "х": "x",
    "ѕ": "s",
    "і": "i",
    "ј": "j",
    "α": "a",
    "β": "b",
    "ε": "e",
    "ι": "i",
    "κ": "k",
    "ν": "v",
    "ο": "o",
    "ρ": "p",
    "τ": "t",
    "υ": "u",
    "χ": "x",
    "ω": "w",
    "。": ".",
    "｡": ".",
}

_LETTER_NAME = re.compile(r"\b(?:LATIN (?:CAPITAL|SMALL) )?LETTER ([A-Z])$")
_STRIP = str.maketrans("", "", "()[]{}. ")

#: Characters that survive into ``compact`` even though they are punctuation or symbols.
_KEEP_IN_COMPACT = {"+": "加"}

_COLLAPSE = re.compile(r"([^0-9])\1\1+")
_TRIPLE = re.compile(r"([^0-9])\1\1")
_DELETED_RUN = re.compile("\x00+")
#: The replacement of ``_COLLAPSE``: its first group, taken in C (a template such as ``\1``
#: is expanded by Python code at every call and match).
_GROUP_1 = itemgetter(1)


def _single_reading(cp: int) -> str:
    """Best single-character reading of one code point, before t2s and numerals."""
    c = chr(cp)
    if c in _HOMOGLYPHS:
        return _HOMOGLYPHS[c]
    n = unicodedata.normalize("NFKC", c)
    if len(n) > 1:
        stripped = n.translate(_STRIP)
        n = stripped if len(stripped) == 1 else c
    if n == c and unicodedata.category(c) in ("So", "No"):
        d = unicodedata.digit(c, None)
        if d is not None:
            n = str(d)
        else:
            m = _LETTER_NAME.search(unicodedata.name(c, ""))
            if m and unicodedata.category(c) == "So":
                n = m.group(1)
    folded = n.casefold()
    if len(folded) == 1:
        n = folded
    if not n.isascii():
        base = unicodedata.normalize("NFD", n)[0]
        if base.isascii() and base.isalpha():
            n = base.lower()
    d = unicodedata.decimal(n, None)
    if d is not None:
        n = str(d)
    return n


@dataclass(frozen=True, slots=True)
class Tables:
    """The two ``str.translate`` tables (lists indexed by code point)."""

    wide: list[int | None]
    compact: list[int | None]
    #: ``compact`` applied after ``wide``, in one table (the fast path needs one call).
    original_to_compact: list[int | None]
    #: ``wide`` with deleted characters marked as NUL (to find deletion runs quickly).
    wide_marking_deleted: list[int | None]
    #: Original characters that may start a link, address or token (read as . @ / ¥ ( …).
    link_chars: frozenset[str]


@lru_cache(maxsize=1)
def tables() -> Tables:
    """Build the translate tables once per process (about a quarter of a second)."""
    import opencc  # local: only needed while building

    wide: list[int | None] = list(range(_LIMIT))
    singles: dict[int, str] = {}
    for cp in range(_LIMIT):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        if 0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF:
            continue  # ideographs: handled by OpenCC below
        s = _single_reading(cp)
        if s != chr(cp):
            singles[cp] = s
    cjk = [chr(cp) for cp in range(0x3400, 0x4DC0)] + [chr(cp) for cp in range(0x4E00, 0xA000)]
    converted = opencc.OpenCC("t2s").convert("\n".join(cjk)).split("\n")
    if len(converted) == len(cjk):
        for src, dst in zip(cjk, converted, strict=True):
            if len(dst) == 1 and dst != src:
                singles[ord(src)] = dst
    # Second pass: Chinese numerals after t2s and NFKC (貳 -> 贰 -> 2, ㊀ -> 一 -> 1).
    for cp, s in list(singles.items()):
        singles[cp] = _CN_DIGITS.get(s, s)
    for c, d in _CN_DIGITS.items():
        singles[ord(c)] = d
    for cp, s in singles.items():
        wide[cp] = ord(s)

    # ``compact`` is applied to ``wide`` output: drop separators, punctuation, symbols, emoji.
    compact: list[int | None] = list(range(_LIMIT))
    for cp in range(_LIMIT):
        ch = chr(cp)
        if ch in _KEEP_IN_COMPACT:
            compact[cp] = ord(_KEEP_IN_COMPACT[ch])
        elif unicodedata.category(ch)[0] in "PZSCM":
            compact[cp] = None
    original_to_compact: list[int | None] = [
        None if v is None else (compact[v] if v < _LIMIT else v) for v in wide
    ]
    wide_marking_deleted: list[int | None] = [0 if v is None else v for v in original_to_compact]
    for cp in range(_LIMIT):
        if original_to_compact[cp] is not None:
            wide_marking_deleted[cp] = wide[cp]
    targets = set(".@/¥$€£₤₳₴₵₰(:。点")
    link_chars = frozenset(
        chr(cp) for cp in range(_LIMIT) if wide[cp] is not None and chr(wide[cp] or 0) in targets
    )
    return Tables(wide, compact, original_to_compact, wide_marking_deleted, link_chars | targets)


def widen(text: str) -> str:
    """The 1:1 normalised view (same length as ``text``)."""
    return text.translate(tables().wide)


def compact_of(wide: str) -> str:
    """The compact view of a wide view, without offsets."""
    return collapse(wide.translate(tables().compact))


def collapse(s: str) -> str:
    """Runs of three or more identical non-digits to one (微微微信信信 -> 微信)."""
    if len(s) > 2 and _TRIPLE.search(s):
        return _COLLAPSE.sub(_GROUP_1, s)
    return s


def normalize_term(term: str) -> str:
    """How lexicon entries are normalised: exactly like messages."""
    return compact_of(widen(term))


@dataclass(frozen=True, slots=True)
class Views:
    """Normalised views of one message with offsets back to the original."""

    text: str
    wide: str
    compact: str
    starts: list[int]  # compact index -> original start offset
    ends: list[int]  # compact index -> original end offset (exclusive)

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Original [start, end) of compact [start, end)."""
        return self.starts[start], self.ends[end - 1]


def views(text: str, wide: str | None = None) -> Views:
    """Build both views and the offset map (slow path, only for messages with hits)."""
    t = tables()
    w = widen(text) if wide is None else wide
    comp = t.compact
    s0 = w.translate(comp)
    if len(s0) == len(w):
        keep: list[int] = list(range(len(w)))
    else:  # cut the deleted runs out of the index range
        keep = []
        pos = 0
        for m in _DELETED_RUN.finditer(text.translate(t.wide_marking_deleted)):
            keep.extend(range(pos, m.start()))
            pos = m.end()
        keep.extend(range(pos, len(w)))
        if len(keep) != len(s0):  # characters beyond the table: the slow, sure way
            keep = [i for i, c in enumerate(w) if ord(c) >= _LIMIT or comp[ord(c)] is not None]
            s0 = "".join(w[i].translate(comp) for i in keep)
    ends_all = [i + 1 for i in keep]
    if len(s0) > 2 and _TRIPLE.search(s0):
        parts: list[str] = []
        starts: list[int] = []
        ends: list[int] = []
        pos = 0
        for m in _COLLAPSE.finditer(s0):
            a, b = m.start(), m.end()
            parts.append(s0[pos:a])
            parts.append(s0[a])
            starts += keep[pos : a + 1]
            ends += ends_all[pos:a]
            ends.append(ends_all[b - 1])
            pos = b
        parts.append(s0[pos:])
        starts += keep[pos:]
        ends += ends_all[pos:]
        return Views(text, w, "".join(parts), starts, ends)
    return Views(text, w, s0, keep, ends_all)
