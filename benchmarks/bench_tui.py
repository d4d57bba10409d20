"""TUI step latency: apply one step and redraw, driven headless through Textual's Pilot.

Capacity 4096, a workload that keeps about 2,000 blocks registered. Prints the median and p95 of
(press → engine step → snapshot → widgets updated → screen refreshed). Figures only, no asserts.

Run: python benchmarks/bench_tui.py [--steps N]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_session import session_for, workload  # noqa: E402

from kvtui.tui.app import KvtuiApp  # noqa: E402


async def measure(steps: int, warmup: int) -> None:
    lines = workload(warmup + steps + 10, seed=5, prefix_len=6, suffix_len=8)
    session = session_for(lines, 4096, "lineage")
    # threaded=False: the step runs inline so it can be timed without the engine thread hand-off.
    app = KvtuiApp(session, journal=False, threaded=False)
    async with app.run_test(size=(120, 40)) as pilot:
        for _ in range(warmup):
            app.action_step_forward()
        await pilot.pause()
        updates, redraws, cpu = [], [], []
        for _ in range(steps):
            start, start_cpu = time.perf_counter(), time.process_time()
            app.action_step_forward()  # engine step + snapshot + every widget updated
            updated = time.perf_counter()
            await pilot.pause()  # the compositor redraws the changed regions
            redraws.append(time.perf_counter() - start)
            updates.append(updated - start)
            cpu.append(time.process_time() - start_cpu)
        registered = len(app.session.manager.blocks)
        print(f"TUI step at capacity 4096: {steps} steps measured after {warmup} warm-up steps,"
              f" {registered} registered blocks at the end ({app.snapshot.counts['inactive']} cached)")
        rows = (("apply + update", updates), ("+ redraw (wall)", redraws), ("+ redraw (CPU)", cpu))
        for name, values in rows:
            values.sort()
            print(f"  {name:<16} median {statistics.median(values) * 1e3:6.1f} ms"
                  f"   p95 {values[int(len(values) * 0.95)] * 1e3:6.1f} ms   max {values[-1] * 1e3:6.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=150)
    parser.add_argument("--warmup", type=int, default=400, help="steps to fill the cache first")
    args = parser.parse_args()
    asyncio.run(measure(args.steps, args.warmup))


if __name__ == "__main__":
    main()
