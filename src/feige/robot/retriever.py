"""The robot's answering core: retrieve the entry a buyer's question asks, or do not answer.

For each entry the retriever computes ten features against the question (all in [0, 1]):

=========== ===================================================================================
bm25        BM25 (bm25s) over words and concept tags, relative to the best entry's score
words       TF-IDF cosine over words and concept tags (best of the entry's questions)
chars       TF-IDF cosine over character unigrams and bigrams (typos, short questions)
pinyin      TF-IDF cosine over toneless pinyin syllables and bigrams (homophone typos)
concepts    share of the question's concepts (meaning table) that the entry's questions carry
answer      TF-IDF cosine against the entry's answer text (the answer as evidence)
embedding   cosine of sentence embeddings (pluggable model; 0 when none is configured)
coverage    share of the question's words (IDF-weighted) found in the entry's questions or answer
unexplained share of the question's words (IDF) the entry explains neither by word nor by a
            concept of its questions or answer (a lacking word counts for its lacking characters)
concept_match Jaccard of the question's concepts and the closest of the entry's questions' ones
=========== ===================================================================================

A linear ranker orders the candidates; a logistic model turns what the candidates show
(``confidence_inputs``: the best score, its margin and share, how many views agree on the
best entry, its features and their lead over the runner-up's, the question's size) into a
confidence — a probability that the top entry is the right answer, fitted on a labelled
corpus with cross-fitted ranker scores (``feige.robot.calibration``). Below ``threshold``
the robot does not answer: no holding phrase, no guess. "转人工" and the configured
interception words hand the buyer to a human before any retrieval.

Building a ``Robot`` reads its entries once (segmentation, pinyin, indexes, embeddings);
``answer`` does no I/O.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any

import bm25s
import numpy as np
from numpy.typing import NDArray

from feige.robot.embedding import PackagedE5Encoder, SentenceEncoder
from feige.robot.entries import AnswerContext, KnowledgeEntry, fill_answer
from feige.robot.meaning import merged
from feige.robot.text import Analyzer, Reading, normalize
from feige.robot.wordvectors import WordVectorEncoder

FEATURES = (
    "bm25",
    "words",
    "chars",
    "pinyin",
    "concepts",
    "answer",
    "embedding",
    "coverage",
    "unexplained",
    "concept_match",
)

Floats = NDArray[np.float64]

#: Phrases by which a buyer asks for a person (checked on the compact text).
HANDOVER_PHRASES = (
    "转人工", "人工客服", "找人工", "要人工", "接人工", "叫人工", "换人工", "人工服务",
    "转接人工", "真人客服", "找真人", "要真人", "活人", "不要机器人", "别用机器人", "人工呢",
    "人工在吗", "有人工吗", "转客服", "找客服", "人工回复",
)  # fmt: skip

#: Default interception words: complaints and threats go to a human, never to the robot.
INTERCEPTION_WORDS = (
    "投诉", "12315", "举报", "工商局", "市场监管", "律师", "起诉", "报警", "消协", "曝光",
    "差评", "骗子", "欺诈",
)  # fmt: skip


#: The views whose own best entry is compared with the ranker's (``agreement``).
_AGREEMENT_VIEWS = (0, 1, 2, 3, 5, 6)  # bm25, words, chars, pinyin, answer, embedding
#: The features whose lead over the best runner-up is an input of the confidence.
_LEAD_FEATURES = (0, 1, 2, 3, 4, 5, 6, 7, 9)

#: The inputs of the confidence model, in order (``confidence_inputs``).
CONFIDENCE_INPUTS = (
    "score",  # the ranker's score of the best entry
    "margin",  # its lead over the runner-up's score
    "share",  # softmax share of the best entry among the candidates
    "agreement",  # share of the views whose own best entry is the ranker's best
    *(f"top_{name}" for name in FEATURES),  # the best entry's features
    *(f"lead_{FEATURES[i]}" for i in _LEAD_FEATURES),  # their lead over the best runner-up
    "question_words",  # log(1 + words in the question)
    "question_chars",  # log(1 + characters in the question)
)


def confidence_inputs(scores: Floats, feats: Floats, words: int, chars: int) -> Floats:
    """What the confidence model reads about one question's ranked candidates.

    Beyond the best score and its margin: how many views agree on the best entry, how far its
    features lead the runner-up's, and how much the question says — a must-not question often
    hits one strong concept and nothing else, a right answer is usually backed by several
    views at once. Whether the question carries a concept is deliberately not an input: a
    typo ("尺吗" for "尺码") loses its concept, and the pinyin view must still be trusted.
    """
    order = np.argsort(-scores)
    top = int(order[0])
    best = float(scores[top])
    second = float(scores[order[1]]) if len(order) > 1 else best - 1.0
    share = 1.0 / float(np.exp(scores - best).sum())
    views = [v for v in _AGREEMENT_VIEWS if feats[:, v].max() > 0]
    agreement = (
        sum(int(np.argmax(feats[:, v])) == top for v in views) / len(views) if views else 0.0
    )
    runners = feats[order[1:]] if len(order) > 1 else np.zeros((1, feats.shape[1]))
    lead = feats[top] - runners.max(axis=0)
    out: Floats = np.concatenate(
        [
            [best, best - second, share, agreement],
            feats[top],
            lead[list(_LEAD_FEATURES)],
            [math.log1p(words), math.log1p(chars)],
        ]
    )
    return out


@dataclass(frozen=True, slots=True)
class Weights:
    """The ranker's weights (one per feature, then a bias) and the confidence model's (one
    per ``CONFIDENCE_INPUTS``, then an intercept)."""

    ranker: tuple[float, ...]
    bias: float
    confidence: tuple[float, ...]

    def score(self, features: Floats) -> Floats:
        out: Floats = features @ np.asarray(self.ranker, dtype=np.float64) + self.bias
        return out

    def probability(self, inputs: Floats) -> float:
        """The confidence: a logistic model over ``confidence_inputs``."""
        w = self.confidence
        z = float(inputs @ np.asarray(w[:-1], dtype=np.float64)) + w[-1]
        return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))


#: Fitted on the train split of tests/robot/corpus.jsonl (python -m tests.robot.calibrate).
DEFAULT_WEIGHTS = Weights(
    ranker=(2.6728, 0.7844, 2.5347, 2.2604, 0.1678, 0.8833, 0.0, 0.7898, -3.3805, 2.6655),
    bias=-4.9225,
    confidence=(
        0.1368,
        0.194,
        1.7633,
        -0.3626,
        0.0403,
        -0.1812,
        1.2861,
        1.3662,
        0.6143,
        -0.9481,
        0.0,
        -0.2966,
        -4.8059,
        1.6997,
        -0.992,
        -0.1924,
        1.1875,
        0.0722,
        0.3884,
        2.1864,
        0.0,
        0.3327,
        0.9865,
        0.5029,
        0.7913,
        -4.5939,
    ),
)
#: The threshold fitted with DEFAULT_WEIGHTS (same corpus, same split).
DEFAULT_THRESHOLD = 0.53

#: How far (in the ranker's score) a shop's own entry may trail a platform default and still
#: go first. The ranker's scores of two entries for the same question differ by about 0.2–0.5
#: when both state it; between entries of different topics, by several points.
SHOP_PREFERENCE = 0.5

#: Fitted the same way for a robot with the cnsyn word vectors (``wordvectors``): the
#: embedding feature counts (``python -m tests.robot.calibrate --word-vectors``).
WORD_VECTOR_WEIGHTS = Weights(
    ranker=(2.6, 0.7086, 2.4479, 2.1762, 0.0996, 0.8835, 0.9355, 0.6764, -3.4115, 2.6116),
    bias=-5.2982,
    confidence=(
        0.1348,
        0.1905,
        1.6202,
        -0.322,
        0.0506,
        -0.304,
        1.2333,
        1.3077,
        0.6672,
        -1.0072,
        0.822,
        -0.4091,
        -4.8253,
        1.6544,
        -0.9193,
        -0.2138,
        1.1997,
        0.0747,
        0.4668,
        2.1648,
        -0.4064,
        0.401,
        1.0017,
        0.5557,
        0.6338,
        -4.7344,
    ),
)
WORD_VECTOR_THRESHOLD = 0.52

#: Fitted the same way for a robot with the packaged multilingual-e5-small (``embedding``,
#: ``python -m tests.robot.calibrate --e5``).
E5_WEIGHTS = Weights(
    ranker=(2.6046, 0.76, 2.5357, 2.2593, 0.1243, 0.8852, -0.5592, 0.7487, -3.4416, 2.6606),
    bias=-4.2529,
    confidence=(
        0.1205,
        0.1851,
        1.3347,
        -0.2788,
        0.0959,
        -0.6946,
        0.5697,
        0.801,
        0.6268,
        -1.3894,
        18.73,
        -0.2106,
        -4.3823,
        1.5301,
        -0.8128,
        -0.5275,
        0.6722,
        0.0101,
        0.6102,
        2.3338,
        12.7165,
        0.475,
        0.9141,
        0.6623,
        0.5394,
        -20.9598,
    ),
)
E5_THRESHOLD = 0.66


def _fitted_for(encoder: SentenceEncoder | None) -> tuple[Weights, float] | None:
    """The weights fitted for a known encoder (None: the default ones)."""
    if isinstance(encoder, WordVectorEncoder):
        return WORD_VECTOR_WEIGHTS, WORD_VECTOR_THRESHOLD
    if isinstance(encoder, PackagedE5Encoder):
        return E5_WEIGHTS, E5_THRESHOLD
    return None


@dataclass(frozen=True, slots=True)
class RobotConfig:
    """Settings of one robot; ``use_*`` switch layers off (for measuring their share)."""

    threshold: float = DEFAULT_THRESHOLD
    handover_phrases: tuple[str, ...] = HANDOVER_PHRASES
    interception_words: tuple[str, ...] = INTERCEPTION_WORDS
    use_ngrams: bool = True
    use_meaning: bool = True
    synonyms: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    weights: Weights = DEFAULT_WEIGHTS
    candidates: int = 10


@dataclass(frozen=True, slots=True)
class Answer:
    """What the robot makes of one question.

    ``reason`` is one of ``answered``, ``below_threshold``, ``handover``, ``intercepted``,
    ``missing_context`` (the best entry needs a product/order card the session lacks) and
    ``empty`` (nothing to read).
    """

    question: str | None
    answer: str | None
    confidence: float
    handover: bool
    reason: str
    entry: KnowledgeEntry | None = None

    def to_json(self, id: Any = None) -> dict[str, Any]:
        """The contract of ``feige robot answer`` (docs/interfaces.md)."""
        return {
            "id": id,
            "answer_question": self.question,
            "answer": self.answer,
            "confidence": round(self.confidence, 4),
            "handover": self.handover,
        }


@dataclass(frozen=True, slots=True)
class Candidate:
    """One ranked entry with its features and calibrated confidence."""

    entry: KnowledgeEntry
    score: float
    confidence: float
    features: tuple[float, ...]


class _SparseView:
    """TF-IDF unit vectors of many token lists, as an inverted index of numpy postings."""

    def __init__(self, docs: Sequence[Sequence[str]]) -> None:
        n = max(1, len(docs))
        counts = [Counter(d) for d in docs]
        df: Counter[str] = Counter()
        for c in counts:
            df.update(c.keys())
        self.idf = {t: math.log(1.0 + n / f) for t, f in df.items()}
        self.unseen_idf = math.log(1.0 + n)
        postings: dict[str, tuple[list[int], list[float]]] = {}
        for row, c in enumerate(counts):
            weights = {t: (1.0 + math.log(k)) * self.idf[t] for t, k in c.items()}
            norm = math.sqrt(sum(w * w for w in weights.values())) or 1.0
            for t, w in weights.items():
                rows, vals = postings.setdefault(t, ([], []))
                rows.append(row)
                vals.append(w / norm)
        self.postings = {
            t: (np.asarray(r, dtype=np.int64), np.asarray(v, dtype=np.float64))
            for t, (r, v) in postings.items()
        }
        self.rows = len(docs)

    def cosines(self, tokens: Sequence[str]) -> Floats:
        """Cosine of the query's TF-IDF vector with every row (unseen tokens count in its norm)."""
        out = np.zeros(self.rows, dtype=np.float64)
        if not tokens:
            return out
        c = Counter(tokens)
        weights = {t: (1.0 + math.log(k)) * self.idf.get(t, self.unseen_idf) for t, k in c.items()}
        norm = math.sqrt(sum(w * w for w in weights.values())) or 1.0
        for t, w in weights.items():
            posting = self.postings.get(t)
            if posting is not None:
                out[posting[0]] += posting[1] * (w / norm)
        return out


@lru_cache(maxsize=8)
def _shared_analyzer(use_concepts: bool) -> Analyzer:
    """Analyzers without a shop's own synonyms are shared (jieba's dictionary loads once)."""
    return Analyzer(merged(), use_concepts=use_concepts)


class Robot:
    """Answers questions from one knowledge base (a shop's entries, defaults merged in)."""

    def __init__(
        self,
        entries: Iterable[KnowledgeEntry],
        config: RobotConfig | None = None,
        encoder: SentenceEncoder | None = None,
    ) -> None:
        cfg = config or RobotConfig()
        fitted = _fitted_for(encoder)
        if fitted is not None and cfg.weights is DEFAULT_WEIGHTS:
            threshold = cfg.threshold if cfg.threshold != DEFAULT_THRESHOLD else fitted[1]
            cfg = replace(cfg, weights=fitted[0], threshold=threshold)
        self.config = cfg
        self.entries = [e for e in entries if e.enabled]
        self._is_default = np.asarray([e.default for e in self.entries], dtype=bool)
        self._has_defaults = bool(self._is_default.any() and not self._is_default.all())
        self.analyzer = (
            Analyzer(merged(cfg.synonyms), use_concepts=cfg.use_meaning)
            if cfg.synonyms
            else _shared_analyzer(cfg.use_meaning)
        )
        self.encoder = encoder
        self._handover = tuple(normalize(p) for p in cfg.handover_phrases if normalize(p))
        self._intercept = tuple(normalize(p) for p in cfg.interception_words if normalize(p))
        variants: list[Reading] = []
        owner: list[int] = []
        starts: list[int] = []
        texts: list[str] = []
        for i, entry in enumerate(self.entries):
            starts.append(len(variants))
            for q in entry.questions:
                variants.append(self.analyzer.read(q))
                owner.append(i)
                texts.append(q)
        self._starts = np.asarray(starts, dtype=np.int64)
        self._owner = np.asarray(owner, dtype=np.int64)
        self._variant_concepts = [r.concepts for r in variants]
        self._question_concepts = [frozenset[str]() for _ in self.entries]
        for i, reading in zip(owner, variants, strict=True):
            self._question_concepts[i] = self._question_concepts[i] | reading.concepts
        answers = [self.analyzer.read(e.answer) for e in self.entries]
        # A question's word is explained by the entry when a concept of its questions or of
        # its answer carries it ("广州" by the delivery-time answer's "江浙沪": both #city).
        self._explained = [
            q | a.concepts for q, a in zip(self._question_concepts, answers, strict=True)
        ]
        self._vocabulary = [set(a.lexical) for a in answers]
        self._letters = [set[str]() for _ in self.entries]
        for i, reading in zip(owner, variants, strict=True):
            self._vocabulary[i].update(reading.lexical)
            self._letters[i].update(reading.compact)
        self._lexical = _SparseView([r.lexical for r in variants])
        self._chars = _SparseView([r.chars for r in variants])
        self._pinyin = _SparseView([r.pinyin for r in variants])
        self._answers = _SparseView([r.lexical for r in answers])
        self._bm25 = bm25s.BM25()
        if variants:
            self._bm25.index([list(r.lexical) or ["\u2205"] for r in variants], show_progress=False)
        self._vectors = encoder.encode(texts) if encoder is not None and texts else None

    # -- reading the question ------------------------------------------------------------------

    def _per_entry(self, *views: Floats) -> list[Floats]:
        """The best variant's score for each entry, per view; only the rows that scored in
        some view are looked at (one pass over the rows for all views)."""
        outs = [np.zeros(len(self.entries), dtype=np.float64) for _ in views]
        rows = np.flatnonzero(np.sum(views, axis=0)) if views else np.zeros(0, np.int64)
        if rows.size:
            owners = self._owner[rows]
            firsts = np.flatnonzero(np.r_[True, owners[1:] != owners[:-1]])
            entries = owners[firsts]
            for out, view in zip(outs, views, strict=True):
                out[entries] = np.maximum.reduceat(view[rows], firsts)
        return outs

    def _rows_of(self, entry: int) -> tuple[int, int]:
        """The variant rows of one entry."""
        lo = int(self._starts[entry])
        hi = int(self._starts[entry + 1]) if entry + 1 < len(self._starts) else len(self._owner)
        return lo, hi

    def candidates(self, question: str, limit: int | None = None) -> list[Candidate]:
        """The best entries for a question, best first, with features and confidence."""
        if not self.entries:
            return []
        cfg = self.config
        reading = self.analyzer.read(question)
        if not reading.compact:
            return []
        n = len(self.entries)
        lexical = list(reading.lexical)
        rows = len(self._owner)
        none = np.zeros(rows)
        bm25, words, chars, pinyin = self._per_entry(
            self._bm25.get_scores(lexical) if lexical else none,
            self._lexical.cosines(lexical),
            self._chars.cosines(reading.chars) if cfg.use_ngrams else none,
            self._pinyin.cosines(reading.pinyin) if cfg.use_ngrams else none,
        )
        top_bm25 = float(bm25.max()) if n else 0.0
        bm25_rel = bm25 / top_bm25 if top_bm25 > 0 else bm25
        zeros = np.zeros(n)
        answer = self._answers.cosines(lexical) if cfg.use_meaning else zeros
        prescore = bm25_rel + words + chars + pinyin + 0.5 * answer
        k = min(n, cfg.candidates)
        picked = np.argpartition(-prescore, k - 1)[:k] if k < n else np.arange(n)
        picked = picked[prescore[picked] > 0]
        if picked.size == 0:
            return []
        feats = np.zeros((picked.size, len(FEATURES)), dtype=np.float64)
        feats[:, 0] = bm25_rel[picked]
        feats[:, 1] = words[picked]
        feats[:, 2] = chars[picked]
        feats[:, 3] = pinyin[picked]
        feats[:, 5] = answer[picked]
        if reading.concepts:
            size = len(reading.concepts)
            for j, i in enumerate(picked):
                feats[j, 4] = len(reading.concepts & self._question_concepts[int(i)]) / size
                lo, hi = self._rows_of(int(i))
                feats[j, 9] = max(
                    len(reading.concepts & c) / len(reading.concepts | c)
                    for c in self._variant_concepts[lo:hi]
                )
        lexicon_idf = self._lexical.idf
        unseen = self._lexical.unseen_idf
        mass = {t: lexicon_idf.get(t, unseen) for t in lexical}
        total = sum(mass.values())
        plain = {t: m for t, m in mass.items() if not t.startswith("#") and not t.isdigit()}
        plain_total = sum(plain.values())
        if total > 0:
            for j, i in enumerate(picked):
                vocabulary = self._vocabulary[int(i)]
                feats[j, 7] = sum(m for t, m in mass.items() if t in vocabulary) / total
                covered = self._explained[int(i)]
                letters = self._letters[int(i)]
                # A lacking word counts for the share of its characters the entry's questions
                # lack too: a segmentation slip ("寄了", "刚用") is not a new topic.
                missing = sum(
                    m * sum(c not in letters for c in t) / len(t)
                    for t, m in plain.items()
                    if t not in vocabulary and not (self.analyzer.concepts(t) & covered)
                )
                feats[j, 8] = missing / plain_total if plain_total else 0.0
        if self._vectors is not None and self.encoder is not None:
            q = self.encoder.encode([question])[0]
            for j, i in enumerate(picked):  # the candidates' rows only, not the whole base
                lo, hi = self._rows_of(int(i))
                feats[j, 6] = max(0.0, float((self._vectors[lo:hi] @ q).max()))
        scores = cfg.weights.score(feats)
        if self._has_defaults:
            # The shop knows its own business: its entry goes before a platform default that
            # scores within SHOP_PREFERENCE of it (a shop's "这款有现货吗" over "有现货吗").
            scores = scores + SHOP_PREFERENCE * ~self._is_default[picked]
        inputs = confidence_inputs(scores, feats, len(reading.words), len(reading.compact))
        confidence = cfg.weights.probability(inputs)
        order = np.argsort(-scores)
        if limit is not None:
            order = order[:limit]
        # The confidence is that the best entry is right; the others get the same model's
        # reading of their own standing (their score and lead, the rest as the best's).
        out: list[Candidate] = []
        for rank, j in enumerate(order):
            s = float(scores[j])
            if rank == 0:
                conf = confidence
            else:
                own = inputs.copy()
                own[0], own[1] = s, s - float(scores[order[0]])
                conf = cfg.weights.probability(own)
            out.append(
                Candidate(
                    entry=self.entries[int(picked[j])],
                    score=s,
                    confidence=conf,
                    features=tuple(float(x) for x in feats[j]),
                )
            )
        return out

    # -- answering -----------------------------------------------------------------------------

    def handover_reason(self, question: str) -> str | None:
        """``handover`` when the buyer asks for a person, ``intercepted`` on an interception
        word, else None."""
        compact = normalize(question)
        if compact == "人工" or any(p in compact for p in self._handover):
            return "handover"
        if any(w in compact for w in self._intercept):
            return "intercepted"
        return None

    def answer(self, question: str, context: AnswerContext | None = None) -> Answer:
        """The answer to send, or why there is none (never a holding phrase)."""
        reason = self.handover_reason(question)
        if reason is not None:
            return Answer(None, None, 1.0, True, reason)
        ranked = self.candidates(question, limit=2)
        if not ranked:
            return Answer(None, None, 0.0, False, "empty")
        best = ranked[0]
        if best.confidence < self.config.threshold:
            return Answer(None, None, best.confidence, False, "below_threshold")
        text = fill_answer(best.entry.answer, context)
        if text is None:
            return Answer(
                best.entry.question, None, best.confidence, False, "missing_context", best.entry
            )
        return Answer(best.entry.question, text, best.confidence, False, "answered", best.entry)

    def suggestions(self, question: str, limit: int = 3) -> list[Candidate]:
        """The top entries for an agent to pick from (assist mode), confident or not."""
        return self.candidates(question, limit=limit)

    def with_config(self, **changes: Any) -> Robot:
        """The same entries under changed settings (rebuilds the indexes)."""
        return Robot(self.entries, replace(self.config, **changes), self.encoder)
