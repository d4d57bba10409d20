"""The scheduler core (SPEC §13): the worked example as an exact MoveBlock/event trace, and
upstream's vLLM scheduler tests (lib/mocker/src/scheduler/vllm/tests.rs @9c0587910) ported.

Upstream tests pass each pass's start time explicitly; here the clock is the World's (a pass
moves it by its own prefill + decode time), so the ported tests check the same queue and block
outcomes, and timings where the reference gives the formula.
"""

from __future__ import annotations

import pytest

from kvtui.lang.commands import parse
from kvtui.sim.errors import CommandError
from kvtui.sim.events import DEVICE
from kvtui.sim.moves import Deref, Partial, Use, format_move
from kvtui.workload.hashing import hash_token_blocks
from kvtui.workload.requests import FINISHED, PARKED, PREEMPTED, RUNNING, WAITING
from kvtui.workload.scheduler import perf
from tests.scheduler_support import held_refs, req, run, world

A1, B1, C1 = 9143094415614847814, 6320977984009303047, 7542720647059275685  # SPEC §13


def ids(tokens: range) -> tuple[int, ...]:
    return hash_token_blocks(list(tokens), 4).block_ids


def spec_example(preemption: str = "lifo", caching: bool = True):  # type: ignore[no-untyped-def]
    w = world(6, 4, budget=12, seqs=3, preemption=preemption, caching=caching)
    req(w, "r1", range(0, 8))
    req(w, "r2", range(100, 108))
    req(w, "r3", range(200, 212))
    return w


def moves(result) -> list[str]:  # type: ignore[no-untyped-def]
    return [f"{format_move(m)} -> {got.returned}" for m, got in result.expanded]


def events(result) -> list[tuple[int, str, list[int], int | None]]:  # type: ignore[no-untyped-def]
    return [(e.event_id, e.kind, list(e.blocks), e.parent_hash) for e in result.events]


def test_spec_worked_example_exact_trace() -> None:
    w = spec_example()
    a1, a2 = ids(range(0, 8))
    b1, b2 = ids(range(100, 108))
    c1, c2, c3 = ids(range(200, 212))
    assert (a1, b1, c1) == (A1, B1, C1)

    first = run(w)
    assert moves(first) == [f"use {a1} {a2} -> 2", f"use {b1} -> 1", "use ~r1-0 -> 1"]
    assert events(first) == [(0, "stored", [a1, a2], None), (1, "stored", [b1], None)]
    report = first.passes[0]
    assert report.admitted == (("r1", 0), ("r2", 0)) and report.emitted == ("r1",)
    assert first.returned == report.scheduled == 12  # r1's 8 prompt tokens + r2's first chunk of 4
    # prefill: batch 2, mean isl (8 + 4) // 2 = 6, prefix 0 → 12 new tokens through the polynomial;
    # decode: 3 of 6 blocks active when it starts (before r1's new partial) → utilisation 0.5.
    assert report.prefill_ms == pytest.approx(4.209989e-07 * 144 + 1.518344e-02 * 12 + 16.50142)
    assert report.decode_ms == pytest.approx(-25.74 * 0.25 + 54.01 * 0.5 + 5.74)
    assert w.manager.clock_ms == pytest.approx(report.prefill_ms + report.decode_ms)

    second = run(w)
    assert moves(second) == [
        f"use {b2} parent={b1} -> 1",
        f"use {c1} {c2} -> 1",  # one free slot: r3's Use stops short ...
        f"deref {b2} {b1} -> 1",  # ... so the newest running request, r2, is preempted
        f"use {c2} parent={c1} -> 1",  # the retry evicts r2's leaf block
        f"deref ~r1-0 {a2} {a1} -> 1",  # r1's last token releases everything tail-first
    ]
    assert events(second) == [
        (2, "stored", [b2], b1),
        (3, "stored", [c1], None),
        (4, "stored", [c2], c1),
        (5, "removed", [b2], None),
    ]
    report = second.passes[0]
    assert report.preempted == ("r2",) and report.admitted == (("r3", 0),)
    assert report.finished == ("r1",)
    r2 = w.requests.get("r2")
    assert r2.state == PREEMPTED and r2.sched is not None and r2.sched.computed == 0
    assert r2.preemptions == 1
    assert w.scheduler is not None
    assert list(w.scheduler.waiting) == ["r2"] and w.scheduler.running == ["r3"]
    assert any("admitting r3 preempted running r2" in text for text in second.warnings)
    assert c3 not in w.manager.blocks  # r3 got 7 of its 12 tokens (the budget left after r1, r2)


def test_spec_example_recompute_refinds_its_cached_block() -> None:
    w = spec_example()
    run(w, "pass 2")
    b1 = ids(range(100, 108))[0]
    assert w.manager.is_inactive(b1)  # r2's root block survived the eviction of its leaf
    third = run(w)
    assert third.passes[0].admitted == (("r2", 4),)  # re-admitted: its own block 1 is a hit
    uses = [(m, got) for m, got in third.expanded if isinstance(m, Use) and m.blocks[:1] == (b1,)]
    assert len(uses) == 1 and b1 not in uses[0][1].stored  # a hit, not a new store
    run(w, "drain")
    r2 = w.requests.get("r2")
    assert r2.state == FINISHED and r2.sched is not None
    assert r2.sched.reused >= 4 and r2.sched.cached_at_admission == 0


def test_preemption_requeues_newest_running_request() -> None:
    """upstream test_preemption_requeues_newest_running_request (prefix caching off)."""
    w = spec_example(caching=False)
    run(w, "pass 2")
    r2 = w.requests.get("r2")
    assert (r2.state, r2.sched and r2.sched.computed, r2.preemptions) == (PREEMPTED, 0, 1)
    assert w.scheduler is not None and w.scheduler.waiting[0] == "r2"


def test_fifo_preempts_the_oldest_running_request() -> None:
    w = spec_example(preemption="fifo")
    second = run(w, "pass 2")
    assert second.passes[-1].preempted == ("r1",)
    assert w.scheduler is not None and w.scheduler.waiting[0] == "r1"


def test_unified_pass_keeps_partial_prefill_in_running() -> None:
    """upstream test_unified_pass_keeps_partial_prefill_in_running."""
    w = world(6, 4, budget=12, seqs=3, caching=False)
    req(w, "r1", range(0, 8))
    req(w, "r2", range(100, 108))
    result = run(w)
    assert result.passes[0].emitted == ("r1",)
    assert w.scheduler is not None
    assert not w.scheduler.waiting and w.scheduler.running == ["r1", "r2"]
    r1, r2 = w.requests.get("r1"), w.requests.get("r2")
    assert r1.sched and r1.sched.computed == 8 and r1.seq.generated_tokens == 1
    assert r2.sched and r2.sched.computed == 4 and r2.state == RUNNING
    assert w.manager.num_active_blocks == 4


def test_running_requests_consume_budget_before_waiting() -> None:
    """upstream test_running_requests_consume_budget_before_waiting."""
    w = world(16, 4, budget=4, seqs=3, caching=False)
    req(w, "r1", range(0, 8))
    req(w, "r2", range(100, 108))
    run(w)
    second = run(w)
    assert "r1" in second.passes[0].emitted
    r2 = w.requests.get("r2")
    assert r2.sched is not None and r2.sched.computed == 0


def test_two_ready_requests_share_admission_and_first_token_times() -> None:
    """upstream test_execute_pass_batches_two_ready_requests_together."""
    w = world(16, 4, budget=8, seqs=4, caching=False)
    req(w, "r1", [1] * 4, out=1)
    req(w, "r2", [2] * 4, out=1)
    result = run(w)
    assert result.passes[0].admitted == (("r1", 0), ("r2", 0))
    a, b = w.requests.get("r1").sched, w.requests.get("r2").sched
    assert a and b and a.admitted_ms == b.admitted_ms == 0.0
    assert a.first_token_ms == b.first_token_ms == result.passes[0].end_ms
    assert result.passes[0].finished == ("r1", "r2")


def test_first_token_arrives_on_prompt_completion_pass() -> None:
    """upstream test_first_token_can_arrive_on_prompt_completion_pass."""
    w = world(6, 4, budget=8, seqs=3, caching=False)
    req(w, "r", range(0, 8))
    result = run(w)
    assert result.passes[0].emitted == ("r",) and not result.passes[0].finished
    assert w.requests.get("r").seq.generated_tokens == 1


def test_running_request_catches_up_decode_tail_before_promote() -> None:
    """upstream test_running_request_catches_up_decode_tail_before_promote: a request that
    recomputed only its prompt after preemption catches up its generated tail in one pass."""
    w = world(8, 4, budget=8, seqs=1)
    req(w, "r", range(0, 6), out=16)
    r = w.requests.get("r")
    seq, mgr = r.seq, w.manager
    creation = seq.take_creation_signal()
    assert creation is not None and mgr.apply(creation).returned == 2
    for _ in range(6):
        for move in seq.generate():
            mgr.apply(move)
        seq.commit_allocation(len(seq))
    for move in seq.reset_with_signal():
        mgr.apply(move)
    prompt = seq.prepare_allocation(seq.num_input_tokens)
    assert prompt is not None and mgr.apply(prompt).returned == 2
    seq.commit_allocation(seq.num_input_tokens)
    assert w.scheduler is not None and r.sched is not None
    w.scheduler.arrivals.clear()
    w.scheduler.running.append("r")
    r.state, r.sched.computed, r.preemptions = RUNNING, 9, 1

    result = run(w)
    assert result.passes[0].emitted == ("r",)
    assert r.sched.computed == 12 and seq.num_allocated_tokens == 13
    assert mgr.num_active_blocks == 4


def test_completion_returns_scheduler_to_idle() -> None:
    """upstream test_completion_returns_scheduler_to_idle."""
    w = world(6, 4, budget=8, seqs=3, caching=False)
    req(w, "a", range(0, 8))
    req(w, "b", range(0, 8))
    run(w, "drain")
    assert w.scheduler is not None and not w.scheduler.busy
    assert w.manager.num_active_blocks == 0
    assert all(r.state == FINISHED for r in w.requests.requests.values())


def test_admitted_request_is_never_its_own_victim() -> None:
    """A request being admitted is not yet running: with nothing running to preempt it keeps
    the blocks it got and is admitted with a partial prefill."""
    w = world(2, 4, budget=64, seqs=2)
    req(w, "big", range(0, 16))
    result = run(w)
    report = result.passes[0]
    assert report.preempted == () and report.admitted == (("big", 0),)
    big = w.requests.get("big")
    assert big.state == RUNNING and big.sched is not None and big.sched.computed == 8
    assert [format_move(m) for m, _ in result.expanded] == [
        "use " + " ".join(map(str, ids(range(0, 16)))),
    ]


def test_no_admission_in_a_pass_that_preempted() -> None:
    w = spec_example()
    req(w, "r4", range(300, 304))
    run(w)
    second = run(w)
    assert second.passes[0].preempted == ("r2",)
    assert "r4" not in dict(second.passes[0].admitted)  # a slot was free, but r2 was preempted
    assert w.scheduler is not None and list(w.scheduler.waiting) == ["r2", "r4"]


def test_self_preemption_at_decode_is_flagged() -> None:
    """A request that cannot get a block to decode alone preempts itself (upstream)."""
    w = world(2, 4, budget=64, seqs=1)
    req(w, "r", range(0, 8), out=3)
    result = run(w)
    assert result.passes[0].preempted == ("r",) and result.passes[0].emitted == ()
    assert any("preempted itself" in text for text in result.warnings)
    assert any("emitted no token" in text for text in result.warnings)


def test_prompt_over_budget_without_chunking_stalls_and_drain_says_so() -> None:
    w = world(16, 4, budget=4, chunked=False)
    req(w, "long", range(0, 8))
    result = run(w)
    assert result.returned == 0 and any("never runs" in text for text in result.warnings)
    before = w.manager.dump()
    with pytest.raises(CommandError, match="1,000 passes in a row emitted no token.*long"):
        run(w, "drain")
    assert w.manager.dump() == before  # the failed drain was rolled back


def test_idle_pass_jumps_to_the_next_arrival() -> None:
    w = world(8, 4)
    req(w, "late", range(0, 4), out=1, at=250)
    first = run(w)
    assert first.passes[0].idle and w.manager.clock_ms == 250.0 and first.returned == 0
    second = run(w)
    assert second.passes[0].admitted == (("late", 0),)
    late = w.requests.get("late").sched
    assert late is not None and late.ttft_ms == pytest.approx(second.passes[0].end_ms - 250)
    third = run(w)
    assert third.passes[0].idle and third.passes[0].end_ms == third.passes[0].start_ms


def test_arrivals_join_in_arrival_then_submission_order() -> None:
    w = world(64, 4, budget=4, seqs=1)
    req(w, "b", range(10, 14), at=5)
    req(w, "a", range(20, 24), at=1)
    req(w, "c", range(30, 34), at=5)
    run(w)  # idle: jump to 1
    run(w)  # a arrives and is admitted
    assert w.scheduler is not None
    while not {"b", "c"} <= {*w.scheduler.waiting, *w.scheduler.running}:
        run(w)
    order = [*w.scheduler.running, *w.scheduler.waiting]
    assert order.index("b") < order.index("c")


def test_manual_request_commands_on_scheduler_requests_are_errors() -> None:
    w = world(8, 4)
    req(w, "r", range(0, 8))
    for text in ("prefill r", "decode r", "preempt r", "resume r", "finish r"):
        with pytest.raises(CommandError, match="the scheduler drives this request"):
            w.execute_request(parse(text))  # type: ignore[arg-type]


def test_scheduler_commands_need_a_scheduler() -> None:
    from kvtui.sim.config import Config
    from kvtui.workload.world import World

    w = World.from_config(Config(8, 4))
    for text in ("pass", "drain", "req r tokens 1 2 out=3", "req r tokens 1 2 at=4"):
        with pytest.raises(CommandError, match="scheduler"):
            w.execute_request(parse(text))  # type: ignore[arg-type]


def test_a_failed_pass_rolls_back_everything() -> None:
    """A MoveBlock typed by hand can break a request's blocks; the pass then fails whole."""
    w = spec_example()
    run(w)
    w.manager.apply(Deref((Partial("r1-0"),)))  # release r1's partial by hand
    before, queues = w.manager.dump(), (list(w.scheduler.running), list(w.scheduler.waiting))  # type: ignore[union-attr]
    with pytest.raises(CommandError):
        run(w)
    assert w.manager.dump() == before
    assert w.scheduler is not None and (w.scheduler.running, list(w.scheduler.waiting)) == queues


def test_partial_name_taken_by_hand_is_an_error() -> None:
    w = world(8, 4)
    req(w, "r", range(0, 8), out=2)
    w.manager.apply(Use((Partial("r-0"),)))
    with pytest.raises(CommandError, match="already held by someone else"):
        run(w)


def test_refcounts_match_the_requests_after_every_pass() -> None:
    w = spec_example()
    for _ in range(12):
        run(w)
        refs, partials = held_refs(w)
        assert w.manager.active() == dict(+refs)
        assert set(w.manager.partials) == partials


def test_prefill_constant_term_and_speedup() -> None:
    assert perf.prefill_ms(1, 5, 5) == pytest.approx(16.50142)  # no zero-token shortcut
    assert perf.pass_prefill_ms(0, 0, 0, 1.0) == 0.0
    assert perf.scaled(10.0, 2.0) == 5.0 and perf.scaled(10.0, 0.0) == 10.0
    assert perf.decode_ms(3, 0, 100) == pytest.approx(5.74)
    assert perf.decode_ms(1, 100, 100) == pytest.approx(-25.74 + 54.01 + 5.74)
    assert perf.decode_ms(0, 10, 100) == 0.0


def test_speedup_ratio_divides_pass_time() -> None:
    slow, fast = world(16, 4, speedup=1.0), world(16, 4, speedup=4.0)
    for w in (slow, fast):
        req(w, "r", range(0, 8))
        run(w)
    assert fast.manager.clock_ms == pytest.approx(slow.manager.clock_ms / 4)


def test_waiting_state_and_events_are_device_tier() -> None:
    w = spec_example()
    result = run(w)
    assert all(e.tier == DEVICE for e in result.events)
    assert w.requests.get("r3").state == WAITING
    assert PARKED not in {r.state for r in w.requests.requests.values()}


def test_session_steps_back_and_replays_passes_exactly() -> None:
    from kvtui.lang.script import load_script
    from kvtui.presets import preset_path
    from kvtui.session.report import build_report
    from kvtui.session.session import Session

    path = preset_path("scheduler-lifo-preemption")
    assert path is not None
    session = Session(load_script(path))
    session.run_to_end()
    final = build_report(session)
    session.jump(4)
    fresh = Session(load_script(path))
    fresh.jump(4)
    assert session.world.dump() == fresh.world.dump()
    assert session.world.scheduler == fresh.world.scheduler
    session.jump(session.total)
    assert build_report(session) == final
    session.back()
    typed = session.insert("pass 3")
    assert typed is not None and len(typed.passes) == 3  # type: ignore[attr-defined]
