"""Fit the robot's weights and threshold on the corpus's train split and print them.

    .venv/bin/python -m tests.robot.calibrate [--word-vectors] [--e5] [--embeddings]

Paste the printed ``Weights`` into ``feige.robot.retriever`` (DEFAULT_WEIGHTS) and the
threshold into DEFAULT_THRESHOLD. With ``--embeddings`` it also fits the weights for a robot
with the packaged sentence-embedding model (pass them as ``RobotConfig(weights=…)``); with
``--word-vectors`` those of a robot with the cnsyn word vectors (``WORD_VECTOR_WEIGHTS``), with
``--e5`` those of one with the packaged multilingual-e5-small (``E5_WEIGHTS``).
"""

from __future__ import annotations

import argparse

from feige.robot import calibration
from tests.robot.corpus_eval import LAYERS, evaluate, fold_samples, load, robot_for


def main() -> None:
    ap = argparse.ArgumentParser(description="Fit the robot's weights on the train split.")
    ap.add_argument("--word-vectors", action="store_true", help="also fit the word-vector layer")
    ap.add_argument("--e5", action="store_true", help="also fit the packaged e5 layer")
    ap.add_argument("--embeddings", action="store_true", help="also fit the MiniLM layer")
    args = ap.parse_args()
    train = load(split="train")
    heldout = load(split="heldout")
    layers = ["+ synonyms/slang and answer text"]
    if args.word_vectors:
        layers.append("+ word vectors (cnsyn, SIF)")
    if args.e5:
        layers.append("+ sentence embeddings (e5, packaged)")
    if args.embeddings:
        layers.append("+ sentence embeddings (MiniLM)")
    for layer in layers:
        robot = robot_for(layer)
        if robot is None:
            print(f"{layer}: model not installed")
            continue
        data = [s for s in fold_samples(layer, train) if s is not None]
        fitted = calibration.fit_all(data, LAYERS[layer][1])
        weights, threshold = fitted.weights, fitted.threshold
        fitted = robot.with_config(weights=weights, threshold=threshold)
        print(f"{layer}:\n  {weights}\n  threshold={threshold}")
        print("  heldout ", evaluate(fitted, heldout).line())


if __name__ == "__main__":
    main()
