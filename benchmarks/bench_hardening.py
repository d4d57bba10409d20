"""Costs that must not grow with history (issue 15): prints figures, asserts nothing.

1. A session of N requests, each created, prefilled and finished: the time to build it and
   the time of one more `prefill` at the end (a request command copies only its own request).
2. With --rss STEPS: peak RSS of `kvtui run` (human and --json) and `kvtui validate` on a
   generated script of STEPS steps (`use i` / `deref i`), measured with /usr/bin/time -v.

Run: python benchmarks/bench_hardening.py [--requests N] [--rss STEPS]
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from kvtui.session.session import sandbox
from kvtui.sim.config import Config


def requests_session(count: int) -> None:
    session = sandbox(Config(4096))
    session.keep_checkpoints = False
    prompt = " ".join(map(str, range(64)))
    started = time.perf_counter()
    for n in range(count):
        session.insert(f"req r{n} tokens {prompt}")
        session.insert(f"prefill r{n}")
        session.insert(f"finish r{n}")
    built = time.perf_counter() - started
    session.insert(f"req last tokens {prompt}")
    started = time.perf_counter()
    session.insert("prefill last")
    one = time.perf_counter() - started
    print(f"{count:,} finished requests: session built in {built:.2f} s; "
          f"one more prefill {one * 1000:.2f} ms")


def peak_rss(args: list[str]) -> tuple[float, float]:
    done = subprocess.run(
        ["/usr/bin/time", "-v", sys.executable, "-m", "kvtui.cli.app", *args],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=False,
    )
    kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr).group(1))  # type: ignore[union-attr]
    clock = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", done.stderr).group(1)  # type: ignore[union-attr]
    parts = [float(p) for p in clock.split(":")]
    seconds = sum(p * 60**i for i, p in enumerate(reversed(parts)))
    return kb / 1024, seconds


def rss(steps: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "long.yaml"
        with path.open("w") as out:
            out.write("name: long\nconfig:\n  capacity: 4096\nsteps:\n")
            for i in range(steps // 2):
                out.write(f"  - use {i}\n  - deref {i}\n")
        for args in (["run", str(path)], ["run", str(path), "--json"], ["validate", str(path)]):
            mb, seconds = peak_rss(args)
            what = " ".join(args[:1] + args[2:])
            print(f"kvtui {what} ({steps:,} steps): peak RSS {mb:,.0f} MB, {seconds:.0f} s")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--rss", type=int, default=0, help="steps of the generated script (0: skip)")
    args = parser.parse_args()
    requests_session(args.requests)
    if args.rss:
        rss(args.rss)


if __name__ == "__main__":
    main()
