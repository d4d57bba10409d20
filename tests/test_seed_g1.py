"""The seed's G1 tests (`mod tests` of shared/seed/kv_manager.rs, except `kvbm-offload`).

Same names, same expectations. Where the seed builds a PLH by hand, the ids here carry the same
lineage through the command semantics (SPEC §8): ids used alone are roots, ids in one `use`
form a chain. Sequence-level seed tests (ActiveSequence) live in test_sequence.py.
"""

from __future__ import annotations

import pytest

from kvtui.sim import Use
from kvtui.sim.errors import CommandError, UnknownPartialError
from tests.support import Driver, removed, stored


def test_use_single_full_block() -> None:
    d = Driver(10)
    assert d.use(1) == 1
    assert d.mgr.num_active_blocks == 1


def test_use_rejects_short_token_ids_before_mutating_state() -> None:
    d = Driver(10)
    with pytest.raises(CommandError):
        d.mgr.use(Use((1, 2), token_hashes=(101,)))
    assert d.mgr.num_active_blocks == 0
    assert d.mgr.active() == {}
    assert d.mgr.events == []
    assert d.mgr.lineage == {}


def test_duplicate_use_bumps_refcount() -> None:
    d = Driver(10)
    d.use(1)
    d.use(1)
    assert d.mgr.num_active_blocks == 1
    assert d.mgr.num_active_block_refs == 2


def test_capacity_exhaustion_returns_partial() -> None:
    d = Driver(4)
    for i in range(4):
        assert d.use(i) == 1
    assert d.use(4) == 0


def test_deref_returns_to_inactive() -> None:
    d = Driver(4)
    d.use(1)
    d.deref(1)
    assert d.mgr.num_active_blocks == 0
    assert d.mgr.num_inactive_blocks == 1


def test_inactive_reuse_via_match_blocks() -> None:
    # The seed matches by PLH; here the id is the PLH, so reuse is by id.
    d = Driver(10)
    d.use(1)
    d.deref(1)
    assert d.use(1) == 1
    assert d.mgr.num_inactive_blocks == 0
    assert d.mgr.refcount(1) == 1
    assert len(d.drain()) == 1  # only the first store


def test_eviction_frees_inactive_for_new_allocation() -> None:
    d = Driver(4)
    for i in range(4):
        d.use(i)
    for i in range(4):
        d.deref(i)
    for i in range(10, 14):
        assert d.use(i) == 1
    assert d.mgr.num_active_blocks == 4


def test_promote_basic() -> None:
    d = Driver(10)
    d.use("~u")
    d.promote("~u", 42)
    assert d.mgr.num_active_blocks == 1
    assert d.mgr.partials == {}
    assert d.mgr.active() == {42: 1}


def test_promote_nonexistent_panics() -> None:
    d = Driver(10)
    before = d.mgr.dump()
    with pytest.raises(UnknownPartialError, match="partial block is not held"):
        d.promote("~ghost", 42)
    assert d.mgr.dump() == before


def test_deref_partial_returns_to_reset() -> None:
    d = Driver(10)
    d.use("~u")
    assert len(d.mgr.partials) == 1
    d.deref("~u")
    assert d.mgr.partials == {}
    assert d.mgr.num_active_block_refs == 0
    assert d.mgr.num_reset == 10


def test_prefill_cost_no_overlap() -> None:
    # 35 tokens at block size 16: two full blocks (the partial is never cached).
    d = Driver(10)
    cost = d.mgr.prefill_cost([7001, 7002])
    assert (cost.cached_blocks, cost.new_blocks) == (0, 2)


@pytest.mark.parametrize("backend", ["lru", "multi_lru"])
def test_eviction_backend_lru_and_multi_lru(backend: str) -> None:
    d = Driver(4, eviction=backend)
    for i in range(4):
        assert d.use(i) == 1
    for i in range(4):
        d.deref(i)
    for i in range(10, 14):
        assert d.use(i) == 1, backend
    assert d.mgr.num_active_blocks == 4


def test_failure_on_max_capacity() -> None:
    d = Driver(10)
    assert d.use(*range(10)) == 10
    assert d.mgr.num_active_blocks == 10
    assert d.use(10) == 0


def _assert_active(d: Driver, expected: dict[int, int]) -> None:
    assert d.mgr.num_active_blocks == len(expected)
    assert d.mgr.num_active_block_refs == sum(expected.values())
    assert d.mgr.active() == expected


def _assert_inactive(d: Driver, expected: set[int]) -> None:
    assert d.mgr.num_inactive_blocks == len(expected)
    assert set(d.mgr.eviction_order()) == expected
    assert all(not d.mgr.is_active(b) and d.mgr.is_inactive(b) for b in expected)


def test_block_lifecycle_stringent() -> None:
    d = Driver(10, eviction="lineage")
    assert d.use(0, 1, 2, 3, 4) == 5
    events = d.drain()
    assert len(events) == 1
    assert stored(events[0]) == ([0, 1, 2, 3, 4], None)

    assert d.use(0, 1, 5, 6) == 4
    events = d.drain()
    assert len(events) == 1
    assert stored(events[0]) == ([5, 6], 1)
    _assert_active(d, {0: 2, 1: 2, 2: 1, 3: 1, 4: 1, 5: 1, 6: 1})

    d.deref(4, 3, 2, 1, 0)
    assert d.drain() == []
    _assert_active(d, {0: 1, 1: 1, 5: 1, 6: 1})
    _assert_inactive(d, {2, 3, 4})

    d.deref(6, 5, 1, 0)
    assert d.drain() == []
    _assert_active(d, {})
    _assert_inactive(d, {0, 1, 2, 3, 4, 5, 6})

    assert d.use(0, 1, 2, 7, 8, 9) == 6
    events = d.drain()
    assert len(events) == 1
    assert stored(events[0]) == ([7, 8, 9], 2)
    _assert_active(d, {0: 1, 1: 1, 2: 1, 7: 1, 8: 1, 9: 1})
    _assert_inactive(d, {3, 4, 5, 6})

    assert d.use(10, 11, 12) == 3
    events = d.drain()
    assert len(events) == 2
    assert stored(events[0]) == ([10, 11, 12], None)
    assert removed(events[1]) == [4, 3, 6]
    _assert_active(d, {b: 1 for b in (0, 1, 2, 7, 8, 9, 10, 11, 12)})
    _assert_inactive(d, {5})

    assert d.use(13) == 1
    events = d.drain()
    assert len(events) == 2
    assert stored(events[0]) == ([13], None)
    assert removed(events[1]) == [5]
    _assert_active(d, {b: 1 for b in (0, 1, 2, 7, 8, 9, 10, 11, 12, 13)})
    assert d.mgr.num_inactive_blocks == 0


def test_chunked_prefill_parent_hash() -> None:
    # Block level of the seed test: chunk 2's Use names chunk 1's last block as parent.
    d = Driver(256, block_size=64)
    d.use(100, 101, 102, 103)
    d.use(104, 105, 106, 107, parent=103)
    first, second = d.drain()
    assert stored(first) == ([100, 101, 102, 103], None)
    assert stored(second) == ([104, 105, 106, 107], 103)


def test_inactive_hit_does_not_republish_stored() -> None:
    d = Driver(4)
    d.use(1)
    d.deref(1)
    d.use(1)
    kinds = [e.kind for e in d.drain()]
    assert kinds.count("stored") == 1
    assert kinds.count("removed") == 0


def test_stored_suffix_anchors_to_last_reused_block() -> None:
    d = Driver(8)
    d.use(10, 11)
    d.deref(10)
    d.deref(11)
    d.drain()
    d.use(10, 11, 12)
    events = d.drain()
    assert len(events) == 1
    assert stored(events[0]) == ([12], 11)


def test_shared_prefix_distinct_vs_refcount() -> None:
    d = Driver(8)
    d.use(10, 11, 12)
    assert d.mgr.num_active_blocks == 3
    assert d.mgr.num_active_block_refs == 3
    d.use(10, 11, 13)
    assert d.mgr.num_active_blocks == 4
    assert d.mgr.num_active_block_refs == 6


def test_eviction_emits_exact_removed_event() -> None:
    d = Driver(2)
    d.use(10, 11)
    d.deref(10)
    d.deref(11)
    assert d.mgr.num_active_blocks == 0
    assert d.mgr.num_inactive_blocks == 2
    d.drain()
    d.use(12)
    events = d.drain()
    removed_blocks = [b for e in events if e.kind == "removed" for b in e.blocks]
    assert len(removed_blocks) == 1
    assert removed_blocks[0] in (10, 11)
    assert sum(e.kind == "stored" for e in events) == 1


# -- seed tests that drive the manager through ActiveSequence (kvtui.workload.sequence) -----------


def test_prefill_cost_no_overlap_with_sequence() -> None:
    from kvtui.workload.sequence import ActiveSequence

    seq = ActiveSequence(list(range(35)), 10, 16)
    d = Driver(10)
    cost = d.mgr.prefill_cost(list(seq.full_block_ids()))
    assert cost.new_blocks == len(seq.full_block_ids()) == 2  # + the partial: 3 unique blocks
    assert cost.cached_blocks == 0


def test_chunked_prefill_parent_hash_with_sequence() -> None:
    from kvtui.workload.sequence import ActiveSequence

    seq = ActiveSequence(list(range(512)), 100, 64)
    d = Driver(256, block_size=64)
    for cumulative in (256, 512):
        signal = seq.prepare_allocation(cumulative)
        assert signal is not None
        d.mgr.apply(signal)
        seq.commit_allocation(cumulative)
    first, second = d.drain()
    assert first.parent_hash is None
    assert second.parent_hash == seq.unique_blocks[3]


def test_repreempt_after_partial_recompute_only_frees_reallocated_blocks() -> None:
    from kvtui.workload.sequence import ActiveSequence

    seq = ActiveSequence(list(range(6)), 16, 4)
    d = Driver(16, block_size=4)
    signal = seq.take_creation_signal()
    assert signal is not None
    assert d.mgr.apply(signal).returned == 2
    for _ in range(3):
        for move in seq.generate():
            d.mgr.apply(move)
        if seq.generated_tokens < seq.max_output_tokens:
            seq.commit_allocation(len(seq))
    assert d.mgr.num_active_blocks == 3
    for move in seq.reset_with_signal():
        d.mgr.apply(move)
    assert d.mgr.num_active_blocks == 0
    prompt_only = seq.prepare_allocation(seq.num_input_tokens)
    assert prompt_only is not None
    assert d.mgr.apply(prompt_only).returned == 2
    seq.commit_allocation(seq.num_input_tokens)
    assert d.mgr.num_active_blocks == 2
    for move in seq.reset_with_signal():
        d.mgr.apply(move)
    assert d.mgr.num_active_blocks == 0


def test_random_plh_stable_across_preempt_retry() -> None:
    from kvtui.workload.sequence import ActiveSequence

    seq = ActiveSequence(list(range(64)), 100, 16, enable_prefix_caching=False)
    d = Driver(8, block_size=16)
    signal = seq.take_creation_signal()
    assert signal is not None
    assert d.mgr.apply(signal).returned == 4
    assert d.mgr.num_active_blocks == 4
    for move in seq.reset_with_signal():
        d.mgr.apply(move)
    assert d.mgr.num_active_blocks == 0
    assert d.mgr.num_inactive_blocks == 4
    signal = seq.take_creation_signal()
    assert signal is not None
    assert d.mgr.apply(signal).returned == 4
    assert d.mgr.num_active_blocks == 4
    assert d.mgr.num_inactive_blocks == 0
    assert sum(e.kind == "stored" for e in d.drain()) == 1
