"""The `multi_lru` index alone: the manager's calls on bench_engine's workload, replayed.

Why: in bench_engine the index is a third of multi_lru's time, and the manager's share and a
shared machine's noise hide a change of a few per cent in it. Here the calls the manager makes
(``touch``, ``discard``, ``pop_entry``, ``insert_all``, in order) are recorded once and replayed
on a fresh index per run, timed with process_time (min of ``--repeat`` runs, the garbage
collector on, as in the engine). ``--baseline REF`` replays the same calls on the index of a
git ref (e.g. ``main``), loaded beside this one, alternating runs: a paired A/B.

Run: python benchmarks/bench_multi_lru.py [--steps N] [--capacity N] [--repeat N] [--baseline REF]
"""

from __future__ import annotations

import argparse
import gc
import subprocess
import sys
import time
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_engine import moves_of  # noqa: E402
from bench_session import workload  # noqa: E402

import kvtui.sim.pool as pool_module  # noqa: E402
from kvtui.sim.eviction.multi_lru import MultiLruIndex  # noqa: E402
from kvtui.sim.manager import KvManager  # noqa: E402

Call = tuple[int, Any]  # (0 touch | 1 discard | 2 pop_entry | 3 insert_all, argument)
ROOT = Path(__file__).resolve().parent.parent


class Recorder:
    """A multi_lru index that logs each call the manager makes before passing it on."""

    name, needs_parent = "multi_lru", False

    def __init__(self, capacity: int, calls: list[Call]) -> None:
        self.index, self.calls = MultiLruIndex(capacity), calls

    def touch(self, block: int) -> None:
        self.calls.append((0, block))
        self.index.touch(block)

    def discard(self, block: int) -> object:
        self.calls.append((1, block))
        return self.index.discard(block)

    def pop_entry(self) -> tuple[int, object]:
        self.calls.append((2, None))
        return self.index.pop_entry()

    def insert_all(self, blocks: list[int], slots: list[int], parents: None) -> None:
        self.calls.append((3, (blocks, slots)))
        self.index.insert_all(blocks, slots, None)

    def __len__(self) -> int:
        return len(self.index)

    def __contains__(self, block: int) -> bool:
        return block in self.index


def record(steps: int, capacity: int) -> list[Call]:
    calls: list[Call] = []
    make = pool_module.make_index
    pool_module.make_index = lambda name, cap: Recorder(cap, calls)  # type: ignore[assignment,return-value]
    try:
        mgr = KvManager(capacity, eviction="multi_lru")
    finally:
        pool_module.make_index = make
    for move in moves_of(workload(steps, seed=7)):
        mgr.apply(move)
    return calls


def replay(make: Callable[[int], Any], calls: list[Call], capacity: int) -> float:
    index = make(capacity)
    touch, discard, pop_entry, insert_all = index.touch, index.discard, index.pop_entry, index.insert_all
    gc.collect()
    start = time.process_time()
    for op, arg in calls:
        if op == 0:
            touch(arg)
        elif op == 1:
            discard(arg)
        elif op == 2:
            pop_entry()
        else:
            insert_all(arg[0], arg[1], None)
    return time.process_time() - start


def load_baseline(ref: str) -> Callable[[int], Any]:
    """MultiLruIndex of ``ref``'s multi_lru.py and tinylfu.py, as modules of their own."""

    def source(name: str) -> str:
        path = f"kvtui/sim/eviction/{name}.py"
        return subprocess.run(["git", "show", f"{ref}:{path}"], cwd=ROOT, check=True,
                              capture_output=True, text=True).stdout

    sketch = types.ModuleType("baseline_tinylfu")
    sys.modules[sketch.__name__] = sketch
    exec(compile(source("tinylfu"), f"{ref}:tinylfu.py", "exec"), sketch.__dict__)
    index = types.ModuleType("baseline_multi_lru")
    text = source("multi_lru").replace("from kvtui.sim.eviction.tinylfu ", "from baseline_tinylfu ")
    exec(compile(text, f"{ref}:multi_lru.py", "exec"), index.__dict__)
    made: Callable[[int], Any] = index.MultiLruIndex
    return made


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=40_000)
    parser.add_argument("--capacity", type=int, default=4096)
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--baseline", metavar="REF", help="also replay on this git ref's index")
    args = parser.parse_args()
    calls = record(args.steps, args.capacity)
    counts = [sum(1 for op, _ in calls if op == kind) for kind in range(4)]
    blocks = sum(len(arg[0]) for op, arg in calls if op == 3)
    print(f"multi_lru index replay: {args.steps:,} moves, capacity {args.capacity:,}: {counts[0]:,} touches,"
          f" {counts[1]:,} discards, {counts[2]:,} pops, {counts[3]:,} insert_all ({blocks:,} blocks);"
          f" min of {args.repeat} runs")
    variants: dict[str, Callable[[int], Any]] = {"this tree": MultiLruIndex}
    if args.baseline:
        variants[args.baseline] = load_baseline(args.baseline)
    best = dict.fromkeys(variants, float("inf"))
    for _ in range(args.repeat):  # alternating: both see the same machine load
        for label, make in variants.items():
            best[label] = min(best[label], replay(make, calls, args.capacity))
    for label, took in best.items():
        print(f"  {label:<12} {took * 1e3:7.1f} ms   {took / len(calls) * 1e9:6.0f} ns per call")


if __name__ == "__main__":
    main()
