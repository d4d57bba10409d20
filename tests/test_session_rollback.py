"""A Session runs request commands without an O(pool) rollback copy and rebuilds on failure.

World.execute_request copies the manager (and, with the scheduler, the whole World) before a
request command so that a failure part-way can be undone; at a million slots that copy is most
of a step. A Session does not need it: it can replay the steps up to its cursor from the nearest
checkpoint, so it runs request commands unguarded (``atomic=False``) and only a failure pays.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kvtui.lang.commands import parse
from kvtui.lang.script import Script, Step, make_step
from kvtui.session.headless import HeadlessRun
from kvtui.session.session import Session, StepError, execute, sandbox
from kvtui.sim.config import Config
from kvtui.sim.manager import KvManager
from kvtui.workload.world import World
from tests.cli_support import invoke
from tests.support import session_requests


def conflicting_block() -> int:
    """The id of the 2nd block a decode of 7 tokens promotes for `req r tokens 1 2 3 4 5 6`
    (tokens are deterministic): recorded as a root beforehand, that promote must fail after
    the decode's earlier moves were applied."""
    session = sandbox(Config(8, block_size=4))
    for text in ("req r tokens 1 2 3 4 5 6", "prefill r", "decode r 7"):
        session.insert(text)
    block = session.world.requests.requests["r"].seq.unique_blocks[2]
    assert isinstance(block, int)
    return block


SETUP = ("req r tokens 1 2 3 4 5 6", "prefill r")


def test_request_commands_in_a_session_copy_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    session = sandbox(Config(8, block_size=4))
    clones: list[int] = []
    real = KvManager.clone
    monkeypatch.setattr(KvManager, "clone", lambda self: clones.append(1) or real(self))
    for text in (*SETUP, "decode r 3", "finish r"):
        session.insert(text)
    assert clones == []  # no rollback copy (no checkpoint is due this early either)
    # the World's own entry point still guards itself by default
    world = World(KvManager(8, block_size=4))
    for text in ("req q tokens 1 2 3", "prefill q"):  # creating one is validated up front
        world.execute_request(parse(text))  # type: ignore[arg-type]
    assert clones == [1]


def test_typed_command_failing_part_way_is_rebuilt() -> None:
    target = conflicting_block()
    session = sandbox(Config(8, block_size=4))
    for text in (*SETUP, f"use {target}", f"deref {target}"):
        session.insert(text)
    before, reqs = session.manager.dump(), session_requests(session)
    with pytest.raises(StepError, match=f"block {target} has parent none"):
        session.insert("decode r 7")  # promote, use (applied), then the promote of `target` fails
    assert session.manager.dump() == before
    assert session_requests(session) == reqs and reqs  # the request table too, not vacuous
    assert session.cursor == 4 and len(session.steps) == 4
    assert session.insert("decode r 2") is not None  # and the session goes on


def test_script_step_failing_part_way_is_rebuilt() -> None:
    target = conflicting_block()
    texts = [*SETUP, f"use {target}", f"deref {target}", "decode r 7"]
    steps: list[Step] = [make_step(text, number) for number, text in enumerate(texts, start=1)]
    session = Session(Script("t.yaml", "t", "", Config(8, block_size=4), steps, Step("")))
    for _ in range(4):
        session.forward()
    before, reqs = session.manager.dump(), session_requests(session)
    with pytest.raises(StepError, match="t.yaml:5: block"):
        session.forward()
    assert session.cursor == 4
    assert session.manager.dump() == before
    assert session_requests(session) == reqs
    session.back()  # and stepping back still replays correctly
    assert session.cursor == 3 and target in session.manager.blocks


def test_unguarded_execute_leaves_a_failure_half_done() -> None:
    """What the Session's rebuild is for: without the copy a failure is visible."""
    target = conflicting_block()
    world = World(KvManager(8, block_size=4))
    for text in (*SETUP, f"use {target}", f"deref {target}"):
        execute(world, parse(text))
    before = world.manager.dump()
    with pytest.raises(Exception, match="has parent none"):
        execute(world, parse("decode r 7"), atomic=False)
    assert world.manager.dump() != before


# -- the headless run (`kvtui run`, `kvtui validate`) ------------------------------------------


def failing_script(tmp_path: Path, steps: int = 5) -> Path:
    """The script of the tests above, cut to its first ``steps`` steps (5: step 5 fails)."""
    target = conflicting_block()
    texts = [*SETUP, f"use {target}", f"deref {target}", "decode r 7"][:steps]
    body = "".join(f"  - {text}\n" for text in texts)
    path = tmp_path / f"fails-{steps}.yaml"
    path.write_text(f"name: t\nconfig:\n  capacity: 8\n  block_size: 4\nsteps:\n{body}")
    return path


def test_headless_run_copies_nothing_for_request_commands(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clones: list[int] = []
    real = KvManager.clone
    monkeypatch.setattr(KvManager, "clone", lambda self: clones.append(1) or real(self))
    result = invoke("run", str(failing_script(tmp_path, 4)), "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["steps"] == 4
    assert clones == []


def test_headless_failure_part_way_reports_the_last_good_state(tmp_path: Path) -> None:
    """SPEC §11: the report shows the state up to the last good step, even though the failing
    request command had applied some of its moves (the run rebuilt the World)."""
    failed = invoke("run", str(failing_script(tmp_path)), "--json")
    assert failed.exit_code == 1 and "fails-5.yaml:10: block" in failed.stderr
    good = invoke("run", str(failing_script(tmp_path, 4)), "--json")
    report, reference = json.loads(failed.stdout), json.loads(good.stdout)
    assert report.pop("error")["step"] == 5
    assert report == reference  # pools, events and results as after step 4
    assert reference["g1"]["active"]  # not vacuous: the request holds blocks


def test_headless_run_without_replay_still_rolls_back(tmp_path: Path) -> None:
    """A caller that cannot read its steps twice keeps the guarded (copying) path."""
    target = conflicting_block()
    texts = [*SETUP, f"use {target}", f"deref {target}", "decode r 7"]
    steps = [make_step(text, number) for number, text in enumerate(texts, start=1)]
    run = HeadlessRun(Script("t.yaml", "t", "", Config(8, block_size=4), [], Step("")))
    run.run(steps[:4])
    before = run.manager.dump()
    error = run.run(steps[4:])
    assert error is not None and "has parent none" in error.message
    assert run.manager.dump() == before
