"""Command-line wall times, start-up included (figures only, no asserts).

* `kvtui --help` and a subcommand's `kvtui trace --help`;
* `kvtui trace` of the shared synthetic Mooncake trace (default options: unbounded lineage);
* which heavy modules `kvtui --help` and a headless `kvtui trace` import (Textual must not be one).

Each command runs `--repeat` times in a fresh interpreter; the median is printed (the machine is
shared, so single runs are noisy). Whether kvtui's own bytecode caches exist is printed too: with
PYTHONDONTWRITEBYTECODE=1 and an editable install there are none, and every run compiles the
kvtui modules it imports (some 25 ms of `kvtui trace`), so compare figures taken alike.

Run: python benchmarks/bench_cli.py [--trace FILE] [--repeat N]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

import kvtui

TRACE = Path(__file__).resolve().parents[2] / "shared" / "traces" / "mooncake_synthetic_trace.jsonl"
KVTUI = [sys.executable, "-m", "kvtui.cli.app"]


def wall(args: list[str], repeat: int) -> tuple[float, float, float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    times.sort()
    return statistics.median(times), times[0], times[-1]


def heavy_imports(args: list[str]) -> list[str]:
    probe = (
        "import runpy, sys; sys.argv = {argv!r}\n"
        "try:\n    runpy.run_module('kvtui.cli.app', run_name='__main__')\n"
        "except SystemExit:\n    pass\n"
        "heavy = ('textual', 'yaml', 'rich', 'rich.progress', 'typer.rich_utils', 'pydantic', 'kvtui.tui',\n"
        "         'kvtui.sim.manager', 'kvtui.session.session')\n"
        "print('\\nheavy:', *sorted(m for m in heavy if m in sys.modules))"
    ).format(argv=["kvtui", *args])
    out = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True, text=True).stdout
    return out.splitlines()[-1].split()[1:]  # the last line: `heavy: NAME …`


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trace", default=str(TRACE))
    parser.add_argument("--repeat", type=int, default=9)
    args = parser.parse_args()
    rows = [
        ("python -c pass (interpreter)", [sys.executable, "-c", "pass"]),
        ("kvtui --help", [*KVTUI, "--help"]),
        ("kvtui trace --help", [*KVTUI, "trace", "--help"]),
        ("kvtui trace TRACE", [*KVTUI, "trace", args.trace]),
    ]
    print(f"command wall times incl. start-up, median of {args.repeat} runs (min–max):")
    for name, argv in rows:
        median, low, high = wall(argv, args.repeat)
        print(f"  {name:<30} {median * 1e3:6.0f} ms   ({low * 1e3:.0f}–{high * 1e3:.0f} ms)")
    for argv in (["--help"], ["trace", args.trace]):
        heavy = heavy_imports(argv) or "none of the heavy ones"
        print(f"  heavy modules `kvtui {' '.join(argv[:1])}` imports: {heavy}")
    cached = any(Path(kvtui.__file__).parent.rglob("*.pyc"))
    print(f"  kvtui bytecode caches: {'present' if cached else 'none (each run compiles kvtui)'}")


if __name__ == "__main__":
    main()
