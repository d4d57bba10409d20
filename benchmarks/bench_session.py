"""Headless engine benchmark: prints figures, asserts nothing.

1. Block operations per second per backend at capacities 1k, 64k and 1M, applying a generated
   session through the same path as `kvtui run` (parse + validate + apply).
2. Step-back and jump latency in a 10,000-step session at capacity 4096.
3. `--history`: a 100,000-step session at capacity 4096 stepped to the end with checkpoints on,
   as the TUI keeps it: RSS, RSS growth per step over the second half, step-back and jump
   latency (median, p95, max; wall and CPU time, since the machine is shared).

Run: python benchmarks/bench_session.py [--steps N] [--history [--history-steps N]]
"""

from __future__ import annotations

import argparse
import functools
import gc
import os
import random
import statistics
import time
from collections.abc import Callable

from kvtui.lang.script import Script, Step, make_step
from kvtui.session.session import Session
from kvtui.sim.config import Config

BACKENDS = ("lineage", "lru", "multi_lru")


def workload(steps: int, seed: int = 7, prefix_len: int = 4, suffix_len: int = 8) -> list[str]:
    """Requests sharing one of 50 prefixes, each with its own suffix; at most 32 in flight.

    Each request is `use PREFIX+SUFFIX` and later `deref` tail-first, so the cache sees prefix
    hits, cached-but-free blocks and, when the pool is small, evictions.
    """
    rng = random.Random(seed)
    next_id = 10**9
    live: list[list[int]] = []
    lines: list[str] = []
    while len(lines) < steps:
        if len(live) >= 32 or (live and rng.random() < 0.4):
            chain = live.pop(rng.randrange(len(live)))
            lines.append("deref " + " ".join(map(str, reversed(chain))))
            continue
        family = rng.randrange(50)
        chain = [1_000_000 + family * 100 + i for i in range(prefix_len)]
        chain += list(range(next_id, next_id + suffix_len))
        next_id += suffix_len
        live.append(chain)
        lines.append("use " + " ".join(map(str, chain)))
    return lines


def session_for(lines: list[str], capacity: int, eviction: str, checkpoints: bool = True) -> Session:
    """A session on `lines`. Without checkpoints it stands for `kvtui run`, whose streamed steps
    keep their parsed commands (each applies once); a kept session's steps rebuild theirs."""
    steps = [make_step(text, n + 1, keep=not checkpoints) for n, text in enumerate(lines)]
    script = Script("bench", "bench", "", Config(capacity, eviction=eviction), steps, Step(""))
    return Session(script, checkpoints=checkpoints)


def block_ops(lines: list[str]) -> int:
    return sum(len(line.split()) - 1 for line in lines)


def bench_throughput(steps: int) -> None:
    lines = workload(steps)
    ops = block_ops(lines)
    print(f"throughput: {steps} steps, {ops} block operations each run")
    for capacity in (1_000, 64_000, 1_000_000):
        for eviction in BACKENDS:
            session = session_for(lines, capacity, eviction, checkpoints=False)  # as `kvtui run`
            start = time.perf_counter()
            session.run_to_end()
            took = time.perf_counter() - start
            mgr = session.manager
            print(
                f"  capacity {capacity:>9,}  {eviction:<9}  {ops / took:>10,.0f} block ops/s"
                f"  ({took:.2f} s; {mgr.num_inactive_blocks} inactive, {len(mgr.events)} events)"
            )


def bench_jumps(steps: int = 10_000, capacity: int = 4096, samples: int = 200) -> None:
    lines = workload(steps, seed=11)
    session = session_for(lines, capacity, "lineage")
    start = time.perf_counter()
    session.run_to_end()
    print(f"jumps: {steps}-step session at capacity {capacity}, built in {time.perf_counter() - start:.2f} s,"
          f" {len(session.checkpoints)} checkpoints every {session.interval} steps")
    rng = random.Random(3)
    backs, jumps = [], []
    for _ in range(samples):
        session.jump(rng.randrange(1, steps + 1))
        start = time.perf_counter()
        session.back()
        backs.append(time.perf_counter() - start)
        target = rng.randrange(steps + 1)
        start = time.perf_counter()
        session.jump(target)
        jumps.append(time.perf_counter() - start)
    for name, values in (("step back", backs), ("jump", jumps)):
        values.sort()
        print(
            f"  {name:<9}  median {statistics.median(values) * 1e3:6.2f} ms   "
            f"p95 {values[int(len(values) * 0.95)] * 1e3:6.2f} ms   max {values[-1] * 1e3:6.2f} ms"
        )


def bench_long_commands(blocks: int = 200_000) -> None:
    """One `use` and one `deref` of a long chain: per-block work must stay O(1) / O(log n)."""
    chain = list(map(str, range(blocks)))
    lines = ["use " + " ".join(chain), "deref " + " ".join(reversed(chain))]
    session = session_for(lines, 1_000_000, "lineage", checkpoints=False)
    for name in ("use", "deref"):
        start = time.perf_counter()
        session.forward()
        took = time.perf_counter() - start
        print(f"long command: {name} of {blocks:,} blocks at capacity 1,000,000 in {took:.2f} s"
              f" ({blocks / took:,.0f} block ops/s)")


def rss_mb() -> float:
    """Resident set size now (Linux /proc), in MB."""
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 1e6


def timed(action: Callable[[], object]) -> tuple[float, float]:
    """(wall, CPU) seconds of one call: CPU time is what other jobs on the machine do not inflate."""
    wall, cpu = time.perf_counter(), time.process_time()
    action()
    return time.perf_counter() - wall, time.process_time() - cpu


def bench_history(steps: int = 100_000, capacity: int = 4096, samples: int = 300) -> None:
    lines = workload(steps, seed=11)
    session = session_for(lines, capacity, "lineage")
    gc.collect()
    base = rss_mb()
    start = time.perf_counter()
    half = steps // 2
    mid = 0.0
    while session.cursor < steps:
        session.forward()
        if session.cursor == half:
            mid = rss_mb()
    took = time.perf_counter() - start
    end = rss_mb()
    print(f"history: {steps:,} steps at capacity {capacity:,} stepped forward in {took:.1f} s"
          f" ({took / steps * 1e6:.0f} µs per step incl. checkpoints)")
    print(f"  RSS {end:,.0f} MB (script and session {end - base:,.0f} MB);"
          f" growth over the second half {(end - mid) * 1e6 / (steps - half) / 1e3:.2f} KB per step;"
          f" {len(session.checkpoints)} checkpoints every {session.interval} steps")
    rng = random.Random(5)
    backs: list[tuple[float, float]] = []  # (wall, CPU) seconds
    jumps: list[tuple[float, float]] = []
    session.jump(steps)
    for _ in range(samples // 3):  # holding ←: consecutive steps back from the end
        backs.append(timed(session.back))
    for _ in range(samples):
        session.jump(rng.randrange(1, steps + 1))
        backs.append(timed(session.back))
        target = rng.randrange(steps + 1)
        jumps.append(timed(functools.partial(session.jump, target)))
    for name, pairs in (("step back", backs), ("jump", jumps)):
        for clock, values in (("wall", [w for w, _ in pairs]), ("CPU", [c for _, c in pairs])):
            values.sort()
            print(
                f"  {name:<9} {clock:<4}  median {statistics.median(values) * 1e3:6.2f} ms   "
                f"p95 {values[int(len(values) * 0.95)] * 1e3:6.2f} ms   max {values[-1] * 1e3:6.2f} ms"
            )
    print(f"  RSS after the jumps {rss_mb():,.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20_000, help="steps of the throughput session")
    parser.add_argument("--history", action="store_true", help="only the long-history benchmark")
    parser.add_argument("--history-steps", type=int, default=100_000)
    args = parser.parse_args()
    if args.history:
        bench_history(args.history_steps)
        return
    bench_throughput(args.steps)
    bench_long_commands()
    bench_jumps()


if __name__ == "__main__":
    main()
