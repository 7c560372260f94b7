"""Robot answering speed on a 10,000-entry knowledge base, against a naive linear scan.

    .venv/bin/python bench/robot.py [--entries 10000] [--queries 2000] [--json]
                                    [--word-vectors PATH|none]

The knowledge base is the corpus's 64 entries plus generated product entries (product ×
attribute questions, each with two similar questions), so the vocabulary and the postings grow
as a large shop's would. The queries are the corpus questions (answerable and not), cycled.
Latency is wall clock per answer; the CPU-time p99 (the thread's own time) shows the same
without the waits a busy shared machine adds. The baseline scans every question of every
entry with character-bigram Jaccard overlap (what a first version would do); it is timed on
the same queries in the same run. The accuracy line shows both on the corpus's held-out
split, over its own 64-entry base.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

from tests.robot.corpus_eval import knowledge, load  # noqa: E402

from feige.robot import KnowledgeEntry, Robot  # noqa: E402
from feige.robot.text import normalize  # noqa: E402
from feige.robot.wordvectors import packaged_encoder  # noqa: E402

PRODUCTS = """T恤 连衣裙 运动鞋 蓝牙耳机 充电宝 保温杯 羽绒服 牛仔裤 洗面奶 电饭煲 手机壳
双肩包 床单 猫粮 积木 台灯 键盘 鼠标 口红 面膜 茶叶 咖啡豆
拖鞋 雨伞 书包 水杯 枕头 毛巾 袜子 围巾""".split()  # noqa: SIM905
ATTRS = [("能机洗吗", "可以机洗，建议放洗衣袋"), ("是什么颜色", "有多种颜色可选"),
         ("适合几岁", "适合6岁以上"), ("有异味吗", "拆开通风一天即可"), ("重量多少", "约300克"),
         ("保修几年", "保修一年"), ("能送人吗", "可以礼盒包装"), ("产地是哪里", "国内生产"),
         ("怎么清洗", "温水手洗"), ("能放冰箱吗", "可以冷藏")]  # fmt: skip
MODELS = [f"{a}{b}" for a in "ABCDEFGHJK" for b in range(100)]


def synthetic(n: int, seed: int = 7) -> list[KnowledgeEntry]:
    rng = random.Random(seed)
    out = list(knowledge())
    i = 0
    while len(out) < n:
        p = PRODUCTS[i % len(PRODUCTS)]
        model = MODELS[(i // len(PRODUCTS)) % len(MODELS)]
        q, a = ATTRS[rng.randrange(len(ATTRS))]
        out.append(
            KnowledgeEntry(
                question=f"{model}款{p}{q}#{i}",
                similar=(f"{p}{model}{q}", f"请问{model}{p}{q}"),
                answer=f"{model}款{p}：{a}。",
                category="商品",
            )
        )
        i += 1
    return out


def bigrams(text: str) -> frozenset[str]:
    t = normalize(text)
    return frozenset(t[i : i + 2] for i in range(len(t) - 1)) or frozenset(t)


class NaiveScan:
    """Character-bigram Jaccard against every question of every entry, best one wins."""

    def __init__(self, entries: Sequence[KnowledgeEntry], threshold: float = 0.3) -> None:
        self.rows = [(bigrams(q), e) for e in entries for q in e.questions]
        self.threshold = threshold

    def answer(self, question: str) -> KnowledgeEntry | None:
        q = bigrams(question)
        best, score = None, 0.0
        for grams, entry in self.rows:
            inter = len(q & grams)
            if inter:
                s = inter / len(q | grams)
                if s > score:
                    best, score = entry, s
        return best if score >= self.threshold else None


def timed(fn: Callable[[str], object], queries: Sequence[str]) -> dict[str, float]:
    lat = []
    cpu = time.process_time()
    start = time.perf_counter()
    cpu_lat = []
    for q in queries:
        c = time.thread_time()
        t = time.perf_counter()
        fn(q)
        lat.append(time.perf_counter() - t)
        cpu_lat.append(time.thread_time() - c)
    total = time.perf_counter() - start
    cpu = time.process_time() - cpu
    lat.sort()
    cpu_lat.sort()
    return {
        "answers_per_s": len(queries) / total,
        "answers_per_cpu_s": len(queries) / cpu,
        "p50_ms": statistics.median(lat) * 1000,
        "p99_ms": lat[int(len(lat) * 0.99) - 1] * 1000,
        "cpu_p99_ms": cpu_lat[int(len(cpu_lat) * 0.99) - 1] * 1000,
    }


def accuracy(answer: Callable[[str], str | None]) -> tuple[float, float]:
    rows = load(split="heldout")
    good = [r for r in rows if r.expect]
    bad = [r for r in rows if not r.expect]
    top1 = sum(answer(r.question) == r.expect for r in good) / len(good)
    false = sum(answer(r.question) is not None for r in bad) / len(bad)
    return top1, false


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--entries", type=int, default=10_000)
    ap.add_argument("--queries", type=int, default=2_000)
    ap.add_argument("--json", action="store_true")
    ap.add_argument(
        "--word-vectors",
        default="none",
        help="word-vector file for the meaning layer ('' = the packaged one, default none)",
    )
    args = ap.parse_args()
    entries = synthetic(args.entries)
    corpus = [r.question for r in load()]
    queries = [corpus[i % len(corpus)] for i in range(args.queries)]
    t = time.perf_counter()
    encoder = packaged_encoder(args.word_vectors)
    vectors_load_s = time.perf_counter() - t
    t = time.perf_counter()
    robot = Robot(entries, encoder=encoder)
    build_s = time.perf_counter() - t
    naive = NaiveScan(entries)
    for q in queries[:50]:  # warm caches (pinyin, jieba) before timing
        robot.answer(q)
    fast = timed(robot.answer, queries)
    slow = timed(naive.answer, queries)
    small_robot = Robot(knowledge(), encoder=encoder)
    small_naive = NaiveScan(knowledge())
    r_top1, r_false = accuracy(lambda q: small_robot.answer(q).question)
    n_top1, n_false = accuracy(lambda q: e.question if (e := small_naive.answer(q)) else None)
    result = {
        "entries": len(entries),
        "queries": len(queries),
        "build_s": build_s,
        "word_vectors": encoder is not None,
        "word_vectors_load_s": vectors_load_s,
        "robot": fast,
        "naive": slow,
        "throughput_ratio": fast["answers_per_s"] / slow["answers_per_s"],
        "p99_ratio": slow["p99_ms"] / fast["p99_ms"],
        "accuracy": {
            "robot": {"top1": r_top1, "must_not_answered": r_false},
            "naive": {"top1": n_top1, "must_not_answered": n_false},
        },
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(
        f"knowledge base: {len(entries)} entries, {len(queries)} queries; built in {build_s:.1f} s"
    )
    if encoder is not None:
        print(f"word vectors: loaded in {vectors_load_s:.2f} s")
    for name, r in (("robot", fast), ("naive scan", slow)):
        print(
            f"{name:>11}: {r['answers_per_s']:8.0f} answers/s"
            f" ({r['answers_per_cpu_s']:.0f} per CPU-s)"
            f"  p50 {r['p50_ms']:6.2f} ms"
            f"  p99 {r['p99_ms']:6.2f} ms (CPU time p99 {r['cpu_p99_ms']:.2f} ms)"
        )
    print(
        f"ratio: {result['throughput_ratio']:.1f}x answers/s, p99 {result['p99_ratio']:.1f}x lower"
    )
    print(
        f"held-out accuracy (64 entries): robot top-1 {r_top1:.1%}, must-not answered "
        f"{r_false:.1%}; naive top-1 {n_top1:.1%}, must-not answered {n_false:.1%}"
    )


if __name__ == "__main__":
    main()
