"""Two moderation engines in one process, timed in alternating chunks of the same mix.

    .venv/bin/python bench/moderation_interleaved.py --baseline-src /tmp/base/src [--messages N]

On a shared machine even CPU time swings by tens of per cent between processes started
minutes apart (``bench/moderation.py --baseline-src`` runs the baseline in child processes).
Here the baseline's ``feige`` package is copied to a temporary directory as ``feige_base``
(its imports and package-resource names renamed), both engines are built with the same
generated lexicon, warmed on the same 20,000 messages with their caches emptied afterwards,
and timed on alternating chunks of the bench's mix (which goes first alternates too), so that
a busier or quieter spell falls on both; the garbage collector is run between chunks (not
timed) with the built engines frozen out of it, so that neither pays for the other's
garbage (which engine went first changed the ratio by 0.2 without that). Prints the CPU
throughput of each and their ratio.
"""

from __future__ import annotations

import argparse
import gc
import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "src"))

import moderation as bench  # noqa: E402
from feige.moderation import ModerationConfig, Moderator  # noqa: E402

_RENAME = (
    (re.compile(r"\bfrom feige(\.| import)"), r"from feige_base\1"),
    (re.compile(r"\bimport feige(\.|$| )", re.M), r"import feige_base\1"),
    (re.compile(r'resources\.files\("feige\.'), 'resources.files("feige_base.'),
)


def copy_as_base(src: Path, into: Path) -> None:
    """``src/feige`` copied to ``into/feige_base`` with its own imports renamed."""
    target = into / "feige_base"
    shutil.copytree(src / "feige", target, ignore=shutil.ignore_patterns("__pycache__", "static"))
    for path in target.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for rx, repl in _RENAME:
            text = rx.sub(repl, text)
        path.write_text(text, encoding="utf-8")


def _empty_caches(mod: Any) -> None:
    for name in ("_clean", "_findings", "_skeletons", "_layouts"):
        cache = getattr(mod, name, None)
        if cache is not None:
            cache.clear()
    memo = getattr(getattr(mod, "meaning", None), "_memo", None)
    if memo is not None:
        memo.clear()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--baseline-src", required=True, help="the other tree's src directory")
    ap.add_argument("--messages", type=int, default=100_000)
    ap.add_argument("--chunk", type=int, default=5_000)
    ap.add_argument("--extra-terms", type=int, default=6000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        copy_as_base(Path(args.baseline_src), Path(tmp))
        sys.path.insert(0, tmp)
        from feige_base.moderation import ModerationConfig as BaseConfig
        from feige_base.moderation import Moderator as BaseModerator

        lexicon = Path(tmp) / "lexicon"
        lexicon.mkdir()
        bench.generate_lexicon(lexicon, args.extra_terms)
        engines: dict[str, Any] = {
            "this": Moderator(ModerationConfig(lexicon_paths=(str(lexicon),))),
            "baseline": BaseModerator(BaseConfig(lexicon_paths=(str(lexicon),))),
        }
    mix = bench.make_mix(args.messages)
    for mod in engines.values():
        for text, role, sender in mix[:20_000]:
            mod.check_text(text, role, sender, None, sender)
        _empty_caches(mod)
    # The collector's full passes traverse both engines' objects and fall on whichever runs
    # when they fire: the built engines are frozen out of them, and each chunk starts after
    # a collection (not timed), so that each engine pays for its own garbage.
    gc.collect()
    gc.freeze()
    cpu = dict.fromkeys(engines, 0.0)
    clock = time.process_time
    names = list(engines)
    for n, i in enumerate(range(0, len(mix), args.chunk)):
        part = mix[i : i + args.chunk]
        for name in names if n % 2 == 0 else names[::-1]:
            mod = engines[name]
            gc.collect()
            t0 = clock()
            for text, role, sender in part:
                mod.check_text(text, role, sender, None, sender)
            cpu[name] += clock() - t0
    total = len(mix)
    print(
        f"this {total / cpu['this']:,.0f}  baseline {total / cpu['baseline']:,.0f} msg per "
        f"CPU-s  ratio {cpu['baseline'] / cpu['this']:.2f}x  load {os.getloadavg()[0]:.1f}"
    )


if __name__ == "__main__":
    main()
