"""Progress of the long headless commands (trace, compare, sweep) on stderr.

On a terminal: a Rich progress bar, drawn live and removed when done. Elsewhere (a pipe, a log
file): nothing for a short job; for a long one (`LONG_JOB` steps or more) the one line Rich
prints off a terminal, the bar's final state, written here without importing Rich: Rich's
progress machinery costs some 30 ms of start-up, a tenth of `kvtui trace` on the bundled trace.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any, Protocol

LONG_JOB = 1000  # steps: from here on the final state is printed even when stderr is not a TTY
BAR_WIDTH = 40  # cells, Rich's default bar width


class Bar(Protocol):
    def advance(self, done: int) -> None:
        """`done` more steps are done."""

    def set(self, completed: int) -> None:
        """`completed` steps are done in all (a job that stopped early)."""


@contextmanager
def progress(label: str, total: int) -> Iterator[Bar | None]:
    """A progress bar for `total` steps labelled `label`, or None when nobody would see one."""
    console = _terminal_console()
    if console is not None:
        with _rich_bar(console, label, total) as bar:
            yield bar
    elif total >= LONG_JOB:
        line = FinalLine(label, total)
        try:
            yield line
        finally:
            sys.stderr.write(line.render() + "\n")
    else:
        yield None


def _terminal_console() -> Any:
    """A Rich console on stderr if stderr is a terminal (Rich's own test), else None.

    The quick test first, in Rich's words: TTY_COMPATIBLE and FORCE_COLOR can make Rich treat
    a non-TTY as a terminal; only then is Rich imported to decide.
    """
    env = os.environ
    maybe = env.get("TTY_COMPATIBLE") == "1" or bool(env.get("FORCE_COLOR"))
    try:
        maybe = maybe or sys.stderr.isatty()
    except ValueError:  # stderr closed
        return None
    if not maybe:
        return None
    from rich.console import Console

    console = Console(stderr=True)
    return console if console.is_terminal else None


@contextmanager
def _rich_bar(console: Any, label: str, total: int) -> Iterator[Bar]:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (TextColumn(label), BarColumn(bar_width=BAR_WIDTH), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task(label, total=total)
        yield _RichBar(bar, task)


class _RichBar:
    def __init__(self, bar: Any, task: Any) -> None:
        self.bar, self.task = bar, task

    def advance(self, done: int) -> None:
        self.bar.advance(self.task, done)

    def set(self, completed: int) -> None:
        self.bar.update(self.task, completed=completed)


class FinalLine:
    """Counts progress and renders the line Rich's bar ends with off a terminal (no colour)."""

    def __init__(self, label: str, total: int) -> None:
        self.label, self.total = label, total
        self.completed = 0
        self.started = time.monotonic()

    def advance(self, done: int) -> None:
        self.completed += done

    def set(self, completed: int) -> None:
        self.completed = completed

    def render(self, elapsed: float | None = None) -> str:
        """`replaying ━━━…━ 3993/3993 0:00:00`: label, bar, done/total, whole seconds elapsed."""
        seconds = time.monotonic() - self.started if elapsed is None else elapsed
        done = min(self.total, max(0, self.completed))
        halves = BAR_WIDTH * 2 * done // self.total if self.total else BAR_WIDTH * 2
        bar = ("━" * (halves // 2) + "╸" * (halves % 2)).ljust(BAR_WIDTH)
        count = f"{self.completed:{len(str(self.total))}d}/{self.total}"
        return f"{self.label} {bar} {count} {timedelta(seconds=max(0, int(seconds)))}"
