"""What the rolling window of rule 2.2.1 costs the message path (docs/robot-modes.md).

The real thing: ``RoundWatch`` (``feige.metrics.rolling``) fed buyer messages and answers as
the node's observer feeds it, and asked for the shop's decision after each answer. The
baseline, in the same run on the same messages: the figure recomputed at each answer over
the shop's rounds of the last hour (what a per-message query would read, without the
database's own cost). Both agree on the windows when every round is answered.

    python bench/robot_window.py [--shops 200] [--messages 200000]
"""

from __future__ import annotations

import argparse
import random
import time
from collections import deque

from feige.metrics.rolling import RoundWatch, SwitchRule

RULE = SwitchRule()


def script(
    shops: int, messages: int, answered: float = 0.9, seed: int = 7
) -> list[tuple[str, int, int, float]]:
    """(op, session, shop, time): buyers ask, agents answer 5–200 s later, some never."""
    rng = random.Random(seed)
    out: list[tuple[str, int, int, float]] = []
    now = 1_800_000_000.0
    session = 0
    while len(out) < messages:
        now += rng.uniform(0, 0.5)
        session += 1
        shop = rng.randrange(shops)
        out.append(("buyer", session, shop, now))
        if rng.random() < answered:
            out.append(("reply", session, shop, now + rng.uniform(5, 200)))
    out.sort(key=lambda step: step[3])
    return out


def incremental(steps: list[tuple[str, int, int, float]]) -> tuple[float, dict[int, float]]:
    watch = RoundWatch(RULE, lambda ts: True)
    started = time.perf_counter()
    for op, session, shop, at in steps:
        if op == "buyer":
            watch.human_session(session, shop, True)
            watch.buyer_message(session, at)
        else:
            watch.staff_reply(session, at)
            watch.decide(shop, at)
    watch.advance(steps[-1][3])
    elapsed = time.perf_counter() - started
    return elapsed, {s: w.total for s, w in watch.shops.items() if w.rounds}


def recomputed(steps: list[tuple[str, int, int, float]]) -> tuple[float, dict[int, float]]:
    """The figure recomputed at each answer over the shop's rounds of the last hour, as an
    indexed query per message would read them (answered rounds only: the baseline is let
    off the expiries, and rounds older than the hour are dropped for it for free)."""
    starts: dict[int, float] = {}
    rounds: dict[int, deque[tuple[float, float]]] = {}
    started = time.perf_counter()
    for op, session, shop, at in steps:
        if op == "buyer":
            starts[session] = at
            continue
        wait = min(at - starts.pop(session), RULE.cap_seconds)
        mine = rounds.setdefault(shop, deque())
        mine.append((at, wait))
        while mine[0][0] <= at - RULE.span_seconds:
            mine.popleft()
        inside = [w for _, w in mine]
        _ = sum(inside) / len(inside)
    elapsed = time.perf_counter() - started
    end = steps[-1][3]
    totals = {
        shop: sum(w for t, w in mine if t > end - RULE.span_seconds)
        for shop, mine in rounds.items()
        if any(t > end - RULE.span_seconds for t, _ in mine)
    }
    return elapsed, totals


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shops", type=int, default=200)
    parser.add_argument("--messages", type=int, default=200_000)
    args = parser.parse_args()
    # Both give the same windows when every round is answered (the baseline knows nothing of
    # expiries).
    check = script(20, 20_000, answered=1.0)
    _, real_totals = incremental(check)
    _, base_totals = recomputed(check)
    assert real_totals.keys() == base_totals.keys()
    assert all(abs(real_totals[s] - base_totals[s]) < 1e-6 for s in real_totals)
    steps = script(args.shops, args.messages)
    real, _ = incremental(steps)
    base, _ = recomputed(steps)
    per_message_us = real / len(steps) * 1e6
    print(f"messages: {len(steps)} over {args.shops} shops ({steps[-1][3] - steps[0][3]:.0f} s)")
    print(f"incremental RoundWatch: {real:.3f} s, {per_message_us:.2f} µs per message")
    print(f"recomputed per answer:  {base:.3f} s, {base / len(steps) * 1e6:.2f} µs per message")
    print(f"ratio (baseline / incremental): {base / real:.1f}×")


if __name__ == "__main__":
    main()
