"""A sentence encoder from Chinese word vectors: the meaning layer's default embedding model.

``WordVectorEncoder`` implements ``embedding.SentenceEncoder``: a text is segmented with jieba,
filler words dropped, and its words' vectors averaged with SIF weights (``a / (a + p(w))``:
rare words weigh more than common ones), the vocabulary's common direction removed, and the
result scaled to unit length. A word without a vector falls back to the mean of its
characters' vectors, so "砍个价" still lands near "砍价" and "便宜".

The vectors are those of the ``cnsyn`` package (Apache-2.0, github.com/shangfr/Chinese-Synonyms,
129,691 words × 75 dimensions), pruned by ``tools/build_word_vectors.py`` to the words of
jieba's dictionary that matter and stored as int8 with a per-word scale in
``robot/data/word_vectors.npz`` (≈ 5 MB). The file is read once per process, on first use
(``packaged_encoder``); encoding a question afterwards touches no file.

File format (numpy ``.npz``): ``words`` (uint8, the UTF-8 words joined by ``\\n``),
``vectors`` (int8, n × d), ``scale`` (float32, n: a word's vector is ``vectors[i] * scale[i]``),
``logp`` (float32, n: log of the word's probability in jieba's dictionary), and optional
``mean`` (float32, d) and ``components`` (float32, k × d): the vocabulary's mean and dominant
directions, removed from every unit word vector when read ("all-but-the-top"), and
``common`` (float32, d): a direction removed from every sentence vector.
"""

from __future__ import annotations

import logging
import math
import unicodedata
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import jieba
import numpy as np
from numpy.typing import NDArray

from feige.robot.text import STOPWORDS

Vectors = NDArray[np.float32]

#: The packaged vectors (present in the source tree and the wheel).
PACKAGED = Path(__file__).parent / "data" / "word_vectors.npz"

jieba.setLogLevel(logging.WARNING)


class WordVectorEncoder:
    """SIF-weighted mean of word vectors, common direction removed, unit length."""

    def __init__(
        self,
        words: Sequence[str],
        vectors: Vectors,
        logp: NDArray[np.float32] | None = None,
        common: Vectors | None = None,
        sif_a: float = 1e-4,
        mean: Vectors | None = None,
        components: Vectors | None = None,
    ) -> None:
        self.index = {w: i for i, w in enumerate(words)}
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        unit = vectors / norms
        if mean is not None:
            unit = unit - mean
        if components is not None and len(components):
            unit = unit - (unit @ components.T) @ components
        norms = np.linalg.norm(unit, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        self.vectors: Vectors = (unit / norms).astype(np.float32)
        self.dim = int(vectors.shape[1])
        if logp is None:
            logp = np.full(len(words), math.log(1e-6), dtype=np.float32)
        p = np.exp(logp.astype(np.float64))
        self.weight = (sif_a / (sif_a + p)).astype(np.float32)
        self.unseen_weight = 1.0
        c = common if common is not None else np.zeros(self.dim, np.float32)
        n = float(np.linalg.norm(c))
        self.common: Vectors = (c / n if n > 0 else c).astype(np.float32)
        self._tokenizer = jieba.Tokenizer()
        self._tokenizer.initialize()  # now, when the robot is built, not at its first answer
        self._cache: dict[str, tuple[Vectors, float] | None] = {}

    @classmethod
    def load(cls, path: str | Path) -> WordVectorEncoder:
        """Read a vectors file in the format above."""
        with np.load(Path(path)) as data:
            words = bytes(data["words"].tobytes()).decode("utf-8").split("\n")
            raw = data["vectors"]
            vectors = raw.astype(np.float32)
            if "scale" in data:
                vectors *= data["scale"].astype(np.float32)[:, None]
            logp = data["logp"].astype(np.float32) if "logp" in data else None
            common = data["common"].astype(np.float32) if "common" in data else None
            mean = data["mean"].astype(np.float32) if "mean" in data else None
            components = data["components"].astype(np.float32) if "components" in data else None
        return cls(words, vectors, logp, common, mean=mean, components=components)

    def _word(self, word: str) -> tuple[Vectors, float] | None:
        """A word's unit vector and SIF weight, by characters when the word has none."""
        if word in self._cache:
            return self._cache[word]
        i = self.index.get(word)
        got: tuple[Vectors, float] | None
        if i is not None:
            got = (self.vectors[i], float(self.weight[i]))
        else:
            rows = [self.index[c] for c in word if c in self.index]
            if rows:
                v = self.vectors[rows].mean(0)
                got = (v, float(self.weight[rows].max()))
            else:
                got = None
        if len(self._cache) < 100_000:
            self._cache[word] = got
        return got

    def tokens(self, text: str) -> list[str]:
        compact = unicodedata.normalize("NFKC", text).lower()
        return [
            w
            for w in self._tokenizer.lcut(compact, HMM=True)
            if w.strip() and w not in STOPWORDS and any(ch.isalnum() for ch in w)
        ]

    def encode(self, texts: Sequence[str]) -> Vectors:
        out = np.zeros((len(texts), self.dim), np.float32)
        for row, text in enumerate(texts):
            acc = np.zeros(self.dim, np.float32)
            for word in self.tokens(text):
                got = self._word(word)
                if got is not None:
                    acc += got[0] * got[1]
            acc -= self.common * float(acc @ self.common)
            out[row] = acc
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        result: Vectors = (out / norms).astype(np.float32)
        return result


def vectors_path(setting: str = "") -> Path | None:
    """The vectors file a setting names: a path; "" for the packaged file (None when it is
    not there); "none" or "off" for no vectors."""
    value = setting.strip()
    if value.lower() in ("none", "off"):
        return None
    if value:
        return Path(value)
    return PACKAGED if PACKAGED.exists() else None


@lru_cache(maxsize=4)
def _load(path: str) -> WordVectorEncoder:
    return WordVectorEncoder.load(path)


def packaged_encoder(setting: str = "") -> WordVectorEncoder | None:
    """The word-vector encoder, read once per process and file (None when there is none)."""
    path = vectors_path(setting)
    return _load(str(path)) if path is not None else None
