"""``feige export-events``: the store's sessions of a week as the docs/interfaces.md event log."""

from __future__ import annotations

import sys
from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    @app.command("export-events")
    def export_events(
        week: str = typer.Option(..., "--week", help="ISO week, e.g. 2026-W47."),
        out: Path | None = typer.Option(None, "--out", help="Output file (default stdout)."),
    ) -> None:
        """Write the store's sessions of WEEK as an event log (one JSON object a line)."""
        from feige.commands.progress import meter_for_stderr
        from feige.config import Settings
        from feige.metrics import parse_week
        from feige.services.assessment import export_events_sync, metrics_config
        from feige.store.migrate import migrated_engine

        settings = Settings()
        config = metrics_config(settings)
        try:
            parsed = parse_week(week, config)
        except ValueError as exc:
            typer.echo(f"错误 / error: {exc}", err=True)
            raise typer.Exit(2) from exc
        engine = migrated_engine(settings.effective_database_url)
        count = 0
        target = out.open("w", encoding="utf-8") if out else sys.stdout
        try:
            with engine.connect() as conn, meter_for_stderr() as meter:
                shown = False

                def progress(done: int, total: int) -> None:  # per batch of sessions
                    nonlocal shown
                    if not shown:
                        meter.phase(f"导出 exporting {parsed.name}", total, "sessions")
                        shown = True
                    meter.update(done)

                lines = export_events_sync(conn, parsed, config, progress if meter.active else None)
                for line in lines:
                    target.write(line + "\n")
                    count += 1
        finally:
            if out:
                target.close()
            engine.dispose()
        typer.echo(f"{count} events → {out or 'stdout'}", err=True)
