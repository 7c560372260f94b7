"""`feige assess` on a terminal and in a pipe (issue 9, item 10): the readable table names the
store's shops and fits 80 columns; progress goes to a terminal's stderr, never into a pipe."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from rich.cells import cell_len
from typer.testing import CliRunner

from feige.commands import assess as assess_cmd
from feige.commands import progress
from feige.metrics import assess_log

from .helpers import WEEK, simple_session, to_log
from .test_cli import _app, _events

LONG_NAME = "云端数码专营店旗舰店官方授权体验中心华东第一分店"


def _run(args: list[str], stdin: bytes | None = None, columns: int = 80) -> Any:
    return CliRunner().invoke(_app(), ["assess", *args], input=stdin, env={"COLUMNS": str(columns)})


def _wide_lines(text: str, width: int = 80) -> list[str]:
    return [line for line in text.splitlines() if cell_len(line) > width]


def _store_doc() -> tuple[dict[str, Any], dict[str, str]]:
    """What the store would answer: shop ids are the shops' row ids."""
    doc = assess_log(to_log(_events()), WEEK)
    for shop, sid in zip(doc["shops"], ("1", "2"), strict=True):
        shop["shop"] = sid
    return doc, {"1": "飞鸽旗舰店", "2": LONG_NAME}


@pytest.mark.parametrize("columns", [80, 100])
def test_store_table_names_the_shops_and_fits_the_terminal(
    monkeypatch: pytest.MonkeyPatch, columns: int
) -> None:
    monkeypatch.setattr("feige.commands.store_assess.store_report", lambda w, c: _store_doc())
    out = _run(["--week", WEEK], columns=columns)
    assert out.exit_code == 0, out.output
    assert not _wide_lines(out.stdout, columns), out.stdout
    assert "飞鸽旗舰店" in out.stdout and "#1" in out.stdout and "#2" in out.stdout
    assert "服务考核" in out.stdout and "不合格" in out.stdout
    # The long name is cut short with an ellipsis rather than widening the table.
    assert LONG_NAME not in out.stdout and "…" in out.stdout
    assert "云端" in out.stdout


def test_store_json_is_unchanged_by_the_names(monkeypatch: pytest.MonkeyPatch) -> None:
    doc, _ = _store_doc()
    monkeypatch.setattr("feige.commands.store_assess.store_report", lambda w, c: _store_doc())
    out = _run(["--week", WEEK, "--json"])
    assert out.exit_code == 0, out.output
    assert out.stdout_bytes == orjson.dumps(doc, option=orjson.OPT_INDENT_2) + b"\n"


def test_event_log_table_fits_80_columns() -> None:
    evs = _events()
    evs += simple_session("z1", shop="a-rather-long-shop-identifier-from-the-log-0001")
    out = _run(["--events", "-", "--week", WEEK], stdin=to_log(evs))
    assert out.exit_code == 0, out.output
    assert not _wide_lines(out.stdout), out.stdout
    assert "s0" in out.stdout and "s1" in out.stdout and "a-rather" in out.stdout
    assert "考核/人工/全部" in out.stdout  # the legend of the sessions column


def test_shop_names_from_the_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from feige.commands.store_assess import _database, shop_names_sync
    from feige.services.lib.accounts import create_shop

    monkeypatch.setenv("FEIGE_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("FEIGE_DATABASE_URL", raising=False)
    db = _database()
    try:
        shop = db.write_sync(create_shop, "飞鸽旗舰店", "o1", "x", 0.0, None, "priority", 5)
        assert db.read_sync(shop_names_sync) == {str(shop["id"]): "飞鸽旗舰店"}
    finally:
        db.engine.dispose()


@pytest.mark.parametrize("workers", [1, 3])
def test_piped_output_carries_no_progress(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, workers: int
) -> None:
    monkeypatch.setattr(assess_cmd, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr("feige.metrics.pipeline.CHUNK_BYTES", 512)
    log = tmp_path / "week.jsonl"
    log.write_bytes(to_log(_events()))
    out = _run(["--events", str(log), "--week", WEEK, "--json", "--workers", str(workers)])
    assert out.exit_code == 0, out.output
    assert out.stderr == ""
    assert orjson.loads(out.stdout) == assess_log(to_log(_events()), WEEK)
    table = _run(["--events", str(log), "--week", WEEK, "--workers", str(workers)])
    assert table.stderr == "" and "\x1b" not in table.stdout


@pytest.mark.parametrize("workers", [1, 3])
def test_progress_on_a_terminal_goes_to_stderr_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, workers: int
) -> None:
    """A terminal's stderr gets the progress display; stdout is byte for byte the same."""
    monkeypatch.setattr(assess_cmd, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr("feige.metrics.pipeline.CHUNK_BYTES", 512)
    log = tmp_path / "week.jsonl"
    log.write_bytes(to_log(_events()))
    args = ["--events", str(log), "--week", WEEK, "--json", "--workers", str(workers)]
    piped = _run(args)
    monkeypatch.setattr(progress, "stderr_is_terminal", lambda: True)
    shown = _run(args)
    assert shown.exit_code == 0, shown.output
    assert shown.stdout_bytes == piped.stdout_bytes
    assert "reading" in shown.stderr or "assessing" in shown.stderr


def test_the_silent_meter_does_nothing() -> None:
    with progress.meter_for_stderr(enabled=False) as meter:
        assert not meter.active
        meter.phase("x", 10, "bytes")
        meter.advance(5)
        meter.update(10)
