"""Do two engines give the same verdicts? One child process per source tree, one digest each.

    .venv/bin/python bench/moderation_verdicts.py --baseline-src /tmp/base/src [--messages N]

Each child builds the engine of its tree (packaged lexicons plus the bench's generated
operator entries, as ``bench/moderation.py``), and an engine without caches, and feeds both
the same sequence: the labelled corpora (``tests/moderation/*.jsonl``) alone and with
senders and sessions, the bench's mix with senders and sessions, edge strings, fuzz built
from pieces of the corpora, digits and separators, then the mix's first 20,000 again (the
caches warm). Every verdict is written as its ``repr``; the parent compares the two trees'
lines one by one and prints the first differences. A speed change must leave this identical.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_SRC = sys.argv[sys.argv.index("--src") + 1] if "--src" in sys.argv[:-1] else str(ROOT / "src")

EDGE = [
    "",
    " ",
    "\n",
    "\u200b",
    "😊😊😊",
    "1",
    "12345",
    "13812345678",
    "１３８１２３４５６７８",
    "138 1234 5678",
    "138-1234-5678",
    "一三八一二三四五六七八",
    "幺三八幺二三四五六七八",
    "8765432183 1",
    "87654321831",
    "加1下",
    "另1家店",
    "另外1家",
    "微",
    "信",
    "vx",
    "v",
    "qq",
    "加我",
    "号",
    "abc123",
    "wx_abc123",
    "a" * 200,
    "微" * 50,
    "1" * 60,
    "https://www.feige.example/item/1",
    "https://evil.example/x",
    "www.taobao.com",
    "hxxps://a[.]b",
    "abc@qq.com",
    "abc at qq dot com",
    "9.9元",
    "¥12345678",
    "(abcdefgh)",
    "订单号 123456789012345678",
    "收货电话 13812345678",
    "我的电话 13812345678",
    "𝟏𝟑𝟖𝟏𝟐𝟑𝟒𝟓𝟔𝟕𝟖",
    "\U0001f600" * 3 + "13812345678",
    "\U00030000\U00030001",
    "ｗｅｉｘｉｎ：ａｂｃ１２３",
    "V❤：abc123",
    "十三亿八千一百二十三万四千五百六十七",
    "0755-12345678",
    "4001234567",
    "6222021234567890123",
    "支付宝 13812345678",
    "我没有骂你",
    "你别骚扰我了",
]

SEPARATORS = [" ", "-", "x", "·", "❤", "、", "，", "。", ".", "\u200b", "", "", ""]


def corpus_rows() -> list[dict[str, object]]:
    rows = []
    for name in ("corpus.jsonl", "chat_corpus.jsonl"):
        path = ROOT / "tests" / "moderation" / name
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                row["turns"] = row.get("turns") or [row.get("text") or row.get("qr") or ""]
                rows.append(row)  # a QR row's content is read as text too
    return rows


def fuzz(rows: list[dict[str, object]], n: int, seed: int = 7) -> Iterator[str]:
    """Texts made of corpus pieces, digit runs, separators and edge strings."""
    rnd = random.Random(seed)
    texts = [str(t) for r in rows for t in r["turns"]]  # type: ignore[attr-defined]
    for _ in range(n):
        parts = []
        for _k in range(rnd.randint(1, 4)):
            r = rnd.random()
            if r < 0.4:
                t = rnd.choice(texts)
                a = rnd.randrange(len(t) + 1)
                parts.append(t[a : a + rnd.randint(1, 20)])
            elif r < 0.7:
                digits = "".join(rnd.choice("0123456789") for _ in range(rnd.randint(1, 13)))
                if rnd.random() < 0.3:
                    digits = "1" + rnd.choice("3456789") + digits
                parts.append(digits)
            elif r < 0.85:
                parts.append(rnd.choice(EDGE))
            else:
                parts.append(rnd.choice(SEPARATORS))
        yield rnd.choice(SEPARATORS).join(parts)


_ASCII_DIGIT = re.compile(r"[0-9]")


def digit_variants(texts: list[str], per_text: int, seed: int = 11) -> Iterator[str]:
    """Each text with digits, again with other digits in their places: texts that share a
    skeleton (the engine's memo of texts known up to their digits), some of them phone
    numbers, hotlines and card numbers, some not."""
    rnd = random.Random(seed)
    for text in texts:
        if _ASCII_DIGIT.search(text) is None:
            continue
        for _ in range(per_text):
            mode = rnd.random()
            if mode < 0.5:
                yield _ASCII_DIGIT.sub(lambda _m: rnd.choice("0123456789"), text)
            else:  # a phone-like or hotline-like start for the first run of digits
                head = iter(rnd.choice(["13", "86138", "12315", "400", "0755", "1"]))
                yield _ASCII_DIGIT.sub(
                    lambda _m, head=head: next(head, None) or rnd.choice("0123456789"), text
                )


def child(messages: int, out: Path) -> None:
    sys.path.insert(0, _SRC)
    sys.path.insert(0, str(ROOT / "bench"))
    import moderation as bench
    from feige.moderation import ModerationConfig, Moderator

    with tempfile.TemporaryDirectory() as tmp:
        bench.generate_lexicon(Path(tmp), 6000)
        cached = Moderator(ModerationConfig(lexicon_paths=(tmp,)))
        plain = Moderator(ModerationConfig(lexicon_paths=(tmp,), clean_cache=0))
    rows = corpus_rows()
    mix = bench.make_mix(messages)
    fuzzed = list(fuzz(rows, 30_000))
    texts = [str(t) for r in rows for t in r["turns"]]  # type: ignore[attr-defined]
    fuzzed += list(digit_variants(texts + fuzzed[:5000] + [t for t, _r, _s in mix[:3000]], 4))
    lines: list[str] = []
    for name, mod in (("cached", cached), ("plain", plain)):
        check = mod.check_text
        for rnd_pass in range(2):
            for r in rows:
                for t in r["turns"]:  # type: ignore[attr-defined]
                    lines.append(repr(tuple(check(str(t), str(r["role"])))))
            for i, r in enumerate(rows):
                sender = f"s{i}" if len(r["turns"]) > 1 else f"s{i % 37}"  # type: ignore[arg-type]
                for k, t in enumerate(r["turns"]):  # type: ignore[attr-defined]
                    v = check(str(t), str(r["role"]), sender, None, sender, (rnd_pass, i, k))
                    lines.append(repr(tuple(v)))
        for i, (text, role, sender) in enumerate(mix):
            lines.append(repr(tuple(check(text, role, sender, None, sender, i))))
        for role in ("buyer", "agent"):
            for text in EDGE:
                lines.append(repr(tuple(check(text, role))))
                lines.append(repr(tuple(check(text, role, "e", None, "e", text))))
        for i, text in enumerate(fuzzed):
            role = "buyer" if i % 2 else "agent"
            sender = f"f{i % 11}"
            lines.append(repr(tuple(check(text, role))))
            lines.append(repr(tuple(check(text, role, sender, None, sender, i))))
        for i, (text, role, sender) in enumerate(mix[:20_000]):
            lines.append(repr(tuple(check(text, role, sender, None, sender, -i))))
        lines.append(f"--- end of {name}")
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--baseline-src", required=False)
    ap.add_argument("--messages", type=int, default=100_000)
    ap.add_argument("--src")
    ap.add_argument("--out")
    args = ap.parse_args()
    if args.out:
        child(args.messages, Path(args.out))
        return
    with tempfile.TemporaryDirectory() as tmp:
        outs = []
        for label, src in (("this", str(ROOT / "src")), ("baseline", args.baseline_src)):
            out = Path(tmp) / f"{label}.txt"
            cmd = [sys.executable, __file__, "--src", src, "--out", str(out)]
            cmd += ["--messages", str(args.messages)]
            subprocess.run(cmd, check=True)
            outs.append(out.read_text(encoding="utf-8").splitlines())
        mine, base = outs
        diffs = [(i, a, b) for i, (a, b) in enumerate(zip(mine, base, strict=False)) if a != b]
        digest = hashlib.sha256("\n".join(mine).encode()).hexdigest()[:16]
        print(f"{len(mine)} verdicts (baseline {len(base)}), digest {digest}")
        # Within one tree: the cached engine's verdicts equal the engine without caches.
        half = mine.index("--- end of cached") + 1
        own = sum(a != b for a, b in zip(mine[: half - 1], mine[half:-1], strict=True))
        print(f"cached vs uncached engine of this tree: {own} differences")
        print(f"this tree vs baseline: {len(diffs)} differences")
        for i, a, b in diffs[:10]:
            print(f"  line {i}:\n    this: {a[:300]}\n    base: {b[:300]}")
        if diffs or len(mine) != len(base) or own:
            sys.exit(1)


if __name__ == "__main__":
    main()
