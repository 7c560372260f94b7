"""Precision and recall per category (docs/rules.md 2.2.3–2.2.10) on the labelled corpus.

    .venv/bin/python -m tests.moderation.corpus_report [--show-errors] [--json]

It is a report on the test corpus, not a speed bench: it lives beside the corpus.

A violation row counts as detected when the verdict is not ``allow`` and names one of its
labelled categories; a clean row is a false positive when its verdict is anything else than
``allow``. Image rows are rendered on the fly (QR codes written with zxing-cpp).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from feige.moderation import Moderator
from tests.moderation.corpus_eval import SPLITS, Report, evaluate, load_all


def main() -> None:
    ap = argparse.ArgumentParser(description="Per-category precision/recall on the corpus.")
    ap.add_argument("--corpus", type=Path, help="one corpus file (default: both, by split)")
    ap.add_argument("--show-errors", action="store_true", help="list misses and false positives")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    mod = Moderator()
    if args.corpus is not None:
        from tests.moderation.corpus_eval import load

        reports = {str(args.corpus): evaluate(mod, load(args.corpus))}
    else:
        reports = {split: evaluate(mod, load_all(split)) for split in SPLITS}
    if args.json:
        print(json.dumps({name: _as_json(rep) for name, rep in reports.items()},
                         ensure_ascii=False))  # fmt: skip
        return
    for name, rep in reports.items():
        _print(name, rep, args.show_errors)


def _as_json(rep: Report) -> dict[str, object]:
    return {
        "violations": rep.violations,
        "clean": rep.clean,
        "recall": rep.recall,
        "by_classifier": rep.by_classifier,
        "false_positive_rate": rep.false_positive_rate,
        "categories": {
            c: {"tp": tp, "fp": fp, "fn": fn, "precision": p, "recall": r}
            for c, tp, fp, fn, p, r in rep.per_category()
        },
    }


def _print(name: str, rep: Report, show_errors: bool) -> None:
    print(f"\n== {name}  ({rep.violations} violations, {rep.clean} clean)")
    print(f"{'category':24s} {'tp':>4s} {'fp':>4s} {'fn':>4s} {'precision':>10s} {'recall':>8s}")
    for c, tp, fp, fn, p, r in rep.per_category():
        if tp or fp or fn:
            print(f"{c:24s} {tp:4d} {fp:4d} {fn:4d} {p:10.3f} {r:8.3f}")
    print(
        f"overall: recall {rep.recall:.3f} ({rep.detected}/{rep.violations}), false-positive "
        f"rate {rep.false_positive_rate:.3f} ({len(rep.false_positives)}/{rep.clean}); found "
        f"by the meaning classifier alone: {rep.by_classifier}"
    )
    if show_errors:
        for miss in rep.misses:
            print("MISS", *miss)
        for fp_row in rep.false_positives:
            print("FALSE POSITIVE", *fp_row)


if __name__ == "__main__":
    main()
