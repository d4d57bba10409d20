"""Resume a session from its journal: replay every typed command on the starting script."""

from __future__ import annotations

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
    try:
        for number, row in enumerate(rows, start=2):
            try:
                session.jump(int(row["at"]))
                session.insert(str(row["command"]))
            except (KvError, KeyError, ValueError) as exc:
                raise KvError(f"{path}:{number}: cannot replay journal entry: {exc}") from None
    finally:
        journal.muted = False
    return session
