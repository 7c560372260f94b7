"""Screen written questions against the held-out split without showing it.

    .venv/bin/python -m tests.robot.screen IN.jsonl OUT.jsonl

Written training questions or similar questions must be no nearer to a held-out question
than the existing train questions are, or the held-out figure would measure recall of the
writing rather than generalisation. A line is dropped when, after normalisation, it equals
a held-out question or their character-bigram Jaccard is 0.35 or more. Only counts are
printed: the held-out questions stay unread by whoever runs it.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from feige.robot.text import normalize
from tests.robot.corpus_eval import NEAR, bigrams, jaccard, load


def nearest(text: str, others: list[set[str]]) -> float:
    """The largest bigram Jaccard between ``text`` and any of ``others``."""
    mine = bigrams(text)
    return max((jaccard(mine, o) for o in others), default=0.0)


def main() -> None:
    ap = argparse.ArgumentParser(description="Drop written questions near the held-out split.")
    ap.add_argument("source", type=Path)
    ap.add_argument("target", type=Path)
    args = ap.parse_args()
    heldout = [r.question for r in load(split="heldout")]
    same = {"".join(normalize(q).split()) for q in heldout}
    grams = [bigrams(q) for q in heldout]
    kept, identical, near = [], 0, 0
    for line in args.source.read_text(encoding="utf-8").splitlines():
        question = json.loads(line)["question"]
        if "".join(normalize(question).split()) in same:
            identical += 1
        elif nearest(question, grams) >= NEAR:
            near += 1
        else:
            kept.append(line)
    args.target.write_text("".join(f"{k}\n" for k in kept), encoding="utf-8")
    print(f"kept {len(kept)}, dropped {identical} identical and {near} near (Jaccard >= {NEAR})")


if __name__ == "__main__":
    main()
