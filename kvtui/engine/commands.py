"""The command language (SPEC §8) plus kvtui's own `expect` assertions.

`parse(text)` turns one line into a :class:`Command` or raises :class:`ParseError` naming the
offending token and its column. Parsing never touches engine state; lineage and capacity rules
are checked by the manager when the command is applied.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from decimal import Decimal

from kvtui.engine.errors import ParseError
from kvtui.engine.moves import BlockRef, Deref, Move, Partial, Promote, Use, format_move
from kvtui.engine.request_commands import REQUEST_EXPECTS, REQUEST_VERBS, RequestCommand, parse_request

MAX_ID = 2**64 - 1
_NAME = re.compile(r"[A-Za-z0-9_-]+\Z")
_NUMBER = re.compile(r"(\d+(\.\d*)?|\.\d+)\Z", re.ASCII)
VERBS = ("use", "deref", "promote", "tick", "swapin", "expect")
EXPECT_FORMS = {
    "returned": "expect returned N",
    "stored": "expect stored [ID ...] [parent=ID|parent=none]",
    "removed": "expect removed [ID ...]",
    "inactive": "expect inactive [ID ...]",
    "active": "expect active [ID:REFS ...]",
    "partials": "expect partials [~NAME ...]",
    "pools": "expect pools [reset=N] [inactive=N] [active=N] [quarantined=N] [reserved=N]",
    "warnings": "expect warnings N",
    "clock": "expect clock MS",
    "g2": "expect g2 [ID ...]",
    "pinned": "expect pinned [ID ...]",
    "host_stored": "expect host_stored [ID ...]",
    "host_removed": "expect host_removed [ID ...]",
    "transfers": "expect transfers N",
    "eta": "expect eta MS",
}
POOL_KEYS = ("reset", "inactive", "active", "quarantined", "reserved")


@dataclass(frozen=True, slots=True)
class MoveCommand:
    move: Move

    def __str__(self) -> str:
        return format_move(self.move)


@dataclass(frozen=True, slots=True)
class TickCommand:
    """Advance the virtual clock by `ms`, or to the next transfer completion when None."""

    ms: float | None

    def __str__(self) -> str:
        return "tick next" if self.ms is None else f"tick {_fmt_ms(self.ms)}"


@dataclass(frozen=True, slots=True)
class SwapinCommand:
    blocks: tuple[int, ...]

    def __str__(self) -> str:
        return "swapin " + " ".join(map(str, self.blocks))


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


Command = MoveCommand | TickCommand | SwapinCommand | ExpectCommand | RequestCommand


@dataclass(frozen=True, slots=True)
class _Token:
    text: str
    column: int  # 1-based


def _tokens(text: str) -> list[_Token]:
    return [_Token(m.group(), m.start() + 1) for m in re.finditer(r"\S+", text)]


def _err(message: str, tok: _Token) -> ParseError:
    return ParseError(f"{message} at column {tok.column}", tok.column)


def _block_id(tok: _Token, what: str = "block id") -> int:
    if not tok.text.isdigit() or not tok.text.isascii():
        raise _err(f"bad {what} '{tok.text}' (a non-negative decimal integer)", tok)
    value = int(tok.text)
    if value > MAX_ID:
        raise _err(f"{what} '{tok.text}' does not fit in 64 bits", tok)
    return value


def _ref(tok: _Token) -> BlockRef:
    if tok.text.startswith("~"):
        name = tok.text[1:]
        if not _NAME.match(name):
            raise _err(f"bad partial name '{tok.text}' (letters, digits, _ and - after ~)", tok)
        return Partial(name)
    return _block_id(tok)


def _parent(tok: _Token) -> int:
    value = tok.text.split("=", 1)[1]
    if value.startswith("~"):
        raise _err(f"'{tok.text}': a partial block cannot be a parent", tok)
    return _block_id(_Token(value, tok.column + len("parent=")), "parent id")


def _split_parent(args: list[_Token]) -> tuple[list[_Token], int | None]:
    parent: int | None = None
    rest: list[_Token] = []
    seen = False
    for tok in args:
        if tok.text.startswith("parent="):
            if seen:
                raise _err(f"second parent= '{tok.text}'", tok)
            seen = True
            parent = _parent(tok)
        else:
            rest.append(tok)
    return rest, parent


def _ms(tok: _Token) -> float:
    if not _NUMBER.match(tok.text) or not 0 < float(tok.text) < math.inf:
        raise _err(f"bad duration '{tok.text}' (a decimal number of milliseconds > 0)", tok)
    return float(tok.text)


def parse(text: str) -> Command:
    """Parse one command line (SPEC §8)."""
    toks = _tokens(text)
    if not toks:
        raise ParseError("empty command", 1)
    verb, args = toks[0], toks[1:]
    if verb.text == "use":
        blocks, parent = _split_parent(args)
        if not blocks:
            raise ParseError(f"use needs at least one block at column {_end(text)}", _end(text))
        return MoveCommand(Use(tuple(_ref(t) for t in blocks), parent))
    if verb.text == "deref":
        if not args:
            raise ParseError(f"deref needs at least one block at column {_end(text)}", _end(text))
        for tok in args:
            if tok.text.startswith("parent="):
                raise _err(f"deref takes no parent: '{tok.text}'", tok)
        return MoveCommand(Deref(tuple(_ref(t) for t in args)))
    if verb.text == "promote":
        return MoveCommand(_promote(text, args))
    if verb.text == "tick":
        return _tick(text, args)
    if verb.text == "swapin":
        if not args:
            raise ParseError(f"swapin needs at least one block at column {_end(text)}", _end(text))
        return SwapinCommand(tuple(_block_id(t) for t in args))
    if verb.text == "expect":
        return _expect(text, args)
    if verb.text in REQUEST_VERBS:  # kvtui's request commands (kvtui.engine.request_commands)
        return parse_request(text)
    raise _err(f"unknown command '{verb.text}' (expected one of {', '.join(VERBS + REQUEST_VERBS)})", verb)


def _promote(text: str, args: list[_Token]) -> Promote:
    rest, parent = _split_parent(args)
    if len(rest) != 2:
        where = rest[2].column if len(rest) > 2 else len(text.rstrip()) + 1
        raise ParseError(f"promote takes ~NAME ID [parent=ID] at column {where}", where)
    partial = _ref(rest[0])
    if not isinstance(partial, Partial):
        raise _err(f"promote needs a partial block first, got '{rest[0].text}'", rest[0])
    block = _ref(rest[1])
    if isinstance(block, Partial):
        raise _err(f"promote needs a full block id second, got '{rest[1].text}'", rest[1])
    return Promote(partial.name, block, parent)


def _tick(text: str, args: list[_Token]) -> TickCommand:
    if len(args) != 1:
        where = args[1].column if len(args) > 1 else len(text.rstrip()) + 1
        raise ParseError(f"tick takes one duration (MS or 'next') at column {where}", where)
    if args[0].text == "next":
        return TickCommand(None)
    return TickCommand(_ms(args[0]))


def _expect(text: str, args: list[_Token]) -> ExpectCommand:
    if not args:
        forms = ", ".join(EXPECT_FORMS)
        raise ParseError(f"expect needs one of {forms} at column {_end(text)}", _end(text))
    what, rest = args[0], args[1:]
    canonical = " ".join(t.text for t in [_Token("expect", 1), *args])
    if what.text in ("removed", "inactive", "g2", "pinned", "host_stored", "host_removed"):
        return ExpectCommand(what.text, blocks=tuple(_block_id(t) for t in rest), text=canonical)
    if what.text == "stored":
        return _expect_stored(rest, canonical)
    if what.text == "active":
        return ExpectCommand("active", refs=tuple(_block_ref_count(t) for t in rest), text=canonical)
    if what.text == "partials":
        names = []
        for tok in rest:
            if not tok.text.startswith("~"):
                raise _err(f"expect partials lists ~NAME entries, got '{tok.text}'", tok)
            ref = _ref(tok)
            assert isinstance(ref, Partial)
            names.append(ref.name)
        return ExpectCommand("partials", names=tuple(names), text=canonical)
    if what.text in ("returned", "warnings", "clock", "transfers", "eta"):
        if len(rest) != 1:
            where = rest[1].column if len(rest) > 1 else len(text.rstrip()) + 1
            raise ParseError(f"usage: {EXPECT_FORMS[what.text]} at column {where}", where)
        if what.text == "clock":
            number: float = _ms(rest[0])
        elif what.text == "eta":
            number = _instant(rest[0])
        else:
            number = _block_id(rest[0], "count")
        return ExpectCommand(what.text, number=number, text=canonical)
    if what.text == "pools":
        return ExpectCommand("pools", counts=tuple(_count(t) for t in rest), text=canonical)
    if what.text in REQUEST_EXPECTS:  # request forms (kvtui.engine.request_expect)
        from kvtui.engine.request_expect import parse_request_expect

        return parse_request_expect(text, args, canonical)
    forms = ", ".join(EXPECT_FORMS)
    raise _err(f"unknown expectation '{what.text}' (expected one of {forms})", what)


def _expect_stored(rest: list[_Token], canonical: str) -> ExpectCommand:
    parent: int | None = None
    given = False
    blocks = []
    for tok in rest:
        if tok.text.startswith("parent="):
            if given:
                raise _err(f"second parent= '{tok.text}'", tok)
            given = True
            parent = None if tok.text == "parent=none" else _parent(tok)
        else:
            blocks.append(_block_id(tok))
    return ExpectCommand("stored", blocks=tuple(blocks), parent=parent, parent_given=given, text=canonical)


def _block_ref_count(tok: _Token) -> tuple[int, int]:
    block, sep, refs = tok.text.partition(":")
    if not sep:
        raise _err(f"expect active lists ID:REFS entries, got '{tok.text}'", tok)
    return _block_id(_Token(block, tok.column)), _block_id(
        _Token(refs, tok.column + len(block) + 1), "refcount"
    )


def _count(tok: _Token) -> tuple[str, int]:
    key, sep, value = tok.text.partition("=")
    if not sep or key not in POOL_KEYS:
        keys = ", ".join(f"{k}=N" for k in POOL_KEYS)
        raise _err(f"expect pools takes {keys}, got '{tok.text}'", tok)
    return key, _block_id(_Token(value, tok.column + len(key) + 1), "count")


def _instant(tok: _Token) -> float:
    """A point on the virtual clock (ms >= 0: a transfer on an instantaneous link can be due
    at 0)."""
    if not _NUMBER.match(tok.text) or not 0 <= float(tok.text) < math.inf:
        raise _err(f"bad time '{tok.text}' (a decimal number of milliseconds >= 0)", tok)
    return float(tok.text)


def _end(text: str) -> int:
    """The column just after the last token (where a missing argument would go)."""
    return len(text.rstrip()) + 1


def _fmt_ms(ms: float) -> str:
    """Plain decimal (no exponent, so it re-parses) that converts back to exactly `ms`."""
    text = format(Decimal(repr(ms)), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text
