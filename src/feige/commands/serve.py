"""``feige serve``: migrations, then HTTP + WebSocket; ``--workers N`` for N processes."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from feige.app import FeigeApp
    from feige.config import Settings

# Set by ``feige serve --workers N --demo`` for its worker processes.
DEMO_ENV = "FEIGE_SERVE_DEMO"


def scale_out_problem(settings: Settings) -> str | None:
    """Why this configuration cannot run several processes, or None. Each process has its
    own sockets, so events must cross processes (Redis) and every process must write to one
    database that allows several writers (PostgreSQL; SQLite's single writer is one
    process's loop)."""
    from sqlalchemy.engine import make_url

    from feige.store.db import normalise_url

    missing = []
    if not settings.redis_url:
        missing.append("FEIGE_REDIS_URL (events between processes go through Redis)")
    backend = make_url(normalise_url(settings.effective_database_url)).get_backend_name()
    if backend == "sqlite":
        missing.append(
            "FEIGE_DATABASE_URL of a PostgreSQL database (SQLite has one writer, one process)"
        )
    if not missing:
        return None
    return (
        "--workers > 1 needs " + " and ".join(missing) + ". See docs/operations.md. / "
        "多进程运行需要 Redis 和 PostgreSQL，见 docs/operations.md。"
    )


def _tune_process() -> None:
    import sys

    # The writer thread releases the GIL on every SQLite call; a shorter switch interval
    # lets it back in sooner while the event loop is busy (docs/performance.md).
    sys.setswitchinterval(0.001)
    # Whatever the server creates (database, logs, uploads, keys) is its user's alone.
    os.umask(0o077)


def worker_app() -> FeigeApp:
    """The app of one worker process of ``--workers N`` (uvicorn imports it by name)."""
    from feige.app import create_app
    from feige.config import Settings

    _tune_process()
    return create_app(Settings(), demo=os.environ.get(DEMO_ENV) == "1")


def _prepare_shared(settings: Settings, demo: bool) -> None:
    """Once, in the parent, before the workers start: the data directory and its generated
    keys, the schema, and with ``--demo`` the demo platform. N workers migrating and
    seeding at once would only contend."""
    import time

    from feige.app import prepare_data_dir, print_demo_logins
    from feige.services.demo import seed_demo
    from feige.services.lib import screening
    from feige.store import migrate
    from feige.store.db import Database

    prepare_data_dir(settings, demo)
    engine = migrate.migrated_engine(settings.effective_database_url)
    try:
        if demo:
            db = Database(engine)
            moderator = screening.build_moderator(settings)
            logins = db.write_sync(seed_demo, settings, moderator, time.time())
            if logins:
                print_demo_logins(logins)
    finally:
        engine.dispose()


def register(app: typer.Typer) -> None:
    @app.command()
    def serve(
        demo: bool = typer.Option(False, "--demo", help="Seed a demo platform on first run."),
        host: str | None = typer.Option(None, help="Bind address (default 127.0.0.1)."),
        port: int | None = typer.Option(None, help="Port (default 8000)."),
        workers: int = typer.Option(
            1,
            "--workers",
            min=1,
            help="Processes sharing the port (more than 1 needs FEIGE_REDIS_URL and "
            "PostgreSQL; docs/operations.md).",
        ),
    ) -> None:
        """Start Feige: apply migrations and serve HTTP and WebSocket."""
        import uvicorn

        from feige.config import Settings

        settings = Settings()
        options: dict[str, Any] = dict(
            host=host or settings.host,
            port=port or settings.port,
            ws_max_size=settings.max_frame_bytes,
            ws=settings.ws_impl,
            log_level=settings.log_level.lower(),
            access_log=False,
            server_header=False,  # no "server: uvicorn" banner (docs/security.md)
        )
        if workers > 1:
            problem = scale_out_problem(settings)
            if problem is not None:
                typer.echo(problem, err=True)
                raise typer.Exit(2)
            os.umask(0o077)
            _prepare_shared(settings, demo)
            os.environ[DEMO_ENV] = "1" if demo else "0"
            # uvicorn's supervisor binds the port once, starts the workers on it and
            # restarts any that dies.
            uvicorn.run("feige.commands.serve:worker_app", factory=True, workers=workers, **options)
            return

        from feige.app import create_app

        _tune_process()
        uvicorn.run(create_app(settings, demo=demo), **options)


def main() -> None:
    """``python -c 'from feige.commands.serve import main; main()'``: serve alone."""
    app = typer.Typer(add_completion=False)
    register(app)
    app()
