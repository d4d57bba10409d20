"""Human output of `kvtui compare` and `kvtui sweep` (Rich tables, a plotext curve) and the sweep CSV."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from kvtui.session.compare import Comparison
from kvtui.session.sweep import CSV_FIELDS, SweepPoint
from kvtui.sim.errors import KvError
from kvtui.sim.eviction import BACKENDS

SHOWN_DIVERGENCES = 40
MARKERS = {"lineage": "•", "lru": "x", "multi_lru": "+"}  # legible without colour


def parse_list(text: str, what: str) -> list[str]:
    items = [item.strip() for item in text.split(",")]
    if not all(items):
        raise KvError(f"{what}: empty entry in {text!r} (use a comma-separated list)")
    return items


def parse_backends(text: str) -> list[str]:
    items = parse_list(text, "--eviction")
    for item in items:
        if item not in BACKENDS:
            raise KvError(f"--eviction: unknown backend {item!r} (expected {', '.join(BACKENDS)})")
    return items


def parse_capacities(text: str, option: str, most: int) -> list[int]:
    out = []
    for item in parse_list(text, option):
        if not item.isdigit() or not 1 <= int(item) <= most:
            raise KvError(f"{option}: {item!r} is not a capacity in 1..{most}")
        out.append(int(item))
    return out


def _pct(part: int, whole: int) -> str:
    return f"{part / whole:.1%}" if whole else "–"


def print_compare(comparison: Comparison, console: Console | None = None) -> None:
    console = console or Console(highlight=False)
    console.print(f"[bold]{escape(comparison.name)}[/] — {comparison.total} steps in lockstep")
    offload = any(session.config.offload for session in comparison.sessions)
    table = Table(box=box.SIMPLE_HEAD, header_style="bold", pad_edge=False, collapse_padding=True)
    titles = ["session", "backend", "cap", "hit blocks", "tokens", "stored", "evicted"]
    for title in titles + (["G2 ±, ⇠in"] if offload else []):
        table.add_column(title, justify="left" if title in ("session", "backend") else "right", no_wrap=True)
    for label, session, tally in zip(comparison.labels, comparison.sessions, comparison.tally(), strict=True):
        row = [
            escape(label),
            session.config.eviction,
            f"{session.config.capacity:,}",
            f"{tally.prefix_hit_blocks}/{tally.lookups} {_pct(tally.prefix_hit_blocks, tally.lookups)}",
            _pct(tally.prefix_hit_tokens, tally.tokens),
            str(tally.stored),
            str(tally.evicted),
        ]
        if offload:
            g2 = f"+{tally.g2_stored} -{tally.g2_removed} ⇠{tally.g2_onboarded}"
            row.append(g2 if session.config.offload else "–")
        table.add_row(*row)
    console.print(table)
    divergences = comparison.divergences
    if not divergences:
        console.print("The sessions never diverge: every step did the same in each.")
    else:
        console.print(f"[bold]{len(divergences)} divergence steps[/] (first: step {divergences[0].step})")
        steps = Table(box=None, header_style="bold", pad_edge=False)
        steps.add_column("step", justify="right")
        steps.add_column("command", overflow="ellipsis", max_width=36, no_wrap=True)
        steps.add_column("what differed")
        for item in divergences[:SHOWN_DIVERGENCES]:
            steps.add_row(str(item.step), escape(item.command), escape(item.text))
        console.print(steps)
        if len(divergences) > SHOWN_DIVERGENCES:
            console.print(f"… {len(divergences) - SHOWN_DIVERGENCES} more (--json lists them all)")
    if comparison.error is not None:
        console.print(
            f"[red]stopped[/]: {escape(comparison.error_label or '')}: {escape(str(comparison.error))}"
        )


# -- sweep --------------------------------------------------------------------------------------


def _by_backend(points: Sequence[SweepPoint]) -> dict[str, list[SweepPoint]]:
    """Points per backend (in the order given), each list by capacity ascending."""
    out: dict[str, list[SweepPoint]] = {}
    for point in sorted(points, key=lambda p: p.capacity):
        out.setdefault(point.eviction, []).append(point)
    return out


def sweep_table(points: Sequence[SweepPoint]) -> Table:
    """Capacity rows, one column per backend: prefix hit ratio in blocks (and tokens)."""
    series = _by_backend(points)
    table = Table(header_style="bold", pad_edge=False, title="prefix hit ratio, blocks (tokens)")
    table.add_column("capacity", justify="right")
    for name in series:
        table.add_column(name, justify="right")
    table.add_column(f"evictions ({' / '.join(series)})", justify="right")
    capacities = sorted({p.capacity for p in points})
    for capacity in capacities:
        row = [f"{capacity:,}"]
        evictions = []
        for items in series.values():
            point = next(p for p in items if p.capacity == capacity)
            f = point.figures
            row.append(f"{f['prefix_block_hit_ratio']:.2%} ({f['prefix_token_hit_ratio']:.2%})")
            evictions.append(f"{f['evicted_blocks']:,}")
        row.append(" / ".join(evictions))
        table.add_row(*row)
    return table


def _figure(
    series: dict[str, list[tuple[int, float]]], title: str, width: int, color: bool, height: int
) -> str:
    """One plotext line chart over capacities (log x axis when there are several)."""
    import plotext as plt

    plt.clear_figure()
    capacities = sorted({c for values in series.values() for c, _ in values})
    for name, values in series.items():
        plt.plot([c for c, _ in values], [v for _, v in values], label=name, marker=MARKERS.get(name, "o"))
    if len(capacities) > 1:
        plt.xscale("log")
    plt.xticks(capacities, [f"{c:,}" for c in capacities])
    plt.title(title)
    plt.xlabel("G1 capacity (blocks, log scale)")
    plt.plotsize(max(40, min(width, 100)), height)
    plt.theme("pro" if color else "clear")
    text: str = plt.build()
    return text if color else str(plt.uncolorize(text))


def sweep_plot(points: Sequence[SweepPoint], width: int, color: bool) -> str:
    """The miss-ratio curve as hit ratio vs capacity, one line per backend; with several backends a
    second chart shows each one's gap to the first in percentage points, since the curves of
    policies that mostly agree lie on top of each other."""
    series = {
        name: [(p.capacity, p.figures["prefix_block_hit_ratio"]) for p in items]
        for name, items in _by_backend(points).items()
    }
    text = _figure(series, "prefix hit ratio (blocks) vs G1 capacity", width, color, 20)
    if len(series) < 2:
        return text
    (base, reference), *others = series.items()
    gaps = {
        name: [(c, 100 * (v - r)) for (c, v), (_, r) in zip(values, reference, strict=True)]
        for name, values in others
    }
    title = f"hit ratio minus {base}'s (percentage points)"
    return text + "\n" + _figure(gaps, title, width, color, 12)


def print_sweep(
    points: Sequence[SweepPoint], seconds: float, jobs: int, console: Console | None = None
) -> None:
    console = console or Console(highlight=False)
    console.print(sweep_table(points))
    console.print(Text.from_ansi(sweep_plot(points, console.width, console.is_terminal)))
    console.print(
        f"wall time {seconds:.1f} s ({len(points)} replays on {jobs} process{'es' if jobs > 1 else ''})"
    )


def sweep_csv(points: Sequence[SweepPoint]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, CSV_FIELDS, lineterminator="\n")
    writer.writeheader()
    for point in points:
        writer.writerow(point.row())
    return out.getvalue()
