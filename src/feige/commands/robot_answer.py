"""The work of ``feige robot answer`` (docs/interfaces.md, docs/robot.md), imported only when
the command runs: the robot's segmenter and indexes take most of a second to import.

One robot is built per invocation from the knowledge file (CSV or XLSX); in ``--jsonl`` mode it
answers the whole stream. The output contract is ``Answer.to_json``.
"""

from __future__ import annotations

import json
import re
from dataclasses import fields
from pathlib import Path
from typing import Any, TextIO

import typer

from feige.robot import AnswerContext, Robot, RobotConfig
from feige.robot.defaults import merge
from feige.robot.embedding import load_encoder
from feige.robot.knowledge_file import KnowledgeFileError, parse_knowledge
from feige.robot.wordvectors import packaged_encoder

_ID = re.compile(r'"id"\s*:\s*("(?:[^"\\]|\\.)*"|-?\d+)')
_CONTEXT_FIELDS = {f.name for f in fields(AnswerContext)}


def _error(id: Any, message: str) -> dict[str, Any]:
    return {"id": id, "error": message}


def _context(raw: Any) -> AnswerContext | None:
    """The optional ``context`` object of a line: product/order card values by field name."""
    if not isinstance(raw, dict):
        return None
    known: dict[str, Any] = {
        k: str(v) for k, v in raw.items() if k in _CONTEXT_FIELDS and v is not None
    }
    return AnswerContext(**known)


def answer_line(robot: Robot, line: str) -> dict[str, Any]:
    """One output object for one input line; never raises for bad input."""
    try:
        obj = json.loads(line)
    except (json.JSONDecodeError, RecursionError) as exc:
        m = _ID.search(line)
        return _error(json.loads(m.group(1)) if m else None, f"invalid JSON: {exc}")
    if not isinstance(obj, dict):
        return _error(None, "a line must be a JSON object")
    id = obj.get("id")
    question = obj.get("question")
    if not isinstance(question, str):
        return _error(id, "a line needs a 'question' string")
    try:
        return robot.answer(question, _context(obj.get("context"))).to_json(id)
    except Exception as exc:  # one bad question must not stop the stream
        return _error(id, f"{type(exc).__name__}: {exc}")


def run_jsonl(robot: Robot, src: TextIO, out: TextIO) -> int:
    """Stream: one JSON line out per line in, flushed as it goes. Returns the error count."""
    errors = 0
    for raw in iter(src.readline, ""):
        line = raw.strip()
        result = _error(None, "empty line") if not line else answer_line(robot, line)
        errors += "error" in result
        out.write(json.dumps(result, ensure_ascii=False) + "\n")
        out.flush()
    return errors


def build_robot(
    kb: Path,
    with_defaults: bool,
    threshold: float | None,
    model: str | None,
    word_vectors: str = "",
) -> Robot:
    """A BERT-family model directory, when given, replaces the word vectors as the encoder."""
    try:
        entries = parse_knowledge(kb.read_bytes(), kb.name)
    except OSError as exc:
        raise typer.BadParameter(str(exc.strerror or exc), param_hint="--kb") from exc
    except KnowledgeFileError as exc:
        raise typer.BadParameter("\n".join(exc.messages("en")), param_hint="--kb") from exc
    if with_defaults:
        entries = merge(entries)
    config = RobotConfig() if threshold is None else RobotConfig(threshold=threshold)
    encoder = load_encoder(model) if model else packaged_encoder(word_vectors)
    return Robot(entries, config, encoder)
