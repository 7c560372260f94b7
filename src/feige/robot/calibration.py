"""Fitting the ranker and the confidence on a labelled corpus (pure numpy, no I/O).

Labelled questions are ``(question, expected standard question or None)``; None means the
robot must not answer. The ranker is a logistic regression over the candidates' features
(label: this candidate is the expected entry). The confidence is a second logistic regression
over ``confidence_inputs`` (label: the top entry is right, and the question was answerable),
so that ``confidence`` reads as the probability of a right answer.

The confidence must be fitted on scores the ranker gives to questions it has not seen: on its
own training questions a ranker is surer than it will be on a buyer's. So the ranker's scores
that the confidence learns from are cross-fitted (each fold scored by a ranker fitted on the
other folds), and so is the threshold: the lowest at which the training questions that must
not be answered stay under ``max_false_rate``, a wrong answer costing two right ones.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from feige.robot.retriever import (
    CONFIDENCE_INPUTS,
    FEATURES,
    Floats,
    Robot,
    Weights,
    confidence_inputs,
)


@dataclass(frozen=True, slots=True)
class Sample:
    """One labelled question with its candidates' features."""

    features: Floats  # (candidates, len(FEATURES))
    questions: tuple[str, ...]  # the candidates' standard questions
    expected: str | None
    shape: tuple[int, int] = (0, 0)  # the question's words and characters

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
        reading = robot.analyzer.read(question)
        feats = np.asarray([c.features for c in ranked], dtype=np.float64).reshape(
            len(ranked), len(FEATURES)
        )
        shape = (len(reading.words), len(reading.compact))
        out.append(Sample(feats, tuple(c.entry.question for c in ranked), expected, shape))
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


def _ranker(data: Sequence[Sample], mask: Floats, l2: float) -> tuple[Floats, float]:
    rows = [s for s in data if len(s.questions)]
    x = np.vstack([s.features for s in rows]) * mask
    y = np.concatenate([s.labels for s in rows])
    w = _logistic(x, y, l2)
    return w[:-1] * mask, float(w[-1])


def _tops(data: Sequence[Sample], ranker: Floats, bias: float) -> tuple[Floats, Floats, Floats]:
    """Confidence inputs, whether the best entry is right, and whether the question must not
    be answered, per question that has candidates."""
    inputs, right, negative = [], [], []
    for s in data:
        if not len(s.questions):
            continue
        scores = s.features @ ranker + bias
        inputs.append(confidence_inputs(scores, s.features, *s.shape))
        best = s.questions[int(np.argmax(scores))]
        right.append(float(s.expected is not None and best == s.expected))
        negative.append(float(s.expected is None))
    width = len(CONFIDENCE_INPUTS)
    return np.asarray(inputs).reshape(-1, width), np.asarray(right), np.asarray(negative)


def _folds(n: int, k: int) -> list[NDArray[np.int64]]:
    """k folds of n rows, shuffled with a fixed seed (the fit is reproducible)."""
    order = np.random.RandomState(1).permutation(n).astype(np.int64)
    return [order[i::k] for i in range(k)]


def _cross_fitted_tops(
    data: Sequence[Sample], mask: Floats, l2: float, k: int
) -> tuple[Floats, Floats, Floats]:
    """``_tops`` of every question as scored by a ranker fitted without its fold."""
    parts = []
    for fold in _folds(len(data), k):
        held = set(int(i) for i in fold)
        ranker, bias = _ranker([s for i, s in enumerate(data) if i not in held], mask, l2)
        parts.append(_tops([data[int(i)] for i in fold], ranker, bias))
    return (
        np.vstack([p[0] for p in parts]),
        np.concatenate([p[1] for p in parts]),
        np.concatenate([p[2] for p in parts]),
    )


def _confidence(inputs: Floats, right: Floats, l2: float) -> Floats:
    """Logistic weights over standardised inputs, folded back onto the raw inputs."""
    mean = inputs.mean(axis=0)
    scale = inputs.std(axis=0) + 1e-9
    w = _logistic((inputs - mean) / scale, right, l2, balanced=False)
    raw = w[:-1] / scale
    out: Floats = np.r_[raw, w[-1] - float(raw @ mean)]
    return out


def _probabilities(inputs: Floats, confidence: Floats) -> Floats:
    z = np.clip(inputs @ confidence[:-1] + confidence[-1], -50, 50)
    out: Floats = 1.0 / (1.0 + np.exp(-z))
    return out


def _threshold(
    conf: Floats, right: Floats, negative: Floats, max_false_rate: float, wrong_cost: float
) -> float:
    """The threshold with the most right answers, a wrong one costing ``wrong_cost``, among
    those that keep the must-not-answer questions under ``max_false_rate``."""
    neg = negative > 0
    best, chosen = -1e9, 0.95
    for threshold in np.arange(0.30, 0.96, 0.01):
        answered = conf >= threshold
        if neg.any() and float(answered[neg].mean()) > max_false_rate:
            continue
        utility = float(
            (answered & (right > 0)).sum() - wrong_cost * (answered & (right == 0)).sum()
        )
        if utility > best:
            best, chosen = utility, round(float(threshold), 2)
    return chosen


@dataclass(frozen=True, slots=True)
class Fitted:
    weights: Weights
    threshold: float


def fit_all(
    data: Sequence[Sample],
    use: Sequence[bool] | None = None,
    l2: float = 0.001,
    confidence_l2: float = 0.01,
    folds: int = 5,
    max_false_rate: float = 0.04,
    wrong_cost: float = 2.0,
) -> Fitted:
    """Ranker (on all of ``data``), confidence and threshold (on cross-fitted scores);
    features with ``use`` False get weight 0."""
    mask = np.asarray(use if use is not None else [True] * len(FEATURES), dtype=np.float64)
    ranker, bias = _ranker(data, mask, l2)
    inputs, right, negative = _cross_fitted_tops(data, mask, l2, folds)
    confidence = _confidence(inputs, right, confidence_l2)
    threshold = _threshold(
        _probabilities(inputs, confidence), right, negative, max_false_rate, wrong_cost
    )
    weights = Weights(
        ranker=tuple(round(float(v), 4) for v in ranker),
        bias=round(bias, 4),
        confidence=tuple(round(float(v), 4) for v in confidence),
    )
    return Fitted(weights, threshold)
