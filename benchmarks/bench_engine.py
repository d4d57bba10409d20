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
* `--ablate`: where the engine's time beyond the floor goes. Each backend is timed again with
  one required piece stubbed out (the router events a Use publishes; the checks a Deref makes
  before it releases), paired with the full engine; the difference is that piece's cost, in
  floor units. The stubbed engines are wrong on purpose: they exist only here.

Run: python benchmarks/bench_engine.py [--steps N] [--capacity N] [--repeat N] [--ablate]
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


def run_engine(moves: list[Use | Deref], capacity: int, eviction: str, stub: str | None = None) -> float:
    """CPU seconds to apply ``moves``; ``stub`` names a piece of ABLATIONS to stub out first."""
    mgr = KvManager(capacity, eviction=eviction)
    if stub is not None:
        ABLATIONS[stub](mgr)
    apply = mgr.apply
    gc.collect()
    start = time.process_time()
    for move in moves:
        apply(move)
    return time.process_time() - start


def _no_events(mgr: KvManager) -> None:
    mgr._publish_use = lambda result, anchor: None  # type: ignore[method-assign]


def _no_deref_checks(mgr: KvManager) -> None:
    release = mgr._release_all
    mgr._deref_fast = lambda move: release(move.blocks) or True  # type: ignore[method-assign]


ABLATIONS = {"router events": _no_events, "deref checks": _no_deref_checks}


def ablate(moves: list[Use | Deref], capacity: int, repeat: int) -> None:
    """Print what each stubbed piece costs per backend, in floor units (best of paired runs)."""
    ops = sum(len(m.blocks) for m in moves)
    print(f"ablation: best of {repeat} paired runs, cost of each piece in floor units")
    floor = min(run_floor(moves, capacity) for _ in range(repeat))
    for backend in BACKENDS:
        best = {name: float("inf") for name in ("full", *ABLATIONS)}
        for _ in range(repeat):
            best["full"] = min(best["full"], run_engine(moves, capacity, backend))
            for stub in ABLATIONS:
                best[stub] = min(best[stub], run_engine(moves, capacity, backend, stub))
        parts = "   ".join(f"{stub} {(best['full'] - best[stub]) / floor:4.2f}×" for stub in ABLATIONS)
        full = f"full {best['full'] / floor:4.2f}× ({best['full'] / ops * 1e6:.3f} µs/op)"
        print(f"  {backend:<10} {full}   {parts}")


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
    parser.add_argument("--ablate", action="store_true",
                        help="also time each backend with one required piece stubbed out")
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
    if args.ablate:
        ablate(moves, args.capacity, args.repeat)


if __name__ == "__main__":
    main()
