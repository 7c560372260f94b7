"""README.md's configuration table is generated from ``feige.config.Settings`` (issue 9, item 8):
it must match, every setting must say what it is for, and ``feige settings --json`` must not
print secrets."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from feige.cli import app
from feige.config import (
    REDACTED,
    SECRETS,
    SECTIONS,
    SETTINGS_BEGIN,
    SETTINGS_END,
    Settings,
    env_name,
    replace_settings_block,
    settings_markdown,
)

README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_readme_table_is_the_generated_one() -> None:
    text = README.read_text(encoding="utf-8")
    assert text.count(SETTINGS_BEGIN) == 1 and text.count(SETTINGS_END) == 1
    assert replace_settings_block(text) == text, (
        "README.md's settings table is out of date: run "
        "`.venv/bin/feige settings --readme README.md`"
    )


def test_every_setting_has_a_description_and_a_row() -> None:
    table = settings_markdown()
    for name, info in Settings.model_fields.items():
        assert info.description and info.description.strip(), f"{name} has no description"
        assert f"| `{env_name(name)}` |" in table
    assert next(iter(Settings.model_fields)) in SECTIONS
    assert set(SECTIONS) <= set(Settings.model_fields)
    assert set(Settings.model_fields) >= SECRETS


def test_defaults_are_rendered_readably() -> None:
    rows = {
        line.split(" | ")[0].strip("| `"): line.split(" | ")[1]
        for line in settings_markdown().splitlines()
        if line.startswith("| `FEIGE_")
    }
    assert rows["FEIGE_DATA_DIR"] == "`var`"
    assert rows["FEIGE_DATABASE_URL"] == "(empty)"
    assert rows["FEIGE_SESSION_IDLE_CLOSE_SECONDS"] == "1800"
    assert rows["FEIGE_UPLOAD_BYTES_PER_DAY"] == "536870912 (512 MiB)"
    assert rows["FEIGE_RATE_LIMITS_ENABLED"] == "`true`"
    assert rows["FEIGE_WRITER_INLINE"] == "(unset)"
    assert rows["FEIGE_FRAME_ANCESTORS"] == "`[\"'none'\"]`"
    assert rows["FEIGE_MODERATION_POLICY"] == "`{}`"


@pytest.mark.parametrize("secrets_set", [True, False])
def test_settings_json_redacts_the_secrets(tmp_path: Path, secrets_set: bool) -> None:
    env = {
        "FEIGE_CONFIG": str(tmp_path / "absent.toml"),
        "FEIGE_PORT": "8123",
        **{env_name(name): (f"do-not-print-{name}" if secrets_set else "") for name in SECRETS},
    }
    result = CliRunner().invoke(app, ["settings", "--json"], env=env)
    assert result.exit_code == 0, result.output
    assert "do-not-print" not in result.output
    values = json.loads(result.output)
    assert set(values) == set(Settings.model_fields)
    assert values["port"] == 8123
    for name in SECRETS:
        assert values[name] == (REDACTED if secrets_set else "")


def test_settings_prints_the_table() -> None:
    result = CliRunner().invoke(app, ["settings"])
    assert result.exit_code == 0, result.output
    assert result.output == settings_markdown()


def test_settings_readme_rewrites_the_block(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text(
        f"# x\n\n{SETTINGS_BEGIN}\nstale-row\n{SETTINGS_END}\n\nafter\n", encoding="utf-8"
    )
    result = CliRunner().invoke(app, ["settings", "--readme", str(readme)])
    assert result.exit_code == 0, result.output
    text = readme.read_text(encoding="utf-8")
    assert "stale-row" not in text and text.endswith(f"{SETTINGS_END}\n\nafter\n")
    assert replace_settings_block(text) == text
    readme.write_text("no markers\n", encoding="utf-8")
    assert CliRunner().invoke(app, ["settings", "--readme", str(readme)]).exit_code == 2


def test_the_settings_command_as_a_process(tmp_path: Path) -> None:
    """The process contract: ``feige settings --json`` prints the settings as one JSON
    document on stdout, secrets redacted, and exits 0."""
    env = {**os.environ, "FEIGE_CONFIG": str(tmp_path / "absent.toml"), "FEIGE_PORT": "8124"}
    env["FEIGE_SECRET_KEY"] = "do-not-print-" + "k" * 30
    done = subprocess.run(
        [sys.executable, "-m", "feige", "settings", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    values = json.loads(done.stdout)
    assert values["port"] == 8124 and values["secret_key"] == REDACTED
