"""Scheduler properties (SPEC §12 invariants after every pass, §13 completion):

* after every pass the G1 invariants hold (pools partition the slots, refcounts equal the
  references the live requests hold, router view = registered set, eviction order = victims);
* with room for every request at once, every request finishes, nothing is preempted, the
  tokens emitted equal the sum of the outputs, and G1 ends with no active block;
* with tight capacity, drain either finishes everything or stops with the stall error, and
  invariants hold throughout (with G2 too).

Hypothesis settings come from the loaded profile (tests/conftest.py): small by default.
"""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from kvtui.sim.config import OffloadConfig
from kvtui.sim.errors import CommandError
from kvtui.workload.requests import FINISHED
from kvtui.workload.scheduler.state import PassResult
from tests.scheduler_support import held_refs, req, world
from tests.test_offload_properties import check_g1, check_g2, check_views
from tests.test_properties import Model, check_invariants

WARNED = re.compile(r"block (\d+) was evicted and stored again")

prompts = st.lists(
    st.tuples(
        st.integers(0, 2),  # shared prefix family
        st.integers(1, 14),  # prompt length
        st.integers(1, 6),  # output tokens
        st.integers(0, 40),  # arrival ms
    ),
    min_size=1,
    max_size=6,
)


def submit(w, specs) -> int:  # type: ignore[no-untyped-def]
    for i, (family, length, out, at) in enumerate(specs):
        tokens = [family * 1000 + t for t in range(length)]
        req(w, f"r{i}", tokens, out=out, at=at)
    return sum(out for _, _, out, _ in specs)


def check_g1_only(w, model: Model) -> None:  # type: ignore[no-untyped-def]
    refs, partials = held_refs(w)
    model.refs, model.partials = refs, partials
    check_invariants(w.manager, model, deep=False)


def drive(w, check) -> tuple[int, int, bool]:  # type: ignore[no-untyped-def]
    """Pass until idle; returns (tokens emitted, preemptions, stalled)."""
    emitted = preempted = 0
    model = Model()
    for _ in range(2000):
        if not w.scheduler.busy:
            return emitted, preempted, False
        out = PassResult(0)
        w.run_pass(out)
        report = out.passes[0]
        emitted += len(report.emitted)
        preempted += len(report.preempted)
        for text in out.warnings:
            model.warned.update(int(b) for b in WARNED.findall(text))
        check(w, model)
        if w.scheduler.stalled >= 200:
            return emitted, preempted, True
    raise AssertionError("no progress in 2000 passes")


@given(
    prompts,
    st.sampled_from([4, 8]),
    st.sampled_from([None, 4, 16]),
    st.integers(1, 4),
    st.booleans(),
    st.booleans(),
    st.sampled_from(["lifo", "fifo"]),
    st.sampled_from(["lineage", "lru", "multi_lru"]),
)
def test_every_request_finishes_when_capacity_allows(  # type: ignore[no-untyped-def]
    specs, block_size, budget, seqs, chunked, caching, preemption, eviction
) -> None:
    room = sum(-(-(length + out) // block_size) + 1 for _, length, out, _ in specs)
    # chunked prefill may be off only when every prompt fits the budget (else it stalls: §13)
    w = world(room, block_size, budget, seqs, chunked or not (budget is None or budget >= 16),
              caching, preemption, eviction=eviction)
    expected = submit(w, specs)
    emitted, preempted, stalled = drive(w, check_g1_only)
    assert not stalled and preempted == 0
    assert emitted == expected
    assert all(r.state == FINISHED for r in w.requests.requests.values())
    assert all(r.seq.generated_tokens == r.seq.max_output_tokens for r in w.requests.requests.values())
    assert w.manager.num_active_blocks == 0


@given(prompts, st.integers(2, 8), st.sampled_from(["lifo", "fifo"]), st.booleans())
def test_tight_capacity_keeps_invariants(specs, capacity, preemption, caching) -> None:  # type: ignore[no-untyped-def]
    w = world(capacity, 4, 8, 3, True, caching, preemption)
    expected = submit(w, specs)
    emitted, _, stalled = drive(w, check_g1_only)
    assert emitted <= expected
    if not stalled:
        assert emitted == expected and w.manager.num_active_blocks == 0


def check_with_g2(w, model: Model) -> None:  # type: ignore[no-untyped-def]
    refs, partials = held_refs(w)
    check_g1(w.manager, refs, partials)
    check_g2(w.manager)
    if not model.warned:
        check_views(w.manager)  # router views = registered sets, per tier


@given(prompts, st.integers(3, 10), st.integers(1, 8), st.booleans())
def test_g2_passes_keep_invariants(specs, capacity, g2_blocks, caching) -> None:  # type: ignore[no-untyped-def]
    offload = OffloadConfig(g2_blocks, block_size_bytes=100_000, g1_to_g2_gbps=1.0, g2_to_g1_gbps=1.0)
    w = world(capacity, 4, 8, 3, True, caching, offload=offload)
    expected = submit(w, specs)
    emitted, _, stalled = drive(w, check_with_g2)
    assert emitted <= expected
    if not stalled:
        assert emitted == expected


def test_drain_command_reports_every_token() -> None:
    w = world(64, 4, 16, 4)
    expected = submit(w, [(0, 9, 3, 0), (0, 12, 5, 2), (1, 7, 2, 30)])
    try:
        result = w.execute_request(__import__("kvtui.lang.commands", fromlist=["parse"]).parse("drain"))
    except CommandError as exc:  # pragma: no cover - would be a bug
        raise AssertionError(exc) from None
    assert isinstance(result, PassResult)
    assert sum(len(p.emitted) for p in result.passes) == expected
    assert result.returned == sum(p.scheduled for p in result.passes)
