"""The journal: every typed command that applies, appended as it is applied.

A journal is JSON lines. The first line holds the session's script as it was before anything
was typed (YAML text, overrides included); each following line is one typed command with the
cursor it was typed at. Replaying the lines on the script rebuilds the session exactly.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import stat
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from kvtui.lang.script import Script, dump_script, load_script_text
from kvtui.sim.errors import KvError, brief, shown
from kvtui.workload.trace import too_deep

FORMAT = 1


def state_dir() -> Path:
    """Where journals live: $KVTUI_STATE_DIR, else the user's state directory."""
    override = os.environ.get("KVTUI_STATE_DIR")
    if override:
        return Path(override)
    import platformdirs

    return Path(platformdirs.user_state_dir("kvtui"))


def new_journal_path(name: str, directory: Path | None = None, folder: Path | None = None) -> Path:
    """A fresh file in ``folder`` (default: ``journals`` under the state directory)."""
    folder = folder or (directory or state_dir()) / "journals"
    slug = re.sub(r"[^A-Za-z0-9_-]+", "-", name).strip("-")[:40] or "session"
    stem = f"{datetime.now():%Y%m%d-%H%M%S}-{slug}"
    path = folder / f"{stem}.jsonl"
    n = 1
    while path.exists():
        path = folder / f"{stem}-{n}.jsonl"
        n += 1
    return path


def latest_journal(directory: Path | None = None) -> Path | None:
    folder = (directory or state_dir()) / "journals"
    dated: list[tuple[float, str, Path]] = []
    try:
        for path in folder.glob("*.jsonl"):
            try:
                info = path.stat()  # follows links: a dangling one is skipped, not a traceback
            except OSError:
                continue
            if stat.S_ISREG(info.st_mode):
                dated.append((info.st_mtime, path.name, path))
    except OSError:  # the folder itself unreadable
        return None
    return max(dated)[2] if dated else None


class Journal:
    """Appends typed commands to `path`; the header is written with the first command.

    The header (the session's script as it was before anything was typed) comes from a callable
    so it is built only when the first command is written.
    """

    def __init__(self, path: Path, started: bool = False) -> None:
        self.path = path
        self.started = started
        self.muted = False

    def append(self, at: int, command: str, header: Callable[[], dict[str, Any]]) -> None:
        """Write one command row (and the header first); raises JournalError, never OSError."""
        if self.muted:
            return
        lines: list[str] = []
        if not self.started:
            lines.append(header_line(header()))
        lines.append(json.dumps({"at": at, "command": command}))
        self.write(lines)
        self.started = True

    def start(self, header: str, rows: Sequence[str] = ()) -> None:
        """Write the header line (and rows copied from another journal) now."""
        self.write([header, *rows])
        self.started = True

    def mark_cursor(self, at: int) -> None:
        """Remember where the user was (written on leaving), so a resume reopens there.

        Only a started journal takes it: a session with nothing typed has nothing to resume.
        Best effort: leaving the app never fails because the journal cannot be written.
        """
        if self.muted or not self.started:
            return
        with contextlib.suppress(JournalError):
            self.write([json.dumps({"cursor": at})])

    def write(self, lines: Sequence[str]) -> None:
        """Append whole lines, fsynced; the file is private to the user (0600)."""
        try:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            with os.fdopen(fd, "a", encoding="utf-8") as out:
                out.write("".join(line.rstrip("\n") + "\n" for line in lines))
                out.flush()
                os.fsync(out.fileno())
        except OSError as exc:
            where = shown(str(exc.filename or self.path), 200)
            raise JournalError(f"cannot write the journal {where}: {exc.strerror or exc}") from None


class JournalError(KvError):
    """The journal could not be written (the command it was for does not count)."""


def header_line(header: dict[str, Any]) -> str:
    return json.dumps({"kvtui_journal": FORMAT, **header})


def header_of(script: Script) -> dict[str, Any]:
    """The journal header for a session started on `script` (its steps as they are now)."""
    return {"label": script.path, "script": dump_script(script), "lines": _lines_of(script)}


def _lines_of(script: Script) -> list[list[Any]]:
    """Each step's original line, typed flag and check lines: the dumped YAML renumbers them."""
    steps = [script.intro, *script.steps]
    return [[step.line, step.typed, [c.line for c in step.checks]] for step in steps]


MAX_LINE_DEPTH = 16  # JSON nesting of one journal line (a row needs 1)


@dataclass(slots=True)
class JournalRows:
    """What a journal file holds: its starting script, the rows that parse, and why it stops.

    ``stop`` is a ``FILE:LINE: message`` naming the first line that is not a command row (the
    rows before it are kept); ``torn`` tells that line is the file's last, cut off mid-write
    (a crash during an append leaves exactly that), which is dropped without losing anything.
    """

    script: Script
    header: str  # the header line as written (a continuation journal copies it)
    rows: list[tuple[int, int, str | None]]  # (line number, at, command); None: a cursor row
    stop: str | None = None
    torn: bool = False


def read_journal(path: Path) -> JournalRows:
    """Read a journal: a bad header is an error; a bad row ends the rows there."""
    label = shown(str(path), 200)
    try:
        with path.open(encoding="utf-8") as lines:
            header = lines.readline()
            script = _header_script(path, header)
            found = JournalRows(script, header, [])
            for number, text in enumerate(lines, start=2):
                if not text.strip():
                    continue
                try:
                    found.rows.append((number, *_row(text)))
                except ValueError as exc:
                    torn = not text.endswith("\n") and not lines.readline()
                    found.stop, found.torn = f"{label}:{number}: {exc}", torn
                    break
    except OSError as exc:
        raise KvError(f"{label}: cannot read journal: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise KvError(f"{label}: cannot read journal: not UTF-8 ({exc.reason})") from None
    return found


def _header_script(path: Path, text: str) -> Script:
    label = shown(str(path), 200)
    try:
        head = _json(text)
    except ValueError as exc:
        raise KvError(f"{label}:1: not a kvtui journal ({exc})") from None
    if not isinstance(head, dict) or head.get("kvtui_journal") != FORMAT:
        raise KvError(f"{label}:1: not a kvtui journal")
    if not isinstance(head.get("script"), str):
        raise KvError(f"{label}:1: not a kvtui journal")
    name = head.get("label")
    script = load_script_text(head["script"], name if isinstance(name, str) else str(path))
    _restore_lines(script, head.get("lines"))
    return script


def _row(text: str) -> tuple[int, str | None]:
    """(at, command) of one row — (cursor, None) for a cursor row — or ValueError saying what
    is wrong with it."""
    row = _json(text)
    if not isinstance(row, dict):
        raise ValueError(f"a journal entry must be a JSON object, got {type(row).__name__}")
    if "cursor" in row and "command" not in row:
        cursor = row["cursor"]
        if isinstance(cursor, bool) or not isinstance(cursor, int) or cursor < 0:
            raise ValueError(f"a cursor row needs a step number >= 0, got {brief(cursor)}")
        return cursor, None
    at, command = row.get("at"), row.get("command")
    if isinstance(at, bool) or not isinstance(at, int) or at < 0:
        raise ValueError(f"a journal entry needs \"at\": a step number >= 0, got {brief(at)}")
    if not isinstance(command, str):
        raise ValueError(f"a journal entry needs \"command\": text, got {brief(command)}")
    return at, command


def _json(text: str) -> Any:
    """One JSON line, refusing what json.loads would choke on (deep nesting, NaN/Infinity)."""
    if too_deep(text, MAX_LINE_DEPTH):
        raise ValueError(f"not JSON: nested more than {MAX_LINE_DEPTH} levels deep")

    def no_constant(name: str) -> Any:
        raise ValueError(f"not JSON: {name} is not a JSON number")

    try:
        return json.loads(text, parse_constant=no_constant)
    except ValueError as exc:  # also an integer of more than 4,300 digits
        raise ValueError(shown(str(exc).removeprefix("not JSON: "), 120).join(("not JSON: ", ""))) from None


def _restore_lines(script: Script, lines: Any) -> None:
    """Give the reloaded steps the lines of the file the session was started on."""
    steps = [script.intro, *script.steps]
    if not isinstance(lines, list) or len(lines) != len(steps):
        return
    try:
        for step, (line, typed, checks) in zip(steps, lines, strict=True):
            if step is not script.intro:
                step.line, step.typed = line, bool(typed)
            if len(checks) == len(step.checks):
                for check, check_line in zip(step.checks, checks, strict=True):
                    check.line = check_line
    except (TypeError, ValueError):
        return
