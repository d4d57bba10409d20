"""The seed's `kvbm-offload` tests (`mod offload` of shared/seed/kv_manager.rs), ported.

Same names and expectations. The seed attaches an engine after construction and drives it
with absolute times (`tick_offload_engine(deadline)`); kvtui gets G2 from the `offload` config
and ticks relative to its clock, so `tick(None)` ("advance to the next completion") plays the
role of ticking at `earliest_offload_deadline()`. Where the seed calls crate-private helpers
(`reserve_swap_in_destination_slots`, `register_swapped_in_blocks`) the same state is reached
through public commands (`swapin`, `tick`). `G2Driver` is shared by the other offload tests.
"""

from __future__ import annotations

from typing import Any

import pytest

from kvtui.sim import KvManager, MoveResult, RouterEvent, Use
from kvtui.sim.config import Config, OffloadConfig
from kvtui.sim.errors import OffloadError
from kvtui.sim.events import DEVICE, HOST_PINNED
from kvtui.sim.offload import G2View
from tests.support import Driver, ref

MB = 1_000_000  # reference/offload.md §7: one block takes 1 ms alone at 1 GB/s


class G2Driver(Driver):
    """A manager with the G2 tier, 1 MB blocks and 1 GB/s links unless told otherwise."""

    def __init__(
        self,
        capacity: int,
        g2_blocks: int = 100_000,
        *,
        batch_size: int = 32,
        offload_gbps: float = 1.0,
        onboard_gbps: float = 1.0,
        block_size_bytes: int = MB,
        eviction: str = "lineage",
        block_size: int = 16,
    ) -> None:
        offload = OffloadConfig(g2_blocks, block_size_bytes, offload_gbps, onboard_gbps, batch_size)
        self.mgr = KvManager(capacity, block_size, eviction, offload=offload)
        self.seen = 0

    def run(self, *entries: int | str, parent: int | None = None,
            tokens: tuple[int, ...] | None = None) -> MoveResult:
        return self.mgr.use(Use(tuple(ref(e) for e in entries), parent, tokens))

    def tick(self, ms: float | None = None) -> MoveResult:
        return self.mgr.tick(ms)

    def swapin(self, *ids: int) -> MoveResult:
        return self.mgr.swapin(tuple(ids))

    def g2(self) -> dict[str, Any]:
        report = self.mgr.g2()
        assert report is not None
        return report

    def view(self) -> G2View:
        view = self.mgr.g2_view()
        assert view is not None
        return view

    def quarantined(self) -> set[int]:
        return {s for s, why in self.mgr.pool.held.items() if why == "quarantined"}


def has_removed(events: list[RouterEvent], tier: str, block: int) -> bool:
    return any(e.tier == tier and e.kind == "removed" and block in e.blocks for e in events)


def stored_block(events: list[RouterEvent], tier: str, block: int) -> tuple[int | None, int] | None:
    """(parent_hash, tokens_hash) of `block` in a `stored` event of `tier`, or None."""
    for e in events:
        if e.tier == tier and e.kind == "stored" and block in e.blocks:
            return e.parent_hash, e.token_hashes[e.blocks.index(block)]
    return None


def test_fresh_manager_has_no_offload_engine() -> None:
    mgr = KvManager(8, block_size=4)
    assert not mgr.offload_enabled
    assert mgr.g2() is None and mgr.g2_view() is None
    assert mgr.earliest_deadline() is None


def test_attach_new_offload_engine_wires_in_after_construction() -> None:
    # kvtui wires G2 in from the config (SPEC §9 `offload:`) rather than attaching it later.
    assert not KvManager.from_config(Config(16, 4)).offload_enabled
    mgr = KvManager.from_config(Config(16, 4, offload=OffloadConfig(g2_blocks=100_000)))
    assert mgr.offload_enabled
    assert mgr.g2() == {"capacity": 100_000, "resident": [], "pinned": [], "transfers": []}


def test_g2_completion_publishes_host_pinned_stored_event() -> None:
    d = G2Driver(1, 1, block_size=4)
    assert d.run(1, tokens=(101,)).returned == 1
    d.deref(1)
    d.drain()

    # Capacity pressure evicts block 1 from G1 and starts G1→G2.
    assert d.run(2, tokens=(202,)).returned == 0
    immediate = d.drain()
    assert has_removed(immediate, DEVICE, 1), "G1 eviction publishes a device removed at once"
    assert stored_block(immediate, HOST_PINNED, 1) is None, "no G2 stored before completion"

    deadline = d.mgr.earliest_deadline()
    assert deadline is not None, "G1→G2 offload exposes a completion deadline"
    d.tick()
    assert d.mgr.clock_ms == deadline
    stored = stored_block(d.drain(), HOST_PINNED, 1)
    assert stored is not None, "G2 completion publishes host_pinned stored"
    assert stored[1] == 101


def test_g2_eviction_publishes_host_pinned_removed_event() -> None:
    d = G2Driver(1, 1, block_size=4)
    assert d.run(1, tokens=(101,)).returned == 1
    d.deref(1)
    assert d.run(2, tokens=(202,)).returned == 0
    assert d.mgr.earliest_deadline() is not None
    d.tick()

    # Block 1 is resident in G2. Admit 2 into G1, then evict it to the one-block G2 tier:
    # this must evict block 1 from G2.
    assert d.run(2, tokens=(202,)).returned == 1
    d.deref(2)
    d.drain()
    assert d.run(3, tokens=(303,)).returned == 0
    assert d.mgr.earliest_deadline() is not None
    d.tick()

    events = d.drain()
    assert has_removed(events, HOST_PINNED, 1), "G2 capacity eviction publishes host_pinned removed"
    assert stored_block(events, HOST_PINNED, 2) is not None, "second completion stores block 2"


def test_reoffloaded_swapped_in_block_keeps_token_ids_for_g2_raw_event() -> None:
    # The seed registers block 1 into G1 through the swap-in path, evicts it and checks the
    # host_pinned stored keeps its token data. kvtui has token hashes (no raw token ids): the
    # token hash must survive the G1 → G2 → G1 → G2 round trip.
    d = G2Driver(2, 1, block_size=4)
    assert d.run(1, tokens=(101,)).returned == 1
    d.deref(1)
    assert d.run(2, tokens=(202,)).returned == 1
    d.deref(2)
    assert d.run(3, tokens=(303,)).returned == 0  # evicts 1 → G2
    d.tick()
    assert d.swapin(1).onboarding == [1]
    d.tick()
    assert d.mgr.is_inactive(1), "a swapped-in block lands in G1 inactive"
    assert d.run(3, tokens=(303,)).returned == 0  # evicts 2; its copy evicts 1 from G2
    d.tick()
    assert d.run(3, tokens=(303,)).returned == 1
    d.drain()

    assert d.run(4, tokens=(404,)).returned == 0  # evicts the swapped-in block 1
    d.tick()
    assert stored_block(d.drain(), HOST_PINNED, 1) == (None, 101)


def test_g1_eviction_offload_holds_source_slot_until_complete() -> None:
    d = G2Driver(1, block_size=4)  # seed: default G2 (100 000 blocks), 1 MB, 1 GB/s
    assert d.use(1) == 1
    d.deref(1)
    assert d.mgr.num_active_blocks == 0
    assert d.mgr.num_inactive_blocks == 1

    # The evicted slot is held as the source of the copy, so block 2 cannot be allocated.
    assert d.use(2) == 0
    assert d.mgr.num_active_blocks == 1, "quarantined source slot counts against G1 capacity"
    deadline = d.mgr.earliest_deadline()
    assert deadline is not None, "G1→G2 offload exposes a stall-advance deadline"

    d.tick(deadline - d.mgr.clock_ms)
    assert d.mgr.num_active_blocks == 0, "source slot released after transfer completion"
    assert d.use(2) == 1
    assert d.mgr.num_active_blocks == 1


def test_try_batch_swap_in_returns_no_hits_without_engine() -> None:
    # The seed returns NoHits; SPEC §11 makes `swapin` without G2 an error that changes nothing.
    mgr = KvManager(8, block_size=4)
    before = mgr.dump()
    with pytest.raises(OffloadError, match="G2"):
        mgr.swapin((1, 2, 3))
    assert mgr.dump() == before
    # With G2 but no G2 hit, a swap-in is the seed's NoHits: nothing happens.
    d = G2Driver(8, block_size=4)
    before = d.mgr.dump()
    result = d.swapin(1, 2, 3)
    assert (result.returned, result.onboarding, result.events, result.blocked) == (1, [], [], False)
    assert {k: v for k, v in d.mgr.dump().items() if k != "lineage"} == {
        k: v for k, v in before.items() if k != "lineage"
    }


def test_swap_in_registration_anchors_suffix_to_reused_prefix_parent() -> None:
    # Seed: 12 and 13 are swapped in after the G1-cached prefix ending at 11. Here 11 stays
    # held in G1 while 12 and 13 go to G2 and come back.
    d = G2Driver(3, 4)
    assert d.run(11, 12, 13, tokens=(110, 120, 130)).returned == 3
    d.deref(13, 12)
    assert d.run(20, 21).returned == 0  # evicts 13 then 12 into one copy
    d.tick()
    d.drain()

    assert d.swapin(11, 12, 13).onboarding == [12, 13]
    d.tick()
    events = d.drain()
    assert len(events) == 1, "swap-in suffix publishes one stored"
    event = events[0]
    assert (event.tier, event.kind) == (DEVICE, "stored")
    assert event.parent_hash == 11, "swapped-in suffix anchors to the last reused prefix block"
    assert list(event.blocks) == [12, 13]
    assert list(event.token_hashes) == [120, 130]
    assert d.mgr.num_inactive_blocks == 2, "registered swap-in blocks land in inactive G1"


def test_g2_json_alias_matches_g2() -> None:
    d = G2Driver(1, 1)
    d.use(1)
    d.deref(1)
    d.use(2)
    assert d.mgr.g2_json() == d.mgr.g2() == d.g2()
    assert KvManager(1).g2_json() is None
