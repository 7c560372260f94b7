"""Cross-validation on the corpus's train split: the loop to improve the robot on.

    .venv/bin/python -m tests.robot.cv [--layer NAME] [--repeats 3] [--folds 5] [--errors]
                                       [--grid] [--extra tests/robot/corpus_extra.jsonl]

The train split is cut into ``folds`` parts (``repeats`` times, with different shuffles); the
whole fit (``calibration.fit_all``: ranker, cross-fitted confidence and threshold) is made on
the other parts and judged on each part, and the judgements are pooled. The held-out split is
not read at all, so a change can be judged here without tuning on it; the held-out figures are
for the end of an idea (``tests.robot.corpus_report``).

The train questions are similar questions of the knowledge base, so a fold's questions are
read from a base without them (and the fit's from bases without their inner fold's); the
features do not depend on the weights, so ``--grid`` judges every fit setting on the same
features (as ``Robot.answer`` would: the ranker's best entry, answered when the confidence
reaches the threshold; a hand-over question is never answered). ``--extra FILE`` adds
labelled questions (same JSONL format, any split) to every fit without judging them: whether
written training questions help is measured on the same judged questions as without them.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from feige.robot import calibration
from feige.robot.calibration import Fitted, Sample
from feige.robot.retriever import confidence_inputs
from tests.robot.corpus_eval import (
    LAYERS,
    Report,
    Row,
    fold_samples,
    folds_of,
    knowledge,
    load,
    robot_for,
    without,
)


def judge(
    fitted: Fitted, sample: Sample | None, row: Row, rep: Report, pooled: Pooled | None = None
) -> None:
    """Add one question's outcome under ``fitted`` to ``rep`` (None: handed over)."""
    got: str | None = None
    ranked_first: str | None = None
    confidence = 0.0
    if sample is not None and len(sample.questions):
        scores = fitted.weights.score(sample.features)
        top = int(np.argmax(scores))
        ranked_first = sample.questions[top]
        inputs = confidence_inputs(scores, sample.features, *sample.shape)
        confidence = fitted.weights.probability(inputs)
        if confidence >= fitted.threshold:
            got = ranked_first
    if pooled is not None:
        pooled.confidence.append(confidence)
        pooled.right.append(row.expect is not None and ranked_first == row.expect)
        pooled.negative.append(row.expect is None)
    if row.expect is None:
        rep.must_not += 1
        if got is not None:
            rep.answered_must_not += 1
            rep.errors.append((row.question, None, got, confidence))
        return
    rep.answerable += 1
    rep.ranked_first += ranked_first == row.expect
    if got == row.expect:
        rep.right += 1
    else:
        if got is None:
            rep.refused += 1
        else:
            rep.wrong += 1
        rep.errors.append((row.question, row.expect, got, confidence))


@dataclass
class Pooled:
    """Every judged question's confidence, whether its best entry was right, and whether it
    must not be answered: the confidence's quality apart from the fitted threshold."""

    confidence: list[float] = field(default_factory=list)
    right: list[bool] = field(default_factory=list)
    negative: list[bool] = field(default_factory=list)

    def top1_at(self, max_false_rate: float = 0.04) -> float:
        """The best top-1 of one threshold over all folds keeping must-not answers under
        ``max_false_rate``."""
        conf = np.asarray(self.confidence)
        right = np.asarray(self.right)
        neg = np.asarray(self.negative)
        best = 0.0
        for t in np.unique(conf):
            answered = conf >= t
            if neg.any() and float(answered[neg].mean()) > max_false_rate:
                continue
            best = max(best, float((answered & right).sum()) / max(1, int((~neg).sum())))
        return best


def cross_validate(
    layer: str,
    rows: Sequence[Row],
    folds: int = 5,
    repeats: int = 3,
    extra: Sequence[Row] = (),
    settings: Sequence[dict[str, float]] = ({},),
) -> list[tuple[Report, Pooled]]:
    """Pooled judgement of every train question by fits made without its fold, one report
    per fit setting (``calibration.fit_all``'s keywords); ``extra`` questions are added to
    every fit and never judged (to measure added training data on the same questions as
    without it).

    The train split's paraphrases are similar questions of the knowledge base, so each fold
    is judged on a base without its own questions (``without``), and the fit's features come
    from bases without their inner fold's questions too (``fold_samples``): what the robot
    meets on a buyer's question that nobody wrote down before."""
    out = [(Report(), Pooled()) for _ in settings]
    use = LAYERS[layer][1]
    base = knowledge()
    for seed in range(repeats):
        for held in folds_of(len(rows), folds, 100 + seed):
            judged_questions = {rows[i].question for i in held}
            entries = without(base, judged_questions)
            robot = robot_for(layer, entries)
            if robot is None:
                raise SystemExit(f"{layer}: model not installed")
            learn = [r for r in rows if r.question not in judged_questions]
            train = [s for s in fold_samples(layer, learn, entries) if s is not None]
            train += calibration.samples(robot, [(r.question, r.expect) for r in extra])
            judged = []
            for i in held:
                got = calibration.samples(robot, [(rows[i].question, rows[i].expect)])
                judged.append((got[0] if got else None, rows[i]))
            for (rep, pooled), fit in zip(out, settings, strict=True):
                fitted = calibration.fit_all(train, use, **fit)
                for sample, row in judged:
                    judge(fitted, sample, row, rep, pooled)
    return out


#: The fit settings ``--grid`` compares: the confidence's L2 and the threshold's cap on
#: must-not answers among the training questions.
GRID = [
    {"confidence_l2": l2, "max_false_rate": cap}
    for l2 in (0.001, 0.003, 0.01)
    for cap in (0.03, 0.04)
]


def main() -> None:
    ap = argparse.ArgumentParser(description="Cross-validated accuracy on the train split.")
    ap.add_argument("--layer", default="+ synonyms/slang and answer text", choices=list(LAYERS))
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--errors", action="store_true", help="list the pooled errors")
    ap.add_argument("--grid", action="store_true", help="compare the fit settings of GRID")
    ap.add_argument(
        "--extra", type=Path, help="a JSONL file of labelled questions added to every fit"
    )
    args = ap.parse_args()
    rows = load(split="train")
    extra = load(args.extra) if args.extra else []
    settings = GRID if args.grid else [{}]
    results = cross_validate(args.layer, rows, args.folds, args.repeats, extra, settings)
    added = f" + {len(extra)} extra" if args.extra else ""
    for fit, (rep, pooled) in zip(settings, results, strict=True):
        print(f"{args.layer} {fit or ''}: train CV ({args.folds} folds x {args.repeats}){added}:")
        print(f"  {rep.line()}")
        print(
            "  top-1 at one threshold over all folds keeping must-not answered <= 4% / 5%:"
            f" {pooled.top1_at():.1%} / {pooled.top1_at(0.05):.1%}"
        )
    rep = results[0][0]
    if args.errors:
        seen: dict[tuple[str, str | None, str | None], list[float]] = {}
        for question, expect, got, confidence in rep.errors:
            seen.setdefault((question, expect, got), []).append(confidence)
        for (question, expect, got), confs in seen.items():
            print(f"   {len(confs)}x {question} -> {got} (expected {expect}) {max(confs):.2f}")


if __name__ == "__main__":
    main()
