"""Shared lexing for the command language: tokens with columns, ids, durations, error helpers.

The parsers (kvtui.lang.commands, kvtui.lang.request_expect) build on these so every message
names the offending token and its 1-based column the same way.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from decimal import Decimal

from kvtui.sim.errors import ParseError, escaped

MAX_ID = 2**64 - 1
MAX_ID_DIGITS = len(str(MAX_ID))
MAX_NUMBER_CHARS = 400  # longer literals are refused before float() (fmt_ms of any finite float is shorter)
NUMBER = re.compile(r"(\d+(\.\d*)?|\.\d+)\Z", re.ASCII)


@dataclass(frozen=True, slots=True)
class ExpectCommand:
    """An assertion on the previous command's result or on the current state."""

    what: str
    blocks: tuple[int, ...] = ()
    refs: tuple[tuple[int, int], ...] = ()
    names: tuple[str, ...] = ()
    number: float | None = None
    parent: int | None = None
    parent_given: bool = False
    counts: tuple[tuple[str, int], ...] = ()
    text: str = ""

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True, slots=True)
class Token:
    text: str
    column: int  # 1-based


def tokens(text: str) -> list[Token]:
    return [Token(m.group(), m.start() + 1) for m in re.finditer(r"\S+", text)]


def err(message: str, tok: Token) -> ParseError:
    return ParseError(f"{quoted(message, tok.text)} at column {tok.column}", tok.column)


def quoted(message: str, token: str) -> str:
    """`message` with the offending token shortened and its control characters escaped."""
    safe = escaped(token)  # the message as a whole is shortened by KvError
    return message if safe == token else message.replace(token, safe)


def block_id(tok: Token, what: str = "block id") -> int:
    if not tok.text.isdigit() or not tok.text.isascii():
        raise err(f"bad {what} '{tok.text}' (a non-negative decimal integer)", tok)
    if len(tok.text.lstrip("0")) > MAX_ID_DIGITS:  # before int(): 4,301 digits would raise
        raise err(f"{what} '{tok.text}' does not fit in 64 bits", tok)
    value = int(tok.text)
    if value > MAX_ID:
        raise err(f"{what} '{tok.text}' does not fit in 64 bits", tok)
    return value


def duration(tok: Token) -> float:
    if not is_number(tok.text) or not 0 < float(tok.text) < math.inf:
        raise err(f"bad duration '{tok.text}' (a decimal number of milliseconds > 0)", tok)
    return float(tok.text)


def is_number(text: str) -> bool:
    """A plain decimal number short enough to convert without surprises."""
    return len(text) <= MAX_NUMBER_CHARS and NUMBER.match(text) is not None


def end(text: str) -> int:
    """The column just after the last token (where a missing argument would go)."""
    return len(text.rstrip()) + 1


def fmt_ms(ms: float) -> str:
    """Plain decimal (no exponent, so it re-parses) that converts back to exactly `ms`."""
    text = format(Decimal(repr(ms)), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text
