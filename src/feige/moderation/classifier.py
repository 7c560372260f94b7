"""The meaning classifier: abuse, threats and porn, extortion, defamation and scams that no
lexicon entry names ("你脑子是不是有问题", "一把火烧了你仓库").

Character 1-3-grams of the compact view (so the disguises the normalisation sees through are
seen through here too) and one weight per n-gram and class: multinomial logistic regression,
trained by ``tools/train_abuse.py`` and shipped as ``models/abuse.tsv.gz`` (read once, at
construction; no download). Inference is one Aho–Corasick pass over the n-gram vocabulary and
a sum of weights. It runs only on text whose *triggers* -- n-grams that lift a class above
``safe`` by themselves -- add up to enough, which most chat's do not, so most messages pay
one scan of a small automaton.
"""

from __future__ import annotations

import gzip
import math
import re
from importlib import resources
from operator import itemgetter
from pathlib import Path

import ahocorasick_rs
import numpy as np
import numpy.typing as npt

from feige.moderation import categories as cat

SAFE = "safe"
#: Classes of the model, ``safe`` first; the others are categories of docs/rules.md.
CLASSES = (SAFE, cat.ABUSE, cat.PORN_VULGAR_VIOLENCE, cat.EXTORTION, cat.MISUSE, cat.FRAUD)


def ngrams(text: str) -> list[str]:
    """Character 1-, 2- and 3-grams (the training features)."""
    n = len(text)
    return [text[i : i + k] for k in (1, 2, 3) for i in range(n - k + 1)]


#: The pattern's index of an Aho–Corasick match: ``set(map(_pattern_index, matches))`` is
#: ``{i for i, _s, _e in matches}`` built in C, inserted in the same order (the same set, so
#: the same order of summing).
_pattern_index = itemgetter(0)
#: ``[0-9]+`` written to start with a character class (the search then skips ahead in C).
_DIGIT_RUN = re.compile(r"[0-9][0-9]*")


def prepare(compact: str) -> str:
    """What the model reads of a compact view: every run of digits as one ``0``. A number
    says nothing about abuse or threats (the compact view writes 一 as 1, so ``1把火`` reads
    ``0把火``), and chat that differs only in its numbers -- order numbers, prices, dates --
    is then one text to the model, scored once (:meth:`MeaningModel.classify` remembers)."""
    return _DIGIT_RUN.sub("0", compact)


#: Texts with fewer letters (Chinese characters included) are not scored: two or three
#: character n-grams say nothing reliable about so little ("客服2", a name, scored 0.50 as
#: abuse); short abuse is the lexicons' work.
MIN_LETTERS = 3


class MeaningModel:
    """Weights per n-gram and class, with the automaton that finds the n-grams."""

    def __init__(
        self,
        grams: list[str],
        weights: npt.NDArray[np.float32],
        bias: npt.NDArray[np.float32],
        classes: tuple[str, ...] = CLASSES,
        threshold: float = 0.5,
        trigger_lift: float = 0.6,
        trigger_sum: float = 0.0,
        trigger_strong: float = 0.0,
    ) -> None:
        self.grams = grams
        self.weights = weights
        self.bias = bias
        self.classes = classes
        #: Probability of the best non-safe class from which a text is flagged.
        self.threshold = threshold
        self._all = ahocorasick_rs.AhoCorasick(grams).find_matches_as_indexes
        self._rows: list[tuple[float, ...]] = [tuple(map(float, r)) for r in weights.tolist()]
        self._bias: list[float] = [float(b) for b in bias.tolist()]
        # A class can reach p >= 0.5 only if its logit reaches safe's. Two sums bound that
        # for every class at once: the first non-safe class exactly (abuse: most of what is
        # flagged), the others by the best of them per n-gram. Below both, the text is safe
        # and the full softmax is not needed.
        diffs = weights[:, 1:] - weights[:, :1]
        self._first = [float(x) for x in diffs[:, 0].tolist()]
        self._others = [float(x) for x in diffs[:, 1:].max(axis=1).tolist()]
        self._first_bias = float(bias[1] - bias[0])
        self._others_bias = float((bias[2:] - bias[0]).max()) if len(bias) > 2 else -math.inf
        lift = (weights[:, 1:] - weights[:, :1]).max(axis=1)
        chosen = [(g, float(x)) for g, x in zip(grams, lift, strict=True) if x >= trigger_lift]
        self.triggers = len(chosen)
        self._trigger_lift = [x for _g, x in chosen]
        self._find_trigger = (
            ahocorasick_rs.AhoCorasick([g for g, _x in chosen]).find_matches_as_indexes
            if chosen
            else None
        )
        #: A text is scored when its trigger n-grams lift a class by ``trigger_sum`` together,
        #: or one of them by ``trigger_strong`` alone; 0 for both (the default): one trigger
        #: is enough. (Asking for more gave up 1-3 points of recall on the training chat, and
        #: with the answers remembered per text the scoring is rarely paid twice.)
        self.trigger_sum = trigger_sum
        self.trigger_strong = trigger_strong
        #: Answers per prepared text (bounded, cleared when full): chat repeats itself up to
        #: its numbers.
        self._memo: dict[str, tuple[str, float] | None] = {}
        self.memo_size = 20_000

    @classmethod
    def load(cls, path: Path | None = None, threshold: float | None = None) -> MeaningModel:
        """The packaged model (or one at ``path``)."""
        if path is None:
            raw = (
                resources.files("feige.moderation")
                .joinpath("models")
                .joinpath("abuse.tsv.gz")
                .read_bytes()
            )
        else:
            raw = path.read_bytes()
        lines = gzip.decompress(raw).decode("utf-8").splitlines()
        header: dict[str, list[str]] = {}
        grams: list[str] = []
        rows: list[list[float]] = []
        for line in lines:
            if line.startswith("#") or not line:
                continue
            key, *values = line.split("\t")
            if key in ("classes", "bias", "threshold", "trigger_lift"):
                header[key] = values
                continue
            grams.append(key)
            rows.append([float(v) for v in values])
        classes = tuple(header["classes"])
        return cls(
            grams,
            np.array(rows, dtype=np.float32),
            np.array([float(b) for b in header["bias"]], dtype=np.float32),
            classes,
            threshold if threshold is not None else float(header.get("threshold", ["0.5"])[0]),
            float(header.get("trigger_lift", ["0.6"])[0]),
        )

    def worth_running(self, text: str) -> bool:
        """Do the trigger n-grams of a prepared text lift a class enough to be worth
        scoring? (One scan of a small automaton.)"""
        if self._find_trigger is None:
            return False
        if self.trigger_sum <= 0 and self.trigger_strong <= 0:
            return bool(self._find_trigger(text))  # any one: a non-overlapping scan
        hits = self._find_trigger(text, overlapping=True)
        if not hits:
            return False
        lifts = self._trigger_lift
        found = [lifts[i] for i in {i for i, _s, _e in hits}]
        return max(found) >= self.trigger_strong or sum(found) >= self.trigger_sum

    def probabilities(self, compact: str) -> list[float]:
        """Class probabilities of a compact text."""
        text = prepare(compact)
        return self._probabilities({i for i, _s, _e in self._all(text, overlapping=True)})

    def _probabilities(self, found: set[int]) -> list[float]:
        """Class probabilities from the n-grams found (plain Python: for one short text,
        summing a few dozen rows of six floats beats numpy's call overhead several times)."""
        rows = self._rows
        z = (
            [
                b + sum(col)
                for b, col in zip(
                    self._bias, zip(*[rows[i] for i in found], strict=True), strict=True
                )
            ]
            if found
            else list(self._bias)
        )
        top = max(z)
        e = [math.exp(v - top) for v in z]
        total = sum(e)
        return [v / total for v in e]

    def classify(self, compact: str) -> tuple[str, float] | None:
        """(category, probability) when a non-safe class reaches the threshold, else None.
        Texts without a trigger are not scored (see :meth:`worth_running`); the answer is
        remembered per prepared text."""
        if not compact:
            return None
        text = prepare(compact)
        memo = self._memo
        known = memo.get(text, memo)
        if known is not memo:
            return known  # type: ignore[return-value]
        result = self._classify(text)
        if len(memo) >= self.memo_size:
            memo.clear()
        memo[text] = result
        return result

    def _classify(self, text: str) -> tuple[str, float] | None:
        if not self.worth_running(text) or (
            not (len(text) >= MIN_LETTERS and text[:MIN_LETTERS].isalpha())
            and sum(map(str.isalpha, text)) < MIN_LETTERS
        ):  # most texts start with enough letters: no count
            return None
        found = set(map(_pattern_index, self._all(text, overlapping=True)))
        if self.threshold >= 0.5:
            first = self._first_bias + sum(map(self._first.__getitem__, found))
            if first < 0 and self._others_bias + sum(map(self._others.__getitem__, found)) < 0:
                return None
        p = self._probabilities(found)
        best = max(range(1, len(p)), key=p.__getitem__)
        if not p[best] >= self.threshold:  # also false for NaN
            return None
        return self.classes[best], p[best]
