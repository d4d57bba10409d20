"""Scheduler with the G2 tier: parking on swap-ins (offload.md §4 and §7.12–§7.14), ported from
upstream's scheduler/vllm/tests.rs ``mod offload`` @9c0587910.

G2 is seeded directly (upstream ``seed_g2_blocks``). Block size 4, 1 MB per block at 1 GB/s
on the onboard link: one block takes 1 ms to swap in.
"""

from __future__ import annotations

from kvtui.sim.config import OffloadConfig
from kvtui.sim.moves import Deref, Use
from kvtui.workload.hashing import hash_token_blocks
from kvtui.workload.requests import PARKED, WAITING
from tests.scheduler_support import held_refs, req, run, seed_g2, world

MB = 1_000_000


def g2(gbps: float = 1.0, block_bytes: int = MB) -> OffloadConfig:
    return OffloadConfig(g2_blocks=16, block_size_bytes=block_bytes, g2_to_g1_gbps=gbps)


def ids(tokens: range) -> tuple[int, ...]:
    return hash_token_blocks(list(tokens), 4).block_ids


def test_ready_swap_ins_drain_on_pass_entry() -> None:
    """upstream ready_swap_ins_drain_on_pass_entry: park at 0, stay parked while the transfer
    runs, leave the parked list on the first pass after it lands."""
    w = world(8, 4, budget=64, seqs=4, offload=g2())
    req(w, "hit", range(0, 4))
    seed_g2(w, ids(range(0, 4)))
    first = run(w)
    report = first.passes[0]
    assert report.admitted == () and report.parked == ("hit",)
    assert w.scheduler is not None and [p.name for p in w.scheduler.parked] == ["hit"]
    assert w.requests.get("hit").state == PARKED
    # The pass did no work: upstream's stall advance moves the clock to the transfer's end.
    assert w.manager.clock_ms == 1.0
    second = run(w)
    assert not w.scheduler.parked and second.passes[0].unparked == ("hit",)
    # cold_request_with_g2_prefix_swaps_in_then_admits: admitted in the same pass, the
    # swapped-in block counted as reused.
    assert second.passes[0].admitted == (("hit", 4),)
    stored = [e for e in second.events if e.kind == "stored"]
    assert stored and stored[0].blocks == ids(range(0, 4))  # registered at pass entry
    assert not second.stored  # the admission's Use hit it: no new device store


def test_pending_swap_in_survives_a_pass() -> None:
    """While another request decodes, passes are shorter than the 100 ms transfer."""
    w = world(16, 4, budget=64, seqs=4, offload=g2(gbps=0.01))
    req(w, "busy", range(100, 104), out=40)
    req(w, "hit", range(0, 4))
    seed_g2(w, ids(range(0, 4)))
    run(w)
    assert w.scheduler is not None and [p.name for p in w.scheduler.parked] == ["hit"]
    run(w)
    assert w.manager.clock_ms < 100.0
    assert [p.name for p in w.scheduler.parked] == ["hit"]


def test_swap_in_reserves_its_destination_slot() -> None:
    """upstream g2_swap_in_reserves_destination_slot_before_transfer (1 GPU block)."""
    w = world(1, 4, budget=64, seqs=2, offload=g2())
    req(w, "hit", range(0, 4))
    req(w, "cold", range(4, 8))
    seed_g2(w, ids(range(0, 4)))
    result = run(w)
    assert w.scheduler is not None and [p.name for p in w.scheduler.parked] == ["hit"]
    assert w.manager.num_active_blocks == 1 and w.manager.num_reserved == 1
    assert result.passes[0].admitted == ()
    assert list(w.scheduler.waiting) == ["cold"]


def test_partial_swap_in_pins_the_cached_g1_prefix() -> None:
    """upstream partial_g2_swap_in_pins_cached_g1_prefix: two prefix blocks cached in G1, the
    third in G2; while parked the prefix is held and one destination slot reserved."""
    w = world(3, 4, budget=64, seqs=4, offload=g2())
    chain = ids(range(0, 12))
    w.manager.apply(Use(chain[:2]))
    w.manager.apply(Deref(chain[:2]))
    req(w, "r", range(0, 12))
    seed_g2(w, chain[2:], parent=chain[1])
    result = run(w)
    assert w.scheduler is not None and w.scheduler.parked[0].prefix == chain[:2]
    assert result.passes[0].admitted == ()
    assert w.manager.num_active_blocks == 3  # two pinned prefix blocks + one reserved slot
    assert w.manager.active() == {chain[0]: 1, chain[1]: 1}
    refs, _ = held_refs(w)
    assert w.manager.active() == dict(refs)
    # On landing: registered under the prefix, the pins released, then admitted with 12 cached.
    second = run(w)
    stored = [e for e in second.events if e.kind == "stored"]
    assert stored[0].blocks == (chain[2],) and stored[0].parent_hash == chain[1]
    assert second.passes[0].admitted == (("r", 12),)


def test_completed_swap_ins_reenter_front_preserving_order() -> None:
    """upstream completed_swap_ins_reenter_front_preserving_order: two hits park (sharing a
    2 GB/s link, both land at 1 ms), the cold request waits; then both are admitted first."""
    w = world(2, 4, budget=64, seqs=2, offload=g2(gbps=2.0))
    req(w, "first", range(0, 4))
    req(w, "second", range(4, 8))
    req(w, "cold", range(8, 12))
    seed_g2(w, ids(range(0, 4)))
    seed_g2(w, ids(range(4, 8)))
    first = run(w)
    assert first.passes[0].parked == ("first", "second") and first.passes[0].admitted == ()
    assert w.scheduler is not None and list(w.scheduler.waiting) == ["cold"]
    assert w.requests.get("cold").state == WAITING
    second = run(w)
    assert w.manager.clock_ms >= 1.0
    assert second.passes[0].unparked == ("first", "second")
    assert [name for name, _ in second.passes[0].admitted] == ["first", "second"]
