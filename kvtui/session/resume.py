"""Resume a session from its journal: replay every typed command on the starting script."""

from __future__ import annotations

import contextlib
from pathlib import Path

from kvtui.session.journal import Journal, read_journal
from kvtui.session.session import Session
from kvtui.sim.errors import KvError


def resume(path: Path) -> Session:
    """Rebuild a session from its journal and keep appending to the same file."""
    script, rows = read_journal(path)
    journal = Journal(path, started=True)
    session = Session(script, journal)
    journal.muted = True
    cursor: int | None = None  # where the user last was (a "cursor" row), else after the last command
    try:
        for number, row in enumerate(rows, start=2):
            try:
                if "cursor" in row and "command" not in row:
                    cursor = int(row["cursor"])
                    continue
                session.jump(int(row["at"]))
                session.insert(str(row["command"]))
                cursor = None
            except (KvError, KeyError, ValueError, TypeError) as exc:
                raise KvError(f"{path}:{number}: cannot replay journal entry: {exc}") from None
        if cursor is not None:
            with contextlib.suppress(KvError):  # a failing step on the way: stay where it stopped
                session.jump(cursor)
    finally:
        journal.muted = False
    return session
