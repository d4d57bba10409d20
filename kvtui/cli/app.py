"""Command-line entry point (Typer).

Headless commands import only the engine and Rich; Textual is imported on the TUI path alone
so `kvtui run` stays fast.
"""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from kvtui.lang.script import Script, load_script
from kvtui.sim.config import MAX_CAPACITY
from kvtui.sim.errors import KvError

if TYPE_CHECKING:
    from collections.abc import Callable

    from kvtui.session.compare import Comparison
    from kvtui.session.sweep import SweepPoint
    from kvtui.workload.trace import TraceReplay

app = typer.Typer(add_completion=False, help="kvtui: see how an LLM serving engine manages its KV cache.")


class Eviction(StrEnum):
    lineage = "lineage"
    lru = "lru"
    multi_lru = "multi_lru"


EVICTION_OPT = typer.Option(None, "--eviction", "-e", help="Eviction backend (overrides the script).")
CAPACITY_OPT = typer.Option(
    None, "--capacity", "-c", min=1, max=MAX_CAPACITY, help="G1 slots (overrides the script)."
)


@app.callback(invoke_without_command=True)
def main_callback(ctx: typer.Context) -> None:
    """Without a command, open the live TUI on the guided tour."""
    if ctx.invoked_subcommand is None:
        from kvtui.presets import DEFAULT

        _open_tui(_load(DEFAULT), None, None)


def _open_tui(script: Script, eviction: str | None, capacity: int | None) -> None:
    from kvtui.session.session import Session
    from kvtui.tui.app import KvtuiApp

    KvtuiApp(Session.from_script(script, eviction, capacity)).run()


@app.command("open")
def open_(
    script: str = typer.Argument(None, help="A script file or preset (with --resume: a journal file)."),
    eviction: Eviction | None = EVICTION_OPT,
    capacity: int | None = CAPACITY_OPT,
    resume: bool = typer.Option(False, "--resume", help="Reopen the last session (or the given journal)."),
    trace_file: str | None = typer.Option(
        None, "--trace", help="Play a Mooncake trace: one step per request (with --capacity, --limit)."
    ),
    limit: int | None = typer.Option(None, "--limit", min=1, help="With --trace: the first N requests."),
) -> None:
    """Open the live TUI on a script or preset, a request trace, or a journaled session."""
    if trace_file is not None:
        _open_trace(trace_file, eviction.value if eviction else "lineage", capacity, limit)
        return
    if resume:
        from kvtui.session.journal import latest_journal
        from kvtui.session.resume import resume as resume_journal
        from kvtui.tui.app import KvtuiApp

        path = Path(script) if script else latest_journal()
        if path is None or not path.is_file():
            typer.echo("kvtui: no journal to resume", err=True)
            raise typer.Exit(2)
        try:
            session = resume_journal(path)
        except KvError as exc:
            typer.echo(str(exc), err=True)
            raise typer.Exit(1) from None
        KvtuiApp(session).run()
        return
    from kvtui.presets import DEFAULT

    _open_tui(_load(script or DEFAULT), eviction.value if eviction else None, capacity)


def _open_trace(file: str, eviction: str, capacity: int | None, limit: int | None) -> None:
    from kvtui.lang.trace_script import trace_script
    from kvtui.session.session import Session
    from kvtui.tui.app import KvtuiApp
    from kvtui.workload.trace import load_trace

    if not Path(file).is_file():
        typer.echo(f"kvtui: no trace file {file!r}", err=True)
        raise typer.Exit(2)
    try:
        records = load_trace(file, limit)
    except KvError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    script = trace_script(records, capacity, eviction, name=f"trace {Path(file).name}")
    KvtuiApp(Session(script)).run()


@app.command()
def serve(
    script: str = typer.Argument(None, help="A script file or preset to open (default: the tour)."),
    port: int = typer.Option(8000, help="Port on 127.0.0.1."),
) -> None:
    """Serve the same TUI in a browser (textual-serve) on 127.0.0.1."""
    from textual_serve.server import Server

    target = f" {script}" if script else ""
    Server(f"{sys.executable} -m kvtui.cli.app open{target}", host="127.0.0.1", port=port).serve()


def _load(target: str) -> Script:
    from kvtui.presets import resolve

    path = resolve(target)
    if path is None:
        typer.echo(f"kvtui: no script file or preset named {target!r} (see `kvtui presets`)", err=True)
        raise typer.Exit(2)
    try:
        return load_script(path)
    except KvError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None


@app.command()
def run(
    script: str = typer.Argument(..., help="A script file or a preset name."),
    json_out: bool = typer.Option(False, "--json", help="Print the SPEC §10 JSON report."),
    eviction: Eviction | None = EVICTION_OPT,
    capacity: int | None = CAPACITY_OPT,
) -> None:
    """Apply every step of a script headless and report what happened."""
    from kvtui.session.report import build_report, dumps
    from kvtui.session.session import Session, StepError

    chosen = eviction.value if eviction else None
    session = Session.from_script(_load(script), chosen, capacity, checkpoints=False)
    error: StepError | None = None
    try:
        session.run_to_end()
    except StepError as exc:
        error = exc
    if json_out:
        sys.stdout.write(dumps(build_report(session, error)) + "\n")
    else:
        from kvtui.cli.text_report import print_run

        print_run(session)
    if error is not None:
        typer.echo(str(error), err=True)
        raise typer.Exit(1)


@app.command()
def validate(script: str = typer.Argument(..., help="A script file or a preset name.")) -> None:
    """Check a script: YAML, config, every command and every expect (it runs headless)."""
    from kvtui.session.session import Session, StepError

    session = Session(_load(script), checkpoints=False)
    try:
        session.run_to_end()
    except StepError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    typer.echo(f"{session.label}: ok ({session.total} steps)")


LONG_TRACE = 1000  # requests: from here on a progress bar is shown even when stderr is not a TTY
TRACE_EVICTION_OPT = typer.Option(Eviction.lineage, "--eviction", "-e", help="Eviction backend.")


@app.command()
def trace(
    file: str = typer.Argument(..., help="A Mooncake-format trace: JSON lines with timestamp, "
                               "input_length, output_length, hash_ids."),
    capacity: int | None = typer.Option(
        None, "--capacity", "-c", min=1, max=MAX_CAPACITY,
        help="G1 slots (default: unbounded, one per distinct block).",
    ),
    eviction: Eviction = TRACE_EVICTION_OPT,
    block_size: int = typer.Option(512, "--block-size", min=1, help="Tokens per hash id."),
    limit: int | None = typer.Option(None, "--limit", min=1, help="Replay only the first N requests."),
    g2_blocks: int | None = typer.Option(
        None, "--g2-blocks", min=1, max=MAX_CAPACITY, help="Enable the G2 tier with this many blocks."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print the figures as one JSON object."),
) -> None:
    """Replay a request trace: each request uses its hash_ids chain, then releases it tail-first."""
    import time

    from kvtui.session.report import dumps
    from kvtui.sim.config import OffloadConfig
    from kvtui.workload.trace import TraceReplay, figures_json, load_trace

    if not Path(file).is_file():
        typer.echo(f"kvtui: no trace file {file!r}", err=True)
        raise typer.Exit(2)
    try:
        records = load_trace(file, limit)
        offload = OffloadConfig(g2_blocks) if g2_blocks is not None else None
        replay = TraceReplay(records, capacity, eviction.value, block_size, offload, label=file)
        started = time.perf_counter()
        _replay_with_progress(replay)
        elapsed = time.perf_counter() - started
    except KvError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    figures = figures_json(replay)
    if json_out:
        sys.stdout.write(dumps(figures) + "\n")
    else:
        from kvtui.cli.text_report import print_trace

        print_trace(figures, elapsed)


def _replay_with_progress(replay: TraceReplay) -> None:
    """Run a TraceReplay, with a Rich progress bar on stderr for a TTY or a long trace."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console(stderr=True)
    if not console.is_terminal and len(replay.records) < LONG_TRACE:
        replay.run()
        return
    columns = (TextColumn("replaying"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=console.is_terminal) as bar:
        task = bar.add_task("replay", total=len(replay.records))
        replay.run(lambda done: bar.advance(task, done))


@app.command()
def compare(
    script: str = typer.Argument(None, help="A script file or preset (or use --trace)."),
    eviction: str | None = typer.Option(
        None, "--eviction", "-e", help="Backends to compare, comma-separated (default: all three)."
    ),
    capacity: str | None = typer.Option(None, "--capacity", "-c", help="G1 slots, comma-separated."),
    trace_file: str | None = typer.Option(
        None, "--trace", help="Compare on a Mooncake trace (one step per request)."
    ),
    limit: int | None = typer.Option(None, "--limit", min=1, help="With --trace: the first N requests."),
    json_out: bool = typer.Option(False, "--json", help="Print figures and divergences as JSON (headless)."),
    text: bool = typer.Option(False, "--text", help="Print a table instead of opening the TUI."),
) -> None:
    """Run the same steps under 2-3 backends (or capacities) in lockstep; show where they diverge."""
    from kvtui.cli.compare_report import parse_backends, parse_capacities
    from kvtui.session.compare import Comparison, make_variants

    try:
        capacities = parse_capacities(capacity, "--capacity", MAX_CAPACITY) if capacity else []
        default = [] if len(capacities) > 1 else list(Eviction)
        variants = make_variants(parse_backends(eviction) if eviction else default, capacities)
    except KvError as exc:
        typer.echo(f"kvtui: {exc}", err=True)
        raise typer.Exit(2) from None
    if trace_file is not None:
        source = _trace_as_script(trace_file, limit)
    elif script is not None:
        source = _load(script)
    else:
        typer.echo("kvtui: compare needs a script, a preset or --trace FILE", err=True)
        raise typer.Exit(2)
    headless = json_out or text or not (sys.stdout.isatty() and sys.stdin.isatty())
    comparison = Comparison(source, variants, checkpoints=not headless)
    _scan_with_progress(comparison)
    if json_out:
        from kvtui.session.report import dumps

        sys.stdout.write(dumps(comparison.to_json()) + "\n")
    elif headless:
        from kvtui.cli.compare_report import print_compare

        print_compare(comparison)
    else:
        from kvtui.tui.compare_app import CompareApp

        comparison.jump(0)
        CompareApp(comparison).run()
    if comparison.error is not None:
        typer.echo(f"{comparison.error_label}: {comparison.error}", err=True)
        raise typer.Exit(1)


def _trace_as_script(file: str, limit: int | None) -> Script:
    from kvtui.lang.trace_script import trace_script
    from kvtui.workload.trace import load_trace

    if not Path(file).is_file():
        typer.echo(f"kvtui: no trace file {file!r}", err=True)
        raise typer.Exit(2)
    try:
        records = load_trace(file, limit)
    except KvError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    return trace_script(records, name=f"trace {Path(file).name}")


def _scan_with_progress(comparison: Comparison) -> None:
    """Scan a comparison, with a Rich progress bar on stderr for a TTY or a long run."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console(stderr=True)
    total = comparison.sessions[0].total
    if not console.is_terminal and total < LONG_TRACE:
        comparison.scan()
        return
    columns = (TextColumn("comparing"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=console.is_terminal) as bar:
        task = bar.add_task("compare", total=total)
        comparison.scan(lambda done: bar.advance(task, done))
        bar.update(task, completed=comparison.total)


@app.command()
def sweep(
    file: str = typer.Argument(..., help="A Mooncake-format trace (JSON lines)."),
    capacities: str = typer.Option(..., "--capacities", help="G1 capacities, comma-separated: 1024,2048,…"),
    eviction: str = typer.Option(
        "lineage,lru,multi_lru", "--eviction", "-e", help="Backends, comma-separated."
    ),
    block_size: int = typer.Option(512, "--block-size", min=1, help="Tokens per hash id."),
    limit: int | None = typer.Option(None, "--limit", min=1, help="Replay only the first N requests."),
    jobs: int = typer.Option(0, "--jobs", "-j", min=0, help="Worker processes (default: one per core)."),
    json_out: bool = typer.Option(False, "--json", help="Print the points as one JSON object."),
    csv_out: bool = typer.Option(False, "--csv", help="Print the points as CSV."),
) -> None:
    """Hit ratio vs G1 capacity for each backend (the miss-ratio curve): table and plot."""
    import os
    import time

    from kvtui.cli.compare_report import parse_backends, parse_capacities
    from kvtui.session.sweep import sweep as run_sweep
    from kvtui.session.sweep import sweep_json, workers_for
    from kvtui.workload.trace import load_trace

    try:
        sizes = parse_capacities(capacities, "--capacities", MAX_CAPACITY)
        backends = parse_backends(eviction)
    except KvError as exc:
        typer.echo(f"kvtui: {exc}", err=True)
        raise typer.Exit(2) from None
    if not Path(file).is_file():
        typer.echo(f"kvtui: no trace file {file!r}", err=True)
        raise typer.Exit(2)
    workers = jobs or os.cpu_count() or 1
    started = time.perf_counter()
    try:
        records = load_trace(file, limit)
        points = _sweep_with_progress(
            len(records) * len(backends) * len(set(sizes)),
            lambda progress: run_sweep(records, sizes, backends, block_size, file, workers, progress),
        )
    except KvError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    elapsed = time.perf_counter() - started
    if json_out:
        from kvtui.session.report import dumps

        sys.stdout.write(dumps(sweep_json(file, records, block_size, points)) + "\n")
    elif csv_out:
        from kvtui.cli.compare_report import sweep_csv

        sys.stdout.write(sweep_csv(points))
    else:
        from kvtui.cli.compare_report import print_sweep

        print_sweep(points, elapsed, workers_for(len(records), len(points), workers))


def _sweep_with_progress(
    total: int, work: Callable[[Callable[[int], None]], list[SweepPoint]]
) -> list[SweepPoint]:
    """Run a sweep with a Rich progress bar (requests replayed over all points) on stderr."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console(stderr=True)
    if not console.is_terminal and total < LONG_TRACE:
        return work(lambda done: None)
    columns = (TextColumn("sweeping"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=console.is_terminal) as bar:
        task = bar.add_task("sweep", total=total)
        return work(lambda done: bar.advance(task, done))


@app.command()
def presets() -> None:
    """List the bundled presets with their one-line descriptions."""
    from kvtui.presets import describe, preset_names

    names = preset_names()
    width = max(map(len, names), default=0)
    for name in names:
        typer.echo(f"{name:<{width}}  {describe(name)}")


def main() -> None:
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
