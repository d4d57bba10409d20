"""Headless engine benchmark: prints figures, asserts nothing.

1. Block operations per second per backend at capacities 1k, 64k and 1M, applying a generated
   session through the same path as `kvtui run` (parse + validate + apply).
2. Step-back and jump latency in a 10,000-step session at capacity 4096.

Run: python benchmarks/bench_session.py [--steps N]
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

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
    steps = [make_step(text, n + 1) for n, text in enumerate(lines)]
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20_000, help="steps of the throughput session")
    args = parser.parse_args()
    bench_throughput(args.steps)
    bench_long_commands()
    bench_jumps()


if __name__ == "__main__":
    main()
