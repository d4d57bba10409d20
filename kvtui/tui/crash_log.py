"""Unexpected exceptions in the live TUI: logged to a file and turned into one visible line.

The engine thread must never die (a dead thread freezes the app silently), so every exception
it meets becomes a message the user sees and a traceback in ``kvtui.log`` under the state
directory, where a bug report can quote it.
"""

from __future__ import annotations

import os
import traceback
from datetime import datetime
from pathlib import Path

from kvtui.session.journal import state_dir
from kvtui.sim.errors import shown


def log_path() -> Path:
    return state_dir() / "kvtui.log"


def report(exc: BaseException, context: str) -> str:
    """Append ``exc``'s traceback to the log; return the one line to show."""
    where = log_path()
    try:
        where.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(where, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        with os.fdopen(fd, "a", encoding="utf-8") as out:
            out.write(f"--- {datetime.now():%Y-%m-%d %H:%M:%S} {context}\n")
            out.write("".join(traceback.format_exception(exc)))
        logged = f"details in {where}"
    except OSError:
        logged = "the log could not be written"
    return f"internal error {context}: {type(exc).__name__}: {shown(str(exc), 120)} ({logged})"
