"""Precision and recall per category (docs/rules.md 2.2.3–2.2.10) on the labelled corpus.

    .venv/bin/python bench/moderation_corpus_report.py [--show-errors] [--json]

A violation row counts as detected when the verdict is not ``allow`` and names one of its
labelled categories; a clean row is a false positive when its verdict is anything else than
``allow``. Image rows are rendered on the fly (QR codes written with zxing-cpp).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

from tests.moderation.corpus_eval import CORPUS, evaluate, load  # noqa: E402

from feige.moderation import Moderator  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description="Per-category precision/recall on the corpus.")
    ap.add_argument("--corpus", type=Path, default=CORPUS)
    ap.add_argument("--show-errors", action="store_true", help="list misses and false positives")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    rep = evaluate(Moderator(), load(args.corpus))
    rows = rep.per_category()
    if args.json:
        print(
            json.dumps(
                {
                    "violations": rep.violations,
                    "clean": rep.clean,
                    "recall": rep.recall,
                    "false_positive_rate": rep.false_positive_rate,
                    "categories": {
                        c: {"tp": tp, "fp": fp, "fn": fn, "precision": p, "recall": r}
                        for c, tp, fp, fn, p, r in rows
                    },
                },
                ensure_ascii=False,
            )
        )
        return
    print(f"corpus: {args.corpus}  ({rep.violations} violations, {rep.clean} clean)")
    print(f"{'category':24s} {'tp':>4s} {'fp':>4s} {'fn':>4s} {'precision':>10s} {'recall':>8s}")
    for c, tp, fp, fn, p, r in rows:
        print(f"{c:24s} {tp:4d} {fp:4d} {fn:4d} {p:10.3f} {r:8.3f}")
    print(
        f"overall: recall {rep.recall:.3f} (target >= 0.95), false-positive rate "
        f"{rep.false_positive_rate:.3f} (target <= 0.01)"
    )
    if args.show_errors:
        for miss in rep.misses:
            print("MISS", *miss)
        for fp_row in rep.false_positives:
            print("FALSE POSITIVE", *fp_row)


if __name__ == "__main__":
    main()
