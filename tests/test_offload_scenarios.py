"""reference/offload.md §7 acceptance scenarios 1–11 at the KvManager level, SPEC §6.2's worked
example step by step, and further G2 behaviours of SPEC §6.

All use 1 MB blocks and 1 GB/s links (one block alone takes 1 ms) unless stated. Scenarios
12–14 are scheduler-level (parked requests, re-entry order) or need G3, so they do not apply to
one KV manager. Where a scenario's upstream numbers come from behaviour the SPEC defines
differently, the test says so and follows the SPEC (SPEC wins, then the seed, then reference).
"""

from __future__ import annotations

import pytest

from kvtui.sim import RouterEvent, router_view
from kvtui.sim.errors import DuplicateBlockError, EmptyCommandError, LineageError, OffloadError
from kvtui.sim.events import DEVICE, HOST_PINNED
from tests.test_seed_offload import G2Driver


def ev(e: RouterEvent) -> tuple[object, ...]:
    """An event without its id and rank: (tier, kind, blocks[, parent, tokens])."""
    if e.kind == "removed":
        return (e.tier, e.kind, list(e.blocks))
    return (e.tier, e.kind, list(e.blocks), e.parent_hash, list(e.token_hashes))


def host_stored(events: list[RouterEvent]) -> list[int]:
    return [b for e in events if e.tier == HOST_PINNED and e.kind == "stored" for b in e.blocks]


def roots(d: G2Driver, *ids: int) -> None:
    """Make each id an inactive root block, released in the order given."""
    for block in ids:
        assert d.use(block) == 1
    d.deref(*ids)
    d.drain()


# -- reference/offload.md §7 ----------------------------------------------------------------


def test_scenario_1_ps_single_transfer_finishes_at_its_duration() -> None:
    d = G2Driver(1, 1)
    roots(d, 1)
    assert d.use(2) == 0  # 1 MB copy starts at 0
    assert d.mgr.earliest_deadline() == 1.0
    assert d.tick(0.5).events == []
    assert d.mgr.num_quarantined == 1
    assert host_stored(d.tick(0.5).events) == [1]
    assert d.mgr.clock_ms == 1.0 and d.mgr.num_quarantined == 0


def test_scenario_2_ps_pair_started_together_both_finish_at_2() -> None:
    d = G2Driver(2, 4, batch_size=1)
    roots(d, 1, 2)
    assert d.use(3, 4) == 0  # evicts 1, then 2 for the rest of the Use: two 1-block batches
    assert [t["bytes"] for t in d.g2()["transfers"]] == [1_000_000, 1_000_000]
    assert d.mgr.earliest_deadline() == pytest.approx(2.0)
    assert d.tick(1.99).events == []
    assert host_stored(d.tick().events) == [1, 2]
    assert d.mgr.clock_ms == pytest.approx(2.0)


def test_scenario_3_ps_staggered_arrivals_and_later_arrival_on_idle_link() -> None:
    d = G2Driver(2, 4)
    roots(d, 1, 2)
    assert d.use(3) == 0  # T1: block 1 at 0.0
    d.tick(0.5)
    assert d.use(3) == 0  # T2: block 2 at 0.5 (the quarantined slot is not free)
    eta = {t["blocks"][0]: t["eta_ms"] for t in d.g2()["transfers"]}
    assert eta == {1: pytest.approx(1.5), 2: pytest.approx(2.0)}
    assert host_stored(d.tick().events) == [1]
    assert d.mgr.clock_ms == pytest.approx(1.5)
    assert host_stored(d.tick().events) == [2]
    assert d.mgr.clock_ms == pytest.approx(2.0)
    # A later arrival on the idle link at 5.0 finishes at 6.0.
    assert d.use(3, 4) == 2
    d.deref(4, 3)
    d.tick(3.0)
    assert d.use(5) == 0
    assert d.mgr.earliest_deadline() == pytest.approx(6.0)
    assert host_stored(d.tick().events) == [4]
    assert d.mgr.clock_ms == pytest.approx(6.0)


def test_scenario_4_zero_bandwidth_is_infinite_throughput() -> None:
    d = G2Driver(1, 1, offload_gbps=0.0, block_size_bytes=1_000_000_000)
    roots(d, 1)
    d.tick(10.0)
    assert d.use(2) == 0  # 1 GB at 10.0 on an infinite link
    assert d.mgr.earliest_deadline() == 10.0
    assert d.mgr.num_quarantined == 1  # completion is only observed by a tick
    assert host_stored(d.tick().events) == [1]
    assert d.mgr.clock_ms == 10.0
    assert d.use(2) == 1


def test_scenario_4_many_simultaneous_arrivals_all_complete_at_n_times() -> None:
    d = G2Driver(10, 20, batch_size=1)
    roots(d, *range(10))
    assert d.use(*range(10, 20)) == 0  # one Use evicts all ten: ten 1-block transfers at 0
    assert len(d.g2()["transfers"]) == 10
    assert d.mgr.earliest_deadline() == pytest.approx(10.0)
    assert d.tick(9.99).events == []
    assert sorted(host_stored(d.tick().events)) == list(range(10))
    assert d.mgr.clock_ms == pytest.approx(10.0)


def test_scenario_4_transfer_ids_unique_across_both_links() -> None:
    d = G2Driver(2, 4)
    roots(d, 1, 2)
    d.use(3)
    d.tick()  # 1 on G2, one free G1 slot
    assert d.swapin(1).onboarding == [1]  # onboard transfer
    assert d.use(3) == 0  # offload transfer of 2
    ids = [t.transfer_id for t in d.view().transfers]
    assert [t.link for t in d.view().transfers] == ["onboard", "offload"]
    assert len(set(ids + [0])) == 3  # the first offload (id 0) plus two distinct new ids


def test_scenario_5_unequal_sizes_complete_short_first() -> None:
    d = G2Driver(3, 6, batch_size=2)
    roots(d, 1, 2, 3)
    assert d.use(4, 5, 6) == 0  # batches [1, 2] (2 MB) and [3] (1 MB), both at 0
    assert [t["blocks"] for t in d.g2()["transfers"]] == [[1, 2], [3]]
    assert host_stored(d.tick().events) == [3]
    assert d.mgr.clock_ms == pytest.approx(2.0)
    assert host_stored(d.tick().events) == [1, 2]
    assert d.mgr.clock_ms == pytest.approx(3.0)


def test_scenario_5_offload_and_onboard_links_are_independent() -> None:
    d = G2Driver(2, 4)
    roots(d, 1, 2)
    d.use(3)
    d.tick()  # t = 1: block 1 on G2, one free G1 slot, 2 inactive
    assert d.swapin(1).onboarding == [1]  # onboard 1 MB at 1.0
    assert d.use(3) == 0  # offload 1 MB (block 2) at 1.0
    assert d.mgr.earliest_deadline() == pytest.approx(2.0)  # not 3.0: no contention
    assert d.mgr.pending_deadlines() == [pytest.approx(2.0), pytest.approx(2.0)]
    events = d.tick().events
    assert d.mgr.clock_ms == pytest.approx(2.0)
    # Same instant: the offload completion is applied before the onboard one.
    assert [ev(e) for e in events] == [
        (HOST_PINNED, "stored", [2], None, [0]),
        (DEVICE, "stored", [1], None, [0]),
    ]


def test_scenario_6_swap_in_timing_and_reserved_destination() -> None:
    # Cancellation (the second half of the upstream scenario) has no kvtui command.
    d = G2Driver(1, 1, offload_gbps=0.0)
    roots(d, 1)
    assert d.use(2) == 0
    d.tick()  # infinite offload link: block 1 lands on G2 at 0.0
    assert d.mgr.clock_ms == 0.0 and d.g2()["resident"] == [1]

    assert d.swapin(1).onboarding == [1]
    assert d.g2()["pinned"] == [1]
    assert d.mgr.num_reserved == 1 and d.mgr.num_active_blocks == 1
    assert d.mgr.earliest_deadline() == 1.0
    # The reserved destination counts as active: a cold Use cannot take it (and has nothing
    # to evict, so it is a plain capacity stop, not an offload block).
    cold = d.run(2)
    assert (cold.returned, cold.blocked) == (0, False)
    assert d.tick(0.5).events == []
    assert d.mgr.num_reserved == 1 and not d.mgr.is_inactive(1)
    events = d.tick(0.5).events
    assert [ev(e) for e in events] == [(DEVICE, "stored", [1], None, [0])]
    assert d.mgr.is_inactive(1) and d.mgr.num_reserved == 0
    assert d.g2()["pinned"] == [] and d.g2()["resident"] == [1]
    assert d.use(1) == 1  # an inactive hit: no new stored event
    assert d.drain()[-1:] == events


def test_scenario_7_source_slot_quarantine() -> None:
    d = G2Driver(1)
    roots(d, 1)
    assert d.use(2) == 0
    assert d.mgr.num_active_blocks == 1
    assert d.quarantined() == {0}
    deadline = d.mgr.earliest_deadline()
    assert deadline == 1.0
    d.tick(deadline)
    assert d.mgr.num_active_blocks == 0
    assert d.use(2) == 1


def test_scenario_8_event_timing() -> None:
    d = G2Driver(1, 1)
    assert d.run(1, tokens=(101,)).returned == 1
    d.deref(1)
    d.drain()
    assert d.run(2, tokens=(202,)).returned == 0
    assert [ev(e) for e in d.drain()] == [(DEVICE, "removed", [1])]  # no host_pinned stored yet
    d.tick()
    assert [ev(e) for e in d.drain()] == [(HOST_PINNED, "stored", [1], None, [101])]
    # Continuing: admit 2, release it, use 3 → the second offload evicts 1 from G2.
    assert d.run(2, tokens=(202,)).returned == 1
    d.deref(2)
    d.drain()
    assert d.run(3, tokens=(303,)).returned == 0
    assert [ev(e) for e in d.drain()] == [(DEVICE, "removed", [2]), (HOST_PINNED, "removed", [1])]
    d.tick()
    assert [ev(e) for e in d.drain()] == [(HOST_PINNED, "stored", [2], None, [202])]


def test_scenario_9_presence_filtered_eviction_frees_slots_at_once() -> None:
    d = G2Driver(5, 10)
    assert d.use(1, 2, 3, 4, 5) == 5
    d.deref(5, 4, 3, 2, 1)
    assert d.use(6, 7, 8, 9, 10) == 0  # all five go to G2 in one batch
    d.tick()
    assert d.swapin(1, 2, 3, 4, 5).onboarding == [1, 2, 3, 4, 5]
    d.tick()  # now 1..5 are inactive on G1 *and* resident on G2
    d.drain()

    result = d.run(6, 7, 8, 9, 10)
    # kvtui's Use stops at the eviction like the seed (returns the entries committed so far);
    # every victim is already on G2, so nothing is copied and the slots are free at once.
    assert (result.returned, result.blocked) == (0, True)
    assert [ev(e) for e in result.events] == [(DEVICE, "removed", [5, 4, 3, 2, 1])]
    assert d.g2()["transfers"] == [] and d.mgr.earliest_deadline() is None
    assert d.mgr.num_reset == 5 and d.mgr.num_quarantined == 0
    assert d.use(6, 7, 8, 9, 10) == 5  # the retry is admitted without a tick


def test_scenario_10_only_actual_offload_sources_are_held() -> None:
    # Upstream rolls the whole Use back (available 35, active 5); kvtui keeps the seed's
    # per-entry Use, so the first 35 entries stay committed and only the 5 sources are held.
    d = G2Driver(40)
    assert d.use(100, 101, 102, 103, 104) == 5  # slots 0..4
    d.deref(104, 103, 102, 101, 100)
    request = list(range(40))
    result = d.run(*request)
    assert (result.returned, result.blocked) == (35, True)
    assert result.evicted == [104, 103, 102, 101, 100]
    assert d.quarantined() == {0, 1, 2, 3, 4}  # exactly the evicted blocks' slots
    assert d.mgr.num_active_blocks == 40 and d.mgr.num_reset == 0
    assert d.mgr.earliest_deadline() == pytest.approx(5.0)  # one 5-block batch
    assert host_stored(d.tick().events) == [100, 101, 102, 103, 104]
    assert d.mgr.num_reset == 5 and d.mgr.num_quarantined == 0
    retry = d.run(*request)
    assert retry.returned == 40
    assert [ev(e) for e in retry.events] == [(DEVICE, "stored", [35, 36, 37, 38, 39], 34, [0] * 5)]


def test_scenario_11_batch_waves() -> None:
    # Upstream also runs at most batch_size batches at once (derived waves: 4 blocks at 4.0,
    # then 1 at 5.0). SPEC §6.2 starts every batch at once: 3 transfers share the link, the
    # 1-block batch ends at 3.0, the two 2-block batches at 5.0. The upstream assertions
    # (first tick releases >0 and <5, the rest later, 5 in total) hold either way.
    d = G2Driver(5, 6, batch_size=2)
    assert d.use(1, 2, 3, 4, 5) == 5
    d.deref(5, 4, 3, 2, 1)
    assert d.use(6, 7, 8, 9, 10) == 0
    assert [t["blocks"] for t in d.g2()["transfers"]] == [[5, 4], [3, 2], [1]]
    assert d.mgr.num_quarantined == 5

    first = host_stored(d.tick().events)
    assert d.mgr.clock_ms == pytest.approx(3.0)
    assert first == [1] and d.mgr.num_quarantined == 4
    rest = host_stored(d.tick().events)
    assert d.mgr.clock_ms == pytest.approx(5.0)
    assert rest == [4, 5, 2, 3]  # batch by batch (start order), lineage order inside a batch
    assert d.mgr.num_quarantined == 0 and d.g2()["transfers"] == []


# -- SPEC §6.2 worked example ---------------------------------------------------------------


def test_spec_6_2_worked_example() -> None:
    d = G2Driver(1, 1)

    def step(result_events: list[RouterEvent]) -> list[tuple[object, ...]]:
        return [(e.event_id, *ev(e)) for e in result_events]

    r = d.run(1)
    assert r.returned == 1 and step(r.events) == [(0, DEVICE, "stored", [1], None, [0])]
    d.deref(1)
    r = d.run(2)
    assert r.returned == 0 and step(r.events) == [(1, DEVICE, "removed", [1])]
    assert d.quarantined() == {0} and d.mgr.num_active_blocks == 1
    r = d.tick(1)
    assert step(r.events) == [(2, HOST_PINNED, "stored", [1], None, [0])]
    assert d.mgr.num_reset == 1
    r = d.run(2)
    assert r.returned == 1 and step(r.events) == [(3, DEVICE, "stored", [2], None, [0])]
    d.deref(2)
    r = d.run(3)
    assert r.returned == 0
    assert step(r.events) == [(4, DEVICE, "removed", [2]), (5, HOST_PINNED, "removed", [1])]
    r = d.tick(1)
    assert step(r.events) == [(6, HOST_PINNED, "stored", [2], None, [0])]
    assert d.mgr.clock_ms == 2.0
    assert d.g2() == {"capacity": 1, "resident": [2], "pinned": [], "transfers": []}


# -- further SPEC §6 behaviour --------------------------------------------------------------


def test_blocked_use_extends_the_copy_then_stored_before_removed() -> None:
    d = G2Driver(4, 8)
    assert d.use(1, 2, 3) == 3
    d.deref(3, 2, 1)
    r = d.run(10, "~p", 11, 12)  # 10 and ~p take the free slot... only one is free
    assert (r.returned, r.blocked) == (1, True)
    # ~p evicts 3; the rest (11, 12) needs two more: one copy of 3, 2, 1.
    assert [ev(e) for e in r.events] == [
        (DEVICE, "stored", [10], None, [0]),
        (DEVICE, "removed", [3, 2, 1]),
    ]
    assert [t["blocks"] for t in d.g2()["transfers"]] == [[3, 2, 1]]
    assert host_stored(d.tick().events) == [1, 2, 3]  # parents first
    events = d.mgr.events[-3:]
    assert [(e.blocks[0], e.parent_hash) for e in events] == [(1, None), (2, 1), (3, 2)]


def test_extension_stops_when_nothing_is_left_to_evict() -> None:
    d = G2Driver(2, 8)
    roots(d, 1)
    assert d.use(5) == 1  # the only free slot
    r = d.run(6, 7, 8)
    assert (r.returned, r.evicted) == (0, [1])
    assert d.mgr.num_active_blocks == 2


def test_g2_full_of_pinned_blocks_drops_the_copy_and_frees_the_slot() -> None:
    d = G2Driver(2, 1)
    roots(d, 1, 2)
    d.use(3)
    d.tick()  # 1 on G2; G1: 2 inactive, one free slot
    assert d.swapin(1).onboarding == [1]  # pins the only G2 block
    r = d.run(3)
    # 2 is evicted, but G2 has only a pinned block: 2 is dropped, its slot freed at once.
    assert (r.returned, r.blocked) == (0, True)
    assert [ev(e) for e in r.events] == [(DEVICE, "removed", [2])]
    assert [t["link"] for t in d.g2()["transfers"]] == ["onboard"]
    assert d.mgr.num_quarantined == 0 and d.mgr.num_reset == 1
    assert d.use(3) == 1


def test_evicting_a_block_whose_copy_is_in_flight_skips_it() -> None:
    d = G2Driver(3, 4)
    assert d.use("~p") == 1  # slot 0
    roots(d, 1)  # slot 1
    assert d.use(8) == 1  # slot 2: G1 full
    assert d.use(2) == 0  # evicts 1: copy in flight until 1.0, slot 1 quarantined
    d.promote("~p", 1)  # 1 is registered on G1 again (no allocation) ...
    d.deref(1)
    r = d.run(3)  # ... and evicted again while its first copy is still in flight
    assert (r.returned, r.blocked, r.evicted) == (0, True, [1])
    assert d.quarantined() == {1} and d.mgr.num_reset == 1  # the skipped source is free at once
    assert [t["blocks"] for t in d.g2()["transfers"]] == [[1]]
    assert host_stored(d.tick().events) == [1]
    assert router_view(d.mgr.events, DEVICE) == set(d.mgr.blocks) == {8}


def test_swapin_skips_g1_prefix_and_stops_at_first_g2_gap() -> None:
    d = G2Driver(4, 8)
    assert d.use(1, 2, 3, 4) == 4
    d.deref(4, 3, 2)  # 1 stays held
    assert d.use(10, 11, 12) == 0  # evicts 4, 3, 2 into G2
    d.tick()
    assert set(d.g2()["resident"]) == {2, 3, 4}
    r = d.swapin(1, 2, 3, 4, 5)  # 1 is on G1, 2..4 on G2, 5 nowhere
    assert r.onboarding == [2, 3, 4]
    d.tick()
    assert [ev(e) for e in d.drain()[-1:]] == [(DEVICE, "stored", [2, 3, 4], 1, [0, 0, 0])]
    d2 = G2Driver(3, 8)
    assert d2.use(1, 2, 3) == 3
    d2.deref(3, 2, 1)
    assert d2.use(7, 8) == 0  # evicts 3, 2: 1 stays on G1
    d2.tick()
    assert d2.swapin(2).onboarding == [2]  # a G2 run starting at the first id


def test_swapin_refused_when_reservation_needs_an_eviction() -> None:
    d = G2Driver(2, 4)
    roots(d, 1, 2)
    assert d.use(3) == 0  # 1 → G2
    d.tick()
    assert d.use(4) == 1  # takes the freed slot; G1: 4 active, 2 inactive
    d.drain()
    r = d.swapin(1)
    # Seed: reserving would evict 2 to G2 first. The swap-in is refused, nothing is reserved,
    # and the eviction it made is still handed to the offload engine.
    assert (r.returned, r.blocked, r.onboarding) == (1, True, [])
    assert [ev(e) for e in r.events] == [(DEVICE, "removed", [2])]
    assert d.mgr.num_reserved == 0 and d.quarantined() == {1}
    assert [t["link"] for t in d.g2()["transfers"]] == ["offload"]
    d.tick()
    assert d.swapin(1).onboarding == [1]  # the retry after a tick succeeds
    d.tick()
    assert d.mgr.is_inactive(1)


def test_refused_swapin_run_reenters_g2_as_newest() -> None:
    # Seed order: the G2 run is pinned before the G1 reservation and unpinned when the
    # reservation is refused, so it re-enters G2 inactive with a fresh tick.
    d = G2Driver(3, 4)
    roots(d, 1, 2, 3)
    assert d.use(7, 8) == 0  # 1, 2 → G2 (two roots: order 1, 2)
    d.tick()
    assert d.g2()["resident"] == [1, 2]
    assert d.use(7, 8) == 2  # G1 full: 7, 8 active, 3 inactive
    r = d.swapin(1)
    assert r.blocked and r.evicted == [3]
    assert d.g2()["resident"] == [2, 1]


def test_swapin_without_capacity_is_a_silent_no_hit() -> None:
    d = G2Driver(1, 4)
    roots(d, 1)
    d.use(2)
    d.tick()
    assert d.use(2) == 1  # G1 full of an active block, nothing inactive
    before = d.g2()
    r = d.swapin(1)
    assert (r.blocked, r.onboarding, r.events) == (False, [], [])
    assert d.g2() == before


def test_swapin_completion_skips_blocks_registered_meanwhile() -> None:
    d = G2Driver(4, 8)
    assert d.use("~p") == 1
    assert d.use(1, 2, 3) == 3
    d.deref(3, 2, 1)
    assert d.use(7, 8, 9) == 0  # all three → G2
    d.tick()
    assert d.swapin(1, 2, 3).onboarding == [1, 2, 3]  # reserves the 3 free slots
    d.promote("~p", 1)  # 1 is registered on G1 again while the swap-in is in flight
    d.drain()
    events = d.tick().events
    # 1 is on G1 already: its reserved slot is freed, it anchors the rest.
    assert [ev(e) for e in events] == [(DEVICE, "stored", [2, 3], 1, [0, 0])]
    assert d.mgr.num_reserved == 0 and d.mgr.num_reset == 1
    assert d.mgr.refcount(1) == 1 and d.mgr.is_inactive(2) and d.mgr.is_inactive(3)


def test_concurrent_swapins_of_one_block_are_not_deduplicated() -> None:
    # reference/offload.md §4.5: no dedup of concurrent onboards; pins are counted.
    d = G2Driver(3, 4, onboard_gbps=2.0)
    roots(d, 1, 2)
    assert d.use(9) == 1
    assert d.use(10, 11) == 0  # 1 and 2 → G2 in one 2 MB batch, done at 2.0
    d.tick()
    assert d.swapin(1).onboarding == [1]
    assert d.swapin(1).onboarding == [1]  # its own transfer, sharing the 2 GB/s link
    assert d.g2()["pinned"] == [1] and d.mgr.num_reserved == 2
    assert [t.eta_ms for t in d.view().transfers] == [pytest.approx(3.0)] * 2
    assert [ev(e) for e in d.tick().events] == [(DEVICE, "stored", [1], None, [0])]  # 2nd skips 1
    assert d.mgr.num_reserved == 0 and d.mgr.num_reset == 1 and d.g2()["pinned"] == []
    assert d.g2()["resident"] == [2, 1]


def test_tick_next_without_pending_transfer_is_an_error() -> None:
    d = G2Driver(2, 2)
    before = d.mgr.dump()
    with pytest.raises(OffloadError, match="no transfer"):
        d.tick()
    assert d.mgr.dump() == before
    with pytest.raises(OffloadError):
        d.tick(0)
    with pytest.raises(OffloadError):
        d.tick(float("nan"))


@pytest.mark.parametrize(
    ("ids", "error"),
    [((), EmptyCommandError), ((1, 1), DuplicateBlockError), ((2, 1), LineageError)],
)
def test_invalid_swapin_changes_nothing(ids: tuple[int, ...], error: type[Exception]) -> None:
    d = G2Driver(2, 2)
    assert d.use(1, 2) == 2  # lineage 1 → 2
    before = d.mgr.dump()
    with pytest.raises(error):
        d.swapin(*ids)
    assert d.mgr.dump() == before


def test_transfer_views_report_progress() -> None:
    d = G2Driver(2, 4, batch_size=1)
    roots(d, 1, 2)
    d.use(3, 4)
    d.tick(1.0)
    views = d.view().transfers
    assert [(t.link, t.blocks, t.nbytes, t.started_ms) for t in views] == [
        ("offload", (1,), 1_000_000, 0.0), ("offload", (2,), 1_000_000, 0.0),
    ]
    assert [t.bytes_done for t in views] == [pytest.approx(500_000)] * 2
    assert [t.fraction for t in views] == [pytest.approx(0.5)] * 2
    assert [t.eta_ms for t in views] == [pytest.approx(2.0)] * 2
    assert set(views[0].g1_slots + views[1].g1_slots) == {0, 1}
    assert d.view().in_flight == (1, 2)


def test_clone_is_independent_with_g2() -> None:
    d = G2Driver(2, 2)
    roots(d, 1, 2)
    d.use(3)
    twin = d.mgr.clone()
    assert twin.dump() == d.mgr.dump()
    before = d.mgr.dump()
    twin.tick(None)
    twin.swapin((1,))
    twin.tick(None)
    assert d.mgr.dump() == before
    assert router_view(twin.events, HOST_PINNED) == {1}


@pytest.mark.parametrize("backend", ["lru", "multi_lru"])
def test_other_g1_backends_feed_g2(backend: str) -> None:
    d = G2Driver(2, 4, eviction=backend)
    roots(d, 1, 2)
    order = d.mgr.eviction_order()
    r = d.run(3)
    assert r.blocked and r.evicted == order[:1] == [1]
    d.tick()
    assert d.swapin(1).onboarding == [1]
    d.tick()
    assert d.mgr.is_inactive(1)
    assert router_view(d.mgr.events, DEVICE) == set(d.mgr.blocks)
    assert router_view(d.mgr.events, HOST_PINNED) == {1}


def test_g2_hits_after_a_gap_are_ignored() -> None:
    d = G2Driver(3, 2)
    assert d.use(1, 2, 3) == 3
    d.deref(3, 2, 1)
    r = d.run(7, 8, 9)  # one batch [3, 2, 1]; G2 holds two: 1 is dropped, its slot freed
    assert r.evicted == [3, 2, 1] and d.quarantined() == {1, 2}
    assert d.mgr.num_reset == 1
    assert host_stored(d.tick().events) == [2, 3]
    before = d.mgr.dump()
    r = d.swapin(1, 2, 3)  # 1 is on neither tier: the G2 hits 2, 3 behind it are ignored
    assert (r.onboarding, r.events, r.blocked) == ([], [], False)
    assert d.mgr.dump() == before



def test_refused_swapin_with_some_free_slots_evicts_the_shortfall() -> None:
    # Seed: reset slots are taken first and each further slot evicts; the refusal keeps none
    # of them (the free list ends in the same order) but still copies the evicted blocks.
    d = G2Driver(3, 8)
    assert d.use(1, 2) == 2  # slots 0, 1
    d.deref(2, 1)
    assert d.use(5) == 1  # slot 2: G1 full
    assert d.use(6, 7) == 0  # evicts 2, 1 → G2
    d.tick()
    assert d.use(3) == 1
    d.deref(3)  # G1: one free slot, 3 inactive, 5 active
    free = list(d.mgr.pool.free)
    assert len(free) == 1
    d.drain()
    r = d.swapin(1, 2)  # needs two slots: one reset, one more by evicting 3
    assert (r.blocked, r.onboarding, r.evicted) == (True, [], [3])
    assert [ev(e) for e in r.events] == [(DEVICE, "removed", [3])]
    assert list(d.mgr.pool.free) == free and d.mgr.num_reserved == 0
    assert d.mgr.num_quarantined == 1
    d.tick()
    assert d.swapin(1, 2).onboarding == [1, 2]
    assert [ev(e) for e in d.tick().events] == [(DEVICE, "stored", [1, 2], None, [0, 0])]
