"""SPEC §11: every invalid command is rejected with a one-line typed error and changes nothing.

Each case runs on a manager with non-trivial state (active blocks with several references,
inactive blocks, held partials, a promoted block, `stored` and `removed` events) for each
backend. Before/after we compare `mgr.dump()`, `next_event_id` and `deep_state(mgr)`, a
structural snapshot of every attribute reachable from the manager (pool, free-list order,
eviction index internals such as lineage ticks, heap and TinyLFU counters), so a rejected
command may not even consume a tick or touch a frequency counter.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

import pytest

from kvtui.sim import Deref, KvManager, Partial, Promote, Use
from kvtui.sim.errors import (
    CommandError,
    DuplicateBlockError,
    EmptyCommandError,
    LineageError,
    NotHeldError,
    UnknownPartialError,
)
from kvtui.sim.manager import MAX_ID
from tests.support import Driver

BACKENDS = ("lineage", "lru", "multi_lru")


def deep_state(obj: Any) -> Any:
    """A comparable snapshot of everything reachable from `obj` (order-sensitive containers)."""
    if obj is None or isinstance(obj, bool | int | float | str | bytes):
        return obj
    if isinstance(obj, bytearray):
        return bytes(obj)
    if hasattr(obj, "visible"):  # shared append-only history: what this holder sees of it
        return (type(obj).__name__, deep_state(obj.visible()))
    if isinstance(obj, dict):
        items = tuple((deep_state(k), deep_state(v)) for k, v in obj.items())
        return (type(obj).__name__, items)
    if isinstance(obj, list | tuple | deque):
        return (type(obj).__name__, tuple(deep_state(x) for x in obj))
    if isinstance(obj, set | frozenset):
        return (type(obj).__name__, tuple(sorted((deep_state(x) for x in obj), key=repr)))
    names: list[str] = []
    for cls in type(obj).__mro__:
        slots = cls.__dict__.get("__slots__", ())
        names.extend([slots] if isinstance(slots, str) else slots)
    if hasattr(obj, "__dict__"):
        names.extend(vars(obj))
    fields = tuple((n, deep_state(getattr(obj, n))) for n in sorted(set(names)) if hasattr(obj, n))
    return (type(obj).__name__, fields)


def busy(backend: str) -> KvManager:
    """Capacity 8 with active (1 and 2 held twice), inactive, partials, stored+removed events."""
    d = Driver(8, eviction=backend)
    assert d.use(1, 2, 3) == 3
    assert d.use(1, 2, 4) == 3  # 4 hangs under 2
    d.deref(4, 2, 1)  # 4 inactive; 1, 2 still held by the first use
    assert d.use(10, 11) == 2
    d.deref(11, 10)
    assert d.use("~p") == 1
    assert d.use(20, 21) == 2  # 21 evicts the oldest inactive block
    d.deref(21)
    assert d.use("~q") == 1  # evicts again
    assert d.use("~r") == 1
    d.promote("~r", 30)  # stored [30]
    assert d.use(1, 2) == 2  # active hits: 1 and 2 held twice
    mgr = d.mgr
    assert mgr.num_reset == 0 and mgr.num_inactive_blocks >= 1
    assert sorted(mgr.partials) == ["p", "q"]
    assert mgr.active() == {1: 2, 2: 2, 3: 1, 20: 1, 30: 1}
    kinds = {e.kind for e in mgr.events}
    assert kinds == {"stored", "removed"}
    return mgr


def _first_inactive(mgr: KvManager) -> Deref:
    return Deref((mgr.eviction_order()[0],))


P = Partial
Case = tuple[str, Callable[[KvManager], Any], type[Exception]]

CASES: list[Case] = [
    # deref of a block not held
    ("deref-never-seen", lambda m: Deref((99,)), NotHeldError),
    ("deref-inactive", _first_inactive, NotHeldError),
    ("deref-evicted", lambda m: Deref((4,)), NotHeldError),
    ("deref-held-then-not-held", lambda m: Deref((3, P("p"), 99)), NotHeldError),
    # deref listing a block more times than held
    ("deref-thrice-held-twice", lambda m: Deref((1, 1, 1)), NotHeldError),
    ("deref-twice-held-once", lambda m: Deref((20, P("p"), 20)), NotHeldError),
    # partials in deref
    ("deref-unknown-partial", lambda m: Deref((3, P("zz"))), UnknownPartialError),
    ("deref-partial-twice", lambda m: Deref((P("p"), 3, P("p"))), NotHeldError),
    ("deref-bad-partial-name", lambda m: Deref((3, P("a b"))), CommandError),
    ("deref-empty", lambda m: Deref(()), EmptyCommandError),
    ("deref-negative-id", lambda m: Deref((3, -1)), CommandError),
    ("deref-id-2^64", lambda m: Deref((3, MAX_ID + 1)), CommandError),
    # promote
    ("promote-unknown-partial", lambda m: Promote("zz", 50), UnknownPartialError),
    ("promote-released-partial", lambda m: Promote("r", 50), UnknownPartialError),
    ("promote-lineage-conflict", lambda m: Promote("p", 2, parent=10), LineageError),
    ("promote-root-given-parent", lambda m: Promote("p", 1, parent=3), LineageError),
    ("promote-parent-never-seen", lambda m: Promote("p", 50, parent=999), LineageError),
    ("promote-parent-partial", lambda m: Promote("p", 50, parent=P("q")), LineageError),
    ("promote-negative-id", lambda m: Promote("p", -1), CommandError),
    ("promote-id-2^64", lambda m: Promote("p", MAX_ID + 1), CommandError),
    ("promote-parent-2^64", lambda m: Promote("p", 50, parent=MAX_ID + 1), CommandError),
    ("promote-bad-name", lambda m: Promote("a b", 50), CommandError),
    ("promote-empty-name", lambda m: Promote("", 50), CommandError),
    # use: lineage
    ("use-lineage-conflict", lambda m: Use((P("new"), 40, 2)), LineageError),
    ("use-lineage-conflict-known", lambda m: Use((3, 2)), LineageError),
    ("use-lineage-conflict-parent", lambda m: Use((2,), parent=10), LineageError),
    ("use-lineage-conflict-late", lambda m: Use((40, 41, 42, 43, 44, 45, 46, 2)), LineageError),
    ("use-parent-never-seen", lambda m: Use((41,), parent=999), LineageError),
    ("use-parent-partial", lambda m: Use((41,), parent=P("p")), LineageError),
    # use: shape
    ("use-duplicate", lambda m: Use((P("new"), 41, 42, 41)), DuplicateBlockError),
    ("use-duplicate-known", lambda m: Use((1, 2, 1)), DuplicateBlockError),
    ("use-empty", lambda m: Use(()), EmptyCommandError),
    ("use-hashes-short", lambda m: Use((41, 42), token_hashes=(7,)), CommandError),
    ("use-hashes-long", lambda m: Use((41,), token_hashes=(7, 8)), CommandError),
    ("use-hashes-count-partials", lambda m: Use((P("new"), 41), token_hashes=(7, 8)), CommandError),
    ("use-negative-id", lambda m: Use((P("new"), 41, -1)), CommandError),
    ("use-id-2^64", lambda m: Use((MAX_ID + 1,)), CommandError),
    ("use-parent-2^64", lambda m: Use((41,), parent=MAX_ID + 1), CommandError),
    ("use-bool-id", lambda m: Use((41, True)), CommandError),
    ("use-str-id", lambda m: Use((41, "42")), CommandError),
    ("use-bad-partial-name", lambda m: Use((41, P("a b"))), CommandError),
    ("use-empty-partial-name", lambda m: Use((P(""),)), CommandError),
    ("use-non-ascii-partial-name", lambda m: Use((P("é"),)), CommandError),
    # not a MoveBlock at all
    ("apply-not-a-move", lambda m: "use 1", CommandError),
]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(("case", "make", "error"), CASES, ids=[c[0] for c in CASES])
def test_invalid_command_changes_nothing(
    backend: str, case: str, make: Callable[[KvManager], Any], error: type[Exception]
) -> None:
    mgr = busy(backend)
    move = make(mgr)
    dump, deep, next_id = mgr.dump(), deep_state(mgr), mgr.next_event_id
    with pytest.raises(CommandError) as info:
        mgr.apply(move)
    assert type(info.value) is error, f"{case}: {type(info.value).__name__}: {info.value}"
    message = str(info.value)
    assert message and "\n" not in message and "\r" not in message
    assert mgr.next_event_id == next_id
    assert mgr.dump() == dump
    assert deep_state(mgr) == deep


@pytest.mark.parametrize("backend", BACKENDS)
def test_rejected_command_leaves_manager_usable(backend: str) -> None:
    """After every rejection in a row, the manager behaves exactly like an untouched twin."""
    mgr = busy(backend)
    twin = mgr.clone()
    for _, make, _ in CASES:
        with pytest.raises(CommandError):
            mgr.apply(make(mgr))
    follow_up = [Use((1, 2, 3, 5, 6)), Deref((3, 2, 1)), Use((P("s"), 7)), Promote("p", 8)]
    for move in follow_up:
        assert mgr.apply(move) == twin.apply(move)
    assert mgr.dump() == twin.dump()
    assert deep_state(mgr) == deep_state(twin)


def test_boundary_ids_are_accepted() -> None:
    """Positive control for the bad-id cases: 0 and 2^64-1 are valid ids."""
    mgr = KvManager(4)
    assert mgr.apply(Use((0, MAX_ID))).returned == 2
    assert mgr.apply(Use((P("x"),), parent=None)).returned == 1
    mgr.apply(Promote("x", MAX_ID - 1, parent=MAX_ID))
    assert mgr.lineage[MAX_ID - 1] == (MAX_ID, 2)
