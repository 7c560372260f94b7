"""The labelled corpora (corpus.jsonl, chat_corpus.jsonl) hold the engine to its targets.

``train`` is what the engine was tuned on; ``heldout`` (random rows of the same families) and
``family`` (whole families no training row shows) were not tuned on. The floors below are
the figures docs/moderation.md reports, rounded down: a change that loses recall or adds false
positives on unseen rows fails here."""

from __future__ import annotations

from collections import Counter

import pytest

from feige.moderation import CATEGORIES, Moderator
from tests.moderation.corpus_eval import CHAT_CORPUS, evaluate, load, load_all

FLOORS = {  # split: (recall at least, false-positive rate at most)
    "train": (0.98, 0.01),
    "heldout": (0.97, 0.01),  # the target (83/83 in round 3)
    "family": (0.88, 0.02),
}


def test_corpus_shape() -> None:
    rows = load_all()
    assert len(rows) >= 1000
    violations = [r for r in rows if r["label"]]
    clean = [r for r in rows if not r["label"]]
    assert len(violations) >= 500 and len(clean) >= 400
    per_cat = Counter(c for r in violations for c in r["label"])
    assert set(per_cat) == set(CATEGORIES), "every category of docs/rules.md is covered"
    assert len({r["id"] for r in rows}) == len(rows)
    chat = load(CHAT_CORPUS)
    families = {s: {r["family"] for r in chat if r["split"] == s} for s in FLOORS}
    assert not families["family"] & families["train"], "held-out families are not trained on"


@pytest.mark.parametrize("split", list(FLOORS))
def test_recall_and_false_positive_rate(mod: Moderator, split: str) -> None:
    rep = evaluate(mod, load_all(split))
    recall, fp_rate = FLOORS[split]
    assert rep.recall >= recall, rep.misses
    assert rep.false_positive_rate <= fp_rate, rep.false_positives
    if split == "train":
        for cat, _tp, _fp, _fn, _p, cat_recall in rep.per_category():
            assert cat_recall >= 0.85, (cat, rep.misses)
