"""The compare view built step by step must equal the one built the original way.

`build_compare_view` keeps lean snapshots (block views on demand, no events) and the differing
blocks from view to view, and after a step forward, a step back or a jump that goes nowhere
re-reads only what the step touched. These tests walk comparisons (random valid sessions with
partials and promotes, and the shared trace at a small capacity) forwards, backwards and by
jumps, and compare every view with what the compare screen showed before: full snapshots
built with `build_snapshot` and the differing slots computed from every slot.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from textual.strip import Strip

from kvtui.lang.script import Script, Step, make_step
from kvtui.lang.trace_script import trace_script
from kvtui.session.compare import Comparison, make_variants
from kvtui.sim.config import Config
from kvtui.tui.compare_app import CompareApp
from kvtui.tui.compare_model import CompareView, build_compare_view, differing_slots, queue_differences
from kvtui.tui.model import Snapshot, build_snapshot
from kvtui.workload.trace import load_trace
from tests.test_session import G2, make_script, random_texts

TRACE = Path(__file__).resolve().parents[2] / "shared" / "traces" / "mooncake_synthetic_trace.jsonl"
BACKENDS = ["lineage", "lru", "multi_lru"]


def shown(snap: Snapshot) -> tuple[object, ...]:
    """What the compare screen reads from one side's snapshot, as plain values."""
    blocks = {block: snap.blocks.get(block) for block in snap.owner.values() if isinstance(block, int)}
    return (
        snap.step, snap.slots, dict(snap.owner), snap.counts, snap.order, snap.reasons,
        snap.changed, blocks, snap.next_victim,
    )


def moves(total: int, seed: int) -> list[int]:
    """Cursors to visit: steps forward, steps back, jumps, and jumps that go nowhere."""
    rng = random.Random(seed)
    out = list(range(1, min(total, 40) + 1))
    out += [out[-1] - i for i in range(1, 6)]  # back
    out += [out[-1], out[-1] + 1, out[-1] + 2, out[-1] + 2]  # stay, forward, stay
    for _ in range(6):
        target = rng.randint(0, total)
        out += [target, *[t for t in (target + 1, target + 2, target + 1, target) if 0 <= t <= total]]
    return out


def check_walk(comparison: Comparison, cursors: list[int]) -> int:
    """Visit ``cursors``; compare each incrementally built view with the original build.

    Returns how many views were built incrementally (every side from what its step touched).
    """
    comparison.jump(0)
    view = build_compare_view(comparison)
    reference = [build_snapshot(s) for s in comparison.sessions]
    incremental = 0
    for target in cursors:
        comparison.jump(target)
        view, before = build_compare_view(comparison, view), view
        reference = [build_snapshot(s, p) for s, p in zip(comparison.sessions, reference, strict=True)]
        incremental += all(side.touched is not None for side in view.sides)
        for side, ref in zip(view.sides, reference, strict=True):
            assert shown(side) == shown(ref), comparison.cursor
        assert view.differing == differing_slots(reference), comparison.cursor
        assert view.queue_differs == queue_differences(reference), comparison.cursor
        check_changed(before, view)
    return incremental


def check_changed(before: CompareView, after: CompareView) -> None:
    """Every slot whose ``≠`` mark changed is listed in ``differing_changed`` (what a pool map
    re-renders and re-counts), unless the view says anything may have changed."""
    for old, new, listed in zip(before.differing, after.differing, after.differing_changed, strict=True):
        if listed is not None:
            assert old ^ new <= listed, after.step


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_random_comparisons_step_by_step_equal_the_original_build(seed: int) -> None:
    texts = random_texts(seed, 120, capacity=6, eviction="lru")
    comparison = Comparison(make_script(texts, capacity=6), make_variants(BACKENDS, []))
    comparison.scan()
    assert comparison.total >= 10, "the random script should run a while on every backend"
    assert check_walk(comparison, moves(comparison.total, seed)) >= 20


@pytest.mark.parametrize("seed", [1, 2])
def test_g2_comparisons_equal_the_original_build(seed: int) -> None:
    """With G2 every view is rebuilt (quarantined slots, G2 views): still the same screen."""
    texts = random_texts(seed, 80, capacity=6, eviction="lru", offload=G2)
    comparison = Comparison(make_script(texts, capacity=6, offload=G2), make_variants(BACKENDS, []))
    comparison.scan()
    assert comparison.total >= 10
    assert check_walk(comparison, moves(comparison.total, seed)) == 0


@pytest.mark.skipif(not TRACE.is_file(), reason="the shared Mooncake trace is not available")
def test_trace_comparison_step_by_step_equals_the_original_build() -> None:
    records = load_trace(TRACE, 300)
    comparison = Comparison(trace_script(records, 512), make_variants(BACKENDS, []))
    comparison.scan()
    assert comparison.steps, "the trace should diverge at 512 slots"
    assert check_walk(comparison, moves(comparison.total, 7)) >= 40


def aggregated_comparison() -> Comparison:
    """4,000 slots (cells aggregate slots on a 120×40 screen); lineage and lru evict opposite
    ends of a released chain, so a step changes the marks of slots the other session kept."""
    lines = ["use " + " ".join(map(str, range(3000))), "deref " + " ".join(map(str, range(3000)))]
    for start in range(5000, 7000, 250):
        lines.append("use " + " ".join(map(str, range(start, start + 250))))
        lines.append("deref " + " ".join(map(str, range(start, start + 250))))
    steps = [make_step(text, n + 1) for n, text in enumerate(lines)]
    script = Script("t", "t", "", Config(4000), steps, Step(""))
    made = Comparison(script, make_variants(["lineage", "lru"], []))
    made.scan()
    made.jump(0)
    return made


def rows(strips: list[Strip]) -> list[list[tuple[str, object]]]:
    return [[(segment.text, segment.style) for segment in strip] for strip in strips]


async def test_pool_maps_updated_step_by_step_equal_redrawn_ones() -> None:
    """After each key the maps' rows (≠ marks included) equal rows drawn from scratch."""
    app = CompareApp(aggregated_comparison(), threaded=False)
    async with app.run_test(size=(120, 40)) as pilot:
        for key in ["right"] * 12 + ["left"] * 3 + ["right", "end", "left", "home", "right"]:
            await pilot.press(key)
            await pilot.pause()
            for index in range(2):
                pool = app.query_one(f"#pool-{index}")
                assert pool.slots_per_cell > 1  # type: ignore[attr-defined]
                drawn = rows(pool._strips)  # type: ignore[attr-defined]
                pool._diff_cells = (0, {})  # type: ignore[attr-defined]
                pool._rebuild()  # type: ignore[attr-defined]
                assert drawn == rows(pool._strips), (key, app.comparison.cursor, index)  # type: ignore[attr-defined]
