"""The journal: every typed command that applies, appended as it is applied.

A journal is JSON lines. The first line holds the session's script as it was before anything
was typed (YAML text, overrides included); each following line is one typed command with the
cursor it was typed at. Replaying the lines on the script rebuilds the session exactly.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from kvtui.lang.script import Script, dump_script, load_script_text
from kvtui.sim.errors import KvError

FORMAT = 1


def state_dir() -> Path:
    """Where journals live: $KVTUI_STATE_DIR, else the user's state directory."""
    override = os.environ.get("KVTUI_STATE_DIR")
    if override:
        return Path(override)
    import platformdirs

    return Path(platformdirs.user_state_dir("kvtui"))


def new_journal_path(name: str, directory: Path | None = None) -> Path:
    folder = (directory or state_dir()) / "journals"
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
    found = sorted(folder.glob("*.jsonl"), key=lambda p: (p.stat().st_mtime, p.name))
    return found[-1] if found else None


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
        if self.muted:
            return
        lines: list[dict[str, Any]] = []
        if not self.started:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            lines.append({"kvtui_journal": FORMAT, **header()})
        lines.append({"at": at, "command": command})
        with self.path.open("a", encoding="utf-8") as out:
            for line in lines:
                out.write(json.dumps(line) + "\n")
            out.flush()
            os.fsync(out.fileno())
        self.started = True


    def mark_cursor(self, at: int) -> None:
        """Remember where the user was (written on leaving), so a resume reopens there.

        Only a started journal takes it: a session with nothing typed has nothing to resume.
        """
        if self.muted or not self.started:
            return
        with self.path.open("a", encoding="utf-8") as out:
            out.write(json.dumps({"cursor": at}) + "\n")


def header_of(script: Script) -> dict[str, Any]:
    """The journal header for a session started on `script` (its steps as they are now)."""
    return {"label": script.path, "script": dump_script(script), "lines": _lines_of(script)}


def _lines_of(script: Script) -> list[list[Any]]:
    """Each step's original line, typed flag and check lines: the dumped YAML renumbers them."""
    steps = [script.intro, *script.steps]
    return [[step.line, step.typed, [c.line for c in step.checks]] for step in steps]


def read_journal(path: Path) -> tuple[Script, list[dict[str, Any]]]:
    """The script a journal starts from and its command rows (line 2 onwards)."""
    try:
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    except (OSError, ValueError) as exc:
        raise KvError(f"{path}: cannot read journal: {exc}") from None
    if not rows or rows[0].get("kvtui_journal") != FORMAT:
        raise KvError(f"{path}:1: not a kvtui journal")
    script = load_script_text(rows[0]["script"], rows[0].get("label", str(path)))
    _restore_lines(script, rows[0].get("lines"))
    return script, rows[1:]


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
