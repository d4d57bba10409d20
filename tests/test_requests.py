"""Request commands: syntax, expansion to MoveBlocks, atomicity, sessions and short labels.

A request command must expand to exactly the MoveBlocks upstream's ``ActiveSequence`` emits
(tests/test_sequence.py covers the sequence itself), apply them through ``KvManager.apply`` in
order, record each move with its result, and be atomic: a rejected command leaves the manager
and the requests exactly as they were.
"""

from __future__ import annotations

import json
import weakref
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from kvtui.cli.app import app
from kvtui.lang.commands import ExpectCommand, parse
from kvtui.lang.script import Script, Step, dump_script, load_script, load_script_text, make_step
from kvtui.session.journal import Journal
from kvtui.session.labels import short, short_move
from kvtui.session.resume import resume
from kvtui.session.session import Session, StepError, sandbox
from kvtui.sim.config import Config
from kvtui.sim.errors import CommandError, ParseError
from kvtui.sim.events import router_view
from kvtui.sim.manager import KvManager
from kvtui.sim.moves import Deref, Partial, Promote, Use
from kvtui.workload.actions import NewRequest, RequestAction, VisitCommand, quote
from kvtui.workload.hashing import hash_token_blocks, tokenize_text
from kvtui.workload.requests import RequestTable, prefix_hit
from kvtui.workload.sequence import ActiveSequence
from kvtui.workload.world import World
from tests.support import session_requests

# tokens 1..12 in blocks of 4 (tests/test_sequence.py, reference §6): ids and token hashes
B0, B1, B2 = 14643705804678351452, 16777012769546811212, 483935686894639516
S0, S1, S2 = B0, 4945711292740353085, 12583592247330656132


_WORLDS: weakref.WeakKeyDictionary[KvManager, World] = weakref.WeakKeyDictionary()


def requests_of(mgr: KvManager) -> RequestTable:
    """The request table beside ``mgr`` (each test manager gets a World of its own)."""
    return _WORLDS.setdefault(mgr, World(mgr)).requests


def run(mgr: KvManager, *texts: str) -> list[Any]:
    world = _WORLDS.setdefault(mgr, World(mgr))
    out = []
    for text in texts:
        command = parse(text)
        assert isinstance(command, NewRequest | RequestAction | VisitCommand)
        out.append(world.execute_request(command))
    return out


def requests_state(mgr: KvManager) -> dict[str, Any]:
    return {
        name: (r.state, r.seq.tokens, r.seq.num_allocated_tokens, r.seq.unique_blocks, r.preemptions)
        for name, r in requests_of(mgr).requests.items()
    }


def check_router_view(mgr: KvManager) -> None:
    assert router_view(mgr.events) == set(mgr.blocks)


# -- syntax ------------------------------------------------------------------------------------

ACCEPTED = [
    ("req a tokens 1 2 3", NewRequest("a", "tokens", (1, 2, 3))),
    ("req a tokens 4294967295", NewRequest("a", "tokens", (4294967295,))),
    ("  req  r_1-x   tokens 007 ", NewRequest("r_1-x", "tokens", (7,))),
    ('req a text "hello  world"',
     NewRequest("a", "text", tuple(tokenize_text("hello world")), "hello  world")),
    ('req a text "say \\"hi\\" \\\\ bye"',
     NewRequest("a", "text", tuple(tokenize_text('say "hi" \\ bye')), 'say "hi" \\ bye')),
    ("req b share a 2 5", NewRequest("b", "share", other="a", shared=2, length=5)),
    ("req b share a 0 1", NewRequest("b", "share", other="a", shared=0, length=1)),
    ("prefill a", RequestAction("prefill", "a")),
    ("prefill a 8", RequestAction("prefill", "a", 8)),
    ("decode a", RequestAction("decode", "a")),
    ("decode a 3", RequestAction("decode", "a", 3)),
    ("preempt a", RequestAction("preempt", "a")),
    ("resume a", RequestAction("resume", "a")),
    ("finish a", RequestAction("finish", "a")),
    ("visit 1 2 3", VisitCommand((1, 2, 3))),
    ("visit 18446744073709551615 input=40", VisitCommand((2**64 - 1,), 40)),
    ("visit input=0 5", VisitCommand((5,), 0)),
]


@pytest.mark.parametrize(("text", "expected"), ACCEPTED, ids=[t for t, _ in ACCEPTED])
def test_request_commands_parse_and_round_trip(text: str, expected: object) -> None:
    command = parse(text)
    assert command == expected
    assert parse(str(command)) == command


def test_quote_round_trips_awkward_text() -> None:
    for text in ['a"b', "back\\slash", 'end\\', '\\"', "tab\there"]:
        command = parse(f"req a text {quote(text + ' x')}")
        assert isinstance(command, NewRequest) and command.text == text + " x"
        assert parse(str(command)) == command


REJECTED = [
    ("req", "req needs NAME and a source (tokens, text or share) at column 4"),
    ("req a", "req needs a source after the name (tokens, text or share) at column 6"),
    ("req a.b tokens 1", "bad request name 'a.b' (letters, digits, _ and -) at column 5"),
    ("req a words 1", "unknown request source 'words' (expected tokens, text, share, trace) at column 7"),
    ("req a tokens", "req tokens needs at least one token at column 13"),
    ("req a tokens 1 x 3", "bad token 'x' (an integer in 0..4294967295) at column 16"),
    ("req a tokens 4294967296", "bad token '4294967296' (an integer in 0..4294967295) at column 14"),
    ("req a tokens -1", "bad token '-1' (an integer in 0..4294967295) at column 14"),
    ("req a text", 'req text needs a double-quoted string ("...") at column 11'),
    ("req a text hello", "req text needs a double-quoted string, got 'hello' at column 12"),
    ('req a text "hello', 'unterminated text (a closing " is missing) at column 12'),
    ('req a text "hi\\"', 'unterminated text (a closing " is missing) at column 12'),
    ('req a text "hi" there', "unexpected 'there' after the text at column 17"),
    ('req a text "a\\nb"', 'bad escape \'\\n\' in text (only \\" and \\\\) at column 14'),
    ('req a text "   "', "the text has no words (a request needs at least one token) at column 12"),
    ("req b share a 2", "usage: req NAME share OTHER K N at column 16"),
    ("req b share a 2 5 6", "usage: req NAME share OTHER K N at column 19"),
    ("req b share a! 2 5", "bad request name 'a!' (letters, digits, _ and -) at column 13"),
    ("req b share a 6 5", "the request has 5 tokens, fewer than the 6 it shares at column 17"),
    ("req b share a 2 0", "bad token count '0' (an integer in 1..1_000_000) at column 17"),
    ("prefill", "prefill needs a request NAME at column 8"),
    ("prefill a 0", "bad chunk size '0' (an integer in 1..1_000_000) at column 11"),
    ("prefill a 4 5", "unexpected '5' (usage: prefill NAME [CHUNK]) at column 13"),
    ("decode a x", "bad token count 'x' (an integer in 1..1_000_000) at column 10"),
    ("decode a 1000001", "bad token count '1000001' (an integer in 1..1_000_000) at column 10"),
    ("preempt a 1", "unexpected '1' (usage: preempt NAME) at column 11"),
    ("finish ~a", "bad request name '~a' (letters, digits, _ and -) at column 8"),
    ("resume", "resume needs a request NAME at column 7"),
    ("visit", "visit needs at least one block at column 6"),
    ("visit input=3", "visit needs at least one block at column 14"),
    ("visit 1 ~a", "bad block id '~a' (an integer in 0..2^64-1) at column 9"),
    ("visit 18446744073709551616",
     "bad block id '18446744073709551616' (an integer in 0..2^64-1) at column 7"),
    ("visit 1 input=x", "bad input token count 'x' (a non-negative integer) at column 15"),
    ("visit 1 input=2 input=3", "second input= 'input=3' at column 17"),
    # request expect forms
    ("expect hit", "usage: expect hit N at column 11"),
    ("expect hit x", "bad count 'x' (a non-negative decimal integer) at column 12"),
    ("expect moves use frob", "expect moves lists use, deref or promote, got 'frob' at column 18"),
    ("expect request", "usage: expect request NAME [STATE] [tokens=N] [generated=N] [allocated=N] "
     "[held=N] [cached=N] [computed=N] [preemptions=N] [ttft=MS] at column 15"),
    ("expect request a.b", "bad request name 'a.b' (letters, digits, _ and -) at column 16"),
    ("expect request a sleeping", "expect request takes a state (pending, waiting, running, preempted, "
     "parked, finished) then KEY=N, got 'sleeping' at column 18"),
    ("expect request a running waiting", "expect request takes a state (pending, waiting, running, "
     "preempted, parked, finished) then KEY=N, got 'waiting' at column 26"),
    ("expect request a size=3", "expect request takes tokens=N, generated=N, allocated=N, held=N, "
     "cached=N, computed=N, preemptions=N, ttft=MS, got 'size=3' at column 18"),
    ("expect request a held=x", "bad count 'x' (a non-negative decimal integer) at column 23"),
]


@pytest.mark.parametrize(("text", "message"), REJECTED, ids=[t for t, _ in REJECTED])
def test_request_parse_errors_name_token_and_column(text: str, message: str) -> None:
    with pytest.raises(ParseError) as info:
        parse(text)
    assert str(info.value) == message
    assert info.value.position == int(message.rsplit(" ", 1)[1])


def test_parse_errors_in_a_script_are_file_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        "config:\n  capacity: 4\n  block_size: 4\nsteps:\n  - req a tokens 1 2 3\n"
        "  - prefill a\n  - decode a zero\n  - finish a\n",
        encoding="utf-8",
    )
    with pytest.raises(StepError) as info:
        Session(load_script(path)).run_to_end()
    assert str(info.value) == f"{path}:7: bad token count 'zero' (an integer in 1..1_000_000) at column 10"
    result = CliRunner().invoke(app, ["run", str(path)])
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines()[-1] == str(info.value)
    assert "Traceback" not in result.stdout + result.stderr


def test_state_errors_in_a_script_are_file_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        'config:\n  capacity: 4\n  block_size: 4\nsteps:\n  - req a text "one two"\n  - decode a\n',
        encoding="utf-8",
    )
    result = CliRunner().invoke(app, ["validate", str(path)])
    assert result.exit_code == 1
    assert result.stderr.strip() == f"{path}:6: decode a: the request is waiting (prefill it first)"


# -- expansion ---------------------------------------------------------------------------------


def test_prefill_expands_to_the_sequences_creation_use() -> None:
    mgr = KvManager(8, block_size=4)
    tokens = list(range(1, 11))
    (_, result) = run(mgr, "req r tokens " + " ".join(map(str, tokens)), "prefill r")
    seq = ActiveSequence(tokens, 10, 4, label="r")
    expected = seq.take_creation_signal()
    assert expected == Use((S0, S1, Partial("r-0")), None, (B0, B1))
    assert [move for move, _ in result.expanded] == [expected]
    assert result.returned == 3
    assert result.stored == [S0, S1]
    assert result.events == result.expanded[0][1].events == mgr.events
    assert mgr.events[0].token_hashes == (B0, B1)
    assert prefix_hit(*result.expanded[0]) == 0  # type: ignore[arg-type]
    check_router_view(mgr)


def test_chunked_prefill_rounds_up_and_chains_parents() -> None:
    mgr = KvManager(8, block_size=4)
    results = run(mgr, "req r tokens 1 2 3 4 5 6 7 8 9 10", "prefill r 3", "prefill r 1", "prefill r 5",
                  "prefill r")
    assert [[m for m, _ in r.expanded] for r in results[1:]] == [
        [Use((S0,), None, (B0,))],
        [],  # 4 tokens: still inside block 0
        [Use((S1, Partial("r-0")), S0, (B1,))],  # 9 tokens
        [],  # 10: inside the partial
    ]
    assert [r.returned for r in results[1:]] == [1, 0, 2, 0]
    assert requests_of(mgr).requests["r"].seq.num_allocated_tokens == 10
    with pytest.raises(CommandError, match="all 10 tokens are already allocated"):
        run(mgr, "prefill r")


def test_decode_is_silent_inside_a_block_and_promotes_at_the_next_one() -> None:
    mgr = KvManager(8, block_size=4)
    run(mgr, "req r tokens 1 2 3 4 5 6", "prefill r")
    quiet, cross = run(mgr, "decode r 2", "decode r")
    assert quiet.expanded == [] and quiet.returned == 2
    seq = requests_of(mgr).requests["r"].seq
    moves = [m for m, _ in cross.expanded]
    assert moves == [Promote("r-0", seq.unique_blocks[1], S0, seq.token_hashes[1]), Use((Partial("r-1"),))]
    assert cross.stored == [seq.unique_blocks[1]]
    assert mgr.partials.keys() == {"r-1"}
    # the promoted id is the hash of the 4 tokens and the block before (SPEC §7)
    assert seq.unique_blocks[1] == hash_token_blocks(seq.tokens[:8], 4).block_ids[1]
    check_router_view(mgr)


def test_finish_releases_tail_first_and_preempt_resume_refinds_own_blocks() -> None:
    mgr = KvManager(8, block_size=4)
    run(mgr, "req r tokens 1 2 3 4 5 6 7 8 9 10 11 12 13", "prefill r", "decode r 4")
    seq = requests_of(mgr).requests["r"].seq
    held = seq.unique_blocks
    (pre,) = run(mgr, "preempt r")
    assert [m for m, _ in pre.expanded] == [Deref(tuple(reversed(held)))]
    assert mgr.eviction_order() == [b for b in reversed(held) if isinstance(b, int)]
    (res,) = run(mgr, "resume r")
    assert [m for m, _ in res.expanded] == [Use(held, None, seq.token_hashes)]
    assert prefix_hit(*res.expanded[0]) == 4  # type: ignore[arg-type]
    assert res.stored == [] and res.events == []
    assert requests_of(mgr).requests["r"].preemptions == 1
    (fin,) = run(mgr, "finish r")
    assert [m for m, _ in fin.expanded] == [Deref(tuple(reversed(held)))]
    assert mgr.active() == {} and mgr.partials == {}
    with pytest.raises(CommandError, match="finish r: the request is finished"):
        run(mgr, "finish r")


def test_share_takes_the_others_prefix_and_hits_it() -> None:
    mgr = KvManager(16, block_size=4)
    run(mgr, "req a tokens 1 2 3 4 5 6 7 8 9 10 11 12", "prefill a", "decode a 2")
    (_, pre) = run(mgr, "req b share a 14 20", "prefill b")
    a, b = requests_of(mgr).requests["a"].seq, requests_of(mgr).requests["b"].seq
    assert b.tokens[:14] == a.tokens[:14] and len(b) == 20
    assert b.unique_blocks[:3] == (S0, S1, S2)
    assert prefix_hit(*pre.expanded[0]) == 3
    assert mgr.active()[S0] == 2
    # deterministic: the same command on a fresh manager gives the same tokens
    again = KvManager(16, block_size=4)
    run(again, "req a tokens 1 2 3 4 5 6 7 8 9 10 11 12", "prefill a", "decode a 2", "req b share a 14 20")
    assert requests_of(again).requests["b"].seq.tokens == b.tokens


def test_prefill_out_of_slots_commits_what_it_got_like_upstream() -> None:
    mgr = KvManager(4, block_size=4)
    (_, _, _, short_prefill) = run(
        mgr, "req a tokens 1 2 3 4 5 6 7 8 9", "prefill a", "req b tokens 9 8 7 6 5 4 3 2 1", "prefill b"
    )
    assert short_prefill.returned == 1  # a holds 3 slots: b got its first block only
    req = requests_of(mgr).requests["b"]
    assert req.state == "running" and req.seq.num_allocated_tokens == 4 and req.held_blocks == 1
    run(mgr, "finish a")
    (rest,) = run(mgr, "prefill b")
    assert rest.returned == 2 and req.seq.num_allocated_tokens == 9
    assert rest.expanded[0][0].parent == req.seq.unique_blocks[0]  # type: ignore[union-attr]
    check_router_view(mgr)


def test_decode_without_a_slot_takes_its_token_back_and_keeps_the_promote() -> None:
    mgr = KvManager(3, block_size=4)
    run(mgr, "req a tokens 1 2 3 4 5 6", "prefill a", "req b tokens 7", "prefill b", "decode a 2")
    assert mgr.num_reset == 0
    (got,) = run(mgr, "decode a 3")
    assert got.returned == 0
    assert [type(m).__name__ for m, _ in got.expanded] == ["Promote", "Use"]
    assert got.expanded[1][1].returned == 0
    seq = requests_of(mgr).requests["a"].seq
    assert len(seq) == 8 and seq.generated_tokens == 2  # the 9th token was popped
    assert isinstance(seq.unique_blocks[-1], int)  # the promoted block stays full
    run(mgr, "finish b")
    (again,) = run(mgr, "decode a")
    assert [type(m).__name__ for m, _ in again.expanded] == ["Use"]  # no second promote
    assert again.returned == 1


def test_visit_uses_then_releases_tail_first() -> None:
    mgr = KvManager(3)
    (first,) = run(mgr, "visit 1 2 input=32")
    assert [m for m, _ in first.expanded] == [Use((1, 2)), Deref((2, 1))]
    assert first.returned == 2 and mgr.eviction_order() == [2, 1]
    (second,) = run(mgr, "visit 1 2 3 4")
    assert second.returned == 3  # capacity 3: the chain is cut after 3 entries
    assert prefix_hit(*second.expanded[0]) == 2  # type: ignore[arg-type]
    assert [m for m, _ in second.expanded][1] == Deref((3, 2, 1))
    assert mgr.active() == {}
    check_router_view(mgr)


# -- errors and atomicity ----------------------------------------------------------------------

STATE_ERRORS = [
    (["prefill x"], "no request named 'x'"),
    (["req a tokens 1", "req a tokens 2"], "request 'a' already exists"),
    (["req b share zz 1 2"], "no request named 'zz'"),
    (["req a tokens 1 2", "req b share a 3 4"], "request 'a' has 2 tokens, fewer than the 3 to share"),
    (["req a tokens 1", "decode a"], "decode a: the request is waiting (prefill it first)"),
    (["req a tokens 1", "preempt a"], "preempt a: the request is waiting (it holds no blocks yet)"),
    (["req a tokens 1", "resume a"], "resume a: the request is waiting (prefill it)"),
    (["req a tokens 1", "prefill a", "resume a"], "resume a: the request is running (it is not preempted)"),
    (["req a tokens 1", "prefill a", "preempt a", "prefill a"],
     "prefill a: the request is preempted (resume it)"),
    (["req a tokens 1", "prefill a", "preempt a", "decode a"],
     "decode a: the request is preempted (resume it first)"),
    (["req a tokens 1 2 3 4 5 6 7 8 9", "prefill a 4", "decode a"],
     "decode a: only 4 of 9 tokens are allocated (prefill the rest first)"),
    (["req a tokens 1 2 3", "prefill a", "deref ~a-0", "finish a"],
     "deref ~a-0: partial block is not held"),
    (["use ~a-0", "req a tokens 1 2 3", "prefill a"],
     "request a: its partial block ~a-0 is already held by someone else"),
    (["visit 1 2 1"], "block 1 appears twice in one use"),
]


@pytest.mark.parametrize(("texts", "message"), STATE_ERRORS, ids=[m for _, m in STATE_ERRORS])
def test_rejected_request_commands_change_nothing(texts: list[str], message: str) -> None:
    session = sandbox(Config(4, block_size=4))
    for text in texts[:-1]:
        session.insert(text)
    before, reqs, results = session.manager.dump(), session_requests(session), list(session.results)
    with pytest.raises(StepError) as info:
        session.insert(texts[-1])
    assert str(info.value) == message
    assert session.manager.dump() == before
    assert session_requests(session) == reqs
    assert session.results == results


def test_block_size_one_cannot_hold_requests() -> None:
    mgr = KvManager(4, block_size=1)
    with pytest.raises(CommandError, match="req a: block size must be >= 2, got 1"):
        run(mgr, "req a tokens 1")
    assert requests_state(mgr) == {}


def test_a_move_rejected_mid_expansion_rolls_back_every_earlier_move() -> None:
    # learn the id of the 2nd block a decode of 7 tokens promotes (tokens are deterministic)
    probe = KvManager(8, block_size=4)
    run(probe, "req r tokens 1 2 3 4 5 6", "prefill r", "decode r 7")
    target = requests_of(probe).requests["r"].seq.unique_blocks[2]
    assert isinstance(target, int)

    session = sandbox(Config(8, block_size=4))
    for text in ("req r tokens 1 2 3 4 5 6", "prefill r", f"use {target}", f"deref {target}"):
        session.insert(text)  # `target` is now recorded as a root: its promote must fail
    before, reqs = session.manager.dump(), session_requests(session)
    with pytest.raises(StepError) as info:
        session.insert("decode r 7")  # promote, use (applied), then promote of `target` fails
    assert str(info.value).startswith(f"block {target} has parent none (root), this command implies ")
    assert session.manager.dump() == before
    assert session_requests(session) == reqs and reqs  # the session's own table, not empty
    assert session.manager.next_event_id == len(session.manager.events)
    # and the request still works for what does not conflict
    assert session.insert("decode r 2") is not None


def test_rollback_keeps_the_manager_object_and_its_requests() -> None:
    mgr = KvManager(4, block_size=4)
    run(mgr, "req a tokens 1 2 3 4 5", "prefill a")
    mgr.apply(Deref((Partial("a-0"),)))  # a hand deref of the request's partial
    pool = mgr.pool
    before = mgr.dump()
    with pytest.raises(CommandError):
        run(mgr, "finish a")
    assert mgr.dump() == before
    assert mgr.pool is not pool  # restored from the snapshot, in place
    assert requests_of(mgr).requests["a"].state == "running"


# -- sessions: back, jump, journal -------------------------------------------------------------

TEXTS = [
    'req a text "the quick brown fox jumps over the lazy dog again"',
    "prefill a",
    "decode a 3",
    "req b share a 8 14",
    "prefill b",
    "preempt a",
    "decode b 6",
    "resume a",
    "finish b",
    "prefill a",
    "decode a 5",
    "finish a",
]


def make_session(texts: list[str], capacity: int = 6) -> Session:
    steps = [make_step(text, n) for n, text in enumerate(texts, 1)]
    return Session(Script("req.yaml", "req", "", Config(capacity, block_size=4), steps, Step("")))


def test_requests_survive_back_and_jump() -> None:
    forward = make_session(TEXTS)
    states = [(forward.manager.dump(), session_requests(forward))]
    while forward.cursor < forward.total:
        forward.forward()
        states.append((forward.manager.dump(), session_requests(forward)))
        check_router_view(forward.manager)
    session = make_session(TEXTS)
    session.interval = 2  # checkpoints every 2 steps: jumps restore requests from clones
    for target in [12, 3, 7, 0, 10, 5, 5, 1, 12, 2, 9]:
        session.jump(target)
        assert (session.manager.dump(), session_requests(session)) == states[target], target
    while session.cursor:
        session.back()
        assert session_requests(session) == states[session.cursor][1]


def test_typed_request_commands_are_journaled_and_resume(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    session = make_session(["use 1 2", "deref 2 1"])
    session.journal = Journal(path)
    session.jump(1)
    for text in TEXTS[:5]:
        session.insert(text)
    session.insert("expect hit 2")
    with pytest.raises(StepError):
        session.insert("decode zz")
    again = resume(path)
    assert [s.text for s in again.steps] == [s.text for s in session.steps]
    assert again.manager.dump() == session.manager.dump()
    assert session_requests(again) == session_requests(session)
    # saved as a script, it replays to the same state
    saved = dump_script(Script("s", "s", "", session.config, session.steps, session.intro))
    script = load_script_text(saved, "s")
    replay = Session(script)
    replay.run_to_end()
    assert session_requests(replay) == session_requests(session)


# -- expect forms ------------------------------------------------------------------------------


def test_request_expect_forms_parse() -> None:
    assert parse("expect hit 3") == ExpectCommand("hit", number=3, text="expect hit 3")
    assert parse("expect moves") == ExpectCommand("moves", text="expect moves")
    assert parse("expect moves promote use") == ExpectCommand(
        "moves", names=("promote", "use"), text="expect moves promote use")
    assert parse("expect request r preempted held=0 cached=3") == ExpectCommand(
        "request", names=("r", "preempted"), counts=(("held", 0), ("cached", 3)),
        text="expect request r preempted held=0 cached=3")


@pytest.mark.parametrize(("text", "message"), [
    ("expect hit 1", "expected a prefix hit of 1 block(s), got 0"),
    ("expect moves use", "expected moves [use], got [use deref]"),
    ("expect request zz", "no request named 'zz'"),
])
def test_request_expect_failures(text: str, message: str) -> None:
    session = sandbox(Config(4, block_size=4))
    session.insert("visit 5 6")
    with pytest.raises(StepError) as info:
        session.insert(text)
    assert str(info.value) == f"{text}: {message}"


def test_expect_hit_needs_a_request_command() -> None:
    session = sandbox(Config(4))
    with pytest.raises(StepError, match="'expect hit 0' needs a command before it"):
        session.insert("expect hit 0")
    session.insert("use 1")
    with pytest.raises(StepError, match="needs a request command that uses blocks before it"):
        session.insert("expect hit 0")


# -- short labels ------------------------------------------------------------------------------


def test_short_labels() -> None:
    assert short(0) == "0" and short(999_999) == "999999"
    assert short(S0) == short(S0) and short(S0).startswith("#") and len(short(S0)) == 7
    assert short(S0) == "#f963eb"  # pinned: labels are stable across runs and platforms
    assert len({short(1_000_000 + i) for i in range(200)}) == 200  # near ids look different
    assert short_move(Promote("r-0", S1, S0)) == f"promote ~r-0 {short(S1)} parent={short(S0)}"
    assert short_move(Use((1, Partial("x")), 2_000_000)) == f"use 1 ~x parent={short(2_000_000)}"


def test_human_output_shows_expansions_with_labels_and_json_keeps_full_ids(tmp_path: Path) -> None:
    path = tmp_path / "r.yaml"
    path.write_text(
        "config:\n  capacity: 6\n  block_size: 4\nsteps:\n  - req r tokens 1 2 3 4 5 6 7 8 9 10\n"
        "  - prefill r\n  - finish r\n",
        encoding="utf-8",
    )
    runner = CliRunner()
    human = runner.invoke(app, ["run", str(path)], env={"COLUMNS": "200"})
    assert human.exit_code == 0, human.stderr
    assert f"↳ use {short(S0)} {short(S1)} ~r-0 → 3" in human.stdout
    assert f"G1 stored [{short(S0)} {short(S1)}] parent=none" in human.stdout
    assert f"↳ deref ~r-0 {short(S1)} {short(S0)} → 1" in human.stdout
    assert str(S0) not in human.stdout
    assert f"eviction order (next victim first): {short(S1)} {short(S0)}" in human.stdout
    assert "r: finished, 10 tokens" in human.stdout
    report = json.loads(runner.invoke(app, ["run", str(path), "--json"]).stdout)
    assert report["events"][0]["blocks"] == [S0, S1]
    assert report["g1"]["inactive"] == [S1, S0]


WORDS = ["req", "prefill", "decode", "preempt", "resume", "finish", "visit", "tokens", "text", "share",
         "a", "b-1", "0", "7", "4294967296", "input=3", "input=", '"', '"x y"', '"a\\"', "\\", "~p", "expect",
         "hit", "moves", "request", "use", "running", "held=2", "cached=x"]


@given(st.lists(st.sampled_from(WORDS), min_size=1, max_size=8), st.text(max_size=12))
def test_request_soup_parses_or_raises_parse_error(words: list[str], noise: str) -> None:
    for text in (" ".join(words), " ".join(words) + noise, "req a text " + quote(noise)):
        try:
            command = parse(text)
        except ParseError as exc:
            assert str(exc).endswith(f"at column {exc.position}")
            continue
        assert parse(str(command)) == command
