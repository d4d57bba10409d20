"""The fast `lineage` index against its previous implementation (tests/lineage_reference.py).

Random forests (each id's parent is fixed, as recorded lineage is) get chains released tail
first or root first, arbitrary release orders, hits along a chain (root first, leaving ghosts),
single hits, evictions, clones and freeze/thaw round trips. After every operation both indexes
must agree on everything observable: victims and their slots, `order`, `describe`, `tick`,
`is_leaf`, membership, size and the number of nodes (ghosts included).
"""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kvtui.sim.eviction import LineageIndex
from tests.lineage_reference import ReferenceLineage

IDS = 12

# parents[i] is None (a root) or one of the few ids just below i: a forest over 0..IDS-1 with
# deep chains and branches
PARENTS = st.lists(st.integers(0, 3), min_size=IDS, max_size=IDS).map(
    lambda offsets: [i - off if 0 < off <= i else None for i, off in enumerate(offsets)]
)
OPS = st.lists(
    st.one_of(
        st.tuples(st.just("chain"), st.integers(0, IDS - 1), st.integers(1, 6), st.booleans()),
        st.tuples(st.just("release"), st.lists(st.integers(0, IDS - 1), max_size=4, unique=True)),
        st.tuples(st.just("hit_chain"), st.integers(0, IDS - 1), st.integers(1, 6)),
        st.tuples(st.just("hit"), st.integers(0, IDS - 1)),
        st.tuples(st.just("pop"), st.integers(1, 4)),
        st.tuples(st.just("clone")),
        st.tuples(st.just("freeze")),
    ),
    max_size=60,
)


def chain(parents: list[int | None], block: int, length: int) -> list[int]:
    """`block` and up to length-1 of its ancestors, root first."""
    out = [block]
    while len(out) < length and (up := parents[out[-1]]) is not None:
        out.append(up)
    return out[::-1]


def check_same(fast: LineageIndex, ref: ReferenceLineage) -> None:
    assert len(fast) == len(ref)
    assert fast.node_count == ref.node_count
    assert fast.order() == ref.order()
    assert fast.order(2) == ref.order(2)
    for block in range(IDS):
        assert (block in fast) == (block in ref)
        assert fast.is_leaf(block) == ref.is_leaf(block)
        if block in ref:
            assert fast.describe(block) == ref.describe(block)
            assert fast.tick(block) == ref.tick(block)
        else:
            with pytest.raises(KeyError):
                fast.describe(block)
            with pytest.raises(KeyError):
                fast.tick(block)


class Pair:
    """The fast index and the reference, driven by the same operations."""

    def __init__(self, parents: list[int | None]) -> None:
        self.parents = parents
        self.fast, self.ref = LineageIndex(), ReferenceLineage()
        self.slot = 0

    def apply(self, op: tuple) -> None:
        kind, fast, ref = op[0], self.fast, self.ref
        if kind in ("chain", "release"):
            if kind == "chain":
                blocks = chain(self.parents, op[1], op[2])
                if op[3]:  # tail first, as a deref releases a request's chain
                    blocks.reverse()
            else:
                blocks = list(op[1])
            blocks = [b for b in blocks if b not in ref]
            slots = list(range(self.slot, self.slot + len(blocks)))
            self.slot += len(blocks)
            ups = [self.parents[b] for b in blocks]
            fast.insert_all(blocks, slots, ups)
            ref.insert_all(blocks, slots, ups)
        elif kind == "hit_chain":  # a Use hitting a cached chain root first
            for block in chain(self.parents, op[1], op[2]):
                if block in ref:
                    assert fast.discard(block) == ref.remove(block)
        elif kind == "hit":
            if op[1] in ref:
                assert fast.remove(op[1]) == ref.remove(op[1])
            else:
                with pytest.raises(KeyError):
                    fast.remove(op[1])
        elif kind == "pop":
            for _ in range(min(op[1], len(ref))):
                assert fast.pop_entry() == ref.pop_victim()
            if not len(ref):
                with pytest.raises(IndexError):
                    fast.pop_victim()
        elif kind == "clone":  # continue on the clones; an eviction there leaves the originals
            self.fast, self.ref = fast.clone(), ref.clone()
            if len(ref):
                assert self.fast.pop_victim() == self.ref.pop_victim()
            check_same(fast, ref)
        else:
            self.fast, self.ref = fast.freeze().thaw(), ref.clone()
        check_same(self.fast, self.ref)


@settings(max_examples=300)
@given(PARENTS, OPS)
def test_fast_index_matches_reference(parents: list[int | None], ops: list[tuple]) -> None:
    pair = Pair(parents)
    for op in ops:
        pair.apply(op)


@pytest.mark.parametrize("seed", range(40))
def test_long_random_runs_match_reference(seed: int) -> None:
    """Long seeded runs reach what short examples rarely do: re-released linked ghosts under a
    real parent, chains eaten while others wait, heaps that compact."""
    rng = random.Random(seed)
    parents = [i - off if 0 < (off := rng.randrange(4)) <= i else None for i in range(IDS)]
    pair = Pair(parents)
    for _ in range(300):
        roll = rng.random()
        block = rng.randrange(IDS)
        if roll < 0.35:
            pair.apply(("chain", block, rng.randint(1, 6), rng.random() < 0.7))
        elif roll < 0.45:
            pair.apply(("release", rng.sample(range(IDS), rng.randint(1, 4))))
        elif roll < 0.65:
            pair.apply(("hit_chain", block, rng.randint(1, 6)))
        elif roll < 0.75:
            pair.apply(("hit", block))
        elif roll < 0.96:
            pair.apply(("pop", rng.randint(1, 4)))
        else:
            pair.apply((rng.choice(["clone", "freeze"]),))


def test_clone_is_independent() -> None:
    index = LineageIndex()
    index.insert_all([3, 2, 1], [0, 1, 2], [2, 1, None])  # a chain released tail first
    twin = index.clone()
    assert index.pop_victim() == (3, 0)
    index.insert(9, 5, 1)
    assert twin.order() == [3, 2, 1] and twin.describe(2) == "behind 1 child, released at tick 1"
    assert index.order() == [2, 9, 1]


def test_freeze_round_trip_with_wide_ids_and_ghosts() -> None:
    """Ids past 2^63 and unlinked ghosts (parent None) still pack and thaw to the same index."""
    big = 2**64 - 1
    index = LineageIndex()
    index.insert_all([big, big - 1], [7, 8], [big - 1, big - 2])  # big - 2 becomes a ghost
    index.insert(5, 9, None)
    index.remove(big - 1)  # a real node with a child: stays as a ghost, keeps its link
    thawed = index.freeze().thaw()
    assert thawed.order() == index.order() == [big, 5]
    assert thawed.node_count == index.node_count == 4
    assert len(thawed) == len(index) == 2 and big - 1 not in thawed
    assert [thawed.pop_victim() for _ in range(2)] == [index.pop_victim() for _ in range(2)]
    assert thawed.node_count == index.node_count == 0


def test_insert_of_an_inactive_block_raises_and_keeps_ticks_unique() -> None:
    index = LineageIndex()
    index.insert(1, 0, None)
    with pytest.raises(ValueError):
        index.insert_all([2, 1], [1, 2], [None, None])
    index.insert(3, 3, None)  # 2 was inserted before the error: 3 gets the next tick
    assert [index.tick(b) for b in (1, 2, 3)] == [0, 1, 2]


def test_a_block_twice_in_one_release_raises() -> None:
    """The second 5 finds the node the first made real (not the ghost 6 made for it)."""
    index, ref = LineageIndex(), ReferenceLineage()
    for each in (index, ref):
        with pytest.raises(ValueError):
            each.insert_all([6, 5, 5], [0, 1, 2], [5, None, None])
    assert index.order() == ref.order() == [6, 5]
