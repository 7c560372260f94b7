"""`feige assess --events FILE|- --week W --json` (docs/interfaces.md) through the command line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
import typer
from typer.testing import CliRunner

from feige.commands import assess as assess_cmd
from feige.metrics import assess_log

from .helpers import WEEK, at, buyer, ev, simple_session, to_log


def _app() -> typer.Typer:
    app = typer.Typer()
    assess_cmd.register(app)

    @app.command("noop")
    def noop() -> None:  # a second command keeps `assess` a named subcommand
        pass

    return app


def _events() -> list[dict[str, Any]]:
    evs: list[dict[str, Any]] = []
    for i in range(6):
        evs += simple_session(f"x{i}", start=f"1{i}:00:00", reply_after=40 * i, rating=1 + i % 5)
        evs += simple_session(f"y{i}", shop="s0", start=f"1{i}:30:00", reply_after=None)
    evs.append(ev(at("12:00:00"), "flagged", session="x2", reason="reported"))
    return evs


def _run(args: list[str], stdin: bytes | None = None) -> Any:
    return CliRunner().invoke(_app(), ["assess", *args], input=stdin)


def test_assess_events_file_json(tmp_path: Path) -> None:
    log = tmp_path / "week.jsonl"
    log.write_bytes(to_log(_events()))
    result = _run(["--events", str(log), "--week", WEEK, "--json"])
    assert result.exit_code == 0, result.output
    doc = orjson.loads(result.stdout)
    assert doc == assess_log(to_log(_events()), WEEK)
    assert [s["shop"] for s in doc["shops"]] == ["s0", "s1"]
    assert doc["shops"][0]["passed"] is False


def test_assess_events_stdin(tmp_path: Path) -> None:
    data = to_log(_events())
    result = _run(["--events", "-", "--week", WEEK, "--json"], stdin=data)
    assert result.exit_code == 0, result.output
    assert orjson.loads(result.stdout) == assess_log(data, WEEK)


@pytest.mark.parametrize("engine", ["columns", "records"])
def test_parallel_workers_give_the_same_result(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, engine: str
) -> None:
    """Forked workers split the bytes and the shops; the document must not change."""
    evs = _events()
    for shop in range(7):
        for i in range(5):
            evs += simple_session(
                f"p{i}", shop=f"p{shop}", start=f"{8 + i:02d}:10:00", reply_after=70 * i
            )
    log = tmp_path / "week.jsonl"
    data = to_log(evs[::-1])  # any order
    log.write_bytes(data)
    monkeypatch.setattr("feige.batch.event_log.PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr("feige.metrics.log_replay.CHUNK_BYTES", 512)
    out = _run(
        ["--events", str(log), "--week", WEEK, "--json", "--workers", "3", "--engine", engine]
    )
    assert out.exit_code == 0, out.output
    assert orjson.loads(out.stdout) == assess_log(data, WEEK)


@pytest.mark.parametrize("engine", ["columns", "records"])
def test_parallel_error_names_the_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, engine: str
) -> None:
    lines = to_log(_events()).splitlines()
    lines.insert(
        40, b'{"ts": "2026-11-16T09:00:00", "shop": "s1", "session": "z", "type": "closed"}'
    )
    log = tmp_path / "bad.jsonl"
    log.write_bytes(b"\n".join(lines) + b"\n")
    monkeypatch.setattr("feige.batch.event_log.PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr("feige.metrics.log_replay.CHUNK_BYTES", 256)
    out = _run(
        ["--events", str(log), "--week", WEEK, "--json", "--workers", "2", "--engine", engine]
    )
    assert out.exit_code == 1
    assert "line 41" in out.output and "no UTC offset" in out.output


H = b'{"ts": "2026-11-16T09:00:00+08:00", "shop": "s1", "session": "a", '


@pytest.mark.parametrize(
    ("line", "why"),
    [
        (b"{not json", "not valid JSON"),
        (b'{"ts": "2026-11-16T09:00:00+08:00", "shop": "s1", "session": "a"}', "unknown type"),
        (
            H + b'"type": "message"}',
            "role",
        ),
        (b'{"ts": "yesterday", "shop": "s1", "session": "a", "type": "closed"}', "ISO 8601"),
        (
            H + b'"type": "rated", "score": 6}',
            "1–5",
        ),
        (
            H + b'"type": "flagged", "reason": "x"}',
            "reason",
        ),
        (
            b'{"ts": "2026-11-16T09:00:00+08:00", "shop": "", "session": "a", "type": "closed"}',
            "shop",
        ),
        (
            H + b'"type": "assigned"}',
            "agent",
        ),
        (b"[1, 2]", "not a JSON object"),
    ],
)
@pytest.mark.parametrize("engine", ["columns", "records"])
def test_bad_lines_are_named(tmp_path: Path, line: bytes, why: str, engine: str) -> None:
    data = to_log(simple_session("x1"))[:-1].split(b"\n")
    data.insert(2, line)
    log = tmp_path / "bad.jsonl"
    log.write_bytes(b"\n".join(data) + b"\n")
    out = _run(["--events", str(log), "--week", WEEK, "--json", "--engine", engine])
    assert out.exit_code == 1
    assert "line 3" in out.output and why in out.output


def test_blank_lines_are_skipped(tmp_path: Path) -> None:
    data = to_log(simple_session("x1")).replace(b"\n", b"\n\n", 2)
    out = _run(["--events", "-", "--week", WEEK, "--json"], stdin=data)
    assert out.exit_code == 0, out.output
    assert orjson.loads(out.stdout) == assess_log(to_log(simple_session("x1")), WEEK)


def test_readable_table(tmp_path: Path) -> None:
    out = _run(["--events", "-", "--week", WEEK], stdin=to_log(_events()))
    assert out.exit_code == 0, out.output
    assert "s0" in out.stdout and "不合格" in out.stdout and "服务考核" in out.stdout


def test_drill_down_option() -> None:
    out = _run(
        [
            "--events",
            "-",
            "--week",
            WEEK,
            "--json",
            "--drill-down",
            "no_service_rate",
            "--shop",
            "s0",
        ],
        stdin=to_log(_events()),
    )
    assert out.exit_code == 0, out.output
    doc = orjson.loads(out.stdout)
    assert doc["figure"] == "no_service_rate" and doc["numerator"] == 6 and doc["denominator"] == 6


def test_without_events_assesses_the_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No --events: the default database (here an empty one) is assessed."""
    monkeypatch.setenv("FEIGE_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("FEIGE_DATABASE_URL", raising=False)
    out = _run(["--week", WEEK, "--json"])
    assert out.exit_code == 0, out.output
    assert orjson.loads(out.stdout)["shops"] == []
    assert (tmp_path / "feige.db").exists()


def test_bad_week_is_refused() -> None:
    out = _run(["--events", "-", "--week", "2026-47", "--json"], stdin=b"")
    assert out.exit_code == 2 and "ISO week" in out.output


def test_empty_log_gives_no_shops() -> None:
    out = _run(["--events", "-", "--week", WEEK, "--json"], stdin=b"")
    assert out.exit_code == 0
    assert orjson.loads(out.stdout)["shops"] == []


def test_buyer_only_line_file_round_trip(tmp_path: Path) -> None:
    log = tmp_path / "one.jsonl"
    log.write_bytes(to_log([buyer(at("09:00:00"))]))
    out = _run(["--events", str(log), "--week", WEEK, "--json"])
    assert out.exit_code == 0
    shop = orjson.loads(out.stdout)["shops"][0]
    assert shop["sessions"]["pure_robot"] == 1


@pytest.mark.parametrize("engine", ["columns", "records"])
def test_unusual_but_valid_timestamps_are_read_the_same(engine: str) -> None:
    """fromisoformat decides what a timestamp is; the fast paths only short-cut it."""
    evs = simple_session("x1", reply_after=45)
    evs[1]["ts"] = "2026-11-16 09:00:00+08:00"  # space instead of T
    evs[4]["ts"] = "2026-11-16T01:00:45.00Z"  # two-digit fraction, UTC
    data = to_log(evs)
    out = _run(["--events", "-", "--week", WEEK, "--json", "--engine", engine], stdin=data)
    assert out.exit_code == 0, out.output
    doc = orjson.loads(out.stdout)
    assert doc == assess_log(data, WEEK)
    assert doc["shops"][0]["metrics"]["avg_response_seconds"]["numerator"] == 45.0


def test_default_week_is_the_week_just_ended() -> None:
    """docs/rules.md §3: the Tuesday run assesses the week just ended."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from feige.metrics import DEFAULT_CONFIG

    tuesday = datetime(2026, 11, 24, 2, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    assert assess_cmd.last_week(DEFAULT_CONFIG, tuesday) == "2026-W47"


def test_the_installed_command_prints_the_same_bytes(tmp_path: Path) -> None:
    """The one run through a real process: `python -m feige assess` (docs/interfaces.md) prints,
    byte for byte, what the command prints in-process, and nothing on stderr."""
    import os
    import subprocess
    import sys

    log = tmp_path / "week.jsonl"
    log.write_bytes(to_log(_events()))
    args = ["assess", "--events", str(log), "--week", WEEK, "--json"]
    done = subprocess.run(
        [sys.executable, "-m", "feige", *args],
        env={**os.environ, "FEIGE_DATA_DIR": str(tmp_path)},
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == b""
    assert done.stdout == _run(args[1:]).stdout_bytes
