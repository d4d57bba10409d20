"""Typed errors of the engine.

Every error is raised *before* any state changes, and its message is one line that names the
problem, so the CLI and the TUI can show it as-is.
"""

from __future__ import annotations

MAX_WORD = 60  # characters of one quoted token in a message; longer ones are cut in the middle
MAX_MESSAGE = 400  # characters of a whole message


def shorten(text: str, limit: int = MAX_WORD) -> str:
    """`text` cut in the middle to at most `limit` characters, saying how long it was.

    Error messages echo the token they are about; a 1 MB number must not become a 1 MB line.
    Shortening a shortened text changes nothing.
    """
    if len(text) <= limit:
        return text
    suffix = f" ({len(text):,} characters)"
    keep = max((limit - len(suffix) - 1) // 2, 1)
    return f"{text[:keep]}…{text[-keep:]}{suffix}"


def bounded(message: str) -> str:
    """A message with every long word shortened (file paths excepted), the whole kept short."""
    if len(message) > MAX_WORD:
        message = " ".join(part if "/" in part else shorten(part) for part in message.split(" "))
    return shorten(message, MAX_MESSAGE)


class KvError(Exception):
    """Base class of every error kvtui reports to a user (never a traceback).

    Its message is bounded (see `bounded`) whatever the input it quotes.
    """

    def __init__(self, message: str = "", *args: object) -> None:
        super().__init__(bounded(str(message)), *args)


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
        self.message = bounded(message)
        Exception.__init__(self, f"{path}:{line}: {self.message}")  # the path is never cut
        self.path = path
        self.line = line
        self.step = step
