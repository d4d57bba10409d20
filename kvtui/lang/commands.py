"""The command language (SPEC §8) plus kvtui's own `expect` assertions.

`parse(text)` turns one line into a :class:`Command` or raises :class:`ParseError` naming the
offending token and its column. Parsing never touches engine state; lineage and capacity rules
are checked by the manager when the command is applied.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass

from kvtui.lang.request_expect import parse_request_expect
from kvtui.lang.request_parse import REQUEST_EXPECTS, REQUEST_USAGE, REQUEST_VERBS, parse_request
from kvtui.lang.syntax import (
    MAX_ID,
    ExpectCommand,
    Token,
    block_id,
    duration,
    end,
    err,
    fmt_ms,
    is_number,
    tokens,
)
from kvtui.sim.errors import ParseError
from kvtui.sim.moves import BlockRef, Deref, Move, Partial, Promote, Use, format_move
from kvtui.workload.actions import RequestCommand

_NAME = re.compile(r"[A-Za-z0-9_-]+\Z")
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
CORE_USAGE = {
    "use": ("use ID|~NAME ... [parent=ID]", "allocate or hit blocks; the full ids form a chain"),
    "deref": ("deref ID|~NAME ...", "release one reference each, in order"),
    "promote": ("promote ~NAME ID [parent=ID]", "a partial block becomes full block ID"),
    "tick": ("tick MS | tick next", "advance the virtual clock, or to the next transfer completion"),
    "swapin": ("swapin ID ...", "onboard the G2-resident part of a chain into G1 (G2 enabled)"),
    "expect": ("expect WHAT ...", "check the last result or the state (forms below)"),
}
"""Each SPEC §8 verb's syntax and effect; USAGE adds the request verbs (the help's source)."""
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
        return "tick next" if self.ms is None else f"tick {fmt_ms(self.ms)}"


@dataclass(frozen=True, slots=True)
class SwapinCommand:
    blocks: tuple[int, ...]

    def __str__(self) -> str:
        return "swapin " + " ".join(map(str, self.blocks))


__all__ = [
    "Command", "ExpectCommand", "MoveCommand", "SwapinCommand", "TickCommand", "parse", "parse_plain",
    "reparse_plain",
]

Command = MoveCommand | TickCommand | SwapinCommand | ExpectCommand | RequestCommand


def _ref(tok: Token) -> BlockRef:
    if tok.text.startswith("~"):
        name = tok.text[1:]
        if not _NAME.match(name):
            raise err(f"bad partial name '{tok.text}' (letters, digits, _ and - after ~)", tok)
        return Partial(name)
    return block_id(tok)


def _parent(tok: Token) -> int:
    value = tok.text.split("=", 1)[1]
    if value.startswith("~"):
        raise err(f"'{tok.text}': a partial block cannot be a parent", tok)
    return block_id(Token(value, tok.column + len("parent=")), "parent id")


def _split_parent(args: list[Token]) -> tuple[list[Token], int | None]:
    parent: int | None = None
    rest: list[Token] = []
    seen = False
    for tok in args:
        if tok.text.startswith("parent="):
            if seen:
                raise err(f"second parent= '{tok.text}'", tok)
            seen = True
            parent = _parent(tok)
        else:
            rest.append(tok)
    return rest, parent


def parse(text: str) -> Command:
    """Parse one command line (SPEC §8, plus kvtui's request and expect verbs).

    The common lines (`use`/`deref` of plain ids) are split and converted directly; anything
    else, and every error, goes through the token parser, which knows columns.
    """
    command = parse_plain(text)
    return command if command is not None else _parse_tokens(text)


def parse_plain(text: str) -> MoveCommand | None:
    """The command of a `use`/`deref` line of plain decimal ids (no parent=, ~ or -), else None."""
    parts = text.split()
    if len(parts) > 1 and (parts[0] == "use" or parts[0] == "deref"):
        ids = parts[1:]
        digits = "".join(ids)
        if digits.isdigit() and digits.isascii():
            try:
                blocks = tuple(map(int, ids))
            except ValueError:  # over Python's int() digit limit: the token parser says why
                return None
            if max(blocks) <= MAX_ID:  # plain: ints in range, so the manager skips that check
                move = Use(blocks, plain=True) if parts[0] == "use" else Deref(blocks, plain=True)
                return MoveCommand(move)
    return None


def reparse_plain(text: str) -> MoveCommand:
    """`parse_plain(text)` for a line it accepted before: the same command, nothing checked."""
    verb, *ids = text.split()
    blocks = tuple(map(int, ids))
    return MoveCommand(Use(blocks, plain=True) if verb == "use" else Deref(blocks, plain=True))


def _parse_tokens(text: str) -> Command:
    toks = tokens(text)
    if not toks:
        raise ParseError("empty command", 1)
    verb, args = toks[0], toks[1:]
    parser = PARSERS.get(verb.text)
    if parser is None:
        raise err(f"unknown command '{verb.text}' (expected one of {', '.join(PARSERS)})", verb)
    return parser(text, args)


def _use(text: str, args: list[Token]) -> MoveCommand:
    blocks, parent = _split_parent(args)
    if not blocks:
        raise ParseError(f"use needs at least one block at column {end(text)}", end(text))
    return MoveCommand(Use(tuple(_ref(t) for t in blocks), parent))


def _deref(text: str, args: list[Token]) -> MoveCommand:
    if not args:
        raise ParseError(f"deref needs at least one block at column {end(text)}", end(text))
    for tok in args:
        if tok.text.startswith("parent="):
            raise err(f"deref takes no parent: '{tok.text}'", tok)
    return MoveCommand(Deref(tuple(_ref(t) for t in args)))


def _swapin(text: str, args: list[Token]) -> SwapinCommand:
    if not args:
        raise ParseError(f"swapin needs at least one block at column {end(text)}", end(text))
    return SwapinCommand(tuple(block_id(t) for t in args))


def _request(text: str, _: list[Token]) -> Command:
    return parse_request(text)  # its own lexer: the text form takes a quoted string


def _promote(text: str, args: list[Token]) -> Promote:
    rest, parent = _split_parent(args)
    if len(rest) != 2:
        where = rest[2].column if len(rest) > 2 else len(text.rstrip()) + 1
        raise ParseError(f"promote takes ~NAME ID [parent=ID] at column {where}", where)
    partial = _ref(rest[0])
    if not isinstance(partial, Partial):
        raise err(f"promote needs a partial block first, got '{rest[0].text}'", rest[0])
    block = _ref(rest[1])
    if isinstance(block, Partial):
        raise err(f"promote needs a full block id second, got '{rest[1].text}'", rest[1])
    return Promote(partial.name, block, parent)


def _tick(text: str, args: list[Token]) -> TickCommand:
    if len(args) != 1:
        where = args[1].column if len(args) > 1 else len(text.rstrip()) + 1
        raise ParseError(f"tick takes one duration (MS or 'next') at column {where}", where)
    if args[0].text == "next":
        return TickCommand(None)
    return TickCommand(duration(args[0]))


def _expect(text: str, args: list[Token]) -> ExpectCommand:
    if not args:
        forms = ", ".join(EXPECT_FORMS)
        raise ParseError(f"expect needs one of {forms} at column {end(text)}", end(text))
    what, rest = args[0], args[1:]
    canonical = " ".join(t.text for t in [Token("expect", 1), *args])
    if what.text in ("removed", "inactive", "g2", "pinned", "host_stored", "host_removed"):
        return ExpectCommand(what.text, blocks=tuple(block_id(t) for t in rest), text=canonical)
    if what.text == "stored":
        return _expect_stored(rest, canonical)
    if what.text == "active":
        return ExpectCommand("active", refs=tuple(_block_ref_count(t) for t in rest), text=canonical)
    if what.text == "partials":
        names = []
        for tok in rest:
            if not tok.text.startswith("~"):
                raise err(f"expect partials lists ~NAME entries, got '{tok.text}'", tok)
            ref = _ref(tok)
            assert isinstance(ref, Partial)
            names.append(ref.name)
        return ExpectCommand("partials", names=tuple(names), text=canonical)
    if what.text in ("returned", "warnings", "clock", "transfers", "eta"):
        if len(rest) != 1:
            where = rest[1].column if len(rest) > 1 else len(text.rstrip()) + 1
            raise ParseError(f"usage: {EXPECT_FORMS[what.text]} at column {where}", where)
        if what.text in ("clock", "eta"):  # the clock starts at 0, so `expect clock 0` is valid
            number: float = _instant(rest[0])
        else:
            number = block_id(rest[0], "count")
        return ExpectCommand(what.text, number=number, text=canonical)
    if what.text == "pools":
        return ExpectCommand("pools", counts=tuple(_count(t) for t in rest), text=canonical)
    if what.text in REQUEST_EXPECTS:  # request forms (kvtui.lang.request_expect)
        return parse_request_expect(text, args, canonical)
    forms = ", ".join(EXPECT_FORMS)
    raise err(f"unknown expectation '{what.text}' (expected one of {forms})", what)


def _expect_stored(rest: list[Token], canonical: str) -> ExpectCommand:
    parent: int | None = None
    given = False
    blocks = []
    for tok in rest:
        if tok.text.startswith("parent="):
            if given:
                raise err(f"second parent= '{tok.text}'", tok)
            given = True
            parent = None if tok.text == "parent=none" else _parent(tok)
        else:
            blocks.append(block_id(tok))
    return ExpectCommand("stored", blocks=tuple(blocks), parent=parent, parent_given=given, text=canonical)


def _block_ref_count(tok: Token) -> tuple[int, int]:
    block, sep, refs = tok.text.partition(":")
    if not sep:
        raise err(f"expect active lists ID:REFS entries, got '{tok.text}'", tok)
    return block_id(Token(block, tok.column)), block_id(
        Token(refs, tok.column + len(block) + 1), "refcount"
    )


def _count(tok: Token) -> tuple[str, int]:
    key, sep, value = tok.text.partition("=")
    if not sep or key not in POOL_KEYS:
        keys = ", ".join(f"{k}=N" for k in POOL_KEYS)
        raise err(f"expect pools takes {keys}, got '{tok.text}'", tok)
    return key, block_id(Token(value, tok.column + len(key) + 1), "count")


def _instant(tok: Token) -> float:
    """A point on the virtual clock (ms >= 0: a transfer on an instantaneous link can be due
    at 0)."""
    if not is_number(tok.text) or not 0 <= float(tok.text) < math.inf:
        raise err(f"bad time '{tok.text}' (a decimal number of milliseconds >= 0)", tok)
    return float(tok.text)


PARSERS: dict[str, Callable[[str, list[Token]], Command]] = {
    "use": _use,
    "deref": _deref,
    "promote": lambda text, args: MoveCommand(_promote(text, args)),
    "tick": _tick,
    "swapin": _swapin,
    "expect": _expect,
    **dict.fromkeys(REQUEST_VERBS, _request),
}
"""Every verb of the language and its parser: the one table that says what can be typed."""

USAGE: dict[str, tuple[str, str]] = {**CORE_USAGE, **REQUEST_USAGE}
"""Syntax and effect of every verb in PARSERS (a test keeps the two tables in step)."""
