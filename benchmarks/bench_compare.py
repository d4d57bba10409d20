"""Comparison and sweep benchmark on the shared Mooncake trace: prints figures, asserts nothing.

1. A three-backend lockstep scan (headless, and with the checkpoints the TUI jumps with).
2. Jump + compare-view latency in that comparison (what one key press in the compare screen costs):
   the view built from scratch (a jump), after a step forward and after a step back (built from
   the previous view, as the screen does), CPU time; and whole key presses (move + view).
   With --tui, also key presses in the compare screen itself (Textual's Pilot, 200×60, CPU
   from the press until the screen is redrawn).
3. Lineage's eviction-queue head (`order(8)`) at the largest capacity, per call.
4. The capacity sweep, serial and on all cores.

Run: python benchmarks/bench_compare.py [--capacity N] [--limit N] [--presses N] [--tui] [--no-sweep]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from kvtui.lang.trace_script import trace_script
from kvtui.session.compare import Comparison, make_variants
from kvtui.session.sweep import sweep
from kvtui.tui.compare_model import build_compare_view
from kvtui.workload.trace import load_trace

TRACE = Path(__file__).resolve().parents[2] / "shared" / "traces" / "mooncake_synthetic_trace.jsonl"
BACKENDS = ["lineage", "lru", "multi_lru"]


def timed(work: object) -> float:
    started = time.perf_counter()
    work()  # type: ignore[operator]
    return time.perf_counter() - started


def cpu(work: Callable[[], object]) -> float:
    started = time.process_time()
    work()
    return time.process_time() - started


def view_figures(viewer: Comparison, presses: int) -> None:
    """Compare-view cost per key press, CPU time (medians): what the compare screen does."""
    scratch = [cpu(lambda: build_compare_view(viewer)) for _ in range(9)]
    view = build_compare_view(viewer)
    forward, back, press_forward, press_back, press_next = [], [], [], [], []
    for n in range(presses):
        delta = 1 if n % 3 != 2 else -1  # two steps forward, one back
        started = time.process_time()
        viewer.jump(viewer.cursor + delta)
        moved = time.process_time()
        view = build_compare_view(viewer, view)
        done = time.process_time()
        (forward if delta == 1 else back).append(done - moved)
        (press_forward if delta == 1 else press_back).append(done - started)
    for _ in range(5):
        started = time.process_time()
        target = viewer.next_divergence(viewer.cursor)
        viewer.jump(target if target is not None else 0)
        view = build_compare_view(viewer, view)
        press_next.append(time.process_time() - started)
    ms = lambda values: f"{statistics.median(values) * 1000:6.1f} ms"  # noqa: E731
    print(f"compare view, scratch:   {ms(scratch)} CPU (a jump rebuilds it)")
    print(f"compare view, after →:   {ms(forward)} CPU; after ←: {ms(back)}")
    print(f"key press → / ← / ]:     {ms(press_forward)} / {ms(press_back)} / {ms(press_next)} CPU"
          " (move + view)")


async def screen_figures(viewer: Comparison, presses: int) -> None:
    """Key presses in the compare screen, from the press until the screen is redrawn (CPU).

    A press that changes the banner's height lays the screen out again and resizes the pool
    maps (a full redraw); the others redraw the changed panels and map rows only.
    """
    from kvtui.tui.compare_app import CompareApp  # Textual only for this figure

    # threaded=False: the jump and the view run inline, so the press can be timed end to end.
    app = CompareApp(viewer, threaded=False)
    async with app.run_test(size=(200, 60)) as pilot:
        await pilot.pause()
        kept, resized = [], []
        for n in range(presses):
            sizes = [pool.size for pool in app.query("ComparePoolMap")]
            started = time.process_time()
            app.action_step(1 if n % 3 != 2 else -1)  # two steps forward, one back
            await pilot.pause()
            spent = time.process_time() - started
            (kept if sizes == [pool.size for pool in app.query("ComparePoolMap")] else resized).append(spent)
    for name, values in (("maps kept", kept), ("maps resized", resized)):
        if values:
            print(f"screen key press, {name}: {statistics.median(values) * 1000:6.1f} ms CPU median"
                  f" ({len(values)} presses)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--capacity", type=int, default=32768)
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--presses", type=int, default=60, help="key presses timed in the view figures")
    parser.add_argument("--no-sweep", action="store_true", help="skip the capacity sweep")
    parser.add_argument("--tui", action="store_true", help="also time key presses in the compare screen")
    args = parser.parse_args()
    records = load_trace(TRACE, args.limit)
    script = trace_script(records, args.capacity)
    print(f"trace: {len(records)} requests, capacity {args.capacity}, backends {', '.join(BACKENDS)}")

    headless = Comparison(script, make_variants(BACKENDS, []), checkpoints=False)
    print(f"scan, headless:          {timed(headless.scan):6.2f} s ({len(headless.steps)} divergences)")
    viewer = Comparison(script, make_variants(BACKENDS, []))
    print(f"scan, with checkpoints:  {timed(viewer.scan):6.2f} s")

    targets = [len(records) * k // 10 for k in (9, 3, 7, 1, 5)]
    jumps = [timed(lambda t=t: viewer.jump(t)) for t in targets]
    steps = [timed(lambda: viewer.jump(viewer.cursor + 1)) for _ in range(5)]
    print(f"jump anywhere (median):  {statistics.median(jumps) * 1000:6.1f} ms")
    print(f"one step (median):       {statistics.median(steps) * 1000:6.1f} ms")
    view_figures(viewer, args.presses)
    if args.tui:
        viewer.jump(len(records) // 2)
        asyncio.run(screen_figures(viewer, args.presses))

    manager = headless.sessions[0].manager
    calls = 1000
    head = timed(lambda: [manager.eviction_order(8) for _ in range(calls)]) / calls
    print(f"lineage order(8):        {head * 1e6:6.1f} µs at {len(manager.pool.index):,} inactive")

    if args.no_sweep:
        return
    capacities = [2048, 4096, 8192, 16384, 32768]
    serial = timed(lambda: sweep(records, capacities, BACKENDS))
    cores = os.cpu_count() or 1
    parallel = timed(lambda: sweep(records, capacities, BACKENDS, jobs=cores))
    print(f"sweep 15 points serial:  {serial:6.2f} s; on {cores} processes: {parallel:6.2f} s")


if __name__ == "__main__":
    main()
