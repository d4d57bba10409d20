"""Human output of `kvtui trace` (Rich): the figures of a replay as a table, then its speed.

Apart from :mod:`kvtui.cli.text_report` so that printing a trace's figures loads Rich's console
and table only, no session, scheduler or label code.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table


def print_trace(figures: dict[str, Any], elapsed: float, console: Console | None = None) -> None:
    """`kvtui trace` human output: the figures of kvtui.workload.trace.figures_json, then speed."""
    console = console or Console(highlight=False)
    cfg = figures["config"]
    capacity = f"capacity {cfg['capacity']:,}"
    if cfg["unbounded"]:  # one slot per distinct block: nothing is evicted (none for an empty trace)
        slots = figures["unique_blocks"]
        capacity = "capacity unbounded"
        if slots:
            capacity += f" ({slots:,} slots, one per distinct block)"
    g2 = f" · G2 {cfg['g2_blocks']:,} blocks" if cfg["g2_blocks"] else ""
    console.print(
        f"[bold]trace {escape(figures['trace'])}[/] — {capacity} · "
        f"{cfg['eviction']} · block size {cfg['block_size']}{g2}"
    )
    table = _figure_table()
    blocks, tokens = figures["blocks"], figures["input_tokens"]
    table.add_row("requests", f"{figures['requests']:,}", "")
    table.add_row("blocks", f"{blocks:,}", f"{figures['unique_blocks']:,} distinct")
    table.add_row("prefix block hit ratio", f"{figures['prefix_block_hit_ratio']:.3f}",
                  f"{figures['prefix_hit_blocks']:,} of {blocks:,} blocks")
    table.add_row("prefix token hit ratio", f"{figures['prefix_token_hit_ratio']:.3f}",
                  f"{figures['prefix_hit_tokens']:,} of {tokens:,} input tokens")
    table.add_row("block hit ratio anywhere", f"{figures['block_hit_ratio_anywhere']:.3f}",
                  f"{figures['hit_blocks_anywhere']:,} blocks resident anywhere in their chain")
    table.add_row("stored blocks", f"{figures['stored_blocks']:,}", "")
    table.add_row("evicted blocks", f"{figures['evicted_blocks']:,}", "G1 removed")
    table.add_row("requests that did not fit", f"{figures['truncated_requests']:,}", "")
    g2_figures = figures["g2"]
    if g2_figures:
        table.add_row("G2 hit blocks", f"{g2_figures['hit_blocks']:,}", "onboarded after the G1 prefix")
        table.add_row("G1+G2 prefix block hit ratio", f"{g2_figures['prefix_block_hit_ratio']:.3f}", "")
        table.add_row("G1+G2 prefix token hit ratio", f"{g2_figures['prefix_token_hit_ratio']:.3f}", "")
        table.add_row("G2 stored / evicted blocks",
                      f"{g2_figures['stored_blocks']:,} / {g2_figures['evicted_blocks']:,}", "")
        table.add_row("clock", f"{g2_figures['clock_ms']:,.1f} ms", "")
    console.print(table)
    speed = blocks / elapsed if elapsed > 0 else 0.0
    console.print(f"[dim]replayed {blocks:,} blocks in {elapsed:.2f} s ({speed:,.0f} blocks/s)[/]")


def print_timed_trace(figures: dict[str, Any], elapsed: float, console: Console | None = None) -> None:
    """`kvtui trace --scheduler` human output (kvtui.workload.scheduler.replay figures)."""
    console = console or Console(highlight=False)
    cfg = figures["config"]
    sched = cfg["scheduler"]
    bound = " (unbounded)" if cfg["unbounded"] else ""
    g2 = f" · G2 {cfg['g2_blocks']:,} blocks" if cfg["g2_blocks"] else ""
    budget = sched["max_num_batched_tokens"]
    console.print(
        f"[bold]trace {escape(figures['trace'])}[/] — scheduler · capacity {cfg['capacity']:,}{bound} · "
        f"{cfg['eviction']} · block size {cfg['block_size']}{g2} · budget "
        f"{'unbounded' if budget is None else f'{budget:,}'} · max seqs {sched['max_num_seqs']} · "
        f"{sched['preemption']}"
    )
    table = _figure_table()
    tokens = figures["input_tokens"]
    table.add_row("requests", f"{figures['completed']:,} / {figures['requests']:,}", "completed")
    table.add_row("prefix hit ratio", f"{figures['prefix_hit_ratio']:.3f}",
                  f"{figures['prefix_hit_tokens']:,} of {tokens:,} prompt tokens cached at first admission")
    table.add_row("reused-token ratio", f"{figures['reused_ratio']:.3f}",
                  "upstream: largest cached prefix over all admissions")
    for key, label in (("ttft_ms", "TTFT"), ("itl_ms", "ITL"), ("e2e_ms", "end to end")):
        p = figures[key]
        table.add_row(f"{label} p50 / p90 / p99", f"{p['p50']:,.1f} / {p['p90']:,.1f} / {p['p99']:,.1f} ms",
                      f"mean {p['mean']:,.1f}, max {p['max']:,.1f}")
    rate = figures["throughput"]
    table.add_row("throughput", f"{rate['requests_per_s']:,.2f} req/s",
                  f"{rate['input_tokens_per_s']:,.0f} input tok/s, "
                  f"{rate['output_tokens_per_s']:,.0f} output tok/s")
    table.add_row("preemptions", f"{figures['preemptions']:,}",
                  f"{figures['preempted_requests']:,} requests preempted at least once")
    table.add_row("peak running", f"{figures['peak_running']:,}", f"{figures['passes']:,} passes")
    use = figures["g1_use"]
    table.add_row("G1 use", f"{use['mean_active_fraction']:.1%} mean",
                  f"peak {use['peak_active']:,} of {use['capacity']:,} blocks active")
    table.add_row("stored / evicted blocks",
                  f"{figures['stored_blocks']:,} / {figures['evicted_blocks']:,}", "")
    table.add_row("simulated time", f"{figures['duration_ms'] / 1000:,.1f} s", "")
    if figures["g2"]:
        g2_figures = figures["g2"]
        table.add_row("G2 swap-ins", f"{g2_figures['parked_requests']:,} parked",
                      f"{g2_figures['onboarded_blocks']:,} blocks onboarded")
    console.print(table)
    console.print(f"[bold]G1 active over time[/] {_sparkline(use)}")
    speed = figures["requests"] / elapsed if elapsed > 0 else 0.0
    console.print(
        f"[dim]replayed {figures['requests']:,} requests in {elapsed:.2f} s ({speed:,.0f} requests/s)[/]"
    )


def _sparkline(use: dict[str, Any]) -> str:
    bars = "▁▂▃▄▅▆▇█"
    capacity = max(1, use["capacity"])
    return "".join(bars[min(7, int(p["active_max"] / capacity * 8))] for p in use["series"])


def _figure_table() -> Table:
    """A borderless figure | value | detail table (the trace reports)."""
    table = Table(box=None, show_header=False, pad_edge=False)
    table.add_column("figure")
    table.add_column("value", justify="right")
    table.add_column("detail", style="dim")
    return table
