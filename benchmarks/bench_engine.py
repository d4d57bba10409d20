"""Engine apply and command parsing against the floor (figures only, no asserts).

* CPU time (time.process_time: the machine is shared, wall time counts other work).
* engine: `KvManager.apply` of pre-built Use/Deref moves, per backend, against
  :class:`floor.FloorLru` on the same moves — after checking the floor stores and evicts exactly
  what `lru` does. Ratio = engine time / floor time (medians of repeated runs; on a shared
  machine the ratio of the best runs, also printed, is the steadier figure). The moves come
  from `parse`, as every script and typed line does: its fast path vouches that the ids are ints
  in range (`Use.plain`), so the engine does not check that twice (the parse row below pays
  for it). `--python-moves` builds them with `Use(blocks)` instead, so the engine checks
  everything itself (the figure for a caller of the Python API).
* parsing: `kvtui.lang.commands.parse` over the same command lines, µs per block id.

Run: python benchmarks/bench_engine.py [--steps N] [--capacity N] [--repeat N]
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_session import workload  # noqa: E402
from floor import FloorLru  # noqa: E402

from kvtui.lang.commands import parse  # noqa: E402
from kvtui.sim.manager import KvManager  # noqa: E402
from kvtui.sim.moves import Deref, Use  # noqa: E402

BACKENDS = ("lru", "lineage", "multi_lru")


def moves_of(lines: list[str], python: bool = False) -> list[Use | Deref]:
    """The moves of `lines`, parsed (the default) or built directly in Python."""
    if not python:
        return [parse(line).move for line in lines]  # type: ignore[union-attr]
    out: list[Use | Deref] = []
    for line in lines:
        verb, *ids = line.split()
        blocks = tuple(map(int, ids))
        out.append(Use(blocks) if verb == "use" else Deref(blocks))
    return out


def run_engine(moves: list[Use | Deref], capacity: int, eviction: str) -> float:
    mgr = KvManager(capacity, eviction=eviction)
    apply = mgr.apply
    gc.collect()
    start = time.process_time()
    for move in moves:
        apply(move)
    return time.process_time() - start


def run_floor(moves: list[Use | Deref], capacity: int) -> float:
    floor = FloorLru(capacity)
    gc.collect()
    start = time.process_time()
    for move in moves:
        if isinstance(move, Use):
            floor.use(move.blocks)  # type: ignore[arg-type]
        else:
            floor.deref(move.blocks)  # type: ignore[arg-type]
    return time.process_time() - start


def check_floor(moves: list[Use | Deref], capacity: int) -> int:
    """The floor must store and evict what `lru` does, move by move; returns evictions seen."""
    mgr, floor = KvManager(capacity, eviction="lru"), FloorLru(capacity)
    evictions = 0
    for n, move in enumerate(moves):
        got = mgr.apply(move)
        if isinstance(move, Use):
            done, stored, evicted = floor.use(move.blocks)  # type: ignore[arg-type]
            want = (got.returned, got.stored, got.evicted)
            if (done, stored, evicted) != want:
                raise SystemExit(f"floor differs from lru at move {n}: {(done, stored, evicted)} != {want}")
            evictions += len(evicted)
        else:
            floor.deref(move.blocks)  # type: ignore[arg-type]
    return evictions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=40_000)
    parser.add_argument("--capacity", type=int, default=4096)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--python-moves", action="store_true",
                        help="build the moves with Use(blocks): the engine checks every id itself")
    args = parser.parse_args()
    lines = workload(args.steps, seed=7)
    moves = moves_of(lines, args.python_moves)
    ops = sum(len(m.blocks) for m in moves)
    evictions = check_floor(moves, args.capacity)
    print(f"engine vs floor: {args.steps:,} moves, {ops:,} block ops, capacity {args.capacity:,},"
          f" {evictions:,} evictions; moves {'built in Python' if args.python_moves else 'parsed'};"
          f" floor checked equal to lru (stores and evictions);"
          f" medians of {args.repeat} paired runs")
    floors: list[float] = []
    engines: dict[str, list[float]] = {b: [] for b in BACKENDS}
    for _ in range(args.repeat):  # paired: each round times the floor and every backend
        floors.append(run_floor(moves, args.capacity))
        for backend in BACKENDS:
            engines[backend].append(run_engine(moves, args.capacity, backend))
    floor = statistics.median(floors)
    print(f"  floor      {floor / ops * 1e6:6.3f} µs per block op")
    for backend in BACKENDS:
        took = statistics.median(engines[backend])
        ratios = sorted(e / f for e, f in zip(engines[backend], floors, strict=True))
        best = min(engines[backend]) / min(floors)  # other work only ever adds time
        print(f"  {backend:<10} {took / ops * 1e6:6.3f} µs per block op   {took / floor:5.2f}× the floor"
              f"   (paired ratios {ratios[0]:.2f}–{ratios[-1]:.2f}; best of each {best:.2f}×)")
    ids = sum(len(line.split()) - 1 for line in lines)
    times = []
    for _ in range(args.repeat):
        gc.collect()
        start = time.process_time()
        for line in lines:
            parse(line)
        times.append(time.process_time() - start)
    print(f"  parsing    {statistics.median(times) / ids * 1e6:6.3f} µs per id ({ids:,} ids)")


if __name__ == "__main__":
    main()
