"""Moderation throughput on one core: the full engine against a naive ``re`` alternation.

    .venv/bin/python bench/moderation.py [--messages 200000] [--extra-terms 6000] [--json]
    .venv/bin/python bench/moderation.py --baseline-src /path/to/other/checkout/src
    .venv/bin/python bench/moderation.py --gc-as-app   # the collector set up as the server's

``--gc-as-app`` freezes what is loaded and raises the collector's thresholds before timing, as
``feige.app`` does once the server has started: without it, one full collection per ~100,000
messages traverses the lexicon's build-time data (pypinyin's phrase table, ~190,000 lists),
about 0.1 s of CPU that the server does not pay.

``--baseline-src`` times the engine of another source tree (the commit before a change) on the
same mix in the same run: a child process before and one after this engine's run, so that a
machine that gets busier or quieter meanwhile shows in the two; their mean is the baseline.

The mix is realistic chat: mostly clean shopping talk of about 20-40 characters (with order
and tracking numbers, prices, sizes, dates, links to the platform), a few per cent violations
from the labelled corpus, many senders (so the spam window is live). The engine runs its full
pipeline with the packaged lexicons plus several thousand generated operator entries; the
baseline lower-cases the text and runs one ``re`` alternation of the same (normalised)
lexicon -- matching only, no normalisation, no detectors.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import inspect
import json
import os
import random
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
#: ``--src DIR`` imports feige from DIR (the child run of ``--baseline-src``).
_SRC = sys.argv[sys.argv.index("--src") + 1] if "--src" in sys.argv[:-1] else str(ROOT / "src")
sys.path.insert(0, _SRC)

from feige.moderation import ModerationConfig, Moderator  # noqa: E402

PRODUCTS = ["T恤", "连衣裙", "运动鞋", "蓝牙耳机", "充电宝", "保温杯", "羽绒服", "牛仔裤",
            "洗面奶", "电饭煲", "手机壳", "双肩包", "床单四件套", "猫粮", "儿童积木"]  # fmt: skip
COLORS = ["黑色", "白色", "灰色", "卡其色", "藏青", "粉色", "米白"]
SIZES = ["S码", "M码", "L码", "XL", "XXL", "38码", "40码", "42码", "均码"]
TEMPLATES = [
    "亲，这款{p}有{s}和{s2}，今天下单明天发货",
    "在吗？{p}{c}的还有货吗",
    "{p}是{c}的吗，有没有色差",
    "请问{p}身高{h}体重{w}斤穿什么码",
    "订单号 {order}，麻烦帮我查一下物流",
    "快递单号 SF{track}，请注意查收哦",
    "亲，{p}活动价 {price} 元，满 {m} 减 {r}",
    "到手价 ¥{price}，包邮，{d}号前发货",
    "收到货了，{c}的{p}质量很好，下次还来",
    "好的，谢谢亲～😊",
    "能便宜点吗，我买两件{p}",
    "您好，请问有什么可以帮您？",
    "亲，已经给您备注了，优先发货哦",
    "预计 {mo}月{d}日送达，请耐心等待",
    "商品链接 https://www.feige.example/item/{n}",
    "退款已原路退回，{price} 元请注意查收",
    "这个{p}怎么用？说明书看不懂",
    "不好意思，{c}{s}的已经卖完了",
    "我的电话 13{tail}，放快递柜就行",
    "型号 {model}，支持七天无理由退换",
    "亲，{p}今天下单的话明天上午就能发出，顺丰包邮",
    "我昨天买的{p}怎么还没发货？能帮我催一下吗",
    "这个{p}可以机洗吗，会不会缩水掉色",
    "亲，{c}的{p}库存还有{n}件，喜欢的话尽快下单哦",
    "收到的{p}有点问题，拉链坏了，怎么处理",
    "麻烦帮我改一下收货地址，改成公司地址",
    "亲，七天无理由退换，运费险已经帮您买好了",
    "{p}的{s}偏大还是偏小？我平时穿{s2}",
    "好的亲，已经帮您申请退款了，请耐心等待审核",
    "亲亲，{p}是正品哦，支持专柜验货",
    "我想问一下{p}有没有赠品，买两件能优惠吗",
    "您好，您的包裹已经到驿站了，取件码 {d}-{mo}-{n}",
    "这款{p}适合送人吗？能帮忙包装一下吗",
    "亲，{mo}月{d}日之前下单都可以参加满减",
    "谢谢，东西收到了，很满意，给你们五星",
    "客服你好，发票可以开公司抬头吗",
    "亲，这边看到您的订单还没付款，需要帮忙吗",
    "{p}充满电大概要多久？能用几天",
    "亲，今天太忙了回复晚了，不好意思哈",
    "我要退货，{p}和图片差别太大了",
]


TAILS = ["，谢谢", "，麻烦了", "哦亲", "～", "，辛苦了", "，急用", "？在线等", "。"]


def _fill(rnd: random.Random, template: str) -> str:
    return template.format(
        p=rnd.choice(PRODUCTS),
        c=rnd.choice(COLORS),
        s=rnd.choice(SIZES),
        s2=rnd.choice(SIZES),
        h=rnd.randint(150, 190),
        w=rnd.randint(90, 200),
        order="".join(rnd.choice("0123456789") for _ in range(18)),
        track="".join(rnd.choice("0123456789") for _ in range(13)),
        price=f"{rnd.randint(9, 999)}.{rnd.randint(0, 9)}",
        m=rnd.choice([199, 299, 399]),
        r=rnd.choice([20, 30, 50]),
        d=rnd.randint(1, 28),
        mo=rnd.randint(1, 12),
        n=rnd.randint(1000, 99999),
        tail="".join(rnd.choice("0123456789") for _ in range(9)),
        model=rnd.choice(["WH-1000XM5", "A2890", "KD-55X85K", "MX-3S", "RTX4060"]),
    )


def make_mix(n: int, seed: int = 1, violation_share: float = 0.05) -> list[tuple[str, str, str]]:
    """(text, role, sender) triples."""
    rnd = random.Random(seed)
    corpus = ROOT / "tests" / "moderation" / "corpus.jsonl"
    bad = [
        json.loads(line)
        for line in corpus.read_text(encoding="utf-8").splitlines()
        if line and '"text"' in line
    ]
    bad = [r for r in bad if r["label"]]
    out = []
    for _ in range(n):
        sender = f"u{rnd.randrange(5000)}"
        if rnd.random() < violation_share:
            row = rnd.choice(bad)
            out.append((row["text"], row["role"], sender))
        else:
            text = _fill(rnd, rnd.choice(TEMPLATES))
            if rnd.random() < 0.5:
                text += rnd.choice(TAILS)
            out.append((text, rnd.choice(["buyer", "agent"]), sender))
    return out


def generate_lexicon(directory: Path, count: int, seed: int = 2) -> int:
    """Several thousand operator entries: 3-4 character phrases from common characters and
    pinyin-like ASCII words, spread over the category files (what a grown lexicon looks like
    to the automaton)."""
    rnd = random.Random(seed)
    common = []
    for hi in range(0xB0, 0xD8):
        for lo in range(0xA1, 0xFF):
            with contextlib.suppress(UnicodeDecodeError):
                common.append(bytes((hi, lo)).decode("gb2312"))
    syllables = [
        "zhang",
        "wang",
        "li",
        "zhao",
        "qian",
        "sun",
        "zhou",
        "wu",
        "zheng",
        "feng",
        "chen",
        "wei",
        "jiang",
        "shen",
        "han",
        "yang",
    ]
    cats = ["abuse", "porn_vulgar_violence", "spam", "third_party.ad", "fraud", "misuse"]
    terms: dict[str, set[str]] = {c: set() for c in cats}
    total = 0
    while total < count:
        cat = rnd.choice(cats)
        if rnd.random() < 0.8:
            term = "".join(rnd.choice(common) for _ in range(rnd.choice((3, 4))))
        else:
            term = "".join(rnd.choice(syllables) for _ in range(3))
        if term not in terms[cat]:
            terms[cat].add(term)
            total += 1
    for cat, words in terms.items():
        (directory / f"{cat}.txt").write_text("\n".join(sorted(words)) + "\n", encoding="utf-8")
    return total


def measure(
    fn: Callable[[str, str, str], Any], mix: list[tuple[str, str, str]]
) -> dict[str, float]:
    """Per-message latencies (perf_counter_ns around each call) and throughput."""
    clock = time.perf_counter_ns
    lat = []
    start = time.perf_counter()
    cpu0 = time.process_time()
    for text, role, sender in mix:
        t0 = clock()
        fn(text, role, sender)
        lat.append(clock() - t0)
    wall = time.perf_counter() - start
    cpu = time.process_time() - cpu0
    lat.sort()
    n = len(lat)
    return {
        "messages": n,
        "seconds": wall,
        "msgs_per_s": n / wall,
        "msgs_per_cpu_s": n / cpu,
        "mean_us": statistics.fmean(lat) / 1000,
        "p50_us": lat[n // 2] / 1000,
        "p99_us": lat[int(n * 0.99)] / 1000,
        "p999_us": lat[int(n * 0.999)] / 1000,
        "max_us": lat[-1] / 1000,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--messages", type=int, default=200_000)
    ap.add_argument("--extra-terms", type=int, default=6000)
    ap.add_argument("--violations", type=float, default=0.05, help="share of violations")
    ap.add_argument("--cpu", type=int, default=0, help="core to pin to (Linux)")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    ap.add_argument("--src", help="import feige from this source tree (default: this checkout)")
    ap.add_argument(
        "--baseline-src",
        help="also time the engine of this source tree on the same mix, before and after",
    )
    ap.add_argument(
        "--engine-only", action="store_true", help="time the full engine only (no baselines)"
    )
    ap.add_argument(
        "--gc-as-app",
        action="store_true",
        help="set the cyclic collector up as the app does after startup (freeze what is "
        "loaded, thresholds 50000/20/20; src/feige/app.py) before timing",
    )
    args = ap.parse_args()
    baseline: list[dict[str, Any]] = []
    if args.baseline_src:
        baseline.append(_child(args))
    if hasattr(os, "sched_setaffinity"):
        with contextlib.suppress(OSError):
            os.sched_setaffinity(0, {args.cpu})
    with tempfile.TemporaryDirectory() as tmp:
        generated = generate_lexicon(Path(tmp), args.extra_terms)
        t0 = time.perf_counter()
        mod = Moderator(ModerationConfig(lexicon_paths=(tmp,)))
        build_s = time.perf_counter() - t0
        # The same engine without what round 2 added (classifier, split window, caches):
        # the detectors of round 1 plus the shape detectors, for a same-run comparison.
        plain = (
            mod  # a child times one engine only (and an older tree has no such settings)
            if args.engine_only
            else Moderator(
                ModerationConfig(lexicon_paths=(tmp,), meaning_model=False, clean_cache=0)
            )
        )
    entries = len(mod.lexicon)
    mix = make_mix(args.messages, violation_share=args.violations)
    avg_len = statistics.fmean(len(t) for t, _, _ in mix)

    alternation = re.compile(
        "|".join(re.escape(p) for p in sorted(mod.lexicon.patterns, key=len, reverse=True))
    )

    def naive(text: str, role: str, sender: str) -> Any:
        return alternation.findall(text.lower())

    def engine(text: str, role: str, sender: str) -> Any:
        # The full pipeline: spam window, split-message window (one session per sender),
        # meaning classifier.
        return mod.check_text(text, role, sender, None, sender)

    if len(inspect.signature(mod.check_text).parameters) < 5:
        # A tree from before the split-message window (--baseline-src of an older engine,
        # e.g. the one the speed target was set against) takes no session.
        def engine(text: str, role: str, sender: str) -> Any:
            return mod.check_text(text, role, sender)

    def without_round2(text: str, role: str, sender: str) -> Any:
        return plain.check_text(text, role, sender)

    if args.gc_as_app:  # as the server does once started (app.py)
        gc.collect()
        gc.freeze()
        gc.set_threshold(50_000, 20, 20)
    warm = mix[: min(20_000, len(mix))]
    measure(engine, warm)
    if not args.engine_only:
        measure(without_round2, warm)
        measure(naive, warm[:2000])
    # The caches start empty for the measured run, as after a restart (the skeleton and
    # layout memos too: until 2026-11-30 the skeletons learnt in the warm-up were kept).
    for name in ("_clean", "_findings", "_skeletons", "_layouts"):
        cache = getattr(mod, name, None)
        if cache is not None:
            cache.clear()
    memo = getattr(getattr(mod, "meaning", None), "_memo", None)  # the classifier's (round 2)
    if memo is not None:
        memo.clear()
    eng = measure(engine, mix)
    if args.engine_only:
        print(json.dumps({"src": _SRC, "engine": eng, "loadavg_1min": os.getloadavg()[0]}))
        return
    lean = measure(without_round2, mix)
    base = measure(naive, mix)
    if args.baseline_src:
        baseline.append(_child(args))
    actions: dict[str, int] = {}
    for text, role, _sender in mix[:20_000]:
        a = str(mod.check_text(text, role).action)
        actions[a] = actions.get(a, 0) + 1
    result = {
        "python": sys.version.split()[0],
        "cpu": cpu_model(),
        "loadavg_1min": round(os.getloadavg()[0], 2),
        "lexicon_entries": entries,
        "generated_entries": generated,
        "build_seconds": round(build_s, 3),
        "avg_chars": round(avg_len, 1),
        "violation_share": args.violations,
        "gc_as_app": args.gc_as_app,
        "engine": {k: round(v, 2) for k, v in eng.items()},
        "engine_without_round2": {k: round(v, 2) for k, v in lean.items()},
        "speedup_vs_without_round2": round(eng["msgs_per_cpu_s"] / lean["msgs_per_cpu_s"], 2),
        "cache_entries": {
            "clean": len(mod._clean),
            "findings": len(mod._findings),
            "classifier": len(getattr(mod.meaning, "_memo", ())),
        },
        "naive_re": {k: round(v, 2) for k, v in base.items()},
        "speedup": round(eng["msgs_per_cpu_s"] / base["msgs_per_cpu_s"], 2),
        "actions_first_20000": actions,
        "targets": {
            "msgs_per_cpu_s>=100000": eng["msgs_per_cpu_s"] >= 100_000,
            "p99<0.5ms": eng["p99_us"] < 500,
        },
    }
    if baseline:
        runs = [b["engine"] for b in baseline]
        mean = {k: statistics.fmean(r[k] for r in runs) for k in runs[0]}
        result["baseline_src"] = args.baseline_src
        result["baseline_runs"] = [{k: round(v, 2) for k, v in r.items()} for r in runs]
        result["speedup_vs_baseline_src"] = round(eng["msgs_per_cpu_s"] / mean["msgs_per_cpu_s"], 2)
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
        return
    print(f"cpu: {result['cpu']}; python {result['python']}")
    print(f"lexicon: {entries} normalised entries ({generated} generated), built in {build_s:.2f}s")
    print(f"mix: {len(mix)} messages, {avg_len:.1f} chars on average, {args.violations:.0%} bad")
    for name, r in (("engine (full pipeline)", eng), ("engine without round 2", lean),
                    ("naive re alternation", base)):  # fmt: skip
        print(
            f"{name:24s} {r['msgs_per_s']:>10,.0f} msg/s   mean {r['mean_us']:6.1f} us   "
            f"p50 {r['p50_us']:6.1f} us   p99 {r['p99_us']:7.1f} us   max {r['max_us']:8.1f} us"
        )
    print(
        f"per CPU-second (robust to a busy machine): engine {eng['msgs_per_cpu_s']:,.0f}, "
        f"without round 2 {lean['msgs_per_cpu_s']:,.0f}, naive {base['msgs_per_cpu_s']:,.0f}; "
        f"load average {os.getloadavg()[0]:.2f}"
    )
    print(f"ratio engine/naive (CPU): {result['speedup']}x; engine / engine without round 2 "
          f"(CPU): {result['speedup_vs_without_round2']}x")  # fmt: skip
    print(f"targets: {result['targets']}")
    if baseline:
        for i, r in enumerate(result["baseline_runs"]):  # type: ignore[arg-type]
            print(
                f"baseline {args.baseline_src} run {i + 1} ({'before' if i == 0 else 'after'}): "
                f"{r['msgs_per_cpu_s']:,.0f} msg per CPU-s   p50 {r['p50_us']:6.1f} us   "
                f"p99 {r['p99_us']:7.1f} us"
            )
        print(f"engine / baseline (CPU): {result['speedup_vs_baseline_src']}x")


def cpu_model() -> str:
    """The processor's name (Linux): figures from two machines are not comparable, and one
    machine of this project's kind has read the same engine 1.6 times faster than another."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return "unknown"


def _child(args: argparse.Namespace) -> dict[str, Any]:
    """The engine of ``--baseline-src`` timed on the same mix, in a child process."""
    import subprocess

    cmd = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--src",
        args.baseline_src,
        "--engine-only",
        "--messages",
        str(args.messages),
        "--extra-terms",
        str(args.extra_terms),
        "--violations",
        str(args.violations),
        "--cpu",
        str(args.cpu),
        *(["--gc-as-app"] if args.gc_as_app else []),
    ]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return dict(json.loads(out.strip().splitlines()[-1]))


if __name__ == "__main__":
    main()
