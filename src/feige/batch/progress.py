"""Progress of long command-line jobs, on stderr, only when stderr is a terminal.

A job reports phases (``phase``) and how far each got (``advance``/``update``), per chunk or
part, never per line. Piped or redirected, nothing is shown and every call is a no-op, so
scripts and tests read exactly what they read before. On a terminal the display is a rich
progress line that disappears when the job ends (transient).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


def stderr_is_terminal() -> bool:
    """Whether stderr is an interactive terminal (FORCE_COLOR and the like do not count)."""
    if os.environ.get("TERM") == "dumb":
        return False
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):  # replaced or closed stderr
        return False


class Meter:
    """The silent meter: every call does nothing (stderr is not a terminal)."""

    active = False

    def phase(self, description: str, total: int | None = None, unit: str = "") -> None:
        """Start a new phase; ``total`` None means its length is unknown; ``unit`` is
        ``bytes`` (shown as sizes) or a word shown after the count."""

    def advance(self, amount: int) -> None:
        """``amount`` more of the current phase is done."""

    def update(self, completed: int) -> None:
        """``completed`` of the current phase is done."""


class RichMeter(Meter):
    """A transient rich progress line on stderr. The display (and its refresh thread) starts
    at the first phase, so a job may fork its workers before that."""

    active = True

    def __init__(self) -> None:
        self._progress: Any = None
        self._task: Any = None

    def _start(self) -> Any:
        if self._progress is None:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                Progress,
                SpinnerColumn,
                TextColumn,
                TimeElapsedColumn,
            )

            self._progress = Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                BarColumn(bar_width=24),
                _amount_column(),
                TimeElapsedColumn(),
                console=Console(stderr=True, force_terminal=True),
                transient=True,
                redirect_stdout=False,
                redirect_stderr=False,
                refresh_per_second=4,
            )
            self._progress.start()
        return self._progress

    def phase(self, description: str, total: int | None = None, unit: str = "") -> None:
        progress = self._start()
        if self._task is not None:
            progress.update(self._task, visible=False)
        self._task = progress.add_task(description, total=total, unit=unit)

    def advance(self, amount: int) -> None:
        if self._task is not None:
            self._progress.advance(self._task, amount)

    def update(self, completed: int) -> None:
        if self._task is not None:
            self._progress.update(self._task, completed=completed)

    def stop(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None


def _amount_column() -> Any:
    from rich.filesize import decimal
    from rich.progress import ProgressColumn, Task
    from rich.text import Text

    class AmountColumn(ProgressColumn):
        """``1.2/3.4 GB`` for bytes, ``1,200/3,400 sessions`` for counts."""

        def render(self, task: Task) -> Text:
            unit = task.fields.get("unit", "")
            done = int(task.completed)
            if unit == "bytes":
                text = (
                    decimal(done)
                    if task.total is None
                    else f"{decimal(done)}/{decimal(int(task.total))}"
                )
            elif task.total is None:
                text = f"{done:,} {unit}".rstrip() if done else ""
            else:
                text = f"{done:,}/{int(task.total):,} {unit}".rstrip()
            return Text(text, style="progress.download")

    return AmountColumn()


@contextmanager
def meter_for_stderr(enabled: bool | None = None) -> Iterator[Meter]:
    """A meter for one job: a rich one when stderr is a terminal, else the silent one."""
    if not (stderr_is_terminal() if enabled is None else enabled):
        yield Meter()
        return
    rich_meter = RichMeter()
    try:
        yield rich_meter
    finally:
        rich_meter.stop()
