"""TUI step latency: apply one step and redraw, driven headless through Textual's Pilot.

The session first fills `--fill` of `--capacity` G1 slots with cached blocks (chains of 4,096
used then released, applied before the app opens), then runs the request workload of
bench_session. Prints the median and p95 of (press → engine step → snapshot → widgets updated
→ screen refreshed), wall and CPU, and the process RSS. Figures only, no asserts.

With `--back` the measured presses are steps back (←) from the end of the warm-up instead.

Run: python benchmarks/bench_tui.py [--capacity N] [--fill F] [--steps N] [--back]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_session import rss_mb, session_for, workload  # noqa: E402

from kvtui.tui.app import KvtuiApp  # noqa: E402

CHUNK = 4096


def fill_lines(blocks: int) -> list[str]:
    """Cached chains filling `blocks` slots: use a chain, release it tail-first."""
    lines = []
    for start in range(0, blocks, CHUNK):
        ids = [str(2 * 10**12 + i) for i in range(start, min(start + CHUNK, blocks))]
        lines += ["use " + " ".join(ids), "deref " + " ".join(reversed(ids))]
    return lines


async def measure(capacity: int, fill: float, steps: int, warmup: int, back: bool) -> None:
    filler = fill_lines(int(capacity * fill))
    lines = filler + workload(warmup + steps + 10, seed=5, prefix_len=6, suffix_len=8)
    session = session_for(lines, capacity, "lineage")
    start = time.perf_counter()
    session.jump(len(filler))
    filled = time.perf_counter() - start
    # threaded=False: the step runs inline so it can be timed without the engine thread hand-off.
    app = KvtuiApp(session, journal=False, threaded=False)
    async with app.run_test(size=(160, 50)) as pilot:
        for _ in range(warmup):
            app.action_step_forward()
        await pilot.pause()
        updates, redraws, cpu = [], [], []
        press = app.action_step_back if back else app.action_step_forward
        for _ in range(steps):
            start, start_cpu = time.perf_counter(), time.process_time()
            press()  # engine step + snapshot + every widget updated
            updated = time.perf_counter()
            await pilot.pause()  # the compositor redraws the changed regions
            redraws.append(time.perf_counter() - start)
            updates.append(updated - start)
            cpu.append(time.process_time() - start_cpu)
        mgr = app.session.manager
        print(f"TUI step {'back ' if back else ''}at capacity {capacity:,}, fill {fill:g}"
              f" ({len(filler)} fill steps in {filled:.1f} s):"
              f" {steps} steps measured after {warmup} warm-up steps; {len(mgr.blocks):,} registered"
              f" ({mgr.num_inactive_blocks:,} cached, {mgr.num_reset:,} empty) at the end;"
              f" RSS {rss_mb():,.0f} MB")
        rows = (("apply + update", updates), ("+ redraw (wall)", redraws), ("+ redraw (CPU)", cpu))
        for name, values in rows:
            values.sort()
            print(f"  {name:<16} median {statistics.median(values) * 1e3:6.1f} ms"
                  f"   p95 {values[int(len(values) * 0.95)] * 1e3:6.1f} ms   max {values[-1] * 1e3:6.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--capacity", type=int, default=4096)
    parser.add_argument("--fill", type=float, default=0.0, help="fraction of slots cached before opening")
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--warmup", type=int, default=50, help="workload steps before measuring")
    parser.add_argument("--back", action="store_true", help="measure steps back from the warm-up's end")
    args = parser.parse_args()
    asyncio.run(measure(args.capacity, args.fill, args.steps, args.warmup, args.back))


if __name__ == "__main__":
    main()
