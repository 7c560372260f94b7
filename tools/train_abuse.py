"""Trains the moderation engine's meaning classifier (abuse, threats and porn, extortion,
defamation, scams) and writes ``src/feige/moderation/models/abuse.tsv.gz``.

    nice .venv/bin/python tools/train_abuse.py --cold ../shared/data/cold [--out PATH]

Data: the train split of COLD (Chinese Offensive Language Dataset, thu-coai, Apache-2.0;
offensive -> ``abuse``) plus the ``train`` rows of the labelled chat corpora
(tests/moderation/*.jsonl; the ``heldout`` and ``family`` rows are never read here except to
report on them). Features: character 1-3-grams of the engine's compact view (so spacing,
emoji, full-width and traditional disguises read as the plain word) with every run of digits
read as one ``0`` (``classifier.prepare``), binary. Model:
multinomial logistic regression (scikit-learn, only here: the engine reads the weights with
its own few lines). The vocabulary is pruned to the n-grams that carry weight, refitted on
them, and written as text: one line per n-gram with its weight per class.

Evaluated and printed: COLD dev (offensive vs safe), and the chat corpora per split. The
data itself is not written anywhere: the model file holds n-grams and weights only.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

from feige.moderation.classifier import CLASSES, SAFE, ngrams, prepare  # noqa: E402
from feige.moderation.normalize import normalize_term  # noqa: E402

OUT = ROOT / "src" / "feige" / "moderation" / "models" / "abuse.tsv.gz"
CHAT = [ROOT / "tests" / "moderation" / "corpus.jsonl",
        ROOT / "tests" / "moderation" / "chat_corpus.jsonl"]  # fmt: skip


def cold(path: Path) -> list[tuple[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        return [(r["TEXT"], "abuse" if r["label"] == "1" else SAFE) for r in csv.DictReader(f)]


def chat(split: str) -> list[tuple[str, str]]:
    """(text, class) of the chat corpora: a violation's first category the model knows,
    ``safe`` for clean rows, rows of other categories (links, contacts …) as ``safe`` too:
    the model is not meant to find them, and must not call them abuse."""
    out = []
    for path in CHAT:
        for line in path.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            if row.get("split", "train") != split:
                continue
            text = row.get("text") or " ".join(row.get("turns", []))
            if not text:
                continue
            known = [c for c in row["label"] if c in CLASSES]
            out.append((text, known[0] if known else SAFE))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cold", type=Path, default=ROOT.parent / "shared" / "data" / "cold")
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--features", type=int, default=24_000, help="n-grams kept")
    ap.add_argument("--chat-weight", type=float, default=8.0)
    ap.add_argument("--c", type=float, default=2.0, help="inverse regularisation")
    ap.add_argument("--threshold", type=float, default=0.5, help="flag from this probability")
    ap.add_argument("--trigger-loss", type=float, default=0.02,
                    help="share of flagged training texts the trigger gate gives up")  # fmt: skip
    args = ap.parse_args()
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.linear_model import LogisticRegression

    t0 = time.process_time()
    train_cold = cold(args.cold / "train.csv")
    dev_cold = cold(args.cold / "dev.csv")
    train_chat = chat("train")
    docs = [prepare(normalize_term(t)) for t, _ in train_cold + train_chat]
    labels = np.array([CLASSES.index(c) for _, c in train_cold + train_chat])
    weights = np.array([1.0] * len(train_cold) + [args.chat_weight] * len(train_chat))
    print(f"train: {len(train_cold)} COLD + {len(train_chat)} chat;",
          Counter(CLASSES[i] for i in labels))  # fmt: skip

    def fit(vocabulary: list[str] | None) -> tuple[CountVectorizer, LogisticRegression]:
        vec = CountVectorizer(analyzer=ngrams, binary=True, min_df=1 if vocabulary else 2,
                              vocabulary=vocabulary, dtype=np.float32)  # fmt: skip
        x = vec.fit_transform(docs)
        model = LogisticRegression(C=args.c, max_iter=300)
        model.fit(x, labels, sample_weight=weights)
        return vec, model

    vec, model = fit(None)
    names = vec.get_feature_names_out()
    strength = np.abs(model.coef_).max(axis=0)
    keep = np.argsort(-strength)[: args.features]
    vec, model = fit(sorted(str(names[i]) for i in keep))
    print(f"fitted {len(vec.vocabulary_)} n-grams in {time.process_time() - t0:.0f} s CPU")

    from feige.moderation.classifier import MeaningModel

    vocab = vec.get_feature_names_out()
    coef = model.coef_.astype(np.float32)
    # Trigger n-grams: the only ones that can lift a text out of "safe" on their own; the
    # engine runs the model only on text holding one (most chat holds none).
    lift = (coef[1:] - coef[0]).max(axis=0)
    x = vec.transform(docs)
    flagged = model.predict_proba(x)[:, 1:].max(axis=1) >= args.threshold
    strongest = np.asarray(x.multiply(lift[np.newaxis, :]).max(axis=1).todense()).ravel()
    # The trigger level: the engine scores only text holding an n-gram this strong, which
    # keeps (1 - trigger_loss) of what the model flags on its training data and spares most
    # ordinary chat the scoring.
    # Chat (the distribution that matters) gives up at most half as much as COLD.
    is_chat = np.arange(len(docs)) >= len(train_cold)
    trigger = min(
        float(np.quantile(strongest[flagged & ~is_chat], args.trigger_loss)),
        float(np.quantile(strongest[flagged & is_chat], args.trigger_loss / 2)),
    )
    print(f"trigger lift {trigger:.3f}: {(lift >= trigger).sum()} trigger n-grams")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(args.out, "wt", encoding="utf-8") as f:
        f.write("# feige meaning classifier: character 1-3-grams of the compact view (digit "
                "runs read as 0), multinomial logistic regression.\n")  # fmt: skip
        f.write("# trained on COLD train (thu-coai, Apache-2.0) + the labelled chat corpora's "
                "train rows; retrain: tools/train_abuse.py\n")  # fmt: skip
        f.write("classes\t" + "\t".join(CLASSES) + "\n")
        f.write(f"threshold\t{args.threshold}\ntrigger_lift\t{trigger:.4f}\n")
        f.write("bias\t" + "\t".join(f"{b:.5f}" for b in model.intercept_) + "\n")
        for i, gram in enumerate(vocab):
            f.write(gram + "\t" + "\t".join(f"{w:.4f}" for w in coef[:, i]) + "\n")
    size = args.out.stat().st_size
    print(f"wrote {args.out} ({size / 1024:.0f} KiB)")

    mm = MeaningModel.load(args.out)
    evaluations = [("COLD dev", dev_cold), ("chat train", train_chat),
                   ("chat heldout", chat("heldout")), ("chat family", chat("family"))]  # fmt: skip
    for name, rows in evaluations:
        report(name, mm, rows)
    print(f"total {time.process_time() - t0:.0f} s CPU")


def report(name: str, mm: object, rows: list[tuple[str, str]]) -> None:
    from feige.moderation.classifier import MeaningModel

    assert isinstance(mm, MeaningModel)
    tp = fn = fp = tn = 0
    per: Counter[str] = Counter()
    hit: Counter[str] = Counter()
    for text, label in rows:
        got = mm.classify(normalize_term(text))
        flagged = got is not None
        if label == SAFE:
            fp += flagged
            tn += not flagged
        else:
            per[label] += 1
            hit[label] += flagged
            tp += flagged
            fn += not flagged
    recall = tp / (tp + fn) if tp + fn else 1.0
    precision = tp / (tp + fp) if tp + fp else 1.0
    fpr = fp / (fp + tn) if fp + tn else 0.0
    cats = ", ".join(f"{c} {hit[c]}/{per[c]}" for c in CLASSES if per[c])
    print(f"{name:14s} recall {recall:.3f} precision {precision:.3f} FP rate {fpr:.3f}  "
          f"(n={len(rows)}; {cats})")  # fmt: skip


if __name__ == "__main__":
    main()
