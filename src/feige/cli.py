"""The ``feige`` command line (contracts in docs/interfaces.md)."""

from __future__ import annotations

import typer

from feige.commands import assess, export, moderate, robot, serve, settings, staff

app = typer.Typer(
    name="feige",
    help="Feige: customer-service instant messaging for e-commerce marketplaces.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

for module in (serve, moderate, assess, export, staff, settings, robot):
    module.register(app)


def main() -> None:
    app()
