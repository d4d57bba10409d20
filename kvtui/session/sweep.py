"""Capacity sweep: a trace replayed at several G1 capacities under each backend (the miss-ratio curve).

Why: a single replay answers "what hit ratio at this size?"; sizing a cache needs the curve. Every
(backend, capacity) point is an independent :class:`TraceReplay`, so the points run in parallel
worker processes (``jobs``); each worker reports requests done through a queue so the caller can
show progress. The figures of a point are exactly `kvtui trace --capacity C --eviction E --json`.
"""

from __future__ import annotations

import multiprocessing
import queue
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

from kvtui.sim.errors import KvError
from kvtui.workload.trace import DEFAULT_BLOCK_SIZE, TraceReplay, TraceRequest, distinct_blocks, figures_json

REPORT_EVERY = 128  # requests between progress reports from a worker
# Below this many requests replayed in all, starting worker processes (~0.5 s each: a fresh
# interpreter importing kvtui) costs more than it saves, so the sweep runs in this process.
PARALLEL_MIN_REQUESTS = 20_000
CSV_FIELDS = (
    "capacity",
    "eviction",
    "prefix_block_hit_ratio",
    "prefix_token_hit_ratio",
    "prefix_hit_blocks",
    "blocks",
    "prefix_hit_tokens",
    "input_tokens",
    "evicted_blocks",
    "truncated_requests",
)


@dataclass(frozen=True, slots=True)
class SweepPoint:
    eviction: str
    capacity: int
    figures: dict[str, Any]  # figures_json of the replay

    def row(self) -> dict[str, Any]:
        """The point's CSV/JSON fields (see :data:`CSV_FIELDS`)."""
        return {key: self.figures[key] for key in CSV_FIELDS[2:]} | {
            "capacity": self.capacity,
            "eviction": self.eviction,
        }


def replay_point(
    records: list[TraceRequest],
    capacity: int,
    eviction: str,
    block_size: int = DEFAULT_BLOCK_SIZE,
    label: str = "trace",
    progress: Callable[[int], None] | None = None,
) -> SweepPoint:
    replay = TraceReplay(records, capacity, eviction, block_size, label=label)
    replay.run(progress, REPORT_EVERY)
    return SweepPoint(eviction, capacity, figures_json(replay))


def workers_for(requests: int, points: int, jobs: int) -> int:
    """How many processes a sweep of ``points`` replays of ``requests`` each uses (1: in-process)."""
    if jobs <= 1 or points == 1 or requests * points < PARALLEL_MIN_REQUESTS:
        return 1
    return min(jobs, points)


# -- worker processes -------------------------------------------------------------------------

_records: list[TraceRequest] = []
_progress: Any = None


def _init_worker(records: list[TraceRequest], progress: Any) -> None:
    global _records, _progress
    _records, _progress = records, progress


def _run_in_worker(capacity: int, eviction: str, block_size: int, label: str) -> SweepPoint:
    return replay_point(_records, capacity, eviction, block_size, label, _progress.put)


def sweep(
    records: list[TraceRequest],
    capacities: Sequence[int],
    evictions: Sequence[str],
    block_size: int = DEFAULT_BLOCK_SIZE,
    label: str = "trace",
    jobs: int = 1,
    progress: Callable[[int], None] | None = None,
) -> list[SweepPoint]:
    """Every (eviction, capacity) point, ordered by eviction as given then capacity ascending.

    Up to ``jobs`` processes run the points (see :func:`workers_for`); ``progress(n)`` is called
    in this process as n more requests are replayed (len(records) per point in all).
    """
    if not capacities or not evictions:
        raise KvError("sweep needs at least one capacity and one backend")
    if block_size < 1:
        raise KvError(f"block size must be >= 1, got {block_size}")
    points = [(e, c) for e in evictions for c in sorted(set(capacities))]
    workers = workers_for(len(records), len(points), jobs)
    if workers == 1:
        return [replay_point(records, c, e, block_size, label, progress) for e, c in points]
    context = multiprocessing.get_context("spawn")  # no fork of a threaded parent (Rich progress)
    updates = context.Queue()
    with ProcessPoolExecutor(workers, context, _init_worker, (records, updates)) as pool:
        # Largest capacities first: the slowest points start early, so the pool ends together.
        order = sorted(points, key=lambda p: -p[1])
        futures = {pool.submit(_run_in_worker, c, e, block_size, label): (e, c) for e, c in order}
        done = _collect(futures, updates, progress)
    _drain(updates, progress)  # reports still in flight when the last point finished
    return [done[p] for p in points]


def _collect(
    futures: dict[Future[SweepPoint], tuple[str, int]],
    updates: Any,
    progress: Callable[[int], None] | None,
) -> dict[tuple[str, int], SweepPoint]:
    done: dict[tuple[str, int], SweepPoint] = {}
    pending = set(futures)
    while pending:
        finished, pending = wait(pending, timeout=0.1, return_when=FIRST_COMPLETED)
        _drain(updates, progress)
        for future in finished:
            done[futures[future]] = future.result()  # re-raises a worker's KvError here
    return done


def _drain(updates: Any, progress: Callable[[int], None] | None) -> None:
    while True:
        try:
            n = updates.get_nowait()
        except queue.Empty:
            return
        if progress is not None:
            progress(n)


def sweep_json(
    label: str, records: list[TraceRequest], block_size: int, points: list[SweepPoint]
) -> dict[str, Any]:
    """The `kvtui sweep --json` object (deterministic: no timings)."""
    return {
        "trace": label,
        "requests": len(records),
        "unique_blocks": distinct_blocks(records),
        "block_size": block_size,
        "capacities": sorted({p.capacity for p in points}),
        "evictions": list(dict.fromkeys(p.eviction for p in points)),
        "points": [p.row() for p in points],
    }
