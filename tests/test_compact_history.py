"""What a long session keeps per step is compact, and reads back exactly as it was.

A step of a plain `use`/`deref` line keeps its text, not its parsed command; a step without notes
or checks keeps no lists; a kept step result is packed (kvtui.session.results). Each must read
back equal to what the unpacked form gave, on every path (replays after jumps included).
"""

from __future__ import annotations

import random

import pytest

from kvtui.lang.commands import parse
from kvtui.lang.script import LAZY_TEXT, Check, Step, load_script_text, make_step
from kvtui.session.results import ResultLog, pack, unpack
from kvtui.session.session import Session
from kvtui.sim.manager import MoveResult
from tests.test_session import G2, make_script, random_texts

LINES = ["use 1 2 3", "deref 3 2 1", "use ~a 4", "promote ~a 5", "tick 10", "tick next", "swapin 1 2"]


@pytest.mark.parametrize("text", LINES)
def test_a_step_reads_back_the_command_of_its_text(text: str) -> None:
    step = make_step(text, 7)
    assert step.command == parse(text)
    assert step == Step(text, 7, parse(text))
    assert step.copy() == step


def test_plain_use_and_deref_keep_only_their_text() -> None:
    lazy = make_step("use 1 2 3", 1)
    assert lazy.command is not lazy.command  # parsed again on each read: nothing kept
    kept = make_step("use 1 2 3", 1, keep=True)
    assert kept.command is kept.command
    long = make_step("use " + " ".join(map(str, range(LAZY_TEXT))), 1)
    assert long.command is long.command  # too long to parse on every replay
    for text in ("tick 10", "use 1 2 parent=3", "use ~a 4", "deref 0x1"):
        other = make_step(text, 1)  # not plain decimal ids: parsed by the token parser, kept
        assert other.command is other.command or other.error is not None


def test_bad_line_keeps_its_error() -> None:
    step = make_step("use x", 3)
    assert step.command is None and step.error is not None and "'x'" in step.error


def test_notes_and_checks_are_kept_only_once_added() -> None:
    step = make_step("use 1", 1)
    assert step.notes == [] and step.checks == []
    assert step._notes is None and step._checks is None  # reading kept nothing
    notes = step.notes
    notes.append("first")
    step.notes.append("second")
    assert step.notes == ["first", "second"] and step.notes is notes
    step.checks += [Check(2, "expect returned 1")]
    assert [c.text for c in step.checks] == ["expect returned 1"]
    twin = step.copy()
    twin.notes.append("only on the copy")
    assert step.notes == ["first", "second"]


def test_loaded_script_steps_are_equal_to_eager_ones() -> None:
    script = load_script_text(
        "config: {capacity: 4}\nsteps:\n  - use 1 2\n  - note: hi\n  - expect stored 1 2\n  - deref 2 1\n",
        "s.yaml",
    )
    first, second = script.steps
    assert first == Step("use 1 2", 3, parse("use 1 2"), notes=["hi"], checks=first.checks)
    assert [c.text for c in first.checks] == ["expect stored 1 2"]
    assert second.notes == [] and second._notes is None


def test_packed_use_result_shares_its_events_blocks() -> None:
    session = Session(make_script(["use 1 2 3", "deref 3 2 1"], capacity=4))
    used = session.forward()
    packed = pack(used)
    assert isinstance(packed, tuple) and packed[1] is used.events[0].blocks
    assert unpack(packed) == used
    assert pack(session.forward()) == 1  # a deref that only returned 1: the int alone


def test_results_that_say_more_are_kept_whole() -> None:
    warned = MoveResult(1, warnings=["careful"])
    assert pack(warned) is warned
    log = ResultLog([warned, MoveResult(2).slim()])
    assert log == [warned, MoveResult(2)] and log[1:] == [MoveResult(2)]
    del log[1:]
    assert len(log) == 1 and list(log) == [warned]


@pytest.mark.parametrize(("seed", "offload"), [(1, None), (2, None), (3, G2), (4, G2)])
def test_kept_results_equal_the_first_pass_on_every_path(seed: int, offload: object) -> None:
    texts = random_texts(seed, 80, offload=offload)  # type: ignore[arg-type]
    fresh = Session(make_script(texts, offload=offload), checkpoints=False)  # type: ignore[arg-type]
    expected = [fresh.forward() for _ in texts]
    session = Session(make_script(texts, offload=offload))  # type: ignore[arg-type]
    session.max_checkpoints = 3  # thinned: jumps replay long stretches
    rng = random.Random(seed)
    for _ in range(40):
        session.jump(rng.randrange(len(texts) + 1))
        assert session.records == expected[: session.cursor]
        assert session.last_result == (expected[session.cursor - 1] if session.cursor else None)
    session.jump(len(texts))
    assert session.results == expected
    for stop in (0, 1, len(texts) // 2, len(texts)):
        pairs = [(n, event) for n, result in enumerate(expected[:stop], 1) for event in result.events]
        assert session.results.event_pairs(stop) == pairs
