"""``feige moderate``: check text or images against rules 2.2.3–2.2.10 (docs/interfaces.md).

One engine is built per invocation; in ``--jsonl`` mode it lives for the whole stream, so the
repeated-advertising check sees each sender's history, and lines with a ``"session"`` are read
with the same sender's previous short pieces in that session (a contact sent in pieces).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any, TextIO

import typer

from feige.domain import SenderRole
from feige.moderation import CLAUSES, LABELS, ModerationConfig, Moderator, Verdict

_ROLES = {r.value for r in SenderRole}
_ID = re.compile(r'"id"\s*:\s*("(?:[^"\\]|\\.)*"|-?\d+)')


def _platform_domains() -> tuple[str, ...]:
    """The configured platform domains (feige.config), or the engine defaults."""
    try:
        from feige.config import get_settings

        return tuple(get_settings().platform_domains)
    except Exception:  # settings are optional for this command
        return ModerationConfig().platform_domains


def build_moderator(
    allow_domains: list[str] | None = None, lexicons: list[Path] | None = None
) -> Moderator:
    cfg = ModerationConfig(
        platform_domains=_platform_domains(), lexicon_paths=tuple(lexicons or ())
    )
    return Moderator(cfg.with_domains(*(allow_domains or [])))


def _error(id: Any, message: str) -> dict[str, Any]:
    return {"id": id, "error": message}


def moderate_line(mod: Moderator, line: str, default_role: str) -> dict[str, Any]:
    """One output object for one input line; never raises for bad input."""
    try:
        obj = json.loads(line)
    except (json.JSONDecodeError, RecursionError) as exc:
        m = _ID.search(line)  # echo the id of a broken line when it is readable
        return _error(json.loads(m.group(1)) if m else None, f"invalid JSON: {exc}")
    if not isinstance(obj, dict):
        return _error(None, "a line must be a JSON object")
    id = obj.get("id")
    role = obj.get("role", default_role)
    if role not in _ROLES:
        return _error(id, f"unknown role {role!r}; expected one of {sorted(_ROLES)}")
    sender = obj.get("sender")
    recipient = obj.get("recipient", obj.get("to"))
    if sender is not None and not isinstance(sender, str | int):
        return _error(id, "sender must be a string")
    sender_s = None if sender is None else str(sender)
    recipient_s = None if recipient is None else str(recipient)
    session = obj.get("session")
    if session is not None and not isinstance(session, str | int):
        return _error(id, "session must be a string")
    session_s = None if session is None else str(session)
    try:
        if "text" in obj and obj["text"] is not None:
            if not isinstance(obj["text"], str):
                return _error(id, "text must be a string")
            verdict = mod.check_text(obj["text"], role, sender_s, recipient_s, session_s)
        elif "image" in obj and obj["image"] is not None:
            if not isinstance(obj["image"], str):
                return _error(id, "image must be a file path")
            try:
                data = Path(obj["image"]).read_bytes()
            except OSError as exc:
                return _error(id, f"cannot read image: {exc.strerror or exc}")
            verdict = mod.check_image(data, role, sender_s)
        else:
            return _error(id, "a line needs a 'text' or an 'image'")
    except Exception as exc:  # one bad message must not stop the stream
        return _error(id, f"{type(exc).__name__}: {exc}")
    return verdict.to_json(id)


def run_jsonl(mod: Moderator, role: str, src: TextIO, out: TextIO) -> int:
    """Stream: one JSON line out per line in, flushed as it goes. Returns the error count."""
    errors = 0
    for raw in iter(src.readline, ""):
        line = raw.strip()
        result = _error(None, "empty line") if not line else moderate_line(mod, line, role)
        errors += "error" in result
        out.write(json.dumps(result, ensure_ascii=False) + "\n")
        out.flush()
    return errors


def readable(v: Verdict, text: str | None, lang: str = "zh") -> str:
    """A verdict for people: Chinese first, English with ``--lang en``."""
    en = lang.lower().startswith("en")
    lines = [("Verdict: " if en else "结果：") + v.describe(lang) + f"  [{v.action}]"]
    for c in v.categories:
        zh_name, en_name = LABELS[c]
        rule = f"clause {CLAUSES[c]}" if en else f"第 {CLAUSES[c]} 条"
        lines.append(
            f"  {'category' if en else '类别'}: {c}  {en_name if en else zh_name}  ({rule})"
        )
    for e, act in zip(v.evidence, v.actions, strict=True):
        where = f"[{e.start}, {e.end})" if e.end > e.start else ""
        lines.append(
            f"  {'evidence' if en else '证据'}: {where} {e.match!r}  {e.category} / {e.detector}"
            f" -> {act}"
        )
    for e in v.allowed:
        lines.append(
            f"  {'allowed' if en else '放行'}: [{e.start}, {e.end}) {e.match!r}  {e.detector}"
        )
    if text is not None:
        shown = ("(not delivered)" if en else "（不送达）") if v.text is None else v.text
        lines.append(("Recipient sees: " if en else "对方看到：") + shown)
    return "\n".join(lines)


def register(app: typer.Typer) -> None:
    @app.command("moderate")
    def moderate(
        text: str | None = typer.Argument(None, help="Message text to check."),
        role: str = typer.Option("buyer", "--role", help="Sender role: buyer or agent."),
        jsonl: bool = typer.Option(False, "--jsonl", help="Read JSON lines on stdin."),
        allow_domain: list[str] = typer.Option(
            [], "--allow-domain", help="Platform domain whose links are allowed (repeatable)."
        ),
        image: Path | None = typer.Option(None, "--image", help="Check an image file."),
        lexicon: list[Path] = typer.Option(
            [], "--lexicon", help="Extra lexicon directory or file (repeatable)."
        ),
        lang: str = typer.Option("zh", "--lang", help="Readable output language: zh or en."),
        as_json: bool = typer.Option(False, "--json", help="Print the JSON verdict."),
    ) -> None:
        """Check messages against rules 2.2.3–2.2.10 (docs/rules.md)."""
        if role not in _ROLES:
            raise typer.BadParameter(f"expected one of {sorted(_ROLES)}", param_hint="--role")
        mod = build_moderator(allow_domain, lexicon)
        if jsonl:
            run_jsonl(mod, role, sys.stdin, sys.stdout)
            return
        if image is not None:
            try:
                data = image.read_bytes()
            except OSError as exc:
                raise typer.BadParameter(str(exc), param_hint="--image") from exc
            v = mod.check_image(data, role)
            shown: str | None = None
        elif text is not None:
            v = mod.check_text(text, role)
            shown = text
        else:
            raise typer.BadParameter("give TEXT, --image PATH or --jsonl")
        if as_json:
            typer.echo(json.dumps(v.to_json(None), ensure_ascii=False))
        else:
            typer.echo(readable(v, shown, lang))
