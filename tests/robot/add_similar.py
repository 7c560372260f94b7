"""Add written paraphrases to the knowledge base's similar questions.

    .venv/bin/python -m tests.robot.add_similar FILE.jsonl [FILE.jsonl …]

Each answerable line (``expect`` not null) of the files becomes a similar question of its entry,
in ``tests/robot/kb.csv`` and, for the platform's defaults, in the shipped
``platform_defaults.csv`` (the two hold the same default rows). Lines that must not be
answered are skipped: they have no entry. A paraphrase already present is not added twice.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
from pathlib import Path

from tests.robot.corpus_eval import KB

DEFAULTS = Path(__file__).parents[2] / "src" / "feige" / "robot" / "data" / "platform_defaults.csv"


def add(path: Path, paraphrases: dict[str, list[str]]) -> int:
    """Append the paraphrases to the rows of ``path``; the number added."""
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))
    added = 0
    for row in rows[1:]:
        question, similar = row[0], [s for s in row[1].split("|") if s]
        for text in paraphrases.get(question, []):
            if text != question and text not in similar:
                similar.append(text)
                added += 1
        row[1] = "|".join(similar)
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    path.write_text(out.getvalue(), encoding="utf-8")
    return added


def main() -> None:
    ap = argparse.ArgumentParser(description="Add paraphrases as similar questions.")
    ap.add_argument("files", nargs="+", type=Path)
    args = ap.parse_args()
    paraphrases: dict[str, list[str]] = {}
    for file in args.files:
        for line in file.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            if row.get("split") == "heldout":
                raise SystemExit(f"{file}: held-out questions never go into the knowledge base")
            if row["expect"] is not None:
                paraphrases.setdefault(row["expect"], []).append(row["question"])
    for path in (KB, DEFAULTS):
        print(f"{path}: {add(path, paraphrases)} added")


if __name__ == "__main__":
    main()
