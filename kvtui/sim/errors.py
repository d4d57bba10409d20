"""Typed errors of the engine.

Every error is raised *before* any state changes, and its message is one line that names the
problem, so the CLI and the TUI can show it as-is.
"""

from __future__ import annotations


class KvError(Exception):
    """Base class of every error kvtui reports to a user (never a traceback)."""


class CommandError(KvError):
    """A MoveBlock (or other engine command) that is invalid in the current state."""


class NotHeldError(CommandError):
    """Deref of a block that is not held, or held fewer times than listed."""


class UnknownPartialError(CommandError):
    """Promote (or deref) of a partial block that is not held."""


class LineageError(CommandError):
    """A full id used with a lineage that differs from the recorded one, or a bad parent."""


class DuplicateBlockError(CommandError):
    """The same full id twice in one `use`."""


class EmptyCommandError(CommandError):
    """A `use`/`deref` without blocks."""


class OffloadError(CommandError):
    """A G2 command while G2 is disabled, or a bad clock value."""


class ParseError(KvError):
    """A command line that does not follow the command language (SPEC §8)."""

    def __init__(self, message: str, position: int | None = None) -> None:
        super().__init__(message)
        self.position = position


class ScriptError(KvError):
    """An error located in a script file: rendered as ``FILE:LINE: message``."""

    def __init__(self, path: str, line: int, message: str, step: int | None = None) -> None:
        super().__init__(f"{path}:{line}: {message}")
        self.path = path
        self.line = line
        self.message = message
        self.step = step
