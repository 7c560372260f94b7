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
from importlib import resources
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
        trigger_sum: float = 2.6,
        trigger_strong: float = 1.5,
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
        #: or one of them by ``trigger_strong`` alone: single common characters (我, 你, 要)
        #: are triggers, but one of them alone is not worth scoring.
        self.trigger_sum = trigger_sum
        self.trigger_strong = trigger_strong

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

    def worth_running(self, compact: str) -> bool:
        """Do the text's trigger n-grams lift a class enough to be worth scoring? (One scan
        of a small automaton.)"""
        if self._find_trigger is None:
            return False
        hits = self._find_trigger(compact, overlapping=True)
        if not hits:
            return False
        lifts = self._trigger_lift
        found = [lifts[i] for i in {i for i, _s, _e in hits}]
        return max(found) >= self.trigger_strong or sum(found) >= self.trigger_sum

    def probabilities(self, compact: str) -> list[float]:
        """Class probabilities of a compact text (plain Python: for one short text, summing
        a few dozen rows of six floats beats numpy's call overhead several times over)."""
        rows = self._rows
        found = {i for i, _s, _e in self._all(compact, overlapping=True)}
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
        Texts without a trigger are not scored (see :meth:`worth_running`)."""
        if not compact or not self.worth_running(compact):
            return None
        if sum(1 for c in compact if c.isalpha()) < MIN_LETTERS:
            return None
        if self.threshold >= 0.5:
            found = {i for i, _s, _e in self._all(compact, overlapping=True)}
            first = self._first_bias + sum(map(self._first.__getitem__, found))
            if first < 0 and self._others_bias + sum(map(self._others.__getitem__, found)) < 0:
                return None
        p = self.probabilities(compact)
        best = max(range(1, len(p)), key=p.__getitem__)
        if not p[best] >= self.threshold:  # also false for NaN
            return None
        return self.classes[best], p[best]
