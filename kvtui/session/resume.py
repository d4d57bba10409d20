"""Resume a session from its journal: replay every typed command on the starting script.

Every good line counts. A torn last line (a crash while appending) is dropped; a bad line in
the middle, or a command that no longer applies, stops the replay there. Either way the
session keeps what came before, the caller gets a notice naming FILE:LINE, and new commands go
to a fresh journal holding the kept lines (appending after a bad line would strand them).
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from kvtui.session.journal import Journal, new_journal_path, read_journal
from kvtui.session.session import Session
from kvtui.sim.errors import KvError, shown


@dataclass(slots=True)
class Resumed:
    session: Session
    notices: list[str] = field(default_factory=list)


def resume(path: Path) -> Session:
    """Rebuild a session from its journal (see :func:`resume_with_notices`)."""
    return resume_with_notices(path).session


def resume_with_notices(path: Path) -> Resumed:
    """Rebuild a session from its journal; raise KvError only for an unusable header."""
    found = read_journal(path)
    journal = Journal(path, started=True)
    session = Session(found.script, journal)
    label = shown(str(path), 200)
    kept: list[str] = []
    stop = found.stop
    journal.muted = True
    cursor: int | None = None  # where the user last was (a "cursor" row), else after the last command
    try:
        for number, at, command in found.rows:
            if command is None:  # a cursor row: where the user was when leaving
                cursor = at
                kept.append(json.dumps({"cursor": at}))
                continue
            where = session.cursor
            try:
                if at > session.total:
                    raise KvError(f"step {at} is past the session's last step {session.total}")
                session.jump(at)
                session.insert(command)
            except KvError as exc:
                stop = f"{label}:{number}: cannot replay journal entry: {exc}"
                with contextlib.suppress(KvError):
                    session.jump(where)  # where the last good line left the user
                break
            kept.append(json.dumps({"at": at, "command": command}))
            cursor = None
        if cursor is not None:
            with contextlib.suppress(KvError):  # a failing step on the way: stay where it stopped
                session.jump(cursor)
    finally:
        journal.muted = False
    if stop is None:
        return Resumed(session)
    if found.torn and len(kept) == len(found.rows):
        notice = f"{stop} — a torn last line (cut off while writing), dropped"
    else:
        notice = f"{stop} — replay stopped here; the lines before it are kept"
    fresh = Journal(new_journal_path(session.name, folder=path.parent))
    try:
        fresh.start(found.header, kept)
    except KvError as exc:
        session.journal = None
        return Resumed(session, [notice, f"{exc}: new commands are not journaled"])
    session.journal = fresh
    return Resumed(session, [notice, f"continuing in the journal {shown(str(fresh.path), 200)}"])
