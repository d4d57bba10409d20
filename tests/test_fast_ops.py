"""The bulk and C-level index operations the manager's hot loops call, and `Use.plain`, each
against the plain operation it stands for (kvtui.sim.eviction.base, kvtui.sim.moves)."""

from __future__ import annotations

import random

import pytest

from kvtui.lang.commands import MoveCommand, parse
from kvtui.sim.errors import CommandError
from kvtui.sim.eviction import make_index
from kvtui.sim.manager import KvManager
from kvtui.sim.moves import Deref, Partial, Use

BACKENDS = ("lru", "lineage", "multi_lru")


def _chains(seed: int) -> list[list[tuple[int, int, int | None]]]:
    """Released chains of (block, slot, parent), tail first, some sharing a root."""
    rng, out, slot = random.Random(seed), [], 0
    for n in range(40):
        root = rng.randrange(5)
        chain = [root] + [1000 * (n + 1) + i for i in range(rng.randint(0, 5))]
        entries = []
        for i, block in enumerate(chain):
            entries.append((block, slot, chain[i - 1] if i else None))
            slot += 1
        out.append(entries[::-1])
    return out


@pytest.mark.parametrize("backend", BACKENDS)
def test_insert_all_pop_entry_and_discard_match_the_plain_operations(backend: str) -> None:
    bulk, plain = make_index(backend, 64), make_index(backend, 64)
    rng = random.Random(7)
    for chain in _chains(3):
        chain = [e for e in chain if e[0] not in plain]
        for block, _, _ in chain:
            bulk.touch(block)
            plain.touch(block)
        blocks = [b for b, _, _ in chain]
        bulk.insert_all(blocks, [s for _, s, _ in chain], [p for _, _, p in chain])
        for block, slot, parent in chain:
            plain.insert(block, slot, parent)
        assert bulk.order() == plain.order()
        if len(plain) > 4 and rng.random() < 0.5:  # an eviction
            assert bulk.pop_entry()[0] == plain.pop_victim()[0]
        if len(plain) and rng.random() < 0.5:  # a hit
            block = rng.choice(plain.order())
            bulk.discard(block)
            plain.remove(block)
        assert bulk.order() == plain.order()
        assert [bulk.describe(b) for b in bulk.order()] == [plain.describe(b) for b in plain.order()]


def test_parsed_plain_lines_are_vouched_for_and_others_are_not() -> None:
    for text in ("use 1 2 3", "deref 3 2 1"):
        command = parse(text)
        assert isinstance(command, MoveCommand) and command.move.plain  # type: ignore[union-attr]
    for text in ("use 1 ~a", "use 1 2 parent=0"):
        command = parse(text)
        assert isinstance(command, MoveCommand) and not command.move.plain  # type: ignore[union-attr]
    assert Use((1, 2)) == Use((1, 2), plain=True)  # not part of the move's identity


def test_moves_built_in_python_are_still_checked() -> None:
    mgr = KvManager(4)
    with pytest.raises(CommandError, match="not an integer"):
        mgr.apply(Use((1, True)))  # type: ignore[arg-type]
    with pytest.raises(CommandError, match="not an integer"):
        mgr.apply(Use((2**64,)))
    mgr.apply(Use((1, 2)))
    with pytest.raises(CommandError, match="not an integer"):
        mgr.apply(Deref((True,)))  # type: ignore[arg-type]
    assert mgr.refcount(1) == 1 and mgr.apply(Deref((2, 1))).returned == 1
    assert mgr.apply(Use((5, Partial("p")))).returned == 2  # a partial takes the general path
