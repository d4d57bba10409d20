"""The `lineage` index alone, on the calls the engine really makes (figures only, no asserts).

The engine-vs-floor ratio (bench_engine.py) mixes the index with the manager and is noisy on
a shared machine; this isolates the index. Two call logs are recorded once from the real
engine: bench_engine's workload at capacity 4096 (hits, evictions, chains released tail
first) and an unbounded replay of the shared Mooncake trace (hits and releases, no eviction).
Each log is then replayed on a fresh LineageIndex; CPU time (process_time), the minimum of
--repeat runs, minus the replay loop's own cost (the same log on a do-nothing index). Then the
final index's clone, freeze and thaw.

Run: python benchmarks/bench_lineage.py [--repeat N] [--trace FILE]
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_engine import moves_of  # noqa: E402
from bench_session import workload  # noqa: E402

from kvtui.sim import pool  # noqa: E402
from kvtui.sim.eviction import LineageIndex, make_index  # noqa: E402
from kvtui.sim.manager import KvManager  # noqa: E402
from kvtui.workload.trace import TraceReplay, load_trace  # noqa: E402

TRACE = Path(__file__).resolve().parents[2] / "shared" / "traces" / "mooncake_synthetic_trace.jsonl"
Call = tuple[str, tuple[Any, ...]]


class Recorder(LineageIndex):
    """A LineageIndex that logs the three calls of the manager's inner loops."""

    log: list[Call]

    def discard(self, block: int) -> object:
        self.log.append(("discard", (block,)))
        return super().discard(block)

    def pop_entry(self) -> tuple[int, object]:
        self.log.append(("pop_entry", ()))
        return super().pop_entry()

    def insert_all(self, blocks: list[int], slots: list[int], parents: list[int | None] | None) -> None:
        ups = None if parents is None else list(parents)
        self.log.append(("insert_all", (list(blocks), list(slots), ups)))
        super().insert_all(blocks, slots, parents)


def recorded(run: Callable[[], object]) -> list[Call]:
    """The calls `run` makes on the lineage indexes it creates (one, here)."""
    log: list[Call] = []

    def recording(name: str, capacity: int) -> Any:
        if name != "lineage":
            return make_index(name, capacity)
        index = Recorder()
        index.log = log
        return index

    pool.make_index = recording  # type: ignore[assignment]
    try:
        run()
    finally:
        pool.make_index = make_index
    return log


class Idle:
    """The replay loop's own cost: the same calls doing nothing."""

    def discard(self, block: int) -> None:
        pass

    def pop_entry(self) -> tuple[int, int]:
        return 0, 0

    def insert_all(self, blocks: list[int], slots: list[int], parents: list[int | None] | None) -> None:
        pass


def replay(index: Any, log: list[Call]) -> float:
    discard, pop_entry, insert_all = index.discard, index.pop_entry, index.insert_all
    gc.collect()
    start = time.process_time()
    for name, args in log:
        if name == "discard":
            discard(*args)
        elif name == "pop_entry":
            pop_entry()
        else:
            insert_all(*args)
    return time.process_time() - start


def best(action: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.process_time()
        action()
        times.append(time.process_time() - start)
    return min(times)


def report(title: str, log: list[Call], repeat: int) -> None:
    counts = {name: sum(1 for n, _ in log if n == name) for name in ("discard", "pop_entry", "insert_all")}
    blocks = sum(len(args[0]) for n, args in log if n == "insert_all")
    took = min(replay(LineageIndex(), log) for _ in range(repeat))
    idle = min(replay(Idle(), log) for _ in range(repeat))
    calls = counts["discard"] + counts["pop_entry"] + blocks
    print(f"{title}: {counts['discard']:,} discards, {counts['pop_entry']:,} evictions, "
          f"{counts['insert_all']:,} releases of {blocks:,} blocks")
    print(f"  index {(took - idle) * 1e3:6.1f} ms   ({(took - idle) / calls * 1e9:.0f} ns per block op;"
          f" replay loop {idle * 1e3:.1f} ms excluded)")
    index = LineageIndex()
    replay(index, log)
    frozen = index.freeze()
    print(f"  final index {index.node_count:,} nodes ({len(index):,} inactive): clone"
          f" {best(index.clone, repeat) * 1e6:,.0f} µs, freeze {best(index.freeze, repeat) * 1e6:,.0f} µs,"
          f" thaw {best(frozen.thaw, repeat) * 1e6:,.0f} µs, frozen {frozen.nbytes:,} bytes")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--trace", default=str(TRACE))
    args = parser.parse_args()
    moves = moves_of(workload(40_000, seed=7))

    def engine() -> None:
        mgr = KvManager(4096)
        for move in moves:
            mgr.apply(move)

    report("engine workload (bench_engine, capacity 4096)", recorded(engine), args.repeat)
    records = load_trace(args.trace)
    report("kvtui trace (unbounded)", recorded(lambda: TraceReplay(records).run()), args.repeat)


if __name__ == "__main__":
    main()
