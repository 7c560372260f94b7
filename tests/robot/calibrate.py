"""Fit the robot's weights and threshold on the corpus's train split and print them.

    .venv/bin/python -m tests.robot.calibrate

Paste the printed ``Weights`` into ``feige.robot.retriever`` (DEFAULT_WEIGHTS without a
sentence-embedding model, EMBEDDING_WEIGHTS with one) and the threshold into RobotConfig.
"""

from __future__ import annotations

from feige.robot import calibration
from tests.robot.corpus_eval import LAYERS, evaluate, load, robot_for


def main() -> None:
    train = load(split="train")
    heldout = load(split="heldout")
    for layer in ("+ synonyms/slang and answer text",):
        robot = robot_for(layer)
        if robot is None:
            print(f"{layer}: model not installed")
            continue
        data = calibration.samples(robot, [(r.question, r.expect) for r in train])
        weights = calibration.fit(data, LAYERS[layer][1])
        threshold = calibration.choose_threshold(data, weights)
        fitted = robot.with_config(weights=weights, threshold=threshold)
        print(f"{layer}:\n  {weights}\n  threshold={threshold}")
        print("  train   ", evaluate(fitted, train).line())
        print("  heldout ", evaluate(fitted, heldout).line())
        for error in evaluate(fitted, train).errors:
            print("  train error:", error)


if __name__ == "__main__":
    main()
