"""Shared append-only history (kvtui.sim.history) and the session's bounded checkpoints.

A clone shares lineage records and events with its original up to a watermark. These tests pin
what that must never change: every holder sees exactly its own history, whichever way the others
moved, and a session reaches the same state (events included) by any path.
"""

from __future__ import annotations

import random

import pytest

from kvtui.lang.script import Script, Step, make_step
from kvtui.session import session as session_module
from kvtui.session.session import Session, StepError
from kvtui.sim.config import Config
from kvtui.sim.errors import KvError
from kvtui.sim.history import EventHistory, LineageHistory
from kvtui.sim.manager import KvManager
from kvtui.sim.moves import Deref, Use
from tests.test_session import make_script, random_texts, reference


def test_a_clone_sees_its_prefix_while_the_original_grows() -> None:
    log: EventHistory[str] = EventHistory()
    log.append("a")
    early = log.clone()
    log.append("b")
    assert early.items() == ["a"] and log.items() == ["a", "b"]
    lineage = LineageHistory()
    lineage.add(1, None, 0)
    before = lineage.clone()
    lineage.add(2, 1, 1)
    assert dict(before.items()) == {1: (None, 0)}
    assert 2 not in before and before.get(2) is None and len(before) == 1
    with pytest.raises(KeyError):
        before[2]
    assert dict(lineage.items()) == {1: (None, 0), 2: (1, 1)}


def test_replaying_the_same_history_keeps_later_clones_intact() -> None:
    log: EventHistory[int] = EventHistory()
    for item in range(3):
        log.append(item)
    start = log.clone()
    start.n = 1  # back to after the first entry, as a restored checkpoint
    ahead = log.clone()
    start.append(1)  # the same entry again
    assert start.items() == [0, 1] and ahead.intact() and ahead.items() == [0, 1, 2]


def test_a_diverging_write_cuts_the_future_and_only_later_clones_notice() -> None:
    lineage = LineageHistory()
    for block in (1, 2, 3):
        lineage.add(block, block - 1 if block > 1 else None, block - 1)
    ahead = lineage.clone()  # sees 1, 2, 3
    past = lineage.clone()
    past.n = 1  # sees 1
    behind = past.clone()
    past.add(9, 1, 1)  # differs from the recorded 2: the history diverges here
    assert dict(past.items()) == {1: (None, 0), 9: (1, 1)}
    assert not ahead.intact()
    assert behind.intact() and dict(behind.items()) == {1: (None, 0)}
    assert 2 not in past and 3 not in past


def test_manager_clones_share_history_but_not_state() -> None:
    mgr = KvManager(4, eviction="lru")
    mgr.apply(Use((1, 2, 3)))
    twin = mgr.clone()
    twin.apply(Deref((3,)))  # Blocks are shared until changed: each side copies on write
    assert twin.refcount(3) == 0 and mgr.refcount(3) == 1
    mgr.apply(Deref((3, 2, 1)))
    mgr.apply(Use((4, 5)))  # evicts 3, released first
    assert twin.refcount(1) == twin.refcount(2) == 1 and twin.eviction_order() == [3]
    assert [e.event_id for e in twin.events] == [0] and len(mgr.events) == 3
    assert 4 not in twin.lineage and mgr.lineage[5] == (4, 1)
    assert twin.dump()["blocks"] == [(1, 0, None, 0, 0, 1), (2, 1, 1, 1, 0, 1), (3, 2, 2, 2, 0, 0)]


def _session(texts: list[str]) -> Session:
    steps = [make_step(text, n) for n, text in enumerate(texts, 1)]
    return Session(Script("h.yaml", "h", "", Config(8, block_size=4), steps, Step("")))


def test_a_failed_request_typed_in_the_past_leaves_the_future_reachable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A request command that fails part-way writes events and lineage before its rollback; typed
    in the past it cuts the shared history that checkpoints ahead relied on."""
    monkeypatch.setattr(session_module, "FIRST_INTERVAL", 2)
    monkeypatch.setattr(session_module, "NEAR_EVERY", 3)
    probe = KvManager(8, block_size=4)
    probe_session = _session(["req r tokens 1 2 3 4 5 6", "prefill r", "decode r 7"])
    probe_session.run_to_end()
    target = probe_session.world.requests.requests["r"].seq.unique_blocks[2]
    assert isinstance(target, int) and probe.capacity == 8
    tail = [f"use {100 + i} {200 + i}" if i % 2 == 0 else f"deref {199 + i} {99 + i}" for i in range(20)]
    texts = ["req r tokens 1 2 3 4 5 6", "prefill r", f"use {target}", f"deref {target}", *tail]
    want = _session(texts)
    dumps = [want.manager.dump()]
    while want.cursor < want.total:
        want.forward()
        dumps.append(want.manager.dump())
    session = _session(texts)
    session.jump(session.total)
    session.jump(4)
    with pytest.raises(StepError, match="this command implies"):
        session.insert("decode r 7")  # its promote and use apply, then a promote fails
    assert session.manager.dump() == dumps[4]
    for target_step in (session.total, 9, 17, 5, session.total):
        session.jump(target_step)
        assert session.manager.dump() == dumps[target_step], target_step
    assert all(w.intact() for w in session.checkpoints.values())


def test_checkpoints_keep_to_the_byte_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(session_module, "FIRST_INTERVAL", 2)
    texts = random_texts(44, 400, capacity=8)
    dumps = reference(texts, capacity=8)
    probe = Session(make_script(texts, capacity=8))
    budget = 12 * probe.world.footprint()  # a dozen checkpoints of a full pool at most
    monkeypatch.setattr(session_module, "CHECKPOINT_BYTES", budget)
    session = Session(make_script(texts, capacity=8))
    session.jump(400)
    assert sum(session._sizes.values()) <= budget
    assert session.interval > 2
    assert len(session._near) <= session_module.NEAR_KEEP
    rng = random.Random(9)
    for _ in range(40):
        target = rng.randint(0, 400)
        session.jump(target)
        assert session.manager.dump() == dumps[target], target
        if target:
            session.back()
            assert session.manager.dump() == dumps[target - 1], target


@pytest.mark.parametrize("chain", [(1, 2, 1), (2, 1, 2), (5, 5), (1, 2, 3, 9, 9), (1, 9, 1)])
def test_the_fast_use_path_hands_repeated_ids_to_the_checked_path(chain: tuple[int, ...]) -> None:
    mgr = KvManager(8)
    mgr.apply(Use((1, 2, 3)))  # 1, 2 and 3 recorded (and held): repeats of them and of new ids
    before = mgr.dump()
    with pytest.raises(KvError, match="appears twice in one use"):
        mgr.apply(Use(chain))
    assert mgr.dump() == before
