"""SPEC §8 command language and kvtui's `expect` assertions: what `parse` accepts and rejects.

Every accepted form parses to the exact command object; every rejection is a ParseError whose
one-line message names the offending token and ends with `at column N` (N also in `.position`).
Property tests feed random text and random soups of the real vocabulary: `parse` either raises
ParseError or returns a command whose `str()` re-parses to an equal command.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kvtui.lang.commands import (
    ExpectCommand,
    MoveCommand,
    SwapinCommand,
    TickCommand,
    parse,
)
from kvtui.lang.syntax import MAX_ID
from kvtui.sim.errors import ParseError
from kvtui.sim.moves import Deref, Partial, Promote, Use
from kvtui.workload.actions import REQUEST_COMMAND_TYPES

VERBS = (
    "use, deref, promote, tick, swapin, expect, req, prefill, decode, preempt, resume, finish, visit, "
    "pass, drain"
)
FORMS = (
    "returned, stored, removed, inactive, active, partials, pools, warnings, clock, "
    "g2, pinned, host_stored, host_removed, transfers, eta"
)
POOL_KEYS = "reset=N, inactive=N, active=N, quarantined=N, reserved=N"
TOO_BIG = str(2**64)


# -- accepted forms ------------------------------------------------------------------------

MOVES = [
    ("use 1", Use((1,))),
    ("use 0 1 2 3 4", Use((0, 1, 2, 3, 4))),
    ("use 1 ~a 2", Use((1, Partial("a"), 2))),
    ("use ~a", Use((Partial("a"),))),
    ("use ~Req_1-x", Use((Partial("Req_1-x"),))),
    ("use 5 6 parent=4", Use((5, 6), 4)),
    ("use parent=4 5 6", Use((5, 6), 4)),
    ("use 5 parent=0 6", Use((5, 6), 0)),
    ("use ~p parent=9", Use((Partial("p"),), 9)),
    (f"use {MAX_ID} parent={MAX_ID - 1}", Use((MAX_ID,), MAX_ID - 1)),
    ("use 007", Use((7,))),
    ("  use\t1    2  ", Use((1, 2))),
    ("deref 4 3 2", Deref((4, 3, 2))),
    ("deref ~a 1 1", Deref((Partial("a"), 1, 1))),
    (f"deref {MAX_ID}", Deref((MAX_ID,))),
    ("promote ~a 3", Promote("a", 3)),
    ("promote ~a 3 parent=2", Promote("a", 3, 2)),
    ("promote parent=2 ~a 3", Promote("a", 3, 2)),
]


@pytest.mark.parametrize(("text", "move"), MOVES, ids=[t for t, _ in MOVES])
def test_move_forms(text: str, move: object) -> None:
    command = parse(text)
    assert command == MoveCommand(move)  # type: ignore[arg-type]
    assert parse(str(command)) == command


@pytest.mark.parametrize(
    ("text", "ms"),
    [("tick 1", 1.0), ("tick 2.5", 2.5), ("tick .5", 0.5), ("tick 3.", 3.0), ("tick 0.001", 0.001),
     ("tick 1234567", 1234567.0), ("tick 0.00001", 0.00001), ("tick 100000000000000000000", 1e20),
     ("tick next", None)],
)
def test_tick_forms(text: str, ms: float | None) -> None:
    command = parse(text)
    assert command == TickCommand(ms)
    assert parse(str(command)) == command
    assert "e" not in str(command).removeprefix("tick ").replace("next", "")


def test_tick_str_is_plain_decimal() -> None:
    assert str(parse("tick 1234567")) == "tick 1234567"
    assert str(parse("tick 0.00001")) == "tick 0.00001"
    assert str(parse("tick 2.50")) == "tick 2.5"
    assert str(parse("tick 1.")) == "tick 1"
    assert str(parse("tick next")) == "tick next"


def test_swapin_forms() -> None:
    assert parse("swapin 1") == SwapinCommand((1,))
    assert parse("swapin 3 4 5") == SwapinCommand((3, 4, 5))
    assert str(parse("swapin  3   4")) == "swapin 3 4"


EXPECTS = [
    ("expect returned 3", ExpectCommand("returned", number=3, text="expect returned 3")),
    ("expect returned 0", ExpectCommand("returned", number=0, text="expect returned 0")),
    ("expect warnings 1", ExpectCommand("warnings", number=1, text="expect warnings 1")),
    ("expect clock 2.5", ExpectCommand("clock", number=2.5, text="expect clock 2.5")),
    ("expect stored", ExpectCommand("stored", text="expect stored")),
    ("expect stored 1 2", ExpectCommand("stored", blocks=(1, 2), text="expect stored 1 2")),
    ("expect stored 5 parent=2",
     ExpectCommand("stored", blocks=(5,), parent=2, parent_given=True, text="expect stored 5 parent=2")),
    ("expect stored 0 1 parent=none",
     ExpectCommand("stored", blocks=(0, 1), parent=None, parent_given=True,
                   text="expect stored 0 1 parent=none")),
    ("expect stored parent=3 7",
     ExpectCommand("stored", blocks=(7,), parent=3, parent_given=True, text="expect stored parent=3 7")),
    ("expect removed", ExpectCommand("removed", text="expect removed")),
    ("expect removed 4 3 6", ExpectCommand("removed", blocks=(4, 3, 6), text="expect removed 4 3 6")),
    ("expect inactive", ExpectCommand("inactive", text="expect inactive")),
    ("expect inactive 2 1", ExpectCommand("inactive", blocks=(2, 1), text="expect inactive 2 1")),
    ("expect active", ExpectCommand("active", text="expect active")),
    ("expect active 1:2 3:1",
     ExpectCommand("active", refs=((1, 2), (3, 1)), text="expect active 1:2 3:1")),
    ("expect partials", ExpectCommand("partials", text="expect partials")),
    ("expect partials ~a ~b-2",
     ExpectCommand("partials", names=("a", "b-2"), text="expect partials ~a ~b-2")),
    ("expect pools", ExpectCommand("pools", text="expect pools")),
    ("expect pools reset=1 inactive=2 active=3",
     ExpectCommand("pools", counts=(("reset", 1), ("inactive", 2), ("active", 3)),
                   text="expect pools reset=1 inactive=2 active=3")),
    ("expect pools active=0",
     ExpectCommand("pools", counts=(("active", 0),), text="expect pools active=0")),
    # whitespace is normalised in the canonical text
    ("  expect   inactive\t4  3 ", ExpectCommand("inactive", blocks=(4, 3), text="expect inactive 4 3")),
]


@pytest.mark.parametrize(("text", "expected"), EXPECTS, ids=[t for t, _ in EXPECTS])
def test_expect_forms(text: str, expected: ExpectCommand) -> None:
    command = parse(text)
    assert command == expected
    assert str(command) == expected.text
    assert parse(str(command)) == command


def test_every_expect_form_is_covered() -> None:
    from kvtui.lang.commands import EXPECT_FORMS
    from tests.test_expect_g2 import G2_EXPECTS  # the G2 forms are tested there

    assert {e.what for _, e in EXPECTS + G2_EXPECTS} == set(EXPECT_FORMS)


# -- rejected forms: exact messages --------------------------------------------------------

ERRORS = [
    # unknown verb (case-sensitive), at the verb's column
    ("frob 1", f"unknown command 'frob' (expected one of {VERBS}) at column 1"),
    ("   USE 1", f"unknown command 'USE' (expected one of {VERBS}) at column 4"),
    ("note hello", f"unknown command 'note' (expected one of {VERBS}) at column 1"),
    # bad ids
    ("use 1 x2", "bad block id 'x2' (a non-negative decimal integer) at column 7"),
    ("use -1", "bad block id '-1' (a non-negative decimal integer) at column 5"),
    ("use 1.5", "bad block id '1.5' (a non-negative decimal integer) at column 5"),
    ("use +3", "bad block id '+3' (a non-negative decimal integer) at column 5"),
    ("use ３", "bad block id '３' (a non-negative decimal integer) at column 5"),
    ("deref 1  0x10", "bad block id '0x10' (a non-negative decimal integer) at column 10"),
    ("swapin ~a", "bad block id '~a' (a non-negative decimal integer) at column 8"),
    ("promote ~a b", "bad block id 'b' (a non-negative decimal integer) at column 12"),
    # ids >= 2^64
    (f"use {TOO_BIG}", f"block id '{TOO_BIG}' does not fit in 64 bits at column 5"),
    (f"deref 1 {TOO_BIG}", f"block id '{TOO_BIG}' does not fit in 64 bits at column 9"),
    (f"swapin {TOO_BIG}", f"block id '{TOO_BIG}' does not fit in 64 bits at column 8"),
    (f"promote ~a {TOO_BIG}", f"block id '{TOO_BIG}' does not fit in 64 bits at column 12"),
    (f"use 1 parent={TOO_BIG}", f"parent id '{TOO_BIG}' does not fit in 64 bits at column 14"),
    # bad partial names
    ("use ~a.b", "bad partial name '~a.b' (letters, digits, _ and - after ~) at column 5"),
    ("use 1 ~", "bad partial name '~' (letters, digits, _ and - after ~) at column 7"),
    ("deref ~~a", "bad partial name '~~a' (letters, digits, _ and - after ~) at column 7"),
    ("use ~é", "bad partial name '~é' (letters, digits, _ and - after ~) at column 5"),
    ("promote ~a! 3", "bad partial name '~a!' (letters, digits, _ and - after ~) at column 9"),
    # parent=
    ("use 1 parent=~a", "'parent=~a': a partial block cannot be a parent at column 7"),
    ("promote ~a 3 parent=~b", "'parent=~b': a partial block cannot be a parent at column 14"),
    ("use 1 parent=x", "bad parent id 'x' (a non-negative decimal integer) at column 14"),
    ("use 1 parent=", "bad parent id '' (a non-negative decimal integer) at column 14"),
    ("use 1 parent=2 parent=3", "second parent= 'parent=3' at column 16"),
    ("use parent=2 1 parent=~a", "second parent= 'parent=~a' at column 16"),
    ("promote ~a 3 parent=1 parent=2", "second parent= 'parent=2' at column 23"),
    ("expect stored 1 parent=none parent=2", "second parent= 'parent=2' at column 29"),
    ("deref 1 parent=2", "deref takes no parent: 'parent=2' at column 9"),
    # empty use / deref / swapin (column just after the last token)
    ("use", "use needs at least one block at column 4"),
    ("use   ", "use needs at least one block at column 4"),
    ("use parent=1", "use needs at least one block at column 13"),
    ("deref", "deref needs at least one block at column 6"),
    ("  deref ", "deref needs at least one block at column 8"),
    ("swapin", "swapin needs at least one block at column 7"),
    # promote arity / order
    ("promote", "promote takes ~NAME ID [parent=ID] at column 8"),
    ("promote ~a", "promote takes ~NAME ID [parent=ID] at column 11"),
    ("promote ~a parent=1", "promote takes ~NAME ID [parent=ID] at column 20"),
    ("promote ~a 1 2", "promote takes ~NAME ID [parent=ID] at column 14"),
    ("promote 1 ~a", "promote needs a partial block first, got '1' at column 9"),
    ("promote 1 2", "promote needs a partial block first, got '1' at column 9"),
    ("promote ~a ~b", "promote needs a full block id second, got '~b' at column 12"),
    # tick
    ("tick", "tick takes one duration (MS or 'next') at column 5"),
    ("tick 1 2", "tick takes one duration (MS or 'next') at column 8"),
    ("tick next 4", "tick takes one duration (MS or 'next') at column 11"),
    ("tick x", "bad duration 'x' (a decimal number of milliseconds > 0) at column 6"),
    ("tick 0", "bad duration '0' (a decimal number of milliseconds > 0) at column 6"),
    ("tick 0.0", "bad duration '0.0' (a decimal number of milliseconds > 0) at column 6"),
    ("tick -1", "bad duration '-1' (a decimal number of milliseconds > 0) at column 6"),
    ("tick -0.5", "bad duration '-0.5' (a decimal number of milliseconds > 0) at column 6"),
    ("tick 1e3", "bad duration '1e3' (a decimal number of milliseconds > 0) at column 6"),
    ("tick inf", "bad duration 'inf' (a decimal number of milliseconds > 0) at column 6"),
    ("tick nan", "bad duration 'nan' (a decimal number of milliseconds > 0) at column 6"),
    ("tick 1ms", "bad duration '1ms' (a decimal number of milliseconds > 0) at column 6"),
    ("tick ٣", "bad duration '٣' (a decimal number of milliseconds > 0) at column 6"),
    ("tick NEXT", "bad duration 'NEXT' (a decimal number of milliseconds > 0) at column 6"),
    ("tick " + "9" * 400,
     # a long token is cut in the middle (21 characters a side, quotes included) with its length
     f"bad duration '{'9' * 20}…{'9' * 20}' (402 characters) (a decimal number of milliseconds > 0) "
     "at column 6"),
    # expect
    ("expect", f"expect needs one of {FORMS} at column 7"),
    ("expect evicted 1", f"unknown expectation 'evicted' (expected one of {FORMS}) at column 8"),
    ("expect  Stored", f"unknown expectation 'Stored' (expected one of {FORMS}) at column 9"),
    ("expect active 1", "expect active lists ID:REFS entries, got '1' at column 15"),
    ("expect active 1:2 3", "expect active lists ID:REFS entries, got '3' at column 19"),
    ("expect active x:1", "bad block id 'x' (a non-negative decimal integer) at column 15"),
    ("expect active 12:y", "bad refcount 'y' (a non-negative decimal integer) at column 18"),
    ("expect active 1:", "bad refcount '' (a non-negative decimal integer) at column 17"),
    ("expect active 1:2:3", "bad refcount '2:3' (a non-negative decimal integer) at column 17"),
    ("expect pools free=1", f"expect pools takes {POOL_KEYS}, got 'free=1' at column 14"),
    ("expect pools reset", f"expect pools takes {POOL_KEYS}, got 'reset' at column 14"),
    ("expect pools reset=x", "bad count 'x' (a non-negative decimal integer) at column 20"),
    ("expect pools active=-1", "bad count '-1' (a non-negative decimal integer) at column 21"),
    ("expect partials a", "expect partials lists ~NAME entries, got 'a' at column 17"),
    ("expect partials ~a 1", "expect partials lists ~NAME entries, got '1' at column 20"),
    ("expect partials ~a.", "bad partial name '~a.' (letters, digits, _ and - after ~) at column 17"),
    ("expect returned", "usage: expect returned N at column 16"),
    ("expect returned 1 2", "usage: expect returned N at column 19"),
    ("expect warnings", "usage: expect warnings N at column 16"),
    ("expect clock", "usage: expect clock MS at column 13"),
    ("expect returned x", "bad count 'x' (a non-negative decimal integer) at column 17"),
    ("expect clock -1", "bad time '-1' (a decimal number of milliseconds >= 0) at column 14"),
    ("expect removed ~a", "bad block id '~a' (a non-negative decimal integer) at column 16"),
    ("expect stored 1 parent=~a", "'parent=~a': a partial block cannot be a parent at column 17"),
]


@pytest.mark.parametrize(("text", "message"), ERRORS, ids=[t[:40] for t, _ in ERRORS])
def test_parse_errors(text: str, message: str) -> None:
    with pytest.raises(ParseError) as info:
        parse(text)
    assert str(info.value) == message
    column = int(re.search(r"at column (\d+)\Z", message).group(1))  # type: ignore[union-attr]
    assert info.value.position == column


@pytest.mark.parametrize("text", ["", "   ", "\t\n"])
def test_empty_line(text: str) -> None:
    with pytest.raises(ParseError, match=r"\Aempty command\Z"):
        parse(text)


def test_column_points_at_the_token() -> None:
    """The column is 1-based into the original text (leading blanks and tabs count)."""
    for text in ("use 1 2 bad", "\tuse 1 2 bad", "use  1\t2   bad"):
        with pytest.raises(ParseError) as info:
            parse(text)
        assert info.value.position is not None
        assert text[info.value.position - 1 :].startswith("bad")


# -- properties ----------------------------------------------------------------------------


def check_round_trip(text: str) -> None:
    try:
        command = parse(text)
    except ParseError as exc:
        message = str(exc)
        assert "\n" not in message and message
        return
    kinds = (MoveCommand, TickCommand, SwapinCommand, ExpectCommand, *REQUEST_COMMAND_TYPES)
    assert isinstance(command, kinds)
    rendered = str(command)
    assert "\n" not in rendered
    assert parse(rendered) == command


@given(st.text(max_size=60))
def test_random_text_parses_or_raises_parse_error(text: str) -> None:
    check_round_trip(text)


@given(st.text(alphabet="usedrfpomtickwaxnl0123456789~=:.-_ \t", max_size=40))
def test_random_ascii_soup(text: str) -> None:
    check_round_trip(text)


WORDS = [
    "use", "deref", "promote", "tick", "swapin", "expect", "next", "note",
    "returned", "stored", "removed", "inactive", "active", "partials", "pools", "warnings", "clock",
    "0", "1", "2", "3", "17", "007", str(MAX_ID), TOO_BIG, "-1", "1.5", ".5", "3.", "0.0", "1e3",
    "~a", "~b", "~x_1-y", "~", "~a.b", "~~",
    "parent=1", "parent=0", "parent=none", "parent=~a", "parent=", f"parent={TOO_BIG}", "parent=x",
    "1:1", "2:3", "1:", ":1", "x:1", "1:2:3",
    "reset=1", "inactive=0", "active=2", "free=1", "reset=", "reset=x",
    "=", ":", "x", "é", "３",
]


@given(
    st.lists(st.sampled_from(WORDS), max_size=8),
    st.lists(st.sampled_from([" ", "  ", "\t"]), min_size=9, max_size=9),
)
def test_random_token_soup(words: list[str], gaps: list[str]) -> None:
    text = gaps[-1] + "".join(w + g for w, g in zip(words, gaps, strict=False))
    check_round_trip(text)


@given(
    st.sampled_from(["use", "deref", "promote", "tick", "swapin", "expect"]),
    st.lists(st.sampled_from(WORDS), max_size=6),
)
def test_random_arguments_for_each_verb(verb: str, words: list[str]) -> None:
    check_round_trip(" ".join([verb, *words]))


@given(st.floats(min_value=0, exclude_min=True, allow_infinity=False, allow_nan=False))
def test_tick_str_round_trips_every_positive_float(ms: float) -> None:
    command = TickCommand(ms)
    assert parse(str(command)) == command
