"""``feige serve``: migrations, then HTTP + WebSocket."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    @app.command()
    def serve(
        demo: bool = typer.Option(False, "--demo", help="Seed a demo platform on first run."),
        host: str | None = typer.Option(None, help="Bind address (default 127.0.0.1)."),
        port: int | None = typer.Option(None, help="Port (default 8000)."),
    ) -> None:
        """Start Feige: apply migrations and serve HTTP and WebSocket."""
        import os
        import sys

        import uvicorn

        from feige.app import create_app
        from feige.config import Settings

        # The writer thread releases the GIL on every SQLite call; a shorter switch interval
        # lets it back in sooner while the event loop is busy (docs/performance.md).
        sys.setswitchinterval(0.001)
        # Whatever the server creates (database, logs, uploads, keys) is its user's alone.
        os.umask(0o077)
        settings = Settings()
        application = create_app(settings, demo=demo)
        uvicorn.run(
            application,
            host=host or settings.host,
            port=port or settings.port,
            ws_max_size=settings.max_frame_bytes,
            ws=settings.ws_impl,
            log_level=settings.log_level.lower(),
            access_log=False,
            server_header=False,  # no "server: uvicorn" banner (docs/security.md)
        )


def main() -> None:
    """``python -c 'from feige.commands.serve import main; main()'``: serve alone."""
    app = typer.Typer(add_completion=False)
    register(app)
    app()
