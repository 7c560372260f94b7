"""The labelled corpus (tests/moderation/corpus.jsonl) holds the engine to its targets:
recall >= 95% on violations, false-positive rate <= 1% on ordinary shopping chat."""

from __future__ import annotations

from collections import Counter

from feige.moderation import CATEGORIES, Moderator
from tests.moderation.corpus_eval import evaluate, load


def test_corpus_shape() -> None:
    rows = load()
    assert len(rows) >= 300
    violations = [r for r in rows if r["label"]]
    clean = [r for r in rows if not r["label"]]
    assert len(violations) >= 150 and len(clean) >= 150
    per_cat = Counter(c for r in violations for c in r["label"])
    assert set(per_cat) == set(CATEGORIES), "every category of docs/rules.md is covered"
    assert len({r["id"] for r in rows}) == len(rows)


def test_recall_and_false_positive_rate(mod: Moderator) -> None:
    rep = evaluate(mod, load())
    assert rep.recall >= 0.95, rep.misses
    assert rep.false_positive_rate <= 0.01, rep.false_positives
    for cat, _tp, _fp, _fn, _p, recall in rep.per_category():
        assert recall >= 0.9, (cat, rep.misses)
