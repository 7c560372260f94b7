"""``feige assess``: the weekly service assessment (docs/rules.md §3, docs/interfaces.md).

``--events FILE|-`` assesses an event log. Large logs are read by several forked workers: each
decodes a slice of the bytes, keeps the shops it owns and hands the rest to their owners
through shared-memory files, then summarises and aggregates its own shops. Shops never span
workers and every sum is an integer, so the result is identical to a single-process run.
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
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import typer

from feige.commands.progress import Meter, meter_for_stderr
from feige.metrics import (
    DEFAULT_CONFIG,
    FIGURES,
    AssessmentConfig,
    EventLogError,
    SessionSummary,
    Week,
    WeekAggregator,
    aggregate_groups,
    drill_down,
    ingest_chunk,
    iter_blocks,
    parse_week,
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


def load_config() -> AssessmentConfig:
    """Settings → AssessmentConfig (defaults when the settings cannot be read)."""
    try:
        from feige.config import get_settings

        return AssessmentConfig.from_settings(get_settings())
    except Exception:  # pragma: no cover - a broken feige.toml should not hide the figures
        return DEFAULT_CONFIG


def last_week(config: AssessmentConfig, now: datetime | None = None) -> str:
    """The week just ended, in the platform time zone (what the Tuesday run assesses)."""
    from zoneinfo import ZoneInfo

    local = (now or datetime.now(ZoneInfo(config.timezone))).astimezone(ZoneInfo(config.timezone))
    iso = (local - timedelta(days=7)).isocalendar()
    return f"{iso.year}-W{iso.week:02d}"


# --- reading the event log ------------------------------------------------------------------


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


def _fix_line(err: EventLogError, data: bytes | mmap.mmap) -> EventLogError:
    if err.line > 0 or err.offset is None:
        return err
    line = line_number_at(data, err.offset)  # type: ignore[arg-type]
    return EventLogError(line, err.reason, err.offset)


def _ingest_range(
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
    mine = _ingest_range(data, bounds[0], bounds[1], _counting(counter, part))
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

    ``meter`` shows progress (commands/progress.py): bytes decoded, per block, then the
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
            groups = _ingest_range(data, 0, len(data), meter.advance)
            meter.phase(ASSESSING)
            return aggregate_groups(groups, week, config)
        except EventLogError as exc:
            raise _fix_line(exc, data) from None
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
        raise _fix_line(EventLogError(0, reason, offset), data)
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


def assess_summaries(
    summaries: Iterable[SessionSummary], week: Week, config: AssessmentConfig
) -> dict[str, Any]:
    """Any source of session summaries (the store) → the ``--json`` document."""
    agg = WeekAggregator(week, config)
    agg.add_all(summaries)
    return result_document(week, agg.shop_results(), config)


# --- output ----------------------------------------------------------------------------------


def _pct(m: dict[str, Any]) -> tuple[str, str]:
    if m["value"] is None:
        return "—", ""
    return f"{m['value'] * 100:.1f}%", f"{m['numerator']}/{m['denominator']}"


def _secs(m: dict[str, Any]) -> tuple[str, str]:
    if m["value"] is None:
        return "—", ""
    return f"{m['value']:.1f} s", f"{m['denominator']} 轮"


def _mark(m: dict[str, Any], cell: tuple[str, str]) -> str:
    """The value (✗ when below standard) over its fraction, dimmed."""
    value, detail = cell
    if m["passed"] is None:
        head = f"[dim]{value}[/dim]"
    elif m["passed"]:
        head = f"[green]{value}[/green]"
    else:
        head = f"[red]{value} ✗[/red]"
    return f"{head}\n[dim]{detail}[/dim]" if detail else head


def _shop_label(shop: str, names: dict[str, str] | None) -> Any:
    """The shop's name over its id when the name is known, else the id; too long a name ends
    in an ellipsis instead of widening the table."""
    from rich.text import Text

    name = (names or {}).get(shop)
    label = Text(no_wrap=True, overflow="ellipsis")
    if name:
        label.append(name)
        label.append(f"\n#{shop}", style="dim")
    else:
        label.append(shop)
    return label


def _local(stamp: str) -> str:
    try:
        return datetime.fromisoformat(stamp).strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return stamp


# Header, standard: each figure's column.
_FIGURE_COLUMNS = (
    ("no_service_rate", "不服务率\nNo-serv.\n< 20%"),
    ("three_minute_reply_rate", "3分钟回复\n3-min\n≥ 80%"),
    ("avg_response_seconds", "平均响应\nAvg resp\n< 90 s"),
    ("dissatisfaction_rate", "不满意率\nDissat.\n< 30%"),
)


def _width(cells: list[Any]) -> int:
    """The widest line of any of these cells (markup strings or rich Text), in terminal cells."""
    from rich.cells import cell_len
    from rich.text import Text

    plain = [c.plain if isinstance(c, Text) else Text.from_markup(c).plain for c in cells]
    return max((cell_len(line) for text in plain for line in text.split("\n")), default=0)


SHOP_MIN_WIDTH = 8  # a narrower terminal squeezes every column, not the shop column alone
COLUMN_GAP = 2  # between columns (collapsed padding around the blank divider)


def print_table(doc: dict[str, Any], names: dict[str, str] | None = None) -> None:
    """A readable, Chinese-first table of the assessment that fits an 80-column terminal.

    ``names`` maps shop ids to shop names (the store knows them; an event log does not).
    The shop column gets what the other columns leave of the terminal's width: a longer name
    ends in an ellipsis."""
    from rich import box
    from rich.console import Console
    from rich.table import Table

    headers = ["店铺\nShop", "会话 *\nSessions", *(h for _, h in _FIGURE_COLUMNS), "结果\nResult"]
    rows = []
    for shop in doc["shops"]:
        m = shop["metrics"]
        s = shop["sessions"]
        cells = [
            _mark(m[key], _secs(m[key]) if key == "avg_response_seconds" else _pct(m[key]))
            for key, _ in _FIGURE_COLUMNS
        ]
        rows.append(
            [
                _shop_label(shop["shop"], names),
                f"{s['assessed']}/{s['human']}/{s['total']}",
                *cells,
                "[green]合格\npassed[/green]" if shop["passed"] else "[red]不合格\nfailed[/red]",
            ]
        )
    console = Console()
    others = sum(_width([h, *(r[i] for r in rows)]) for i, h in enumerate(headers) if i > 0)
    room = console.width - others - COLUMN_GAP * (len(headers) - 1)
    table = Table(
        title=f"服务考核 Service assessment {doc['week']}\n"
        f"{_local(doc['from'])} – {_local(doc['to'])} ({doc['timezone']})",
        box=box.SIMPLE_HEAD,
        padding=(0, 1),
        pad_edge=False,
        collapse_padding=True,
        show_edge=False,
    )
    table.add_column(headers[0], no_wrap=True, max_width=max(SHOP_MIN_WIDTH, room))
    for i, header in enumerate(headers[1:], start=1):
        table.add_column(header, no_wrap=True, justify="left" if i == 6 else "right")
    for row in rows:
        table.add_row(*row)
    console.print(table)
    failed = sum(not s["passed"] for s in doc["shops"])
    console.print(f"{len(doc['shops'])} 家店铺 shops, {failed} 家不合格 failed")
    if doc["shops"]:
        console.print(
            "[dim]* 会话 Sessions: 考核/人工/全部 assessed/human/total\n"
            "  ✗ 未达标 below the standard; — 无数据 no data; 轮 rounds[/dim]"
        )


def print_drill(doc: dict[str, Any]) -> None:
    from rich.console import Console

    console = Console()
    console.print(
        f"[bold]{doc['shop']} {doc['week']} {doc['figure']}[/bold]: "
        f"{doc['numerator']} / {doc['denominator']} = {doc['value']}"
    )
    for item in doc["items"]:
        flag = "[red]✗[/red]" if item["bad"] else "[green]✓[/green]"
        when = item.get("human_entry") or item.get("start")
        console.print(f" {flag} {item['session']}  {when}  {item.get('why', '')}")


def _emit_json(doc: dict[str, Any]) -> None:
    sys.stdout.buffer.write(orjson.dumps(doc, option=orjson.OPT_INDENT_2) + b"\n")
    sys.stdout.flush()


# --- command ---------------------------------------------------------------------------------


def register(app: typer.Typer) -> None:
    @app.command("assess")
    def assess(
        week: str = typer.Option(
            None, "--week", help="ISO week, e.g. 2026-W47 (default: the week just ended)"
        ),
        events: str = typer.Option(
            None, "--events", help="assess this event log (JSON lines; '-' reads stdin)"
        ),
        as_json: bool = typer.Option(False, "--json", help="print the result as JSON"),
        workers: int = typer.Option(0, "--workers", help="processes for --events (0: one per CPU)"),
        drill: str = typer.Option(
            None, "--drill-down", help=f"list the sessions behind a figure: {', '.join(FIGURES)}"
        ),
        shop: str = typer.Option(None, "--shop", help="the shop for --drill-down"),
        agent: str = typer.Option(None, "--agent", help="narrow --drill-down to one agent"),
        day: str = typer.Option(None, "--day", help="narrow --drill-down to one local date"),
        engine: str = typer.Option(
            "auto", "--engine", help="auto | columns (numpy) | records (per-session replay)"
        ),
    ) -> None:
        """每周服务考核 — weekly service assessment (docs/rules.md §3)."""
        config = load_config()
        try:
            w = parse_week(week or last_week(config), config)
        except ValueError as exc:
            typer.echo(f"feige assess: {exc}", err=True)
            raise typer.Exit(2) from None
        if events is None:
            # The store-backed path: the default database's sessions of the week.
            from feige.commands.store_assess import store_drill, store_report

            if drill is not None:
                if drill not in FIGURES or shop is None:
                    typer.echo(
                        f"feige assess: --drill-down needs --shop and one of {FIGURES}", err=True
                    )
                    raise typer.Exit(2)
                doc = store_drill(w, config, drill, shop, agent, day)
                if as_json:
                    _emit_json(doc)
                else:
                    print_drill(doc)
                return
            doc, names = store_report(w, config)
            if as_json:
                _emit_json(doc)
            else:
                print_table(doc, names)
            return
        if drill is not None:
            if drill not in FIGURES or shop is None:
                typer.echo(
                    f"feige assess: --drill-down needs --shop and one of {FIGURES}", err=True
                )
                raise typer.Exit(2)
            data = read_source(events)
            try:
                mine = _ingest_range(data, 0, len(data))
            except EventLogError as exc:
                typer.echo(f"feige assess: {_fix_line(exc, data)}", err=True)
                raise typer.Exit(1) from None
            summaries = summarise_groups({k: v for k, v in mine.items() if k[0] == shop}, config)
            doc = drill_down(summaries, w, drill, shop, config, agent=agent, day=day)
            if as_json:
                _emit_json(doc)
            else:
                print_drill(doc)
            return
        try:
            if engine not in ("auto", "columns", "records"):
                typer.echo("feige assess: --engine is auto, columns or records", err=True)
                raise typer.Exit(2)
            with meter_for_stderr() as meter:
                doc = assess_events(events, w, config, workers, engine, meter)
        except EventLogError as exc:
            typer.echo(f"feige assess: {exc}", err=True)
            raise typer.Exit(1) from None
        except OSError as exc:
            typer.echo(f"feige assess: cannot read {events}: {exc}", err=True)
            raise typer.Exit(1) from None
        if as_json:
            _emit_json(doc)
        else:
            print_table(doc)
