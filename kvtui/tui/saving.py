"""Saving from the TUI (session as script, screenshot): ask where, never overwrite silently.

Files go to `$KVTUI_STATE_DIR/saved/` (the user's state directory) unless the user types
another path in the dialog. An existing file is replaced only after a yes in a confirmation
dialog; a symbolic link at the name is never followed (it could point anywhere); every failure
(read-only folder, a file where a folder should be) is one line, never a traceback.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Input, Static

from kvtui.session.journal import state_dir
from kvtui.tui.screens import Dialog


class SaveError(Exception):
    """A file that cannot be saved, said in one line."""


def saved_folder() -> Path:
    return state_dir() / "saved"


def write_new(path: Path, text: str, overwrite: bool = False) -> None:
    """Write `text` to `path`; an existing file only with `overwrite`, a symlink never."""
    if path.is_symlink():
        raise SaveError(f"{path} is a symbolic link: not followed, choose another name")
    if path.exists() and (not overwrite or not path.is_file()):
        raise SaveError(f"{path} already exists")
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise SaveError(f"cannot save {path}: {parent} is not a folder")
            break
    flags = os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | (os.O_TRUNC if overwrite else os.O_EXCL)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, flags, 0o644)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise SaveError(f"cannot save {path}: {reason}") from None


class PathScreen(Dialog[Path | None]):
    """Where to save: a path field prefilled with the default (enter saves, escape cancels)."""

    AUTO_FOCUS = "Input"
    DEFAULT_CSS = """
    PathScreen { align: center middle; }
    PathScreen > Vertical {
        width: 100; height: auto; border: thick $accent; background: $surface; padding: 1;
    }
    """

    def __init__(self, title: str, default: Path) -> None:
        super().__init__()
        self.title_text = title
        self.default = default

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(f"{self.title_text} — enter saves, escape cancels:", markup=False)
            yield Input(str(self.default), id="save-path")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        self.dismiss(Path(text).expanduser() if text else None)


class ConfirmScreen(Dialog[bool | None]):
    """A yes/no question (y: yes; n or escape: no)."""

    BINDINGS = [
        Binding("y", "answer(True)", "Yes", id="confirm.yes"),
        Binding("n", "answer(False)", "No", id="confirm.no"),
    ]
    DEFAULT_CSS = """
    ConfirmScreen { align: center middle; }
    ConfirmScreen > Vertical {
        width: 100; height: auto; border: thick $warning; background: $surface; padding: 1;
    }
    """

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(f"{self.question} (y / n)", markup=False)

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


def save_with_dialogs(
    app: object, title: str, default: Path, text: str, done: Callable[[str | None, str | None], None]
) -> None:
    """Ask for a path, confirm an overwrite, write; `done(saved_path, error)` reports the end.

    `app` is the running Textual app (it pushes the dialogs).
    """
    push = app.push_screen  # type: ignore[attr-defined]

    def write(path: Path, overwrite: bool) -> None:
        try:
            write_new(path, text, overwrite)
        except SaveError as exc:
            done(None, str(exc))
            return
        done(str(path), None)

    def chosen(path: Path | None) -> None:
        if path is None:
            return
        if path.exists() and path.is_file() and not path.is_symlink():
            push(ConfirmScreen(f"{path} exists. Overwrite it?"),
                 lambda yes: write(path, True) if yes else done(None, None))
            return
        write(path, False)

    push(PathScreen(title, default), chosen)
