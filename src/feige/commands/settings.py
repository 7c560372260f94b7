"""``feige settings``: every setting, its default and what it is for, as the Markdown table of
README.md ("Configuration"); ``--json`` shows the current values instead, secrets redacted."""

from __future__ import annotations

import json
from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    @app.command("settings")
    def settings(
        as_json: bool = typer.Option(
            False,
            "--json",
            help="The current values (environment and TOML file) as JSON, secrets redacted.",
        ),
        readme: Path | None = typer.Option(
            None,
            "--readme",
            help="Rewrite the table between the settings markers of this file (README.md).",
        ),
    ) -> None:
        """Every setting (FEIGE_…): the Markdown table of defaults, or --json current values."""
        from pydantic import ValidationError

        from feige.config import Settings, replace_settings_block, settings_json, settings_markdown

        if readme is not None:
            text = readme.read_text(encoding="utf-8")
            try:
                updated = replace_settings_block(text)
            except ValueError as exc:
                typer.echo(f"错误 / error: {readme}: {exc}", err=True)
                raise typer.Exit(2) from exc
            if updated != text:
                readme.write_text(updated, encoding="utf-8")
            typer.echo(f"{readme}: {'updated' if updated != text else 'up to date'}")
            return
        if not as_json:
            typer.echo(settings_markdown(), nl=False)
            return
        try:
            current = Settings()
        except ValidationError as exc:
            typer.echo(f"错误 / error: {exc}", err=True)
            raise typer.Exit(2) from exc
        typer.echo(json.dumps(settings_json(current), ensure_ascii=False, indent=2))
