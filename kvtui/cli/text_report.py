"""Readable summary of a headless run (Rich): one line per step, then the final pools.

Block ids of a million and above are shown as short labels (kvtui.session.labels); the JSON report
keeps full integers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from kvtui.session.labels import short, short_ids, short_move
from kvtui.sim.errors import escaped
from kvtui.workload.scheduler.state import PassReport, PassResult
from kvtui.workload.world import World

if TYPE_CHECKING:  # annotations only: `kvtui trace` then loads no session, parser or YAML
    from collections.abc import Sequence

    from kvtui.lang.script import Step
    from kvtui.lang.script_stream import ScriptStream
    from kvtui.session.session import Session, StepError
    from kvtui.sim.config import Config
    from kvtui.sim.events import RouterEvent
    from kvtui.sim.manager import KvManager, MoveResult

TIER = {"device": "G1", "host_pinned": "G2"}


def describe_event(event: RouterEvent) -> str:
    ids = short_ids(event.blocks)
    tier = TIER.get(event.tier, event.tier)
    if event.kind == "stored":
        parent = "none" if event.parent_hash is None else short(event.parent_hash)
        return f"[green]{tier} stored[/] {escape(f'[{ids}]')} parent={parent}"
    return f"[red]{tier} removed[/] {escape(f'[{ids}]')}"


def print_run(
    session: Session, console: Console | None = None, notes: bool = True,
    failures: Sequence[StepError] = (),
) -> None:
    """The run as a table, each step's notes (unless `notes` is off) and not-enforced expect
    failures right below it, then the final pools."""
    console = console or Console(highlight=False)
    _print_head(session.name, session.config, console)
    failed: dict[int, list[StepError]] = {}
    for failure in failures:
        failed.setdefault(failure.step, []).append(failure)
    table = _table()
    _add_remarks(table, session.intro, failed.get(0, []), notes)
    for number, (step, result) in enumerate(zip(session.steps, session.records, strict=False), 1):
        table.add_row(*_row(number, step, result))
        _add_remarks(table, step, failed.get(number, []), notes)
    console.print(table)
    _print_pools(session, console)


def _print_head(name: str, cfg: Config, console: Console) -> None:
    g2 = f", G2 {cfg.offload.g2_blocks} blocks" if cfg.offload else ""
    console.print(
        f"[bold]{escape(escaped(name))}[/] — capacity {cfg.capacity}, {cfg.eviction}{g2}, "
        f"block size {cfg.block_size}"
    )


def _table(widths: tuple[int, int] | None = None, header: bool = True) -> Table:
    """The step table; fixed ``(step, command)`` widths keep the batches of one run aligned."""
    table = Table(box=None, show_header=header, header_style="bold", pad_edge=False)
    for index, column in enumerate(("step", "command", "returned", "events")):
        width = None
        if widths is not None and index < 2:
            width = widths[index]
        elif widths is not None and column == "returned":
            width = len(column)
        table.add_column(column, justify="right" if column in ("step", "returned") else "left", width=width)
    return table


def _row(number: int, step: Step, result: MoveResult) -> tuple[str, str, str, str]:
    events = "; ".join(describe_event(e) for e in result.events)
    if result.expanded:
        events = _expansion(result)
    if isinstance(result, PassResult):
        events = "\n".join([*map(_pass_line, result.passes[:MAX_PASS_LINES]), events]).strip()
    if result.warnings:
        events += "".join(f"\n[yellow]warning:[/] {escape(w)}" for w in result.warnings)
    return str(number), escape(step.text), str(result.returned), events or "[dim]—[/]"


class RunPrinter:
    """`kvtui run` human output as the run goes, for a HeadlessRun: rows printed in batches.

    A run of up to ``BATCH`` steps prints one table, exactly as :func:`print_run` would; a
    longer one prints a batch at a time with fixed column widths, so memory stays flat.
    ``failed`` collects not-enforced expect failures (--no-expect) shown under their step.
    """

    BATCH = 2_000

    def __init__(
        self, stream: ScriptStream, notes: bool = True, console: Console | None = None
    ) -> None:
        self.console = console or Console(highlight=False)
        self.notes = notes
        self.intro: Step | None = stream.script.intro
        self.table = _table()
        self.rows = 0
        self.failures: list[StepError] = []
        self.pending: list[StepError] = []
        count, widest = stream.count, stream.widest
        self.widths = None if count <= self.BATCH else (max(4, len(str(count))), max(7, min(widest, 48)))
        self.printed = False
        _print_head(stream.script.name, stream.script.config, self.console)

    def failed(self, error: StepError) -> None:
        self.failures.append(error)
        self.pending.append(error)

    def add(self, number: int, step: Step, result: MoveResult) -> None:
        self._intro()
        self.table.add_row(*_row(number, step, result))
        self._remarks(step)
        self.rows += 1
        if self.rows >= self.BATCH and self.widths is not None:
            self.flush()

    def _intro(self) -> None:
        if self.intro is not None:
            self._remarks(self.intro)
            self.intro = None

    def _remarks(self, step: Step) -> None:
        _add_remarks(self.table, step, self.pending, self.notes)
        self.pending = []

    def flush(self) -> None:
        self.console.print(self.table)
        self.table = _table(self.widths, header=False)
        self.rows = 0
        self.printed = True

    def finish(self, run: RunState) -> None:
        self._intro()
        if self.rows or not self.printed:
            self.console.print(self.table)
        _print_pools(run, self.console)


class RunState(Protocol):
    """What the pools summary reads: a Session or a HeadlessRun."""

    @property
    def manager(self) -> KvManager: ...

    @property
    def world(self) -> World: ...


def _add_remarks(table: Table, step: Step, failures: list[StepError], notes: bool) -> None:
    """The step's notes and its failed (not enforced) expects, as rows under it."""
    for note in step.notes if notes else []:
        table.add_row("", "", "", f"[cyan]note:[/] [italic]{escape(note)}[/]")
    for failure in failures:
        line = f"line {failure.line}: " if failure.line is not None else ""
        table.add_row("", "", "", f"[yellow]expect failed (not enforced):[/] {line}{escape(failure.message)}")


def _print_pools(session: RunState, console: Console) -> None:
    mgr = session.manager
    quarantined = sum(1 for kind in mgr.pool.held.values() if kind == "quarantined")
    console.print(
        f"[bold]G1[/] reset {mgr.num_reset} · [cyan]inactive {mgr.num_inactive_blocks}[/] · "
        f"[magenta]active {mgr.num_active_blocks}[/] (refs {mgr.num_active_block_refs}"
        f", partials {len(mgr.partials)}, quarantined {quarantined}) · clock {mgr.clock_ms:g} ms"
    )
    active = " ".join(f"{short(b)}:{r}" for b, r in sorted(mgr.active().items()))
    console.print(f"  active blocks: {active or '—'}")
    order = mgr.eviction_order()
    console.print(f"  eviction order (next victim first): {short_ids(order) or '—'}")
    _print_g2(session, console)
    _print_requests(session, console)


def _print_g2(session: RunState, console: Console) -> None:
    """G2 residents in eviction order, pinned blocks and transfers still in flight."""
    view = session.manager.g2_view()
    if view is None:
        return
    used = len(view.evictable) + view.active
    console.print(
        f"[bold]G2[/] {used}/{view.capacity} slots · evictable (next victim first): "
        f"{short_ids(view.evictable) or '—'} · pinned: {short_ids(view.pinned) or '—'}"
    )
    for t in view.transfers:
        console.print(
            f"  {t.link} [{short_ids(t.blocks)}] {t.nbytes:,} bytes, started {t.started_ms:g} ms, "
            f"{t.fraction:.0%} done, eta {t.eta_ms:g} ms"
        )


MAX_PASS_LINES = 20


def _pass_line(report: PassReport) -> str:
    """One scheduler pass in a line: time, tokens, and what happened to which request."""
    if report.idle:
        return f"[bold]pass {report.number}[/] idle → clock {report.end_ms:g} ms"
    parts = [f"[bold]pass {report.number}[/] {report.start_ms:.1f}→{report.end_ms:.1f} ms, "
             f"{report.scheduled} tokens"]
    for label, names in (
        ("admitted", [f"{n}({c} cached)" for n, c in report.admitted]),
        ("[red]preempted[/]", list(report.preempted)),
        ("parked", list(report.parked)),
        ("unparked", list(report.unparked)),
        ("finished", list(report.finished)),
    ):
        if names:
            parts.append(f"{label} {escape(' '.join(names))}")
    return " · ".join(parts)


def _expansion(result: MoveResult) -> str:
    """A request command's MoveBlocks, one per line, each with what it returned and published."""
    lines = []
    for move, got in result.expanded:
        events = "; ".join(describe_event(e) for e in got.events)
        line = f"[dim]↳ {escape(short_move(move))} → {got.returned}[/]"
        lines.append(line + (f"  {events}" if events else ""))
    return "\n".join(lines)


def _print_requests(session: RunState, console: Console) -> None:
    table = session.world.requests
    if not len(table):
        return
    console.print("[bold]requests[/]")
    for name, req in table.requests.items():
        seq = req.seq
        console.print(
            f"  {escape(name)}: {req.state}, {len(seq)} tokens ({seq.generated_tokens} generated), "
            f"allocated {seq.num_allocated_tokens}, holds {req.held_blocks} of its "
            f"{len(seq.unique_blocks)} block(s); its blocks: "
            f"{' '.join(escape(str(b)) if not isinstance(b, int) else short(b) for b in seq.unique_blocks)}"
        )
