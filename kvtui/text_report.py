"""Readable summary of a headless run (Rich): one line per step, then the final pools."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from kvtui.engine.events import RouterEvent
from kvtui.engine.session import Session

TIER = {"device": "G1", "host_pinned": "G2"}


def describe_event(event: RouterEvent) -> str:
    ids = " ".join(map(str, event.blocks))
    tier = TIER.get(event.tier, event.tier)
    if event.kind == "stored":
        parent = "none" if event.parent_hash is None else event.parent_hash
        return f"[green]{tier} stored[/] [{ids}] parent={parent}"
    return f"[red]{tier} removed[/] [{ids}]"


def print_run(session: Session, console: Console | None = None) -> None:
    console = console or Console(highlight=False)
    cfg = session.config
    g2 = f", G2 {cfg.offload.g2_blocks} blocks" if cfg.offload else ""
    console.print(
        f"[bold]{escape(session.name)}[/] — capacity {cfg.capacity}, {cfg.eviction}{g2}, "
        f"block size {cfg.block_size}"
    )
    table = Table(box=None, show_header=True, header_style="bold", pad_edge=False)
    for column in ("step", "command", "returned", "events"):
        table.add_column(column, justify="right" if column in ("step", "returned") else "left")
    for number, (step, result) in enumerate(zip(session.steps, session.records, strict=False), 1):
        events = "; ".join(describe_event(e) for e in result.events)
        if result.warnings:
            events += "".join(f"\n[yellow]warning:[/] {escape(w)}" for w in result.warnings)
        table.add_row(str(number), escape(step.text), str(result.returned), events or "[dim]—[/]")
    console.print(table)
    _print_pools(session, console)


def _print_pools(session: Session, console: Console) -> None:
    mgr = session.manager
    quarantined = sum(1 for kind in mgr.pool.held.values() if kind == "quarantined")
    console.print(
        f"[bold]G1[/] reset {mgr.num_reset} · [cyan]inactive {mgr.num_inactive_blocks}[/] · "
        f"[magenta]active {mgr.num_active_blocks}[/] (refs {mgr.num_active_block_refs}"
        f", partials {len(mgr.partials)}, quarantined {quarantined}) · clock {mgr.clock_ms:g} ms"
    )
    active = " ".join(f"{b}:{r}" for b, r in sorted(mgr.active().items()))
    console.print(f"  active blocks: {active or '—'}")
    order = mgr.eviction_order()
    console.print(f"  eviction order (next victim first): {' '.join(map(str, order)) or '—'}")
