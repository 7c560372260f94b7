"""A ``feige``-like Typer app with only ``moderate`` registered, for when ``feige.cli`` cannot
be imported yet (other subcommands under construction). ``python -m tests.moderation.cli_app``.
"""

from __future__ import annotations

import typer

from feige.commands import moderate


def make_app() -> typer.Typer:
    try:
        from feige.cli import app as real

        return real
    except ImportError:
        app = typer.Typer(name="feige", add_completion=False, pretty_exceptions_enable=False)

        @app.callback()
        def main() -> None:
            """Feige (moderate only)."""

        moderate.register(app)
        return app


if __name__ == "__main__":
    make_app()()
