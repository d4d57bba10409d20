"""Typed errors of the engine.

Every error is raised *before* any state changes, and its message is one line that names the
problem, so the CLI and the TUI can show it as-is.
"""

from __future__ import annotations

import reprlib

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
        # the path is never cut, only escaped; line 0: the file as a whole (unreadable)
        where = f"{escaped(path)}:{line}" if line > 0 else escaped(path)
        Exception.__init__(self, f"{where}: {self.message}")
        self.path = path
        self.line = line
        self.step = step


def escaped(text: str) -> str:
    """`text` with control and other unprintable characters escaped (``\\x1b``): user input
    quoted in a message never sends an escape sequence to the terminal."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in text)


def shown(text: str, limit: int = MAX_WORD) -> str:
    """`text` escaped and cut in the middle to at most `limit` characters."""
    return shorten(escaped(text), limit)


def brief(value: object, limit: int = 60) -> str:
    """A bounded repr of any parsed value for an error message (reprlib: a few items, a few
    levels). Never ``repr()`` of the whole value: a YAML alias bomb shares one list a billion
    times and its repr never ends; an integer of more than 4,300 digits cannot be converted."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 4 * limit:
        return f"an integer of {value.bit_length():,} bits"
    return shown(_REPR.repr(value), limit)


def _bounded_repr() -> reprlib.Repr:
    short = reprlib.Repr()
    short.maxlevel, short.maxlist, short.maxtuple, short.maxdict = 3, 6, 6, 4
    short.maxset = short.maxfrozenset = short.maxdeque = short.maxarray = 6
    short.maxstring = short.maxother = 60
    short.maxlong = 40
    return short


_REPR = _bounded_repr()
