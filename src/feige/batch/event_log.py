"""``feige assess --events``: an event log assessed across forked workers (docs/interfaces.md).

Large logs are read by several forked workers: each decodes a slice of the bytes, keeps the
shops it owns and hands the rest to their owners through shared-memory files, then summarises
and aggregates its own shops. Shops never span workers and every sum is an integer, so the
result is identical to a single-process run.
"""

from __future__ import annotations

import gc
import marshal
import mmap
import multiprocessing as mp
import os
import pickle
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import orjson

from feige.batch.progress import Meter
from feige.metrics import (
    AssessmentConfig,
    EventLogError,
    Week,
    aggregate_groups,
    drill_down,
    ingest_chunk,
    iter_blocks,
    result_document,
    summarise_groups,
)
from feige.metrics.events import Groups, line_number_at

PARALLEL_MIN_BYTES = 32 << 20  # below this, forking costs more than it saves
READING = "读取 reading"
ASSESSING = "考核 assessing"


class _PhaseClock:
    """Phase timings on stderr when FEIGE_ASSESS_PROFILE is set (for the performance notes)."""

    def __init__(self, who: str) -> None:
        self.who = who
        self.on = bool(os.environ.get("FEIGE_ASSESS_PROFILE"))
        self.t = time.perf_counter()
        self.cpu = time.process_time()

    def lap(self, phase: str) -> None:
        if self.on:
            t, cpu = time.perf_counter(), time.process_time()
            print(
                f"{self.who}: {phase} {t - self.t:.2f} s wall, {cpu - self.cpu:.2f} s cpu",
                file=sys.stderr,
            )
            self.t, self.cpu = t, cpu


def read_source(source: str) -> bytes | mmap.mmap:
    """'-' → stdin bytes; a path → a read-only memory map (shared by forked workers)."""
    if source == "-":
        return sys.stdin.buffer.read()
    path = Path(source)
    with path.open("rb") as f:
        if path.stat().st_size == 0:
            return b""
        return mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)


def _blocks(data: bytes | mmap.mmap, start: int, end: int) -> Iterable[tuple[int, int]]:
    return iter_blocks(data, start, end)  # type: ignore[arg-type]


def _split_points(data: bytes | mmap.mmap, parts: int) -> list[int]:
    size = len(data)
    points = [0]
    for i in range(1, parts):
        cut = data.find(b"\n", max(points[-1], size * i // parts))
        points.append(size if cut < 0 else cut + 1)
    points.append(size)
    return points


def fix_line(err: EventLogError, data: bytes | mmap.mmap) -> EventLogError:
    """A worker's error names a byte offset (it cannot count lines): the line it is on."""
    if err.line > 0 or err.offset is None:
        return err
    line = line_number_at(data, err.offset)  # type: ignore[arg-type]
    return EventLogError(line, err.reason, err.offset)


def ingest_range(
    data: bytes | mmap.mmap, start: int, end: int, done: Callable[[int], None] | None = None
) -> Groups:
    """Records per session of [start, end); ``done(bytes)`` after each block (for progress)."""
    groups: Groups = {}
    for a, b in _blocks(data, start, end):
        ingest_chunk(data[a:b], a, groups)
        if done is not None:
            done(b - a)
    return groups


def _counting(counter: Any, part: int) -> Callable[[int], None] | None:
    """A worker's progress: the bytes it has decoded, in its slot of the shared array."""
    if counter is None:
        return None

    def done(amount: int) -> None:
        counter[part] += amount

    return done


def _records_worker(
    data: bytes | mmap.mmap,
    bounds: tuple[int, int],
    part: int,
    parts: int,
    tmp: str,
    barrier: Any,
    week: Week,
    config: AssessmentConfig,
    clock: _PhaseClock,
    counter: Any = None,
) -> list[dict[str, Any]]:
    """Records per session; sessions of other workers' shops go over as marshalled lists."""
    mine = ingest_range(data, bounds[0], bounds[1], _counting(counter, part))
    clock.lap("decode")
    outgoing: list[Groups] = [{} for _ in range(parts)]
    for key in [k for k in mine if hash(k[0]) % parts != part]:
        outgoing[hash(key[0]) % parts][key] = mine.pop(key)
    for j in range(parts):
        if j != part:
            with open(os.path.join(tmp, f"{part}-{j}"), "wb") as f:
                marshal.dump(outgoing[j], f)
    del outgoing
    clock.lap("hand over")
    barrier.wait()
    clock.lap("wait")
    for j in range(parts):
        if j == part:
            continue
        with open(os.path.join(tmp, f"{j}-{part}"), "rb") as f:
            theirs: Groups = marshal.load(f)
        for key, recs in theirs.items():
            g = mine.get(key)
            if g is None:
                mine[key] = recs
            else:
                g.extend(recs)
    clock.lap("take over")
    shops = aggregate_groups(mine, week, config)
    clock.lap("summarise+aggregate")
    return shops


def _columns_worker(
    data: bytes | mmap.mmap,
    bounds: tuple[int, int],
    part: int,
    parts: int,
    tmp: str,
    barrier: Any,
    week: Week,
    config: AssessmentConfig,
    clock: _PhaseClock,
    counter: Any = None,
) -> list[dict[str, Any]]:
    """Typed columns; rows of other workers' shops go over as raw arrays, kept in file order."""
    from feige.metrics.columnar import ColumnLog, assess_columns

    log = ColumnLog()
    for a, b in _blocks(data, bounds[0], bounds[1]):
        log.ingest(data[a:b], a)
        if counter is not None:
            counter[part] += b - a
    clock.lap("decode")
    owner = _balanced_owners(log, part, parts, tmp, barrier)
    for j in range(parts):
        if j != part:
            ids = {i for i, o in enumerate(owner) if o == j}
            with open(os.path.join(tmp, f"{part}-{j}"), "wb") as f:
                marshal.dump(log.extract(ids), f)
    log.drop_shops({i for i, o in enumerate(owner) if o != part})
    clock.lap("hand over")
    barrier.wait()
    clock.lap("wait")
    for j in [*range(part - 1, -1, -1), *range(part + 1, parts)]:
        with open(os.path.join(tmp, f"{j}-{part}"), "rb") as f:
            part_rows = marshal.load(f)
        if j < part:  # earlier in the file: goes in front, nearest first
            log.merge(part_rows, before=True)
            log.before.insert(0, log.before.pop())
        else:
            log.merge(part_rows)
    clock.lap("take over")
    shops = assess_columns(log, week, config)
    clock.lap("assess")
    return shops


def _balanced_owners(log: Any, part: int, parts: int, tmp: str, barrier: Any) -> list[int]:
    """Each shop's worker, the same in every worker: shops spread by their number of rows
    (greedy, largest first), from every worker's counts, so that the assessments take about
    as long. Shops never span workers, so the result does not depend on the split."""
    import numpy as np

    rows = np.bincount(
        np.frombuffer(log.session_shop, np.int32)[np.frombuffer(log.gid, np.int32)],
        minlength=len(log.shop_list),
    ).tolist()
    with open(os.path.join(tmp, f"rows-{part}"), "wb") as f:
        marshal.dump(dict(zip(log.shop_list, rows, strict=True)), f)
    barrier.wait()
    total: dict[str, int] = {}
    for j in range(parts):
        with open(os.path.join(tmp, f"rows-{j}"), "rb") as f:
            for name, n in marshal.load(f).items():
                total[name] = total.get(name, 0) + n
    load = [0] * parts
    assign: dict[str, int] = {}
    for name, n in sorted(total.items(), key=lambda kv: (-kv[1], kv[0])):
        j = load.index(min(load))
        assign[name] = j
        load[j] += n
    return [assign[name] for name in log.shop_list]


def _worker(
    data: bytes | mmap.mmap,
    bounds: tuple[int, int],
    part: int,
    parts: int,
    tmp: str,
    barrier: Any,
    week: Week,
    config: AssessmentConfig,
    conn: Any,
    engine: str,
    counter: Any = None,
) -> None:
    gc.disable()  # millions of small objects: collections would only rescan them
    clock = _PhaseClock(f"worker {part}")
    try:
        work = _columns_worker if engine == "columns" else _records_worker
        shops = work(data, bounds, part, parts, tmp, barrier, week, config, clock, counter)
        conn.send_bytes(orjson.dumps(shops))  # much cheaper than pickling the dicts
    except EventLogError as exc:
        barrier.abort()
        conn.send(("error", exc.offset, exc.reason))
    except BaseException as exc:  # a worker must always answer, or the parent would hang
        barrier.abort()
        conn.send(("crash", None, repr(exc)))
    finally:
        conn.close()


def pick_engine(engine: str = "auto") -> str:
    """'columns' (numpy, fast) when numpy imports, else 'records' (the per-session replay)."""
    if engine != "auto":
        return engine
    try:
        import numpy  # noqa: F401
    except ImportError:  # pragma: no cover - numpy comes with the dependencies
        return "records"
    return "columns"


def assess_data(
    data: bytes | mmap.mmap,
    week: Week,
    config: AssessmentConfig,
    workers: int = 0,
    engine: str = "auto",
    meter: Meter | None = None,
) -> list[dict[str, Any]]:
    """Event-log bytes → per-shop results, over ``workers`` processes (0: one per CPU).

    ``meter`` shows progress (batch/progress.py): bytes decoded, per block, then the
    assessment. The silent meter costs nothing; the display starts after the fork."""
    engine = pick_engine(engine)
    meter = meter or Meter()
    n = workers or os.cpu_count() or 1
    if n <= 1 or len(data) < PARALLEL_MIN_BYTES or "fork" not in mp.get_all_start_methods():
        was = gc.isenabled()
        gc.disable()
        try:
            meter.phase(READING, len(data), "bytes")
            if engine == "columns":
                from feige.metrics.columnar import ColumnLog, assess_columns

                log = ColumnLog()
                for a, b in _blocks(data, 0, len(data)):
                    log.ingest(data[a:b], a)
                    meter.advance(b - a)
                meter.phase(ASSESSING)
                return assess_columns(log, week, config)
            groups = ingest_range(data, 0, len(data), meter.advance)
            meter.phase(ASSESSING)
            return aggregate_groups(groups, week, config)
        except EventLogError as exc:
            raise fix_line(exc, data) from None
        finally:
            if was:
                gc.enable()
    ctx = mp.get_context("fork")
    points = _split_points(data, n)
    shm = "/dev/shm" if os.path.isdir("/dev/shm") else None
    with tempfile.TemporaryDirectory(prefix="feige-assess-", dir=shm) as tmp:
        barrier = ctx.Barrier(n)
        # Bytes decoded per worker, for the progress display only (lock-free: one writer each).
        counter = ctx.Array("q", n, lock=False) if meter.active else None
        procs = []
        conns = []
        for i in range(n):
            recv, send = ctx.Pipe(duplex=False)
            p = ctx.Process(
                target=_worker,
                args=(
                    data,
                    (points[i], points[i + 1]),
                    i,
                    n,
                    tmp,
                    barrier,
                    week,
                    config,
                    send,
                    engine,
                    counter,
                ),
            )
            p.start()
            send.close()
            procs.append(p)
            conns.append(recv)
        if counter is not None:
            _watch_workers(meter, counter, conns, len(data))
        answers: list[Any] = []
        for c in conns:
            try:
                answer = c.recv_bytes()
            except EOFError:
                answers.append(("crash", None, "worker died"))
                continue
            if answer[:1] == b"[":  # the worker's shops, as JSON
                answers.append(("ok", orjson.loads(answer)))
            else:
                answers.append(pickle.loads(answer))
        for p in procs:
            p.join()
    errors = [a for a in answers if a[0] == "error"]
    if errors:
        offset, reason = min((a[1], a[2]) for a in errors)
        raise fix_line(EventLogError(0, reason, offset), data)
    crashes = [a for a in answers if a[0] == "crash"]
    if crashes:
        raise RuntimeError(f"assessment worker failed: {crashes[0][2]}")
    return [shop for a in answers for shop in a[1]]


def _watch_workers(meter: Meter, counter: Any, conns: list[Any], total: int) -> None:
    """Until every worker has answered: the bytes they decoded, then the assessment phase."""
    from multiprocessing.connection import wait

    meter.phase(READING, total, "bytes")
    pending = list(conns)
    reading = True
    while pending:
        for ready in wait(pending, timeout=0.25):
            pending.remove(ready)
        if reading:
            done = sum(counter)
            meter.update(done)
            if done >= total or len(pending) < len(conns):
                meter.phase(ASSESSING)
                reading = False


def assess_events(
    source: str,
    week: Week,
    config: AssessmentConfig,
    workers: int = 0,
    engine: str = "auto",
    meter: Meter | None = None,
) -> dict[str, Any]:
    """The ``--events`` path: an event log file (or '-') → the ``--json`` document."""
    data = read_source(source)
    try:
        shops = assess_data(data, week, config, workers, engine, meter)
        return result_document(week, shops, config)
    finally:
        if isinstance(data, mmap.mmap):
            data.close()


def drill_events(
    source: str,
    week: Week,
    figure: str,
    shop: str,
    config: AssessmentConfig,
    agent: str | None = None,
    day: str | None = None,
) -> dict[str, Any]:
    """The sessions behind one figure of one shop, from an event log (one process)."""
    data = read_source(source)
    try:
        groups = ingest_range(data, 0, len(data))
    except EventLogError as exc:
        raise fix_line(exc, data) from None
    finally:
        if isinstance(data, mmap.mmap):
            data.close()
    summaries = summarise_groups({k: v for k, v in groups.items() if k[0] == shop}, config)
    return drill_down(summaries, week, figure, shop, config, agent=agent, day=day)
