"""Worked examples of SPEC §3 and the backend tests of reference/kvbm_logical.md §3–§4."""

from __future__ import annotations

import pytest

from kvtui.sim.eviction import LineageIndex, LruIndex, MultiLruIndex, make_index
from kvtui.sim.eviction.multi_lru import tier_for
from kvtui.sim.eviction.tinylfu import TinyLfu
from tests.support import Driver


def drain(index: LineageIndex | LruIndex | MultiLruIndex) -> list[int]:
    predicted = index.order()
    taken = [index.pop_victim()[0] for _ in range(len(index))]
    assert taken == predicted
    return taken


# -- lineage (SPEC §3.1) ----------------------------------------------------------------------


def test_lineage_interleaved_chains_tick() -> None:
    index = LineageIndex()
    index.insert(1, 0, None)  # A
    index.insert(2, 1, 1)  # B under A
    index.insert(10, 2, None)  # X
    index.insert(11, 3, 10)  # Y under X
    assert drain(index) == [2, 1, 11, 10]  # B, A, Y, X


def test_lineage_parent_child_insertion() -> None:
    index = LineageIndex()
    index.insert(0, 0, None)
    index.insert(1, 1, 0)
    assert [index.is_leaf(b) for b in (0, 1)] == [False, True]
    assert drain(index) == [1, 0]


def test_lineage_out_of_order_insertion() -> None:
    index = LineageIndex()
    index.insert(1, 1, 0)  # child first: ghost parent
    index.insert(0, 0, None)
    assert drain(index) == [1, 0]


def test_lineage_branching_keeps_two_leaves() -> None:
    index = LineageIndex()
    for chain in ((0, 1, 2), (10, 11, 12)):
        parent = None
        for block in chain:
            index.insert(block, block, parent)
            parent = block
    assert sum(index.is_leaf(b) for b in (0, 1, 2, 10, 11, 12)) == 2
    index.pop_victim()
    assert sum(index.is_leaf(b) for b in (0, 1, 10, 11, 12)) == 2


def test_lineage_re_leafed_node_keeps_original_tick() -> None:
    # A0(t0) -> A1(t1), B0(t2) -> B1(t3); removing A1 by hit re-leafs A0 with tick 0.
    index = LineageIndex()
    index.insert(100, 0, None)
    index.insert(101, 1, 100)
    index.insert(200, 2, None)
    index.insert(201, 3, 200)
    index.remove(101)
    assert index.order(2) == [100, 201]


def test_lineage_reinsert_gets_fresh_tick() -> None:
    index = LineageIndex()
    for block in (0, 1, 2):
        index.insert(block, block, None)
    index.remove(0)
    index.insert(0, 0, None)
    assert drain(index) == [1, 2, 0]


def test_lineage_deep_chain_cleanup() -> None:
    index = LineageIndex()
    parent = None
    for block in range(1000):
        index.insert(block, block, parent)
        parent = block
    index.remove(999)
    assert len(index) == 999
    assert index.is_leaf(998)
    lone = LineageIndex()
    lone.insert(5000, 0, 4999)  # ghost parent made for it
    lone.remove(5000)
    assert lone.node_count == 0  # the ghost chain is pruned


def test_lineage_worked_example_two_requests() -> None:
    # kvbm_logical.md §3.1: A->B->C by request 1, A,B + D by request 2; order C, D, B, A.
    d = Driver(8)
    d.use(1, 2, 3)  # A B C
    d.use(1, 2, 4)  # A B D
    d.deref(1, 2, 3)
    d.deref(1, 2, 4)
    assert d.mgr.eviction_order() == [3, 4, 2, 1]


def test_spec_active_never_inactive_block_does_not_protect_parent() -> None:
    d = Driver(8)
    d.use(1, 2, 3)
    d.deref(1)
    d.deref(3)
    assert d.mgr.eviction_order() == [1, 3]


def test_spec_block_once_inactive_then_hit_protects_parent() -> None:
    d = Driver(8)
    d.use(1, 2, 3)
    d.deref(3, 2, 1)
    d.use(1, 2)
    d.deref(1)
    assert d.mgr.eviction_order() == [3, 1]


def test_spec_capacity_four_branch_example() -> None:
    d = Driver(4)
    d.use(1, 2, 3)
    d.use(1, 2, 4)
    d.deref(3, 2, 1)
    d.deref(4, 2, 1)
    assert d.mgr.eviction_order() == [3, 4, 2, 1]
    victims = []
    for new in (50, 51, 52, 53):
        d.use(new)
        victims += [b for e in d.drain() if e.kind == "removed" for b in e.blocks]
    assert victims == [3, 4, 2, 1]


def test_spec_seed_lifecycle_order() -> None:
    d = Driver(10)
    d.use(0, 1, 2, 3, 4)
    d.use(0, 1, 5, 6)
    d.deref(4, 3, 2, 1, 0)
    d.deref(6, 5, 1, 0)
    d.use(0, 1, 2, 7, 8, 9)
    assert d.mgr.eviction_order() == [4, 3, 6, 5]


# -- lru (SPEC §3.2) --------------------------------------------------------------------------


def test_lru_evicts_oldest_release_first() -> None:
    index = LruIndex()
    for block in (1, 2, 3):
        index.insert(block, block, None)
    assert index.pop_victim()[0] == 1


def test_lru_has_does_not_change_order() -> None:
    index = LruIndex()
    index.insert(1, 1, None)
    index.insert(2, 2, None)
    assert 1 in index
    assert drain(index) == [1, 2]


def test_lru_chain_released_root_first_is_evicted_root_first() -> None:
    d = Driver(4, eviction="lru")
    d.use(1, 2, 3)
    d.deref(1, 2, 3)
    assert d.mgr.eviction_order() == [1, 2, 3]
    lineage = Driver(4)
    lineage.use(1, 2, 3)
    lineage.deref(1, 2, 3)
    assert lineage.mgr.eviction_order() == [3, 2, 1]


def test_lru_hit_removes_entry_and_reinsert_is_newest() -> None:
    d = Driver(4, eviction="lru")
    d.use(1)
    d.use(2)
    d.deref(1)
    d.deref(2)
    d.use(1)
    d.deref(1)
    assert d.mgr.eviction_order() == [2, 1]


# -- multi_lru and TinyLFU (SPEC §3.3) ---------------------------------------------------------


TIERS = [(0, 0), (2, 0), (3, 1), (7, 1), (8, 2), (14, 2), (15, 3)]


@pytest.mark.parametrize(("count", "tier"), TIERS)
def test_multi_lru_tier_thresholds(count: int, tier: int) -> None:
    assert tier_for(count) == tier


def test_multi_lru_touched_six_times_survives() -> None:
    # kvbm_logical.md §3.3 with default thresholds: 6 touches land h3 in tier 1 (warm),
    # untouched h1, h2 stay in tier 0, so allocate(2) takes 1 and 2 and h3 stays.
    index = MultiLruIndex(1024)
    for _ in range(6):
        index.touch(3)
    for block in (1, 2, 3):
        index.insert(block, block, None)
    assert index.tier(3) == 1
    assert [index.pop_victim()[0] for _ in range(2)] == [1, 2]
    assert 3 in index


def test_multi_lru_tier_is_fixed_at_insertion() -> None:
    index = MultiLruIndex(1024)
    index.insert(7, 0, None)
    for _ in range(20):
        index.touch(7)
    assert index.tier(7) == 0
    index.remove(7)
    index.insert(7, 0, None)
    assert index.tier(7) == 3


def test_multi_lru_frequent_prefix_outlives_newer_cold_blocks() -> None:
    d = Driver(4, eviction="multi_lru")
    for _ in range(4):  # registration + 3 inactive hits: estimate 4 -> warm
        d.use(1)
        d.deref(1)
    d.use(2)
    d.use(3)
    d.deref(2)
    d.deref(3)
    assert d.mgr.eviction_order() == [2, 3, 1]


def test_multi_lru_active_hits_do_not_touch() -> None:
    d = Driver(64, eviction="multi_lru")
    d.use(1)
    for _ in range(10):
        d.use(1)  # active hits
    index = d.mgr.pool.index
    assert isinstance(index, MultiLruIndex)
    assert index.sketch.estimate(1) == 1


def test_tinylfu_counts_saturate_at_fifteen() -> None:
    sketch = TinyLfu(1 << 16)
    for _ in range(40):
        sketch.increment(42)
    assert sketch.estimate(42) == 15


def test_tinylfu_decay_halves_counters() -> None:
    # Upstream test: 4 increments, then a forced decay on the next increment -> estimate 2.
    sketch = TinyLfu(1024)
    for _ in range(4):
        sketch.increment(9)
    sketch.size = sketch.sample_size - 1
    sketch.increment(9)
    assert sketch.estimate(9) == 2


def test_tinylfu_width_follows_capacity() -> None:
    assert TinyLfu(1).width == 1
    assert TinyLfu(4096).width == 1024
    assert TinyLfu(4096).sample_size == 40960


@pytest.mark.parametrize("name", ["lineage", "lru", "multi_lru"])
def test_clone_is_independent(name: str) -> None:
    index = make_index(name, 16)
    for block in range(5):
        index.insert(block, block, block - 1 if block else None)
    twin = index.clone()
    index.pop_victim()
    assert len(twin) == 5
    assert len(index) == 4
