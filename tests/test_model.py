"""The TUI snapshot model: built step by step it must equal a snapshot built from scratch.

After a step forward `build_snapshot` only looks at what the step touched; these tests replay
random valid sessions (tests/test_session.py's generator, every backend, request commands) and
compare every field the widgets read with a full rebuild of the same state.
"""

from __future__ import annotations

import dataclasses
import random

import pytest

from kvtui.lang.script import Script, Step, make_step
from kvtui.session.session import Session
from kvtui.sim.config import Config
from kvtui.tui.model import Snapshot, build_snapshot
from tests.test_session import make_script, random_texts


def shown(snap: Snapshot) -> tuple[object, ...]:
    """Everything a widget reads, as plain values."""
    return (
        snap.step, snap.slots, dict(snap.owner), snap.counts, snap.order, snap.reasons,
        dict(snap.blocks), list(snap.events), snap.step_events, snap.warnings, snap.expansion,
    )


def check_run(session: Session, moves: list[int]) -> int:
    """Visit cursors `moves` (one step forward where consecutive); compare each snapshot with
    a full rebuild. Returns how many snapshots were built incrementally."""
    snap = build_snapshot(session)
    incremental = 0
    for target in moves:
        if target == session.cursor + 1:
            session.forward(check_expects=False)
        elif target == session.cursor - 1:
            session.back()
        else:
            session.jump(target)
        full = build_snapshot(session, dataclasses.replace(snap, state=None))  # no shared state
        snap = build_snapshot(session, snap)
        incremental += snap.dirty is not None
        assert shown(snap) == shown(full), session.cursor
        assert snap.changed == full.changed, session.cursor
        if snap.dirty is not None:
            changed_slots = {s for s in range(snap.capacity) if snap.slots[s] != full.slots[s]}
            assert changed_slots <= snap.dirty
    return incremental


@pytest.mark.parametrize("eviction", ["lineage", "lru", "multi_lru"])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_incremental_snapshots_equal_full_rebuilds(eviction: str, seed: int) -> None:
    texts = random_texts(seed, 120, capacity=6, eviction=eviction)
    session = Session(make_script(texts, capacity=6, eviction=eviction))
    rng = random.Random(seed)
    moves = list(range(1, 61))
    moves += [rng.randint(0, 120) for _ in range(5)]
    moves += [moves[-1] + i for i in range(1, 20) if moves[-1] + i <= 120]
    assert check_run(session, moves) >= 60


@pytest.mark.parametrize("eviction", ["lineage", "lru", "multi_lru"])
def test_steps_back_update_incrementally(eviction: str) -> None:
    """Holding ← then → again: each step back undoes only what its step touched, and the
    event rows (a list the snapshots share) come back right when the steps are replayed."""
    texts = random_texts(4, 80, capacity=6, eviction=eviction)
    session = Session(make_script(texts, capacity=6, eviction=eviction))
    moves = [*range(1, 41), *range(39, 9, -1), *range(11, 61), *range(59, 49, -1), 52, 53]
    assert check_run(session, moves) >= len(moves) - 1  # all but the jump 50 -> 52


def test_typed_command_after_steps_back_replaces_the_event_rows() -> None:
    session = Session(make_script(["use 1 2", "deref 2 1", "use 3", "deref 3"], capacity=3))
    snap = build_snapshot(session)
    for _ in range(4):
        session.forward()
        snap = build_snapshot(session, snap)
    first = snap
    for _ in range(2):
        session.back()
        snap = build_snapshot(session, snap)
    for text in ("use 4 5", "deref 5"):  # a different history from step 3 on
        session.insert(text)
        full = build_snapshot(session, dataclasses.replace(snap, state=None))
        snap = build_snapshot(session, snap)
        assert snap.dirty is not None
        assert shown(snap) == shown(full) and snap.changed == full.changed
    assert [(e.kind, e.blocks) for _, e in snap.events][-2:] == [("stored", (4, 5)), ("removed", (2,))]
    assert [e.blocks for _, e in first.events][-1:] == [(3,)]  # an older snapshot keeps its rows


def test_request_steps_update_incrementally() -> None:
    texts = [
        'req a text "the quick brown fox jumps over the lazy dog again"',
        "prefill a", "decode a 3", "req b share a 8 14", "prefill b", "preempt a",
        "decode b 6", "resume a", "finish b", "use 1 2 3", "deref 3 2 1", "visit 5 6 7 8",
        "use ~x", "promote ~x 9", "deref 9", "finish a",
    ]
    steps = [make_step(text, n) for n, text in enumerate(texts, 1)]
    session = Session(Script("r.yaml", "r", "", Config(8, block_size=4), steps, Step("")))
    assert check_run(session, list(range(1, len(texts) + 1))) == len(texts)


def test_typed_commands_update_incrementally() -> None:
    session = Session(make_script(["use 1 2", "deref 2 1"], capacity=3))
    snap = build_snapshot(session)
    for text in ("use 1 2 3", "deref 3", "use 4", "deref 4 2"):
        session.insert(text)
        full = build_snapshot(session, dataclasses.replace(snap, state=None))
        snap = build_snapshot(session, snap)
        assert snap.dirty is not None
        assert shown(snap) == shown(full) and snap.changed == full.changed
