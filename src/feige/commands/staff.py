"""``feige create-staff``: the first platform admin of a real deployment (no ``--demo``)."""

from __future__ import annotations

import sys
import time

import typer

ROLES = ("admin", "reviewer")
MIN_PASSWORD = 8


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    password: str = typer.prompt("密码 / password", hide_input=True, confirmation_prompt=True)
    return password


def register(app: typer.Typer) -> None:
    @app.command("create-staff")
    def create_staff(
        username: str = typer.Argument(..., help="Sign-in name (3–64 characters)."),
        role: str = typer.Option(..., "--role", help="admin | reviewer"),
        display_name: str = typer.Option("", "--display-name", help="Shown name."),
        password_stdin: bool = typer.Option(
            False, "--password-stdin", help="Read the password from the first line of stdin."
        ),
    ) -> None:
        """Create a platform staff account (admins manage shops and staff; reviewers review)."""
        from feige.config import Settings
        from feige.services.errors import ServiceError
        from feige.services.lib.accounts import create_staff, hash_password
        from feige.store.migrate import migrated_engine
        from feige.store.private import ensure_private_dir

        if role not in ROLES:
            typer.echo("错误 / error: --role admin | reviewer", err=True)
            raise typer.Exit(2)
        if not 3 <= len(username) <= 64:
            typer.echo("错误 / error: username: 3–64 characters", err=True)
            raise typer.Exit(2)
        password = _read_password(password_stdin)
        if len(password) < MIN_PASSWORD:
            typer.echo(f"错误 / error: password: at least {MIN_PASSWORD} characters", err=True)
            raise typer.Exit(2)
        settings = Settings()
        ensure_private_dir(settings.data_dir)
        engine = migrated_engine(settings.effective_database_url)
        try:
            with engine.begin() as conn:
                staff_id = create_staff(
                    conn,
                    username,
                    hash_password(password),
                    role,
                    display_name or username,
                    time.time(),
                )
        except ServiceError as exc:
            typer.echo(f"错误 / error: {exc.message('en')}", err=True)
            raise typer.Exit(1) from exc
        finally:
            engine.dispose()
        typer.echo(f"created {role} {username} (id {staff_id})")
