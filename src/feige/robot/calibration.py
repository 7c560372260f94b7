"""Fitting the ranker and the confidence on a labelled corpus (pure numpy, no I/O).

Labelled questions are ``(question, expected standard question or None)``; None means the
robot must not answer. The ranker is a logistic regression over the candidates' features
(label: this candidate is the expected entry); the confidence is a second logistic regression
over the best score and its margin (label: the top entry is right, and the question was
answerable), so that ``confidence`` reads as the probability of a right answer. The threshold
is the lowest at which the training questions that must not be answered stay under
``max_false_rate``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from feige.robot.retriever import FEATURES, Floats, Robot, Weights


@dataclass(frozen=True, slots=True)
class Sample:
    """One labelled question with its candidates' features."""

    features: Floats  # (candidates, len(FEATURES))
    questions: tuple[str, ...]  # the candidates' standard questions
    expected: str | None

    @property
    def labels(self) -> Floats:
        return np.asarray([q == self.expected for q in self.questions], dtype=np.float64)


def samples(robot: Robot, labelled: Iterable[tuple[str, str | None]]) -> list[Sample]:
    """Features of every candidate of every question (weights do not change them)."""
    out = []
    for question, expected in labelled:
        if robot.handover_reason(question) is not None:
            continue
        ranked = robot.candidates(question)
        feats = np.asarray([c.features for c in ranked], dtype=np.float64).reshape(
            len(ranked), len(FEATURES)
        )
        out.append(Sample(feats, tuple(c.entry.question for c in ranked), expected))
    return out


def _logistic(x: Floats, y: Floats, l2: float, steps: int = 3000, balanced: bool = True) -> Floats:
    """Weights (last one the intercept) of an L2-regularised logistic regression."""
    design = np.hstack([x, np.ones((x.shape[0], 1))])
    w = np.zeros(design.shape[1])
    positives = max(1.0, float(y.sum()))
    balance = np.where(y > 0, (len(y) - positives) / positives, 1.0)  # rare positives weigh more
    balance = balance / balance.mean() if balanced else np.ones(len(y))
    lr = 0.5
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-np.clip(design @ w, -50, 50)))
        grad = design.T @ ((p - y) * balance) / len(y) + l2 * np.r_[w[:-1], 0.0]
        w -= lr * grad
    return w


def _tops(data: Sequence[Sample], ranker: Floats, bias: float) -> tuple[Floats, Floats, Floats]:
    """Best score, margin, coverage and whether the best is right, per sample (columns)."""
    top, margin, firsts, right = [], [], [], []
    for s in data:
        if not len(s.questions):
            top.append(-5.0)
            margin.append(0.0)
            firsts.append(np.zeros(len(FEATURES)))
            right.append(0.0)
            continue
        scores = s.features @ ranker + bias
        order = np.argsort(-scores)
        best = float(scores[order[0]])
        second = float(scores[order[1]]) if len(order) > 1 else best - 1.0
        top.append(best)
        margin.append(best - second)
        firsts.append(s.features[order[0]])
        right.append(float(s.expected is not None and s.questions[order[0]] == s.expected))
    return np.column_stack([top, margin, np.vstack(firsts)]), np.asarray(right), np.asarray(top)


#: The inputs of the confidence model besides the best score and its margin: few, so that it
#: generalises from a few hundred labelled questions.
CONFIDENCE_INPUTS = ("unexplained", "concept_match", "words", "chars")


def fit(
    data: Sequence[Sample],
    use: Sequence[bool] | None = None,
    l2: float = 0.001,
    confidence_inputs: Sequence[str] = CONFIDENCE_INPUTS,
) -> Weights:
    """Ranker and confidence weights; features with ``use`` False get weight 0."""
    mask = np.asarray(use if use is not None else [True] * len(FEATURES), dtype=np.float64)
    rows = [s for s in data if len(s.questions)]
    x = np.vstack([s.features for s in rows]) * mask
    y = np.concatenate([s.labels for s in rows])
    w = _logistic(x, y, l2)
    ranker = w[:-1] * mask
    bias = float(w[-1])
    tops, right, _ = _tops(data, ranker, bias)
    tops[:, 2:] *= mask * np.asarray([f in confidence_inputs for f in FEATURES], dtype=np.float64)
    c = _logistic(tops, right, l2, balanced=False)
    return Weights(
        ranker=tuple(round(float(v), 4) for v in ranker),
        bias=round(bias, 4),
        confidence=tuple(round(float(v), 4) for v in c),
    )


def choose_threshold(
    data: Sequence[Sample], weights: Weights, max_false_rate: float = 0.04
) -> float:
    """The threshold with the most right answers, a wrong one costing two, among those that
    keep the must-not-answer questions under ``max_false_rate``."""
    ranker = np.asarray(weights.ranker)
    tops, right, _ = _tops(data, ranker, weights.bias)
    conf = np.asarray([weights.probability(t[0], t[1], t[2:]) for t in tops])
    negatives = np.asarray([s.expected is None for s in data])
    best, chosen = -1e9, 0.95
    for threshold in np.arange(0.30, 0.96, 0.01):
        answered = conf >= threshold
        answered_neg = float(answered[negatives].mean()) if negatives.any() else 0.0
        if answered_neg > max_false_rate:
            continue
        utility = float((answered & (right > 0)).sum() - 2 * (answered & (right == 0)).sum())
        if utility > best:
            best, chosen = utility, round(float(threshold), 2)
    return chosen
