"""The step engine: navigation, checkpoints, typed commands, expects and the journal.

The reference for every navigation test is a fresh session stepped forward once, recording
`manager.dump()` (events included) after each step: whatever path the session under test takes
to cursor k (back, jump, reset, replay from a thinned checkpoint, after an insert), its dump must
equal the reference dump at k. Steps are random *valid* command lines: a generator proposes
commands from the manager's current state (chains along recorded lineages extended with fresh
ids, partials, derefs of held references, promotes, ticks) and keeps those the engine accepts.
"""

from __future__ import annotations

import json
import os
import random
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, note
from hypothesis import strategies as st

from kvtui.lang.commands import parse
from kvtui.lang.script import Script, Step, load_script, make_step
from kvtui.session import session as session_module
from kvtui.session.journal import Journal, latest_journal, new_journal_path, state_dir
from kvtui.session.resume import resume, resume_with_notices
from kvtui.session.session import Session, StepError, execute, sandbox
from kvtui.sim.config import Config, OffloadConfig
from kvtui.sim.errors import KvError
from kvtui.sim.manager import KvManager
from kvtui.workload.world import World
from tests.test_atomicity import deep_state

# -- random valid steps --------------------------------------------------------------------


class Generator:
    """Proposes command lines from a scratch manager's state; keeps the ones that apply."""

    def __init__(self, rng: random.Random, capacity: int = 6, eviction: str = "lineage",
                 offload: OffloadConfig | None = None) -> None:
        self.rng = rng
        self.mgr = KvManager(capacity, eviction=eviction, offload=offload)
        self.fresh = 0

    def new_id(self) -> int:
        self.fresh += 1
        return self.fresh * 7 + 3

    def chain(self, block: int) -> list[int]:
        out = [block]
        while (parent := self.mgr.lineage[out[-1]][0]) is not None:
            out.append(parent)
        return out[::-1]

    def candidate(self) -> str:
        rng, mgr = self.rng, self.mgr
        r = rng.random()
        if r < 0.45:
            ids: list[str] = []
            parent: int | None = None
            if mgr.lineage and rng.random() < 0.7:
                chain = self.chain(rng.choice(sorted(mgr.lineage)))
                start = rng.randrange(len(chain))
                ids = [str(b) for b in chain[start : rng.randint(start + 1, len(chain))]]
                parent = chain[start - 1] if start else None
            elif mgr.lineage and rng.random() < 0.3:
                parent = rng.choice(sorted(mgr.lineage))
            ids += [str(self.new_id()) for _ in range(rng.randrange(0 if ids else 1, 3))]
            if rng.random() < 0.2:
                ids.insert(rng.randrange(len(ids) + 1), "~" + rng.choice("abcd"))
            return "use " + " ".join(ids) + (f" parent={parent}" if parent is not None else "")
        if r < 0.8:
            held = [str(b) for b, n in sorted(mgr.active().items()) for _ in range(n)]
            held += ["~" + p for p in sorted(mgr.partials)]
            if not held:
                return f"use {self.new_id()}"
            return "deref " + " ".join(rng.sample(held, rng.randint(1, min(3, len(held)))))
        if r < 0.92 and mgr.partials:
            name = rng.choice(sorted(mgr.partials))
            target = rng.choice([*sorted(mgr.lineage), self.new_id()]) if mgr.lineage else self.new_id()
            return f"promote ~{name} {target}"
        if mgr.offload is not None and mgr.lineage and rng.random() < 0.5:
            if rng.random() < 0.4:
                return "tick next"
            g2 = mgr.g2()
            resident = g2["resident"] if g2 else []
            use_g2 = resident and rng.random() < 0.8
            pick = rng.choice(resident) if use_g2 else rng.choice(sorted(mgr.lineage))
            return "swapin " + " ".join(map(str, self.chain(pick)))
        return rng.choice(["tick 1", "tick 0.5", "tick 2.25"])

    def take(self, n: int) -> list[str]:
        texts: list[str] = []
        while len(texts) < n:
            text = self.candidate()
            try:
                execute(World(self.mgr), parse(text))  # type: ignore[arg-type]
            except KvError:
                continue
            texts.append(text)
        return texts


G2 = OffloadConfig(g2_blocks=3, block_size_bytes=1_000_000, g1_to_g2_gbps=1.0, g2_to_g1_gbps=2.0,
                   batch_size=2)


def random_texts(seed: int, n: int, capacity: int = 6, eviction: str = "lineage",
                 offload: OffloadConfig | None = None) -> list[str]:
    return Generator(random.Random(seed), capacity, eviction, offload).take(n)


def make_script(texts: list[str], capacity: int = 6, eviction: str = "lineage",
                path: str = "rand.yaml", offload: OffloadConfig | None = None) -> Script:
    steps = [make_step(text, number) for number, text in enumerate(texts, start=1)]
    config = Config(capacity, eviction=eviction, offload=offload)
    return Script(path, "rand", "", config, steps, Step(""))


def reference(texts: list[str], capacity: int = 6, eviction: str = "lineage",
              deep: bool = False, offload: OffloadConfig | None = None) -> list[Any]:
    """The dump after each prefix of `texts` (index k = k steps applied), stepping forward once."""
    ref = Session(make_script(texts, capacity, eviction, offload=offload))
    dumps = [deep_state(ref.manager) if deep else ref.manager.dump()]
    while ref.cursor < ref.total:
        ref.forward()
        dumps.append(deep_state(ref.manager) if deep else ref.manager.dump())
    return dumps


def test_generator_makes_valid_varied_steps() -> None:
    texts = random_texts(1, 200)
    verbs = {t.split()[0] for t in texts}
    assert verbs == {"use", "deref", "promote", "tick"}
    session = Session(make_script(texts))
    session.run_to_end()
    events = session.manager.events
    assert {e.kind for e in events} == {"stored", "removed"}
    assert any("parent=" in t for t in texts) and any("~" in t for t in texts)


# -- navigation ----------------------------------------------------------------------------


def test_generator_with_g2_moves_data_both_ways() -> None:
    texts = random_texts(2, 300, offload=G2)
    assert any(t.startswith("swapin") for t in texts) and "tick next" in texts
    session = Session(make_script(texts, offload=G2))
    session.run_to_end()
    tiers = {(e.tier, e.kind) for e in session.manager.events}
    assert ("host_pinned", "stored") in tiers and ("device", "removed") in tiers
    assert any(r.onboarding for r in session.records)


@pytest.mark.parametrize(
    ("eviction", "offload"),
    [("lineage", None), ("lru", None), ("multi_lru", None), ("lineage", G2), ("multi_lru", G2)],
)
def test_forward_back_jump_reset_match_fresh_replay(
    eviction: str, offload: OffloadConfig | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(session_module, "FIRST_INTERVAL", 4)
    texts = random_texts(7, 60, eviction=eviction, offload=offload)
    dumps = reference(texts, eviction=eviction, offload=offload)
    deep = reference(texts, eviction=eviction, deep=True, offload=offload)
    records = Session(make_script(texts, eviction=eviction, offload=offload))
    records.run_to_end()
    session = Session(make_script(texts, eviction=eviction, offload=offload))
    rng = random.Random(eviction)

    def same() -> None:
        k = session.cursor
        assert session.manager.dump() == dumps[k], (eviction, k)
        assert deep_state(session.manager) == deep[k], (eviction, k)
        assert session.records == records.records[:k]

    same()
    for _ in range(120):
        op = rng.choice(["forward", "back", "jump", "jump", "reset"])
        if op == "forward":
            if session.cursor < session.total:
                session.forward()
        elif op == "back":
            before = session.cursor
            session.back()
            assert session.cursor == max(0, before - 1)
        elif op == "reset":
            session.reset()
            assert session.cursor == 0
        else:
            target = rng.randint(-3, session.total + 3)
            session.jump(target)
            assert session.cursor == max(0, min(target, session.total))
        same()


def test_long_session_with_checkpoint_thinning(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(session_module, "FIRST_INTERVAL", 2)
    monkeypatch.setattr(session_module, "MAX_CHECKPOINTS", 6)
    texts = random_texts(600, 600, capacity=8)
    dumps = reference(texts, capacity=8)
    session = Session(make_script(texts, capacity=8))
    limit = session.max_checkpoints
    assert limit < 600 // 2
    session.jump(session.total)
    assert session.cursor == 600
    assert session.interval > 2  # thinned at least once
    assert len(session.checkpoints) <= limit
    assert 0 in session.checkpoints
    assert all(c % session.interval == 0 for c in session.checkpoints)
    assert session.manager.dump() == dumps[600]
    full = list(session.records)
    rng = random.Random(600)
    for _ in range(60):
        target = rng.randint(0, 600)
        session.jump(target)
        assert session.cursor == target
        assert session.manager.dump() == dumps[target], target
        assert session.records == full[:target]
        assert len(session.checkpoints) <= limit
    # single steps around a thinned checkpoint
    session.jump(session.interval + 1)
    session.back()
    session.back()
    assert session.manager.dump() == dumps[session.interval - 1]
    assert session.records == full[: session.interval - 1]


def test_default_checkpoint_constants_thin_a_very_long_session() -> None:
    limit = Session(make_script([], capacity=4)).max_checkpoints
    n = session_module.FIRST_INTERVAL * (limit + 2)
    texts = random_texts(3, n, capacity=4)
    session = Session(make_script(texts, capacity=4))
    session.jump(n)
    assert session.interval == 2 * session_module.FIRST_INTERVAL
    assert len(session.checkpoints) <= limit
    end, full = session.manager.dump(), list(session.records)
    for target in (n - 1, n // 2 + 1, 5, 0, n):
        session.jump(target)
        assert session.records == full[:target]
    assert session.manager.dump() == end
    fresh = Session(make_script(texts[: n // 2 + 1], capacity=4))
    fresh.run_to_end()
    session.jump(n // 2 + 1)
    assert session.manager.dump() == fresh.manager.dump()


def test_jump_forward_onto_a_checkpoint_keeps_results(monkeypatch: pytest.MonkeyPatch) -> None:
    """Regression: a jump that restores a checkpoint *ahead* of the cursor kept too few results."""
    monkeypatch.setattr(session_module, "FIRST_INTERVAL", 4)
    texts = random_texts(5, 30)
    session = Session(make_script(texts))
    session.jump(30)
    full = list(session.records)
    session.reset()
    session.jump(10)  # restores checkpoint 8, replays 2 steps
    assert session.cursor == 10 and len(session.records) == 10
    assert session.records == full[:10]
    assert session.last_result == full[9]


@given(st.integers(0, 10_000), st.integers(1, 40), st.booleans(), st.data())
def test_forward_then_back_restores_the_state(seed: int, n: int, g2: bool, data: st.DataObject) -> None:
    offload = G2 if g2 else None
    texts = random_texts(seed, n, offload=offload)
    session = Session(make_script(texts, offload=offload))
    k = data.draw(st.integers(0, n - 1), label="cursor")
    session.jump(k)
    before, deep_before, records = session.manager.dump(), deep_state(session.manager), list(session.records)
    session.forward()
    session.back()
    assert session.cursor == k
    assert session.manager.dump() == before
    assert deep_state(session.manager) == deep_before
    assert session.records == records


def test_forward_at_the_end_and_back_at_the_start() -> None:
    session = Session(make_script(["use 1", "deref 1"]))
    session.back()
    assert session.cursor == 0
    session.jump(2)
    with pytest.raises(StepError, match="already at the last step"):
        session.forward()
    assert session.cursor == 2


def test_jump_stops_at_a_failing_step() -> None:
    session = Session(make_script(["use 1", "use 1 x", "use 2"]))
    with pytest.raises(StepError) as info:
        session.jump(3)
    assert session.cursor == 1
    assert (info.value.step, info.value.line) == (2, 2)
    assert str(info.value) == "rand.yaml:2: bad block id 'x' (a non-negative decimal integer) at column 7"


# -- typing --------------------------------------------------------------------------------


def try_jump(session: Session, target: int) -> tuple[int, str] | None:
    """Jump; a later step may have become invalid (after an insert): (step, message) then."""
    try:
        session.jump(target)
    except StepError as exc:
        return exc.step, exc.message
    return None


def assert_same_navigation(a: Session, b: Session, targets: list[int]) -> None:
    """Drive both sessions through the same jumps; every outcome must be identical."""
    for target in targets:
        outcomes = [try_jump(s, target) for s in (a, b)]
        assert outcomes[0] == outcomes[1]
        assert a.cursor == b.cursor
        assert a.manager.dump() == b.manager.dump(), target
        assert a.records == b.records


def test_holding_back_unpacks_a_checkpoint_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Stepping back over a stretch restores the same packed checkpoint each time: it is
    unpacked once and cloned after that (the states stay exact), and a typed command before
    it drops the unpacked copy with the checkpoint."""
    from kvtui.workload.world import FrozenWorld

    monkeypatch.setattr(session_module, "NEAR_EVERY", 1000)  # no near clones: checkpoints only
    texts = random_texts(21, 70)
    dumps = reference(texts)
    session = Session(make_script(texts))
    session.jump(70)
    assert 64 in session.checkpoints and isinstance(session.checkpoints[64], FrozenWorld)
    thawed: list[int] = []
    real = FrozenWorld.clone
    monkeypatch.setattr(FrozenWorld, "clone", lambda self: thawed.append(1) or real(self))
    for cursor in range(69, 63, -1):
        session.back()
        assert session.manager.dump() == dumps[cursor]
    assert thawed == [1]  # 69 .. 64 all restore checkpoint 64
    session.back()
    assert session.manager.dump() == dumps[63] and thawed == [1, 1]  # checkpoint 32 now
    session.jump(40)
    session.insert("use 9001")
    assert all(c <= 41 for c in session._thawed)
    session.back()
    fresh = Session(make_script([*texts[:40], "use 9001", *texts[40:]]))
    fresh.jump(40)
    assert session.manager.dump() == fresh.manager.dump()


def test_a_huge_pool_keeps_one_near_clone_behind_a_step_back(monkeypatch: pytest.MonkeyPatch) -> None:
    """A pool too big for checkpoints and near clones (here: any pool) still gets one near
    clone, just behind the target of a step back, so holding ← replays a few steps instead of
    the whole session; stepping forward never takes one."""
    monkeypatch.setattr(session_module, "NEAR_BYTES", 0)
    monkeypatch.setattr(session_module, "NEAR_EVERY", 8)
    monkeypatch.setattr(session_module, "FIRST_INTERVAL", 1024)  # checkpoint 0 only
    texts = random_texts(23, 80)
    dumps = reference(texts)
    session = Session(make_script(texts))
    session.jump(80)
    assert session._near == {}  # forward: none
    session.back()
    assert list(session._near) == [72] and session.manager.dump() == dumps[79]
    replayed: list[int] = []
    real = Session.forward
    monkeypatch.setattr(Session, "forward", lambda self, *a, **k: replayed.append(1) or real(self, *a, **k))
    for cursor in range(78, 71, -1):
        replayed.clear()
        session.back()
        assert session.manager.dump() == dumps[cursor] and len(replayed) == cursor - 72
    session.back()  # behind that clone: replayed from step 0, leaving one new near clone
    assert list(session._near) == [64] and session.manager.dump() == dumps[71]


def test_insert_at_cursor_keeps_later_steps_and_invalidates_checkpoints(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(session_module, "FIRST_INTERVAL", 2)
    texts = random_texts(11, 40)
    session = Session(make_script(texts))
    session.jump(40)
    assert max(session.checkpoints) == 40
    session.jump(13)
    result = session.insert("  use 9001 9002 ")
    assert result is not None and result == session.last_result
    assert session.cursor == 14
    assert [s.text for s in session.steps] == [*texts[:13], "use 9001 9002", *texts[13:]]
    typed = session.steps[13]
    assert typed.typed and typed.line is None
    assert all(c <= 14 for c in session.checkpoints)
    assert session.insert("tick 3") is not None
    assert session.cursor == 15 and session.total == 42
    new_texts = [s.text for s in session.steps]
    assert new_texts == [*texts[:13], "use 9001 9002", "tick 3", *texts[13:]]
    fresh = Session(make_script(new_texts))
    fresh.jump(15)
    assert session.manager.dump() == fresh.manager.dump()
    assert session.records == fresh.records
    rng = random.Random(13)
    targets = [42, 0, 15, 14, 13, 30, 12, 42] + [rng.randint(0, 42) for _ in range(20)]
    assert_same_navigation(session, fresh, targets)


@given(st.integers(0, 10_000), st.integers(1, 30), st.data())
def test_inserts_then_navigation_equal_fresh_replay(seed: int, n: int, data: st.DataObject) -> None:
    session_module_interval = session_module.FIRST_INTERVAL
    try:
        session_module.FIRST_INTERVAL = 3
        texts = random_texts(seed, n)
        session = Session(make_script(texts))
        session.jump(n)
        for _ in range(data.draw(st.integers(1, 3), label="inserts")):
            try_jump(session, data.draw(st.integers(0, session.total), label="at"))
            # a command valid at the cursor: continue a generator from the current state
            gen = Generator(random.Random(data.draw(st.integers(0, 99), label="gen")))
            gen.mgr = session.manager.clone()
            gen.fresh = 10_000 + session.total
            text = gen.take(1)[0]
            note(f"insert {text!r} at {session.cursor}")
            session.insert(text)
        fresh = Session(make_script([s.text for s in session.steps]))
        assert try_jump(fresh, session.cursor) is None
        assert fresh.cursor == session.cursor
        assert fresh.manager.dump() == session.manager.dump()
        targets = data.draw(st.lists(st.integers(0, session.total), max_size=6), label="targets")
        assert_same_navigation(session, fresh, [*targets, 0, session.total])
    finally:
        session_module.FIRST_INTERVAL = session_module_interval


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty command"),
        ("frob", "unknown command 'frob' (expected one of use, deref, promote, tick, swapin, expect, "
                 "req, prefill, decode, preempt, resume, finish, visit, pass, drain)"
                 " at column 1"),
        ("use 1 x", "bad block id 'x' (a non-negative decimal integer) at column 7"),
        ("deref 99", "deref 99: block 99 is not in G1, so there is no reference to release"),
        ("promote ~zz 5", "promote ~zz: partial block is not held"),
        ("use 3 parent=1", "block 3 has parent 2, this command implies 1"),
        ("use 1 3", "block 3 has parent 2, this command implies 1"),
        ("use 5 5", "block 5 appears twice in one use"),
        ("use 4 parent=12345", "parent=12345 names a block never seen"),
        ("tick next", "tick next: no transfer is in flight"),
        ("swapin 1 2", "swapin needs the G2 tier (add an `offload` section to the config)"),
    ],
)
def test_typed_invalid_command_changes_nothing(tmp_path: Path, text: str, message: str) -> None:
    journal = Journal(tmp_path / "j.jsonl")
    session = Session(make_script(["use 1 2 3", "deref 3", "use 1 ~a", "deref 2"]), journal)
    session.jump(3)
    before = (session.manager.dump(), deep_state(session.manager), [s.text for s in session.steps],
              session.cursor, dict(session.checkpoints), list(session.records))
    with pytest.raises(StepError) as info:
        session.insert(text)
    assert str(info.value) == message
    assert info.value.step == 4 and info.value.line is None
    after = (session.manager.dump(), deep_state(session.manager), [s.text for s in session.steps],
             session.cursor, dict(session.checkpoints), list(session.records))
    assert after == before
    assert not journal.path.exists()


def test_typed_expect_is_checked_and_attached(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.jsonl")
    session = Session(make_script(["use 1 2 3", "deref 3 2"]), journal)
    assert session.insert("expect pools reset=6") is None
    assert [c.text for c in session.intro.checks] == ["expect pools reset=6"]
    session.jump(2)
    before = session.manager.dump()
    assert session.insert(" expect  inactive 3 2 ") is None
    assert session.cursor == 2 and session.total == 2
    assert session.manager.dump() == before
    check = session.steps[1].checks[-1]
    assert (check.line, check.text) == (None, "expect  inactive 3 2")
    assert check.expect == parse("expect inactive 3 2")
    assert session.insert("expect stored") is None  # about the previous command (deref): nothing stored
    with pytest.raises(StepError) as info:
        session.insert("expect inactive 2 3")
    assert str(info.value) == "expect inactive 2 3: expected eviction order [2 3], got [3 2]"
    assert info.value.step == 2 and info.value.line is None
    with pytest.raises(StepError) as info:
        session.insert("expect inactive x")
    assert str(info.value) == "bad block id 'x' (a non-negative decimal integer) at column 17"
    assert [c.text for c in session.steps[1].checks] == ["expect  inactive 3 2", "expect stored"]
    rows = [json.loads(line) for line in journal.path.read_text().splitlines()]
    assert [r.get("command") for r in rows[1:]] == [
        "expect pools reset=6", "expect  inactive 3 2", "expect stored",
    ]
    assert [r["at"] for r in rows[1:]] == [0, 2, 2]
    # the checks now run with the script
    session.reset()
    session.run_to_end()


def test_failing_expect_reports_step_line_and_message(tmp_path: Path) -> None:
    path = tmp_path / "fail.yaml"
    path.write_text(
        "config:\n  capacity: 4\nsteps:\n  - use 1 2\n  - note: hi\n  - expect stored 1\n  - use 3\n"
    )
    session = Session(load_script(path))
    with pytest.raises(StepError) as info:
        session.run_to_end()
    message = "expect stored 1: expected stored [1], got [1 2]"
    assert (info.value.step, info.value.line, info.value.message) == (1, 6, message)
    assert str(info.value) == f"{path}:6: {message}"
    assert session.cursor == 1  # the step itself applied


def test_failing_intro_expect_is_step_zero(tmp_path: Path) -> None:
    path = tmp_path / "intro.yaml"
    path.write_text("config:\n  capacity: 4\nsteps:\n  - expect pools reset=3\n  - use 1\n")
    session = Session(load_script(path))
    with pytest.raises(StepError) as info:
        session.run_to_end()
    assert (info.value.step, info.value.line) == (0, 4)
    assert str(info.value) == f"{path}:4: expect pools reset=3: expected reset=3, got reset=4"
    assert session.cursor == 0


@pytest.mark.parametrize(
    ("script_steps", "expect", "message"),
    [
        (["use 1 2"], "expect returned 3", "expected returned 3, got 2"),
        (["use 1 2"], "expect stored 1 2 parent=7", "expected stored parent=7, got parent=none"),
        (["use 1 2", "deref 2", "use 1 2 3"], "expect stored 3 parent=none",
         "expected stored parent=none, got parent=2"),
        (["use 1", "deref 1", "use 2"], "expect removed 1", "expected removed [1], got []"),
        (["use 1 2"], "expect active 1:1", "expected active [1:1], got [1:1 2:1]"),
        (["use ~a ~b"], "expect partials ~a", "expected partials [~a], got [~a ~b]"),
        (["use 1"], "expect pools inactive=1", "expected inactive=1, got inactive=0"),
        (["use 1"], "expect pools active=2", "expected active=2, got active=1"),
        (["use 1"], "expect warnings 1", "expected 1 warning(s), got 0"),
        (["tick 1.5"], "expect clock 2", "expected clock 2 ms, got 1.5 ms"),
    ],
)
def test_expect_failure_messages(script_steps: list[str], expect: str, message: str) -> None:
    session = Session(make_script(script_steps, capacity=4))
    session.run_to_end()
    with pytest.raises(StepError) as info:
        session.insert(expect)
    assert str(info.value) == f"{expect}: {message}"


@pytest.mark.parametrize(
    "expect", ["expect returned 1", "expect stored", "expect removed", "expect warnings 0"]
)
def test_result_expects_need_a_previous_command(expect: str) -> None:
    session = Session(make_script(["use 1"]))
    with pytest.raises(StepError) as info:
        session.insert(expect)
    assert str(info.value) == f"{expect}: '{expect}' needs a command before it"


def test_passing_expects_of_every_form() -> None:
    session = Session(make_script(["use 1 2 ~a", "deref 2", "use 3 4 5", "tick 2.5"], capacity=4))
    session.jump(1)
    for text in ["expect returned 3", "expect stored 1 2 parent=none", "expect removed",
                 "expect partials ~a", "expect active 1:1 2:1", "expect pools reset=1 active=3",
                 "expect warnings 0"]:
        session.insert(text)
    session.jump(3)
    for text in ["expect returned 2", "expect stored 3 4", "expect removed 2", "expect inactive"]:
        session.insert(text)
    session.jump(4)
    session.insert("expect clock 2.5")


# -- journal -------------------------------------------------------------------------------


def read_rows(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_journal_appends_applied_commands_and_resume_reproduces(tmp_path: Path) -> None:
    path = tmp_path / "journals" / "s.jsonl"
    script = make_script(["use 1 2 3", "deref 3", "use 1 2 4", "deref 4 2 1"])
    session = Session(script, Journal(path))
    session.jump(2)
    session.insert("use 7 parent=2")
    with pytest.raises(StepError):
        session.insert("deref 99")
    with pytest.raises(StepError):
        session.insert("use 1 x")
    session.insert("expect stored 7 parent=2")
    with pytest.raises(StepError):
        session.insert("expect stored 8")
    session.jump(5)
    session.insert("deref 7")
    session.reset()
    session.insert("tick 1")
    session.jump(4)
    session.insert("use ~p 20")
    rows = read_rows(path)
    assert rows[0]["kvtui_journal"] == 1 and rows[0]["label"] == "rand.yaml"
    assert [(r["at"], r["command"]) for r in rows[1:]] == [
        (2, "use 7 parent=2"), (3, "expect stored 7 parent=2"), (5, "deref 7"), (0, "tick 1"),
        (4, "use ~p 20"),
    ]

    again = resume(path)
    assert [s.text for s in again.steps] == [s.text for s in session.steps]
    assert [s.typed for s in again.steps] == [s.typed for s in session.steps]
    assert [[c.text for c in s.checks] for s in again.steps] == [
        [c.text for c in s.checks] for s in session.steps
    ]
    assert again.cursor == session.cursor == 5
    assert again.manager.dump() == session.manager.dump()
    assert again.records == session.records
    assert again.config == session.config and again.label == session.label

    # appending continues into the same file, and a second resume sees it
    again.insert("deref 20 ~p")
    rows2 = read_rows(path)
    assert rows2[:-1] == rows and rows2[-1] == {"at": 5, "command": "deref 20 ~p"}
    third = resume(path)
    assert third.cursor == again.cursor
    assert third.manager.dump() == again.manager.dump()
    assert [s.text for s in third.steps] == [s.text for s in again.steps]


def test_resume_keeps_the_original_lines(tmp_path: Path) -> None:
    path = tmp_path / "orig.yaml"
    path.write_text(
        "config:\n  capacity: 4\nsteps:\n  - expect pools reset=4\n\n  - use 1 2\n  - note: n\n"
        "  - expect stored 1 2\n\n\n  - deref 2\n  - deref 9\n"
    )
    session = Session(load_script(path), Journal(tmp_path / "j.jsonl"))
    session.jump(1)
    session.insert("use 5")
    again = resume(tmp_path / "j.jsonl")
    assert [(s.text, s.line, s.typed) for s in again.steps] == [
        ("use 1 2", 6, False), ("use 5", None, True), ("deref 2", 11, False), ("deref 9", 12, False),
    ]
    assert [c.line for c in again.intro.checks] == [4]
    assert [c.line for c in again.steps[0].checks] == [8]
    with pytest.raises(StepError) as info:
        again.jump(4)
    assert str(info.value) == f"{path}:12: deref 9: block 9 is not in G1, so there is no reference to release"


def test_journal_header_is_the_script_before_typing(tmp_path: Path) -> None:
    script = make_script(["use 1", "deref 1"], capacity=3, eviction="lru")
    script.intro.notes.append("hello")
    session = Session.from_script(script, eviction="multi_lru", capacity=5)
    session.journal = Journal(tmp_path / "j.jsonl")
    session.insert("use 2")
    header = read_rows(tmp_path / "j.jsonl")[0]
    assert "use 2" not in header["script"]
    again = resume(tmp_path / "j.jsonl")
    assert again.config == Config(5, eviction="multi_lru")
    assert again.intro.notes == ["hello"]
    assert again.manager.dump() == session.manager.dump()


def test_sandbox_journal_resume(tmp_path: Path) -> None:
    session = sandbox(Config(3))
    assert session.total == 0 and session.name == "sandbox"
    session.journal = Journal(tmp_path / "sb.jsonl")
    for text in ["use 1 2", "deref 2", "use 3 4"]:
        session.insert(text)
    again = resume(tmp_path / "sb.jsonl")
    assert again.manager.dump() == session.manager.dump()
    assert again.cursor == 3


def test_resume_rejects_bad_journals(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text("not json\n")
    with pytest.raises(KvError, match=r"bad\.jsonl:1: not a kvtui journal"):
        resume(bad)
    bad.write_text('{"hello": 1}\n')
    with pytest.raises(KvError, match=r"bad\.jsonl:1: not a kvtui journal"):
        resume(bad)
    with pytest.raises(KvError, match="cannot read journal"):
        resume(tmp_path / "missing.jsonl")


def test_resume_stops_at_an_entry_that_no_longer_applies_and_keeps_the_rest(tmp_path: Path) -> None:
    session = Session(make_script(["use 1"]), Journal(tmp_path / "ok.jsonl"))
    session.insert("use 2")
    with (tmp_path / "ok.jsonl").open("a") as out:
        out.write(json.dumps({"at": 0, "command": "deref 42"}) + "\n")
        out.write(json.dumps({"at": 1, "command": "use 3"}) + "\n")
    resumed = resume_with_notices(tmp_path / "ok.jsonl")
    assert resumed.notices[0].startswith(f"{tmp_path / 'ok.jsonl'}:3: cannot replay journal entry: deref 42")
    assert [s.text for s in resumed.session.steps] == ["use 2", "use 1"]  # line 2 kept, 4 not replayed
    assert resumed.session.cursor == 1


def test_state_dir_and_latest_journal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KVTUI_STATE_DIR", str(tmp_path / "state"))
    assert state_dir() == tmp_path / "state"
    assert latest_journal() is None
    first = new_journal_path("My demo: lineage!")
    assert first.parent == tmp_path / "state" / "journals"
    assert first.name.endswith("-My-demo-lineage.jsonl")
    Session(make_script(["use 1"]), Journal(first)).insert("use 2")
    assert latest_journal() == first
    second = new_journal_path("My demo: lineage!")
    assert second != first
    Session(make_script(["use 1"]), Journal(second)).insert("use 3")
    now = time.time()
    os.utime(first, (now - 100, now - 100))
    os.utime(second, (now, now))
    assert latest_journal() == second
    assert new_journal_path("???").name.endswith("-session.jsonl")
    monkeypatch.delenv("KVTUI_STATE_DIR")
    assert state_dir() != tmp_path / "state"


OPS = st.lists(
    st.one_of(
        st.tuples(st.just("jump"), st.integers(0, 30)),
        st.tuples(st.just("type"), st.sampled_from(
            ["use 1 2 3", "use 1 2 4", "deref 3", "deref 4 2 1", "deref 1", "use ~q", "deref ~q",
             "promote ~q 9", "promote ~q 9 parent=2", "use 9 10", "deref 10 9", "tick 1",
             "expect inactive", "expect pools reset=4", "use 30 31 32 33", "deref 33 32 31 30",
             "use 5 x", "frob", "expect returned 3"])),
        st.tuples(st.just("gen"), st.integers(0, 99)),
    ),
    max_size=14,
)


@given(st.integers(0, 1000), st.integers(0, 12), OPS)
def test_random_typed_sequences_resume(seed: int, n: int, ops: list[tuple[str, Any]]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "j.jsonl"
        session = Session(make_script(random_texts(seed, n, capacity=5), capacity=5), Journal(path))
        typed_ok = 0
        for op, arg in ops:
            if op == "jump":
                try_jump(session, arg)
                continue
            if op == "gen":
                gen = Generator(random.Random(arg), capacity=5)
                gen.mgr = session.manager.clone()
                gen.fresh = 5000 + session.total
                arg = gen.take(1)[0]
            try:
                session.insert(arg)
                typed_ok += 1
            except StepError:
                pass
        if not typed_ok:
            assert not path.exists()
            return
        assert len(read_rows(path)) == typed_ok + 1
        # the journal does not record navigation: compare at the cursor of the last typed command
        last_at = read_rows(path)[-1]["at"]
        last_is_expect = read_rows(path)[-1]["command"].startswith("expect")
        assert try_jump(session, last_at + (0 if last_is_expect else 1)) is None
        again = resume(path)
        assert again.cursor == session.cursor
        assert [s.text for s in again.steps] == [s.text for s in session.steps]
        assert [[c.text for c in s.checks] for s in again.steps] == [
            [c.text for c in s.checks] for s in session.steps
        ]
        assert again.manager.dump() == session.manager.dump()
        assert_same_navigation(again, session, [0, again.total, again.total // 2])
