"""Benchmark of ``feige assess --events`` on a realistic week (issue 4).

Generates a week of customer-service sessions (default 10 million messages over 3,000 shops)
as an event log, then times in one run:

* the real CLI, ``feige assess --events FILE --week W --json``, in a subprocess;
* a straightforward baseline: ``json.loads`` + ``datetime.fromisoformat`` per line, every
  event kept as a dict, a naive per-session replay of docs/rules.md §3 written independently of
  ``feige.metrics``; its per-shop numerators and denominators are compared with the CLI's.

    python bench/assessment.py                      # 10 M messages, full run
    python bench/assessment.py --messages 200000    # quick run
"""

from __future__ import annotations

import argparse
import bisect
import gc
import json
import os
import random
import shutil
import subprocess
import sys
import time
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

LOCAL = timezone(timedelta(hours=8))
HOUR_PROFILE = [  # relative session starts per local hour: quiet nights, busy days and evenings
    1.0, 0.6, 0.4, 0.3, 0.3, 0.4, 0.8, 2.0, 5.0, 8.0, 9.0, 9.0,
    7.0, 8.0, 9.0, 9.0, 8.0, 7.0, 7.0, 8.0, 9.5, 9.5, 6.0, 3.0,
]  # fmt: skip
KINDS = ["text"] * 17 + ["image", "product_card", "order_card"]
ENTRIES = ["product"] * 5 + ["order"] * 3 + ["direct", "live", "other"]
SCORES = [1, 2, 3, 3, 4, 4, 4, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5]


class Shop:
    __slots__ = ("agents", "busy", "mode", "name", "night", "seq", "speed")

    def __init__(self, name: str, rng: random.Random, weight: float) -> None:
        self.name = name
        n_agents = max(1, min(40, int(weight * 2 + rng.random() * 3)))
        self.agents = [f"{name}-a{i}" for i in range(1, n_agents + 1)]
        r = rng.random()
        self.mode = "full_auto" if r < 0.10 else "assist" if r < 0.65 else "off"
        self.night = rng.random() < 0.25  # someone on duty at night
        self.busy = rng.random() * 0.12  # share of sessions that queue
        self.speed = rng.lognormvariate(3.0, 0.5)  # median reply delay of this shop, seconds
        self.seq = 0


class _TsPrefix(dict[int, str]):
    """Epoch second → 'YYYY-MM-DDTHH:MM:SS' at a fixed offset, computed on first use."""

    def __init__(self, offset_s: int) -> None:
        super().__init__()
        self.offset_s = offset_s

    def __missing__(self, sec: int) -> str:
        text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(sec + self.offset_s))
        self[sec] = text
        return text


def simulate(shop: Shop, start_ms: int, rng: random.Random, out: list[tuple[int, str]]) -> int:
    """One session's events → ``out`` as (ms, tail); returns its number of messages."""
    shop.seq += 1
    head = f'","shop":"{shop.name}","session":"{shop.name}-{shop.seq}","type":"'
    rand = rng.random
    t = start_ms
    n_msg = 0

    def ev(ms: int, rest: str) -> None:
        out.append((ms, head + rest))

    def msg(ms: int, role: str, agent: str | None = None) -> None:
        nonlocal n_msg
        n_msg += 1
        kind = KINDS[int(rand() * 20)]
        if agent is None:
            out.append((ms, f'{head}message","role":"{role}","kind":"{kind}"}}'))
        else:
            out.append((ms, f'{head}message","role":"{role}","agent":"{agent}","kind":"{kind}"}}'))

    ev(t, f'open","consumer":"c{rng.randrange(2_000_000)}","entry":"{ENTRIES[int(rand() * 11)]}"}}')
    if shop.mode == "full_auto":
        for _ in range(1 + int(rand() * 3)):
            t += 2000 + int(rand() * 20000)
            msg(t, "buyer")
            t += 800 + int(rand() * 2000)
            msg(t, "robot")
        if rand() < 0.5:  # the robot was enough: a pure-robot session
            if rand() < 0.3:
                ev(
                    t + 60_000 + int(rand() * 600_000),
                    f'rated","score":{SCORES[int(rand() * 20)]}}}',
                )
            ev(t + 30_000 + int(rand() * 300_000), 'closed"}')
            return n_msg
        t += 3000 + int(rand() * 10000)
        msg(t, "buyer")  # 转人工
        t += 500
        msg(t, "system")
    else:
        msg(t, "buyer")
    hour = (start_ms // 3_600_000 + 8) % 24
    night = hour < 8 or hour >= 23
    agent = shop.agents[int(rand() * len(shop.agents))]
    if night and not shop.night:
        ev(t + 300, 'offline"}')
        msg(t + 300, "system")
        r = rand()
        if r < 0.7:  # nobody: closes after 30 idle minutes
            if rand() < 0.5:
                t += 20_000
                msg(t, "buyer")
            ev(t + 1_800_000, 'closed"}')
            return n_msg
        t += int(rand() * 900_000) if r < 0.85 else 900_000 + int(rand() * 900_000)
        ev(t, f'assigned","agent":"{agent}"}}')
    elif rand() < shop.busy:
        ev(t + 200, 'queued"}')
        msg(t + 200, "system")
        t += int(rng.lognormvariate(4.5, 1.2) * 1000)
        if t - start_ms > 1_800_000:  # the buyer gave up, nobody took it
            ev(start_ms + 1_800_000 + 200, 'closed"}')
            return n_msg
        ev(t, f'assigned","agent":"{agent}"}}')
    else:
        t += 100 + int(rand() * 900)
        ev(t, f'assigned","agent":"{agent}"}}')
    msg(t + 50, "system")  # welcome
    answered = True
    rounds = 1 + int(rng.expovariate(1 / 3.0))
    for i in range(rounds):
        if i:
            t += 10_000 + int(rand() * 190_000)
            for _ in range(1 + int(rand() * 2.2)):
                msg(t, "buyer")
                t += 3000 + int(rand() * 15000)
        if rand() < 0.02 and i == rounds - 1:
            answered = False
            break
        delay = int(rng.lognormvariate(0, 1.0) * shop.speed * 1000)
        if shop.mode == "assist" and delay > 20_000 and rand() < 0.5:
            t += 20_000
            msg(t, "robot_assist")
        else:
            t += delay
            msg(t, "agent", agent)
        for _ in range(int(rand() * 2.5)):
            t += 4000 + int(rand() * 25000)
            msg(t, "agent", agent)
        if rand() < 0.02 and len(shop.agents) > 1:
            new = shop.agents[int(rand() * len(shop.agents))]
            if new != agent:
                t += 2000
                ev(t, f'transferred","agent":"{new}","from":"{agent}"}}')
                agent = new
    r = rand()
    close = t + 1800000 if not answered or r < 0.1 else t + 20000 + int(rand() * 280000)
    if r < 0.95:
        ev(close, 'closed"}')
    if rand() < 0.3:
        rt = close + 10_000 + int(rand() * 600_000)
        ev(rt, f'rated","score":{SCORES[int(rand() * 20)]}}}')
        if rand() < 0.05:
            ev(rt + 60_000, f'rated","score":{SCORES[int(rand() * 20)]}}}')
    if rand() < 0.01:
        reason = ("reported", "blacklisted", "risky")[int(rand() * 3)]
        ev(t + 1000, f'flagged","reason":"{reason}"}}')
    return n_msg


def generate(path: Path, messages: int, shops: int, week: str, seed: int) -> dict[str, Any]:
    """Write the event log in time order (ties in session order); returns its counts."""
    rng = random.Random(seed)
    year, wk = week.split("-W")
    monday = datetime.fromisocalendar(int(year), int(wk), 1).replace(tzinfo=LOCAL)
    week_ms = int(monday.timestamp() * 1000)
    weights = [1 / (i + 1) ** 0.9 for i in range(shops)]
    total_w = sum(weights)
    shop_objs = [Shop(f"s{i:05d}", rng, w / total_w * shops) for i, w in enumerate(weights)]
    cum = []
    acc = 0.0
    for w in weights:
        acc += w
        cum.append(acc)
    # Calibrate messages per session on a throwaway sample.
    sample: list[tuple[int, str]] = []
    probe = random.Random(seed + 1)
    n_probe = sum(
        simulate(shop_objs[probe.randrange(shops)], week_ms + 40_000_000, probe, sample)
        for _ in range(20_000)
    )
    for s in shop_objs:
        s.seq = 0
    n_sessions = int(messages / (n_probe / 20_000) * 1.03) + 1
    hours = [h for h in range(168) for _ in range(1)]
    hour_w = [HOUR_PROFILE[h % 24] for h in hours]
    starts = sorted(
        week_ms + h * 3_600_000 + int(rng.random() * 3_600_000)
        for h in rng.choices(hours, weights=hour_w, k=n_sessions)
    )
    local, utc = _TsPrefix(8 * 3600), _TsPrefix(0)
    n_msg = 0
    n_lines = 0
    pending: list[tuple[int, int, str]] = []
    counter = 0
    utc_shops = {s.name for s in shop_objs[5::20]}  # 5 % of shops log in UTC ("Z")
    with path.open("w", encoding="utf-8", buffering=1 << 22) as f:

        def flush(upto: int | None) -> None:
            nonlocal pending, n_lines
            pending.sort()
            cut = len(pending) if upto is None else bisect.bisect_left(pending, (upto,))
            out = []
            for _ms, _, line in pending[:cut]:
                out.append(line)
            f.write("\n".join(out))
            if out:
                f.write("\n")
            n_lines += cut
            pending = pending[cut:]

        next_flush = week_ms + 3_600_000
        buf: list[tuple[int, str]] = []
        for start in starts:
            if start >= next_flush:
                flush(next_flush)
                next_flush += 3_600_000
            shop = shop_objs[bisect.bisect_left(cum, rng.random() * total_w)]
            buf.clear()
            n_msg += simulate(shop, start, rng, buf)
            table = utc if shop.name in utc_shops else local
            suffix = ".{:03d}Z" if table is utc else ".{:03d}+08:00"
            for ms, tail in buf:
                sec = ms // 1000
                counter += 1
                pending.append(
                    (ms, counter, '{"ts":"' + table[sec] + suffix.format(ms % 1000) + tail)
                )
        flush(None)
    return {"lines": n_lines, "messages": n_msg, "sessions": n_sessions, "shops": shops}


# --- baseline: the straightforward way -------------------------------------------------------


def baseline(path: Path, week: str) -> dict[str, dict[str, tuple[float, int]]]:
    """json.loads + fromisoformat per line, dicts kept, naive replay per session."""
    year, wk = week.split("-W")
    w0 = datetime.fromisocalendar(int(year), int(wk), 1).replace(tzinfo=LOCAL)
    w1 = w0 + timedelta(days=7)
    Event = tuple[datetime, int, str, Any]  # (ts, line, type, role or score)
    sessions: dict[tuple[str, str], list[Event]] = defaultdict(list)
    with path.open(encoding="utf-8") as f:
        for i, line in enumerate(f):
            if not line.strip():
                continue
            e = json.loads(line)
            sessions[(e["shop"], e["session"])].append(
                (
                    datetime.fromisoformat(e["ts"]),
                    i,
                    e["type"],
                    e.get("role", e.get("score")),
                )
            )

    def in_hours(t: datetime) -> bool:
        lt = t.astimezone(LOCAL)
        return 8 <= lt.hour < 23

    shops: dict[str, dict[str, list[float]]] = defaultdict(
        lambda: {k: [0, 0] for k in ("ns", "tmr", "art", "dis")}
    )
    for (shop, _), evs in sessions.items():
        evs.sort(key=lambda x: (x[0], x[1]))
        entry = None
        assigned = False
        waits = []
        wait_start = None
        pending = False
        closed = False
        rounds = []
        open_round = None
        staff = 0
        rating = None
        invalid = False
        for t, _, typ, role in evs:
            if typ == "rated":
                rating = role
                continue
            if typ == "flagged":
                invalid = True
                continue
            if closed:
                continue
            if typ == "closed":
                closed = True
            elif typ in ("queued", "offline"):
                if entry is None:
                    entry = t
                    if pending:
                        open_round = t
                if wait_start is None:
                    wait_start = t
            elif typ in ("assigned", "transferred"):
                if wait_start is not None:
                    waits.append((wait_start, t))
                    wait_start = None
                if entry is None:
                    entry = t
                    if pending:
                        open_round = t
                assigned = True
            elif typ == "message":
                if role == "buyer":
                    if entry is None:
                        pending = True
                    elif open_round is None:
                        open_round = t
                elif role in ("agent", "robot_assist"):
                    staff += 1
                    if entry is None:
                        pending = False
                    elif open_round is not None:
                        rounds.append((open_round, (t - open_round).total_seconds()))
                        open_round = None
                elif role == "robot" and entry is None:
                    pending = False
        if open_round is not None:
            rounds.append((open_round, None))
        if wait_start is not None:
            waits.append((wait_start, None))
        if entry is None or invalid:
            continue
        agg = shops[shop]
        wk_rounds = [(s, r) for s, r in rounds if w0 <= s < w1 and in_hours(s)]
        for _, r in wk_rounds:
            agg["art"][0] += 600 if r is None else min(r, 600)
            agg["art"][1] += 1
        if not (w0 <= entry < w1 and in_hours(entry)):
            continue
        no_service = (
            any(end is None or (end - start).total_seconds() > 900 for start, end in waits)
            or (assigned and staff == 0)
            or (assigned and bool(rounds) and rounds[-1][1] is None)
        )
        agg["ns"][0] += no_service
        agg["ns"][1] += 1
        if wk_rounds:
            agg["tmr"][0] += all(r is not None and r <= 180 for _, r in wk_rounds)
            agg["tmr"][1] += 1
        if rating is not None:
            agg["dis"][0] += rating <= 3
            agg["dis"][1] += 1
    return {shop: {k: (v[0], v[1]) for k, v in m.items()} for shop, m in shops.items()}


# --- running ------------------------------------------------------------------------------------


def feige_command() -> list[str]:
    """The installed ``feige`` CLI (next to this Python), else the assess command on its own."""
    exe = Path(sys.executable).with_name("feige")
    cmd = [str(exe)] if exe.exists() else [shutil.which("feige") or "feige"]
    probe = subprocess.run([*cmd, "assess", "--help"], capture_output=True, text=True)
    if probe.returncode == 0:
        return [*cmd, "assess"]
    code = (
        "import typer; from feige.commands import assess; "
        "app = typer.Typer(); assess.register(app); app()"
    )
    return [sys.executable, "-c", code, "assess"]


def compare(ours: dict[str, Any], base: dict[str, dict[str, tuple[float, int]]]) -> int:
    """Count per-shop figures where the CLI and the baseline disagree."""
    names = {
        "ns": "no_service_rate",
        "tmr": "three_minute_reply_rate",
        "art": "avg_response_seconds",
        "dis": "dissatisfaction_rate",
    }
    mismatches = 0
    by_shop = {s["shop"]: s for s in ours["shops"]}
    for shop, figs in base.items():
        for key, (num, den) in figs.items():
            m = by_shop.get(shop, {"metrics": {}})["metrics"].get(names[key])
            if (
                m is None
                or m["denominator"] != den
                or abs(m["numerator"] - num) > 1e-6 * max(1, num)
            ):
                mismatches += 1
                if mismatches <= 5:
                    print(f"  mismatch {shop} {names[key]}: cli={m} baseline={(num, den)}")
    return mismatches


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--messages", type=int, default=10_000_000)
    ap.add_argument("--shops", type=int, default=3000)
    ap.add_argument("--week", default="2026-W47")
    ap.add_argument("--seed", type=int, default=47)
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/feige-bench"))
    ap.add_argument("--no-baseline", action="store_true", help="skip the baseline")
    ap.add_argument("--regenerate", action="store_true", help="ignore a cached event log")
    args = ap.parse_args()

    args.workdir.mkdir(parents=True, exist_ok=True)
    stem = f"week-{args.week}-{args.messages}m-{args.shops}s-{args.seed}"
    log = args.workdir / f"{stem}.jsonl"
    meta_path = args.workdir / f"{stem}.meta.json"
    if args.regenerate or not (log.exists() and meta_path.exists()):
        t = time.perf_counter()
        meta = generate(log, args.messages, args.shops, args.week, args.seed)
        meta["generate_seconds"] = round(time.perf_counter() - t, 1)
        meta_path.write_text(json.dumps(meta))
    meta = json.loads(meta_path.read_text())
    size = log.stat().st_size
    print(
        f"event log: {log} ({size / 1e9:.2f} GB): {meta['lines']:,} events, "
        f"{meta['messages']:,} messages, {meta['sessions']:,} sessions, {meta['shops']:,} shops "
        f"(generated in {meta['generate_seconds']} s)"
    )
    print(f"machine: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}")

    cmd = [*feige_command(), "--events", str(log), "--week", args.week, "--json"]
    out_path = args.workdir / f"{stem}.result.json"
    with log.open("rb") as f:  # warm the page cache so both contenders read from memory
        while f.read(1 << 24):
            pass
    load_before = os.getloadavg()[0]
    t = time.perf_counter()
    with out_path.open("wb") as out:
        subprocess.run(cmd, stdout=out, check=True)
    cli_s = time.perf_counter() - t
    ours = json.loads(out_path.read_text())
    print(
        f"feige assess --events: {cli_s:.2f} s, {meta['lines'] / cli_s:,.0f} events/s "
        f"(load average {load_before:.2f} before, {os.getloadavg()[0]:.2f} after)"
    )
    print(f"  command: {' '.join(cmd)}")
    failed = sum(not s["passed"] for s in ours["shops"])
    print(f"  shops assessed: {len(ours['shops'])}, failed: {failed}")

    if not args.no_baseline:
        gc.collect()
        t = time.perf_counter()
        base = baseline(log, args.week)
        base_s = time.perf_counter() - t
        print(
            f"baseline (json + fromisoformat + naive replay): {base_s:.2f} s, "
            f"{meta['lines'] / base_s:,.0f} events/s"
        )
        print(f"ratio baseline / feige: {base_s / cli_s:.1f}x")
        bad = compare(ours, base)
        print(f"figures compared with the baseline: {'all equal' if not bad else f'{bad} differ'}")
    if meta["messages"] >= 10_000_000:
        print(f"target (10 M messages in <= 20 s): {'met' if cli_s <= 20 else 'MISSED'}")
    else:
        print("target (10 M messages in <= 20 s): not applicable to a smaller run")


if __name__ == "__main__":
    main()
