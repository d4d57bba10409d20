"""Scheduler benchmark: prints figures, asserts nothing.

1. Timed replay speed (requests/s, passes/s) of the Mooncake trace's first N requests through
   the scheduler, unbounded and at 4096 blocks of 512 tokens.
2. `pass` as a session step (with its World snapshot for atomicity) on the same load: mean and
   max step time, and step-back latency.

Run: python benchmarks/bench_scheduler.py [--limit N] [--trace FILE]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from kvtui.lang.trace_script import scheduled_trace_script
from kvtui.session.session import Session
from kvtui.sim.config import SchedulerConfig
from kvtui.workload.scheduler.replay import TimedReplay
from kvtui.workload.trace import load_trace

TRACE = Path(__file__).resolve().parents[2] / "shared" / "traces" / "mooncake_synthetic_trace.jsonl"


def replay_speed(trace: Path, limit: int) -> None:
    records = load_trace(trace, limit)
    for capacity in (None, 4096):
        started = time.perf_counter()
        replay = TimedReplay(records, SchedulerConfig(), capacity)
        replay.run()
        elapsed = time.perf_counter() - started
        passes = replay.world.scheduler.passes  # type: ignore[union-attr]
        print(f"replay capacity={capacity or 'unbounded':>9}: {len(records)} requests in {elapsed:.2f} s "
              f"= {len(records) / elapsed:,.0f} requests/s, {passes / elapsed:,.0f} passes/s")


def session_steps(trace: Path, limit: int) -> None:
    records = load_trace(trace, limit)
    script = scheduled_trace_script(records, SchedulerConfig(), 4096)
    session = Session(script)
    times = []
    while session.cursor < session.total:
        started = time.perf_counter()
        session.forward(check_expects=False)
        times.append(time.perf_counter() - started)
    started = time.perf_counter()
    for _ in range(20):
        session.back()
    back = (time.perf_counter() - started) / 20
    print(f"session: {len(times)} steps, mean {sum(times) / len(times) * 1000:.2f} ms, "
          f"max {max(times) * 1000:.1f} ms per step; step back {back * 1000:.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--limit", type=int, default=400)
    parser.add_argument("--trace", type=Path, default=TRACE)
    args = parser.parse_args()
    replay_speed(args.trace, args.limit)
    session_steps(args.trace, min(args.limit, 150))


if __name__ == "__main__":
    main()
