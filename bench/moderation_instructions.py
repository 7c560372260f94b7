"""Instructions per message (valgrind's callgrind): a cost that the machine's load does not move.

    .venv/bin/python bench/moderation_instructions.py [--baseline-src DIR] [--messages 100000]
    .venv/bin/python bench/moderation_instructions.py --keep /tmp/cg   # callgrind_annotate later
    .venv/bin/python bench/moderation_instructions.py --baseline-src DIR --cache-sim  # + CEst

On a shared machine CPU-second figures swing by ±20 % between processes minutes apart; the
number of instructions executed does not (the same code on the same input executes the same
instructions, whatever else runs). Each tree's engine runs in a child process under
``valgrind --tool=callgrind``, set up as ``bench/moderation.py --gc-as-app`` does: the same
generated lexicon, the same mix, warmed on its first 20,000 messages, the caches emptied
(skeleton, layout and classifier memos too), the collector frozen -- and only the measured run
of the mix is instrumented and counted (a small helper built with the system's C compiler
turns callgrind's instrumentation on and off around it; the build and the warm-up run at
valgrind's uninstrumented speed). ``PYTHONHASHSEED`` is fixed, so a run repeats to within a
few instructions per message.

Instructions are not time: a cache miss costs many cycles and one instruction, so a change
that reads memory differently can move time more or less than its count. ``--cache-sim``
adds callgrind's simulated caches and their cycle estimate (``CEst``); judge with these and
with CPU time in one process (``bench/moderation_interleaved.py``).
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import inspect
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_TOGGLE_C = r"""
#include <valgrind/callgrind.h>
void feige_measure_start(void) { CALLGRIND_START_INSTRUMENTATION; CALLGRIND_TOGGLE_COLLECT; }
void feige_measure_stop(void) { CALLGRIND_TOGGLE_COLLECT; CALLGRIND_STOP_INSTRUMENTATION; }
"""


def build_toggle(directory: Path) -> Path:
    """The helper library (callgrind's client requests are inline machine code, so they
    need a compiler; ``valgrind/callgrind.h`` comes with valgrind's development files)."""
    source = directory / "toggle.c"
    library = directory / "toggle.so"
    source.write_text(_TOGGLE_C, encoding="ascii")
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        sys.exit("needs a C compiler (cc or gcc) and valgrind's headers")
    subprocess.run(
        [compiler, "-O1", "-shared", "-fPIC", "-o", str(library), str(source)], check=True
    )
    return library


def child(src: str, messages: int, extra_terms: int, toggle: str) -> None:
    """Runs under callgrind: build, warm, empty the caches, then the counted run."""
    sys.path.insert(0, src)
    from feige.moderation import ModerationConfig, Moderator  # this tree's, before the bench's

    if not Path(sys.modules["feige"].__file__ or "").resolve().is_relative_to(Path(src).resolve()):
        sys.exit(f"feige was not imported from {src}")
    sys.path.insert(0, str(ROOT / "bench"))
    import moderation as bench

    lib = ctypes.CDLL(toggle)
    with tempfile.TemporaryDirectory() as tmp:
        bench.generate_lexicon(Path(tmp), extra_terms)
        mod = Moderator(ModerationConfig(lexicon_paths=(tmp,)))
    mix = bench.make_mix(messages)
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)
    if len(inspect.signature(mod.check_text).parameters) >= 5:
        check = mod.check_text
    else:  # a tree from before the split-message window takes no session

        def check(text: str, role: str, sender: str, _recipient: None, _session: str) -> object:
            return mod.check_text(text, role, sender)

    for text, role, sender in mix[:20_000]:
        check(text, role, sender, None, sender)
    for name in ("_clean", "_findings", "_skeletons", "_layouts"):
        cache = getattr(mod, name, None)
        if cache is not None:
            cache.clear()
    memo = getattr(getattr(mod, "meaning", None), "_memo", None)
    if memo is not None:
        memo.clear()
    start, stop = lib.feige_measure_start, lib.feige_measure_stop
    start()
    for text, role, sender in mix:
        check(text, role, sender, None, sender)
    stop()


_TOTALS = re.compile(r"^totals:\s+([\d ]+)$", re.M)
_EVENTS = re.compile(r"^events:\s+(.+)$", re.M)


def count(src: str, args: argparse.Namespace, toggle: Path, out: Path) -> dict[str, int]:
    """Instructions (``Ir``) of one tree's counted run; with ``--cache-sim`` also the cache
    misses of callgrind's simulated caches and ``CEst``, the cycle estimate KCachegrind uses
    (Ir + 10 x L1 misses + 100 x last-level misses)."""
    cmd = [
        "valgrind",
        "--tool=callgrind",
        *(["--cache-sim=yes"] if args.cache_sim else []),
        "--instr-atstart=no",
        "--collect-atstart=no",
        f"--callgrind-out-file={out}",
        sys.executable,
        str(Path(__file__).resolve()),
        "--child",
        src,
        "--src",  # the bench module imports feige from --src (see bench/moderation.py)
        src,
        "--toggle",
        str(toggle),
        "--messages",
        str(args.messages),
        "--extra-terms",
        str(args.extra_terms),
    ]
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    data = out.read_text(encoding="utf-8", errors="replace")
    m, e = _TOTALS.search(data), _EVENTS.search(data)
    if m is None or e is None:
        sys.exit(f"no totals in {out}")
    found = dict(zip(e.group(1).split(), map(int, m.group(1).split()), strict=False))
    if "I1mr" in found:
        l1 = found["I1mr"] + found["D1mr"] + found["D1mw"]
        ll = found["ILmr"] + found["DLmr"] + found["DLmw"]
        found["CEst"] = found["Ir"] + 10 * l1 + 100 * ll
    return found


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--baseline-src", help="also count the engine of this source tree")
    ap.add_argument("--src", default=str(ROOT / "src"), help="the tree to count (default: this)")
    ap.add_argument("--messages", type=int, default=100_000)
    ap.add_argument("--extra-terms", type=int, default=6000)
    ap.add_argument("--keep", help="keep the callgrind output files in this directory")
    ap.add_argument(
        "--cache-sim", action="store_true", help="also simulate the caches (slower): CEst"
    )
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--toggle", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child, args.messages, args.extra_terms, args.toggle)
        return
    if shutil.which("valgrind") is None:
        sys.exit("needs valgrind")
    with tempfile.TemporaryDirectory() as tmp:
        where = Path(args.keep) if args.keep else Path(tmp)
        where.mkdir(parents=True, exist_ok=True)
        toggle = build_toggle(Path(tmp))
        trees = [("this", args.src)]
        if args.baseline_src:
            trees.append(("baseline", args.baseline_src))
        counts: dict[str, dict[str, int]] = {}
        for label, src in trees:
            counts[label] = found = count(src, args, toggle, where / f"callgrind.{label}.out")
            line = (
                f"{label:8s} {found['Ir']:>15,} instructions  {found['Ir'] / args.messages:>9,.0f}"
            )
            line += " per message"
            if "CEst" in found:
                line += f"  CEst {found['CEst'] / args.messages:>9,.0f} per message"
            print(f"{line}  ({src})", flush=True)
        if "baseline" in counts:
            for event in ("Ir", "CEst"):
                if event in counts["this"]:
                    ratio = counts["this"][event] / counts["baseline"][event]
                    print(f"this / baseline, {event}: {ratio:.3f} ({1 - ratio:.1%} fewer)")


if __name__ == "__main__":
    main()
