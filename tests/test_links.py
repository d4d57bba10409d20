"""Tests of the processor-sharing link (SPEC §6.1, reference/offload.md §2 and §7)."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from kvtui.sim.links import Link, TransferView

MB = 1_000_000  # one block in reference/offload.md §7: 1 ms alone at 1 GB/s


def finish_times(link: Link, until: float) -> dict[int, float]:
    """Step the link from deadline to deadline up to ``until``; map id -> observed finish."""
    out: dict[int, float] = {}
    while (deadline := link.next_deadline()) is not None and deadline <= until:
        ids = link.advance(deadline)
        assert ids, "advance(next_deadline()) must complete something"
        for tid in ids:
            out[tid] = deadline
    # A completion due a rounding error after ``until`` counts as done at ``until`` (the link's
    # 1e-12 relative tolerance): it is reported here, not by a later deadline.
    for tid in link.advance(until):
        out[tid] = until
    return out


# --------------------------------------------------------------------------- SPEC §6.1 examples


def test_spec_pair_started_together_both_finish_at_2() -> None:
    link = Link("offload", 1.0)
    link.start(1, MB, 0.0)
    link.start(2, MB, 0.0)
    assert link.next_deadline() == pytest.approx(2.0)
    assert link.advance(1.99) == []
    assert link.advance(2.0) == [1, 2]
    assert link.next_deadline() is None


def test_spec_staggered_finish_at_1_5_and_2() -> None:
    link = Link("offload", 1.0)
    link.start(1, MB, 0.0)
    link.start(2, MB, 0.5)
    assert finish_times(link, 10.0) == {1: pytest.approx(1.5), 2: pytest.approx(2.0)}


def test_spec_staggered_exact_instants() -> None:
    link = Link("offload", 1.0)
    link.start(1, MB, 0.0)
    link.start(2, MB, 0.5)
    assert link.advance(1.4999) == []
    assert link.advance(1.5) == [1]
    assert link.advance(1.9999) == []
    assert link.advance(2.0) == [2]


# ------------------------------------------------------- reference/offload.md §7 link scenarios


def test_ref7_1_single_transfer() -> None:
    link = Link("offload", 1.0)
    link.start(1, MB, 0.0)
    assert link.next_deadline() == pytest.approx(1.0)
    assert link.advance(0.5) == []
    assert link.advance(1.0) == [1]


def test_ref7_2_pair_nothing_done_at_1_99() -> None:
    link = Link("offload", 1.0)
    link.start(1, MB, 0.0)
    link.start(2, MB, 0.0)
    assert link.eta(1) == pytest.approx(2.0)
    assert link.eta(2) == pytest.approx(2.0)
    assert link.advance(1.99) == []
    assert sorted(link.advance(2.0)) == [1, 2]


def test_ref7_3_later_arrival_on_idle_link() -> None:
    link = Link("offload", 1.0)
    link.start(1, MB, 0.0)
    link.start(2, MB, 0.5)
    assert link.advance(2.0) == [1, 2]
    link.start(3, MB, 5.0)
    assert link.next_deadline() == pytest.approx(6.0)
    assert link.advance(5.999) == []
    assert link.advance(6.0) == [3]


def test_ref7_4_zero_bandwidth_is_instant() -> None:
    link = Link("offload", 0.0)
    assert link.infinite and link.bytes_per_ms == math.inf
    link.start(1, 1_000_000_000, 10.0)  # 1 GB
    assert link.next_deadline() == 10.0
    assert link.eta(1) == 10.0
    assert link.progress(1) == (1e9, 1_000_000_000)
    assert link.in_flight == ()
    assert link.advance(10.0) == [1]
    assert link.next_deadline() is None


def test_ref7_4_ten_simultaneous_all_finish_at_10() -> None:
    link = Link("offload", 1.0)
    for tid in range(10):
        link.start(tid, MB, 0.0)
    assert link.next_deadline() == pytest.approx(10.0)
    assert all(link.eta(tid) == pytest.approx(10.0) for tid in range(10))
    assert link.advance(9.99) == []
    assert link.advance(10.0) == list(range(10))  # exact tie: start order


def test_ref7_5_unequal_sizes_short_first() -> None:
    link = Link("offload", 1.0)
    link.start(7, 2 * MB, 0.0)  # 2-block batch
    link.start(8, 1 * MB, 0.0)  # 1-block batch
    assert link.eta(8) == pytest.approx(2.0)
    assert link.eta(7) == pytest.approx(3.0)
    assert link.advance(10.0) == [8, 7]  # completion order, not start order
    link2 = Link("offload", 1.0)
    link2.start(7, 2 * MB, 0.0)
    link2.start(8, 1 * MB, 0.0)
    assert finish_times(link2, 10.0) == {8: pytest.approx(2.0), 7: pytest.approx(3.0)}


def test_ref7_5_offload_and_onboard_links_are_independent() -> None:
    offload, onboard = Link("offload", 1.0), Link("onboard", 1.0)
    offload.start(1, MB, 0.0)
    onboard.start(2, MB, 0.0)
    deadlines = [d for d in (offload.next_deadline(), onboard.next_deadline()) if d is not None]
    assert min(deadlines) == pytest.approx(1.0)
    assert offload.advance(1.0) == [1]
    assert onboard.advance(1.0) == [2]


def test_ref7_6_swap_in_one_block() -> None:
    onboard = Link("onboard", 1.0)
    onboard.start(1, MB, 0.0)
    assert onboard.next_deadline() == pytest.approx(1.0)
    assert onboard.advance(0.5) == []
    assert 1 in onboard
    assert onboard.advance(1.0) == [1]
    assert 1 not in onboard


def test_ref7_11_batch_waves() -> None:
    # 5 blocks, batch size 2: batches of 2, 2 and 1 blocks; two run at once.
    link = Link("offload", 1.0)
    link.start(1, 2 * MB, 0.0)
    link.start(2, 2 * MB, 0.0)
    assert link.next_deadline() == pytest.approx(4.0)
    assert link.advance(4.0) == [1, 2]
    link.start(3, 1 * MB, 4.0)  # the queued batch starts at the completion tick
    assert link.next_deadline() == pytest.approx(5.0)
    assert link.advance(5.0) == [3]


def test_ref7_12_parked_swap_in_one_block() -> None:
    onboard = Link("onboard", 1.0)
    onboard.start(1, MB, 0.0)
    assert onboard.advance(0.0) == []
    assert onboard.advance(0.5) == []
    assert onboard.advance(1.0) == [1]


def test_ref7_12_four_blocks_of_250kb() -> None:
    onboard = Link("onboard", 1.0)
    onboard.start(1, 4 * 250_000, 0.0)
    assert onboard.next_deadline() == pytest.approx(1.0)
    assert onboard.advance(1.0) == [1]


def test_ref7_13_two_hits_on_2gbps_finish_at_1_in_order() -> None:
    onboard = Link("onboard", 2.0)
    onboard.start(1, MB, 0.0)
    onboard.start(2, MB, 0.0)
    assert onboard.advance(0.99) == []
    assert onboard.advance(1.0) == [1, 2]


def test_ref7_14_two_hop_staging() -> None:
    g3_to_g2, g2_to_g1 = Link("g3->g2", 1.0), Link("onboard", 1.0)
    g3_to_g2.start(1, MB, 0.0)
    assert g3_to_g2.advance(1.0) == [1]
    g2_to_g1.start(1, MB, 1.0)  # second hop starts when staging completes
    assert g2_to_g1.advance(1.5) == []
    assert g2_to_g1.advance(2.0) == [1]


# ------------------------------------------------------------------------------- other cases


def test_negative_bandwidth_is_infinite() -> None:
    link = Link("x", -3.0)
    link.start(1, 5 * MB, 2.0)
    link.start(2, 1, 2.0)
    assert link.advance(2.0) == [1, 2]


def test_zero_byte_transfer_completes_at_start_on_finite_link() -> None:
    link = Link("x", 1.0)
    link.start(1, MB, 0.0)
    link.start(2, 0, 0.25)
    assert link.next_deadline() == 0.25
    assert link.advance(0.25) == [2]
    assert link.eta(1) == pytest.approx(1.0)  # the empty transfer took no bandwidth


def test_completions_found_by_start_are_reported_by_next_advance() -> None:
    link = Link("x", 1.0)
    link.start(1, MB, 0.0)
    link.start(2, MB, 3.0)  # 1 finished at 1.0 while the link caught up
    assert link.progress(1) == (MB, MB)
    assert link.eta(1) == pytest.approx(1.0)
    assert link.next_deadline() == 3.0
    assert link.advance(3.0) == [1]
    assert link.advance(4.0) == [2]


def test_ties_in_start_order_and_order_across_instants() -> None:
    link = Link("x", 1.0)
    link.start(5, 3 * MB, 0.0)
    link.start(4, MB, 0.0)
    link.start(3, MB, 0.0)
    # 4 and 3 tie at 3.0 (start order 4, 3); 5 has 2 MB left alone: done at 5.0.
    assert link.eta(5) == pytest.approx(5.0)
    assert link.advance(100.0) == [4, 3, 5]


def test_tie_of_different_sizes_reaching_zero_together() -> None:
    link = Link("x", 1.0)
    link.start(1, MB, 0.0)
    link.start(2, MB // 2, 0.5)  # both have 0.5 MB left at 0.5 ms
    assert link.eta(1) == pytest.approx(1.5)
    assert link.eta(2) == pytest.approx(1.5)
    assert link.advance(1.5) == [1, 2]


def test_progress_and_in_flight_view() -> None:
    link = Link("x", 1.0)
    link.start(1, MB, 0.0)
    link.advance(0.5)
    link.start(2, 2 * MB, 0.5)
    link.advance(0.9)
    assert link.progress(1) == pytest.approx((700_000, MB))
    assert link.progress(2) == pytest.approx((200_000, 2 * MB))
    view = link.in_flight
    assert [v.transfer_id for v in view] == [1, 2]
    assert isinstance(view[0], TransferView)
    assert (view[0].nbytes, view[0].started_ms) == (MB, 0.0)
    assert view[0].bytes_done == pytest.approx(700_000)
    assert view[1].started_ms == 0.5
    assert view[1].fraction == pytest.approx(0.1)
    assert link.active_count == 2
    with pytest.raises(KeyError):
        link.progress(99)
    with pytest.raises(KeyError):
        link.eta(99)


def test_eta_and_next_deadline_do_not_mutate() -> None:
    link = Link("x", 1.0)
    link.start(1, MB, 0.0)
    link.start(2, 3 * MB, 0.2)
    link.advance(0.4)
    before = link.clone()
    assert link.next_deadline() == pytest.approx(1.8)  # 1 has 0.7 MB left, shared by 2
    assert link.eta(1) == pytest.approx(1.8)
    assert link.eta(2) == pytest.approx(4.0)  # 0.4 + (0.7 + 2.9) MB / B
    _ = link.in_flight, link.progress(2)
    assert link == before
    assert link.now_ms == 0.4
    assert finish_times(link, 10.0) == {1: pytest.approx(1.8), 2: pytest.approx(4.0)}


def test_clone_is_independent() -> None:
    link = Link("x", 1.0)
    link.start(1, MB, 0.0)
    link.start(2, MB, 0.5)
    copy = link.clone()
    assert copy == link and copy is not link
    assert link.advance(1.5) == [1]
    link.start(3, MB, 1.5)
    assert copy.now_ms == 0.5
    assert [v.transfer_id for v in copy.in_flight] == [1, 2]
    assert copy.advance(1.5) == [1]
    assert copy.advance(2.0) == [2]
    assert link.advance(2.0) == []  # 2 and 3 now share the link
    assert link.advance(2.5) == [2]


def test_clone_keeps_unreported_completions() -> None:
    link = Link("x", 1.0)
    link.start(1, MB, 0.0)
    link.start(2, MB, 2.0)
    copy = link.clone()
    assert link.advance(2.0) == [1]
    assert copy.advance(2.0) == [1]


def test_time_must_not_go_backwards() -> None:
    link = Link("x", 1.0)
    link.advance(2.0)
    with pytest.raises(ValueError):
        link.advance(1.0)
    with pytest.raises(ValueError):
        link.start(1, MB, 1.5)
    assert 1 not in link and link.now_ms == 2.0
    link.advance(2.0)  # same time is fine
    link.advance(2.0 - 1e-12)  # rounding noise is treated as "now"
    assert link.now_ms == 2.0


def test_bad_arguments() -> None:
    link = Link("x", 1.0)
    link.start(1, MB, 0.0)
    with pytest.raises(ValueError):
        link.start(1, MB, 0.0)  # duplicate id in flight
    with pytest.raises(ValueError):
        link.start(2, -1, 0.0)
    with pytest.raises(ValueError):
        link.advance(math.nan)
    with pytest.raises(ValueError):
        link.advance(math.inf)
    with pytest.raises(ValueError):
        Link("y", math.nan)
    link.start(3, 0, 0.0)
    with pytest.raises(ValueError):
        link.start(3, MB, 0.0)  # completed but not yet reported


def test_id_reusable_after_report() -> None:
    link = Link("x", 1.0)
    link.start(1, MB, 0.0)
    assert link.advance(1.0) == [1]
    link.start(1, MB, 1.0)
    assert link.advance(2.0) == [1]


def test_finish_exactly_at_tick_despite_rounding() -> None:
    link = Link("x", 1.0)
    link.start(1, MB, 0.0)
    t = 0.0
    for _ in range(10):
        t += 0.1  # 0.9999999999999999 after ten steps
    assert link.advance(t) == [1]
    third = Link("y", 3.0)  # 1 MB at 3 GB/s: 1/3 ms, not representable
    third.start(1, MB, 0.0)
    assert third.advance(1 / 3) == [1]


def test_tiny_transfers_late_in_time_are_not_rounded_away() -> None:
    link = Link("x", 1.0)  # 1 byte takes 1e-6 ms
    link.advance(1158.25)
    for tid in range(3):
        link.start(tid, 1, 1158.25)
    assert link.advance(1158.25) == []
    assert link.next_deadline() == pytest.approx(1158.25 + 3e-6, rel=1e-15)


def test_long_run_does_not_drift() -> None:
    link = Link("x", 14.0)
    block = 2 * 1024 * 1024
    t = 0.0
    for i in range(10_000):
        link.start(i, block, t)
        deadline = link.next_deadline()
        assert deadline is not None
        assert link.advance(deadline) == [i]
        assert deadline - t == pytest.approx(block / 14e6, rel=1e-9)
        t = deadline


# ------------------------------------------------------------------------------- properties

transfers_st = st.lists(
    st.tuples(
        st.floats(min_value=0.0, max_value=5.0, allow_nan=False),  # gap before this start
        st.integers(min_value=0, max_value=5 * MB),  # size
    ),
    min_size=1,
    max_size=12,
)


@settings(max_examples=200, deadline=None)
@given(
    gbps=st.sampled_from([0.5, 1.0, 2.0, 14.0]),
    transfers=transfers_st,
    probes=st.lists(st.floats(min_value=0.0, max_value=3.0, allow_nan=False), max_size=5),
)
@example(gbps=1.0, transfers=[(0.0, 5000000), (4.999999999999999, 0)], probes=[])
def test_property_ps_bounds(
    gbps: float, transfers: list[tuple[float, int]], probes: list[float]
) -> None:
    link = Link("p", gbps)
    bw = gbps * 1e6
    starts: dict[int, tuple[float, int]] = {}
    finished: dict[int, float] = {}
    order: list[float] = []
    t = 0.0

    def run_until(until: float) -> None:
        while (d := link.next_deadline()) is not None and d <= until:
            for tid in link.advance(d):
                finished[tid] = d
                order.append(d)
        for tid in link.advance(until):  # due a rounding error after `until` (see finish_times)
            finished[tid] = until
            order.append(until)
        delivered = sum(v.bytes_done for v in link.in_flight)
        delivered += sum(starts[tid][1] for tid in finished)
        first = starts[0][0] if starts else until
        assert delivered <= bw * (until - first) * (1 + 1e-9) + 1e-3

    probe_iter = iter(probes)
    for tid, (gap, nbytes) in enumerate(transfers):
        probe = next(probe_iter, None)
        if probe is not None:
            run_until(t + min(probe, gap))
        t += gap
        run_until(t)
        link.start(tid, nbytes, t)
        starts[tid] = (t, nbytes)
    run_until(t + sum(n for _, n in transfers) / bw + 1.0)

    assert set(finished) == set(starts)
    assert order == sorted(order)  # completions monotone
    for tid, (t0, nbytes) in starts.items():
        assert finished[tid] >= t0 + nbytes / bw - 1e-9 * max(1.0, finished[tid])


@settings(max_examples=200, deadline=None)
@given(
    gbps=st.sampled_from([0.5, 1.0, 14.0]),
    transfers=transfers_st,
)
def test_property_eta_matches_actual_and_work_conserving(
    gbps: float, transfers: list[tuple[float, int]]
) -> None:
    """After the last arrival, eta() predicts each completion exactly; with all transfers
    started at 0 the link is work-conserving (last completion = total bytes / B)."""
    link = Link("p", gbps)
    t = 0.0
    for tid, (gap, nbytes) in enumerate(transfers):
        t += gap
        link.start(tid, nbytes, t)
    known = [*(v.transfer_id for v in link.in_flight)]
    predicted = {tid: link.eta(tid) for tid in known}
    actual = finish_times(link, t + sum(n for _, n in transfers) / (gbps * 1e6) + 1.0)
    for tid in known:
        assert actual[tid] == pytest.approx(predicted[tid], rel=1e-9, abs=1e-9)

    together = Link("q", gbps)
    for tid, (_, nbytes) in enumerate(transfers):
        together.start(tid, nbytes, 0.0)
    total = sum(n for _, n in transfers) / (gbps * 1e6)
    done = finish_times(together, total + 1.0)
    assert max(done.values()) == pytest.approx(total, rel=1e-9, abs=1e-9)


def exact_ps(transfers: list[tuple[float, int]], bytes_per_ms: float) -> dict[int, Fraction]:
    """Reference: processor sharing in exact rational arithmetic (starts sorted by time)."""
    bw = Fraction(bytes_per_ms)
    now = Fraction(0)
    remaining: dict[int, Fraction] = {}
    finish: dict[int, Fraction] = {}
    arrivals = [(Fraction(t0), tid, nbytes) for tid, (t0, nbytes) in enumerate(transfers)]
    while arrivals or remaining:
        horizon = arrivals[0][0] if arrivals else None
        while remaining:
            tid = min(remaining, key=lambda k: remaining[k])
            rate = bw / len(remaining)
            done_at = now + remaining[tid] / rate
            if horizon is not None and done_at > horizon:
                for k in remaining:
                    remaining[k] -= (horizon - now) * rate
                now = horizon
                break
            spent = remaining.pop(tid)
            for k in remaining:
                remaining[k] -= spent
            now = finish[tid] = done_at
        if arrivals:
            t0, tid, nbytes = arrivals.pop(0)
            now = max(now, t0)
            remaining[tid] = Fraction(nbytes)
    return finish


@settings(max_examples=200, deadline=None)
@given(gbps=st.sampled_from([0.3, 1.0, 14.0]), transfers=transfers_st)
@example(gbps=1.0, transfers=[(0.0, 5000000), (4.999999999999999, 0)])  # a finish 1 ulp late
def test_property_matches_exact_processor_sharing(
    gbps: float, transfers: list[tuple[float, int]]
) -> None:
    starts: list[tuple[float, int]] = []
    t = 0.0
    for gap, nbytes in transfers:
        t += gap
        starts.append((t, nbytes))
    link = Link("p", gbps)
    observed: dict[int, float] = {}
    for tid, (t0, nbytes) in enumerate(starts):
        observed.update(finish_times(link, t0))
        link.start(tid, nbytes, t0)
    observed.update(finish_times(link, t + sum(n for _, n in starts) / (gbps * 1e6) + 1.0))
    expected = exact_ps(starts, gbps * 1e6)
    assert set(observed) == set(expected)
    # Each completion may be snapped by the link's 1e-12 relative tolerance (events closer
    # than that count as simultaneous), so allow a few of them to add up.
    for tid, when in expected.items():
        assert observed[tid] == pytest.approx(float(when), rel=1e-10, abs=1e-10)
