"""Comparison and sweep benchmark on the shared Mooncake trace: prints figures, asserts nothing.

1. A three-backend lockstep scan (headless, and with the checkpoints the TUI jumps with).
2. Jump + compare-view latency in that comparison (what one key press in the compare screen costs).
3. Lineage's eviction-queue head (`order(8)`) at the largest capacity, per call.
4. The capacity sweep, serial and on all cores.

Run: python benchmarks/bench_compare.py [--capacity N] [--limit N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--capacity", type=int, default=32768)
    parser.add_argument("--limit", type=int, default=None)
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
    views = [timed(lambda: build_compare_view(viewer)) for _ in range(5)]
    print(f"jump anywhere (median):  {statistics.median(jumps) * 1000:6.1f} ms")
    print(f"one step (median):       {statistics.median(steps) * 1000:6.1f} ms")
    print(f"compare view (median):   {statistics.median(views) * 1000:6.1f} ms")

    manager = headless.sessions[0].manager
    calls = 1000
    head = timed(lambda: [manager.eviction_order(8) for _ in range(calls)]) / calls
    print(f"lineage order(8):        {head * 1e6:6.1f} µs at {len(manager.pool.index):,} inactive")

    capacities = [2048, 4096, 8192, 16384, 32768]
    serial = timed(lambda: sweep(records, capacities, BACKENDS))
    cores = os.cpu_count() or 1
    parallel = timed(lambda: sweep(records, capacities, BACKENDS, jobs=cores))
    print(f"sweep 15 points serial:  {serial:6.2f} s; on {cores} processes: {parallel:6.2f} s")


if __name__ == "__main__":
    main()
