"""Command-line entry point (Typer).

Headless commands import only the engine and Rich; Textual is imported on the TUI path alone
so `kvtui run` stays fast. Module level imports only Typer, kvtui's option definitions and its
error types: the engine, YAML and Rich load inside the command that needs them, and help pages
are drawn without Rich (kvtui.cli.help), so `kvtui --help` stays quick (tests/test_cli_imports.py).
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from kvtui.cli.conventions import COMMAND, CONTEXT, KvtuiGroup, examples, version_callback
from kvtui.cli.options import (
    BACKENDS,
    MAX_CAPACITY,
    PREEMPTION_MODES,
    block_size_option,
    capacity_option,
    choice,
    eviction_option,
    g2_blocks_option,
    integer,
    json_option,
    limit_option,
    reject,
    script_argument,
)
from kvtui.cli.options import (
    port as port_number,
)
from kvtui.presets import is_file
from kvtui.sim.errors import KvError, escaped

if TYPE_CHECKING:
    from kvtui.lang.script import Script
    from kvtui.lang.script_stream import ScriptStream
    from kvtui.session.session import StepError
    from kvtui.sim.config import SchedulerConfig

app = typer.Typer(
    cls=KvtuiGroup,
    context_settings=CONTEXT,
    rich_markup_mode=None,  # help pages are drawn by kvtui.cli.help, errors by KvtuiGroup.main
    help="kvtui: see how an LLM serving engine manages its KV cache. Without a command: the live "
    "TUI on the guided tour.",
    epilog=examples("kvtui", "kvtui run tour", "kvtui open lineage-leaf-first", "kvtui presets"),
)


@app.callback(invoke_without_command=True)
def main_callback(
    ctx: typer.Context,
    version: bool = typer.Option(
        False, "--version", callback=version_callback, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Without a command, open the live TUI on the guided tour."""
    if ctx.invoked_subcommand is None:
        from kvtui.presets import DEFAULT

        _open_tui(_load(DEFAULT), None, None)


def _open_tui(script: Script, eviction: str | None, capacity: int | None) -> None:
    from kvtui.session.session import Session
    from kvtui.tui.app import KvtuiApp

    KvtuiApp(Session.from_script(script, eviction, capacity)).run()


@app.command(
    "open",
    **COMMAND,
    epilog=examples(
        "kvtui open lineage-leaf-first -e lru",
        "kvtui open --trace trace.jsonl --capacity 4096 --limit 200",
        "kvtui open --resume",
        "kvtui open --resume ~/.local/state/kvtui/journals/20260101-120000-tour.jsonl",
    ),
)
def open_(
    script: str | None = script_argument(
        "A script file or preset (default: the tour); with --resume: a journal file.", required=False
    ),
    eviction: str | None = eviction_option(),
    capacity: int | None = capacity_option(),
    resume: bool = typer.Option(False, "--resume", help="Reopen the last session (or the given journal)."),
    trace_file: str | None = typer.Option(
        None, "--trace", metavar="FILE",
        help="Play a Mooncake trace instead of a script: one step per request.",
    ),
    limit: int | None = limit_option("With --trace: only the first N requests."),
    block_size: int | None = block_size_option(None),
    g2_blocks: int | None = g2_blocks_option(),
    scheduler: bool = typer.Option(
        False, "--scheduler",
        help="With --trace: a timed replay through the scheduler, one step per scheduler pass.",
    ),
) -> None:
    """Open the live TUI on a script or preset, a request trace, or a journaled session."""
    trace_only = {"--limit": limit, "--block-size": block_size, "--g2-blocks": g2_blocks,
                  "--scheduler": scheduler}
    if resume:
        given = _given({"--trace": trace_file, "--eviction": eviction, "--capacity": capacity, **trace_only})
        if given:
            raise reject(f"--resume replays a journal as it was written: it takes no {given}")
        _open_resumed(script)
    elif trace_file is not None:
        if script is not None:
            raise reject(f"give a script or --trace FILE, not both (got {script!r} and --trace)")
        _open_trace(trace_file, eviction or "lineage", capacity, limit, block_size, g2_blocks, scheduler)
    else:
        given = _given(trace_only)
        if given:
            raise reject(f"{given} only {'applies' if ',' not in given else 'apply'} with --trace FILE")
        from kvtui.presets import DEFAULT

        _open_tui(_load(script or DEFAULT), eviction, capacity)


def _given(options: dict[str, object]) -> str:
    """The names of the options that were given, as one phrase ('' if none)."""
    return ", ".join(name for name, value in options.items() if value is not None and value is not False)


def _open_resumed(journal: str | None) -> None:
    from kvtui.session.journal import latest_journal, state_dir
    from kvtui.session.resume import resume_with_notices
    from kvtui.tui.app import KvtuiApp

    path = Path(journal) if journal else latest_journal()
    if path is None:
        raise reject(f"no journal to resume in {state_dir() / 'journals'}")
    if not is_file(path):
        raise reject(f"no journal file {str(path)!r} to resume")
    try:
        resumed = resume_with_notices(path)
    except KvError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    for notice in resumed.notices:  # also shown in the app; on stderr they outlive the screen
        typer.echo(escaped(notice), err=True)
    KvtuiApp(resumed.session, notices=resumed.notices).run()


def _open_trace(
    file: str, eviction: str, capacity: int | None, limit: int | None, block_size: int | None,
    g2_blocks: int | None, scheduler: bool = False,
) -> None:
    from kvtui.cli.progress import progress
    from kvtui.lang.trace_script import scheduled_trace_script, trace_script
    from kvtui.session.session import Session
    from kvtui.sim.config import OffloadConfig, SchedulerConfig
    from kvtui.tui.app import KvtuiApp
    from kvtui.workload.trace import DEFAULT_BLOCK_SIZE, load_trace

    if not is_file(Path(file)):
        raise reject(f"no trace file {file!r}")
    if scheduler and block_size == 1:
        raise reject("--scheduler needs --block-size 2 or more")
    try:
        records = load_trace(file, limit)
        offload = OffloadConfig(g2_blocks) if g2_blocks is not None else None
        name = f"trace {Path(file).name}"
        size = block_size or DEFAULT_BLOCK_SIZE
        if scheduler:  # a headless dry run plans one `pass` step per scheduler pass
            with progress("planning passes", len(records)) as bar:
                script = scheduled_trace_script(
                    records, SchedulerConfig(), capacity, eviction, size, offload, name,
                    bar.advance if bar else None,
                )
        else:
            script = trace_script(records, capacity, eviction, size, offload, name=name)
        session = Session(script)
    except KvError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    KvtuiApp(session).run()


@app.command(
    **COMMAND,
    epilog=examples(
        "kvtui serve", "kvtui serve lineage-leaf-first --port 0",
        "kvtui serve my-script.yaml --host 0.0.0.0 --allow-remote",
    ),
)
def serve(
    script: str | None = script_argument(
        "A script file or preset to open (default: the tour).", required=False
    ),
    eviction: str | None = eviction_option(),
    capacity: int | None = capacity_option(),
    port: int = typer.Option(
        8000, "--port", "-p", parser=port_number, metavar="INTEGER", show_default=True,
        help="TCP port, 1..65535; 0 picks a free one (the URL printed is the real one).",
    ),
    host: str = typer.Option(
        "127.0.0.1", "--host", metavar="ADDRESS", show_default=True,
        help="Address to listen on. Anything but loopback needs --allow-remote.",
    ),
    allow_remote: bool = typer.Option(
        False, "--allow-remote", help="Allow a --host other than loopback: anyone who can reach it can type."
    ),
    max_sessions: int = typer.Option(
        4, "--max-sessions", parser=integer(1, 64), metavar="INTEGER", show_default=True,
        help="Browser sessions (app processes) allowed at once; more are refused.",
    ),
) -> None:
    """Serve the same TUI in a browser (textual-serve): one app process per browser tab.

    Only pages of this server may connect (the websocket Origin must be this host and port).
    """
    from kvtui.cli.serve import ServeOptions, is_loopback, serve_app
    from kvtui.presets import DEFAULT

    target = script or DEFAULT
    loaded = _load(target)  # the same errors and exit codes as `kvtui run`, before anything starts
    if not is_loopback(host):
        if not allow_remote:
            raise reject(f"--host {host} is reachable from other machines: add --allow-remote to mean it")
        typer.echo(f"kvtui serve: warning: listening on {host}: anyone who can reach it can drive the app",
                   err=True)
    elif allow_remote:
        raise reject("--allow-remote only applies with a --host other than loopback")
    argv = [sys.executable, "-m", "kvtui.cli.app", "open"]
    argv += ["--eviction", eviction] if eviction else []
    argv += ["--capacity", str(capacity)] if capacity else []
    argv += ["--", target]  # the script is an argument, never an option (nor a shell word)
    serve_app(ServeOptions(argv, loaded.name, host, port, max_sessions))


def _load(target: str) -> Script:
    from kvtui.lang.script import load_script

    try:
        return load_script(_resolve(target))
    except KvError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None


def _resolve(target: str) -> Path:
    from kvtui.presets import resolve

    path = resolve(target)
    if path is None:
        raise reject(f"no script file or preset named {target!r} (see `kvtui presets`)")
    return path


def _open_stream(target: str) -> ScriptStream:
    from kvtui.lang.script_stream import open_stream

    try:
        return open_stream(_resolve(target))
    except KvError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None


def _with_overrides(script: Script, eviction: str | None, capacity: int | None) -> Script:
    """Command-line overrides beat the file (as Session.from_script does)."""
    changes: dict[str, object] = {}
    if eviction is not None:
        changes["eviction"] = eviction
    if capacity is not None:
        changes["capacity"] = capacity
    if not changes:
        return script
    config = dataclasses.replace(script.config, **changes)  # type: ignore[arg-type]
    return dataclasses.replace(script, config=config)


@app.command(
    **COMMAND,
    epilog=examples(
        "kvtui run tour", "kvtui run tour --quiet", "kvtui run my-script.yaml --json",
        "kvtui run tour --eviction lru --capacity 10 --no-expect",
    ),
)
def run(
    script: str = script_argument(),
    json_out: bool = json_option("Print the JSON report (its keys are described in the README)."),
    eviction: str | None = eviction_option(),
    capacity: int | None = capacity_option(),
    no_expect: bool = typer.Option(
        False, "--no-expect",
        help="Check expect lines without enforcing them: each failure is reported and the run goes on.",
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Hide the script's notes."),
) -> None:
    """Apply every step of a script headless and report what happened (notes beside their steps)."""
    from kvtui.session.headless import HeadlessRun

    stream = _open_stream(script)  # read one step at a time: memory does not grow with the script
    stream.script = _with_overrides(stream.script, eviction, capacity)
    run = HeadlessRun(stream.script)
    failures: list[StepError] = []
    if json_out:  # results and events are spooled as the steps apply
        from kvtui.session.report_stream import ReportSpool

        spool = ReportSpool()
        try:
            error = run.run(
                stream.steps(), spool.add, failures.append if no_expect else None, stream.steps
            )
            spool.write(sys.stdout, run, stream.script.name, error)
        finally:
            spool.close()
        for failure in failures:
            typer.echo(f"{failure} (not enforced: --no-expect)", err=True)
    else:
        from kvtui.cli.text_report import RunPrinter

        printer = RunPrinter(stream, notes=not quiet)
        error = run.run(stream.steps(), printer.add, printer.failed if no_expect else None, stream.steps)
        printer.finish(run)
        failures = printer.failures
    if failures:
        typer.echo(f"kvtui: {len(failures)} expect line(s) failed, not enforced (--no-expect)", err=True)
    if error is not None:
        typer.echo(str(error) + _override_hint(error, eviction, capacity), err=True)
        raise typer.Exit(1)


def _override_hint(error: StepError, eviction: str | None, capacity: int | None) -> str:
    """Why an expect may fail under an override, and the way out."""
    if (eviction is None and capacity is None) or not error.message.startswith("expect "):
        return ""
    return " (an override changed the config the expects were written for: add --no-expect)"


@app.command(**COMMAND, epilog=examples("kvtui validate my-script.yaml", "kvtui validate tour"))
def validate(script: str = script_argument()) -> None:
    """Check a script: YAML, config, every command and every expect (it runs headless)."""
    from kvtui.session.headless import HeadlessRun

    stream = _open_stream(script)  # streamed: one step in memory at a time
    error = HeadlessRun(stream.script).run(stream.steps(), replay=stream.steps)
    if error is not None:
        typer.echo(str(error), err=True)
        raise typer.Exit(1)
    typer.echo(f"{escaped(stream.script.path)}: ok ({stream.count} steps)")


@app.command(
    **COMMAND,
    epilog=examples(
        "kvtui trace trace.jsonl", "kvtui trace trace.jsonl --capacity 4096 --eviction lru --json",
        "kvtui trace trace.jsonl --capacity 4096 --g2-blocks 16384 --limit 1000",
        "kvtui trace trace.jsonl --scheduler --capacity 64 --preemption fifo --json",
    ),
)
def trace(
    file: str = typer.Argument(
        ..., metavar="FILE", show_default=False,
        help="A Mooncake-format trace: JSON lines with timestamp, input_length, output_length, hash_ids.",
    ),
    capacity: int | None = capacity_option(
        "G1 slots, 1..1,000,000 (default: unbounded, one per distinct block)."
    ),
    eviction: str = eviction_option("Eviction backend.", default="lineage"),
    block_size: int = block_size_option(),
    limit: int | None = limit_option("Replay only the first N requests."),
    g2_blocks: int | None = g2_blocks_option(),
    json_out: bool = json_option("Print the figures as one JSON object."),
    scheduler: bool = typer.Option(
        False, "--scheduler", help="Timed replay: requests arrive at their timestamps and run through "
        "the mocker's scheduler (batched, preempted, timed by its performance model).",
    ),
    budget: int | None = typer.Option(
        None, "--budget", parser=integer(1, 10**9), metavar="INTEGER",
        help="With --scheduler: token budget per pass (max_num_batched_tokens, default 8192).",
    ),
    unbounded_budget: bool = typer.Option(
        False, "--unbounded-budget", help="With --scheduler: no token budget."
    ),
    max_seqs: int | None = typer.Option(
        None, "--max-seqs", parser=integer(1, 10**6), metavar="INTEGER",
        help="With --scheduler: running requests at most (max_num_seqs, default 256).",
    ),
    chunked: bool | None = typer.Option(
        None, "--chunked-prefill/--no-chunked-prefill", show_default=False,
        help="With --scheduler: chunked prefill (default on).",
    ),
    caching: bool | None = typer.Option(
        None, "--prefix-caching/--no-prefix-caching", show_default=False,
        help="With --scheduler: prefix caching (default on).",
    ),
    preemption: str | None = typer.Option(
        None, "--preemption", parser=choice(PREEMPTION_MODES, "a preemption mode"),
        metavar=f"[{'|'.join(PREEMPTION_MODES)}]",
        help="With --scheduler: the victim is the newest (lifo, default) or oldest running request.",
    ),
    speedup: float | None = typer.Option(
        None, "--speedup", metavar="NUMBER", help="With --scheduler: speedup_ratio dividing the "
        "performance model's times (default 1; 0 or less: no scaling).",
    ),
) -> None:
    """Replay a request trace: each request uses its hash_ids chain, then releases it tail-first.

    With --scheduler, a timed replay through the mocker's scheduler instead.
    """
    if not is_file(Path(file)):
        raise reject(f"no trace file {file!r}")
    chosen = {"--budget": budget is not None, "--unbounded-budget": unbounded_budget,
              "--max-seqs": max_seqs is not None, "--[no-]chunked-prefill": chunked is not None,
              "--[no-]prefix-caching": caching is not None, "--preemption": preemption is not None,
              "--speedup": speedup is not None}
    given = ", ".join(name for name, on in chosen.items() if on)
    if not scheduler:
        if given:
            raise reject(f"{given} only {'applies' if ',' not in given else 'apply'} with --scheduler")
        _replay_trace(file, limit, capacity, eviction, block_size, g2_blocks, json_out)
        return
    if budget is not None and unbounded_budget:
        raise reject("give --budget N or --unbounded-budget, not both")
    if block_size < 2:
        raise reject("--scheduler needs --block-size 2 or more")
    from kvtui.sim.config import SchedulerConfig

    defaults = SchedulerConfig()
    sched = SchedulerConfig(
        None if unbounded_budget else (budget or defaults.max_num_batched_tokens),
        max_seqs or defaults.max_num_seqs,
        defaults.chunked_prefill if chunked is None else chunked,
        defaults.prefix_caching if caching is None else caching,
        preemption or defaults.preemption,
        defaults.speedup_ratio if speedup is None else speedup,
    )
    _timed_trace(file, limit, sched, capacity, eviction, block_size, g2_blocks, json_out)


def _replay_trace(
    file: str, limit: int | None, capacity: int | None, eviction: str, block_size: int,
    g2_blocks: int | None, json_out: bool,
) -> None:
    """`kvtui trace` without --scheduler: the replay (with a progress bar), then its figures.

    It loads the engine and the trace replay; Rich only for a terminal's progress bar or the
    human table (kvtui.cli.trace_report), nothing of the session, parser or scheduler.
    """
    import time

    from kvtui.cli.progress import progress
    from kvtui.sim.config import OffloadConfig
    from kvtui.workload.trace import TraceReplay, figures_json, load_trace

    try:
        records = load_trace(file, limit)
        offload = OffloadConfig(g2_blocks) if g2_blocks is not None else None
        replay = TraceReplay(
            records, capacity, eviction, block_size, offload, label=file, record_events=False
        )
        started = time.perf_counter()
        with progress("replaying", len(records)) as bar:
            replay.run(bar.advance if bar else None)
        elapsed = time.perf_counter() - started
    except KvError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    figures = figures_json(replay)
    if json_out:
        from kvtui.session.jsontext import dumps

        sys.stdout.write(dumps(figures) + "\n")
    else:
        from kvtui.cli.trace_report import print_trace

        print_trace(figures, elapsed)


def _timed_trace(
    file: str, limit: int | None, sched: SchedulerConfig, capacity: int | None, eviction: str,
    block_size: int, g2_blocks: int | None, json_out: bool,
) -> None:
    """`kvtui trace --scheduler`: the timed replay with a progress bar, then its report."""
    import time

    from kvtui.cli.progress import progress
    from kvtui.session.jsontext import dumps
    from kvtui.sim.config import OffloadConfig
    from kvtui.workload.scheduler.replay import TimedReplay
    from kvtui.workload.trace import load_trace

    try:
        records = load_trace(file, limit)
        offload = OffloadConfig(g2_blocks) if g2_blocks is not None else None
        started = time.perf_counter()
        replay = TimedReplay(records, sched, capacity, eviction, block_size, offload, label=file)
        with progress("simulating", len(records)) as bar:
            replay.run(bar.advance if bar else None)
        elapsed = time.perf_counter() - started
    except KvError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    figures = replay.figures()
    if json_out:
        sys.stdout.write(dumps(figures) + "\n")
    else:
        from kvtui.cli.trace_report import print_timed_trace

        print_timed_trace(figures, elapsed)


@app.command(
    **COMMAND,
    epilog=examples(
        "kvtui compare lineage-root-last --text", "kvtui compare tour -e lineage,lru --json",
        "kvtui compare tour -c 8,16 --text",
    ),
)
def compare(
    script: str | None = script_argument("A script file or preset (or use --trace).", required=False),
    eviction: str | None = typer.Option(
        None, "--eviction", "-e", metavar="BACKENDS",
        help="Backends to compare, comma-separated (default: all three).",
    ),
    capacity: str | None = typer.Option(
        None, "--capacity", "-c", metavar="INTEGERS", help="G1 slots, comma-separated."
    ),
    trace_file: str | None = typer.Option(
        None, "--trace", metavar="FILE", help="Compare on a Mooncake trace (one step per request)."
    ),
    limit: int | None = limit_option("With --trace: only the first N requests."),
    json_out: bool = typer.Option(False, "--json", help="Print figures and divergences as JSON (headless)."),
    text: bool = typer.Option(False, "--text", help="Print a table instead of opening the TUI."),
) -> None:
    """Run the same steps under 2-3 backends (or capacities) in lockstep; show where they diverge."""
    from kvtui.cli.compare_report import parse_backends, parse_capacities
    from kvtui.cli.progress import progress
    from kvtui.session.compare import Comparison, make_variants

    try:
        capacities = parse_capacities(capacity, "--capacity", MAX_CAPACITY) if capacity else []
        default = [] if len(capacities) > 1 else list(BACKENDS)
        variants = make_variants(parse_backends(eviction) if eviction else default, capacities)
    except KvError as exc:
        typer.echo(f"kvtui: {exc}", err=True)
        raise typer.Exit(2) from None
    if trace_file is not None and script is not None:
        raise reject(f"give a script or --trace FILE, not both (got {script!r} and --trace)")
    if trace_file is None and limit is not None:
        raise reject("--limit only applies with --trace FILE")
    if trace_file is not None:
        source = _trace_as_script(trace_file, limit)
    elif script is not None:
        source = _load(script)
    else:
        typer.echo("kvtui: compare needs a script, a preset or --trace FILE", err=True)
        raise typer.Exit(2)
    headless = json_out or text or not (sys.stdout.isatty() and sys.stdin.isatty())
    comparison = Comparison(source, variants, checkpoints=not headless)
    with progress("comparing", comparison.sessions[0].total) as bar:
        comparison.scan(bar.advance if bar else None)
        if bar:
            bar.set(comparison.total)
    if json_out:
        from kvtui.session.jsontext import dumps

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

    if not is_file(Path(file)):
        raise reject(f"no trace file {file!r}")
    try:
        records = load_trace(file, limit)
    except KvError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    return trace_script(records, name=f"trace {Path(file).name}")


@app.command(
    **COMMAND,
    epilog=examples(
        "kvtui sweep trace.jsonl --capacities 8,16,32",
        "kvtui sweep trace.jsonl --capacities 8,16 -e lru --csv",
    ),
)
def sweep(
    file: str = typer.Argument(
        ..., metavar="FILE", show_default=False, help="A Mooncake-format trace (JSON lines)."
    ),
    capacities: str = typer.Option(
        ..., "--capacities", metavar="INTEGERS", help="G1 capacities, comma-separated: 1024,2048,…"
    ),
    eviction: str = typer.Option(
        "lineage,lru,multi_lru", "--eviction", "-e", metavar="BACKENDS", help="Backends, comma-separated."
    ),
    block_size: int = block_size_option(),
    limit: int | None = limit_option("Replay only the first N requests."),
    jobs: int = typer.Option(
        0, "--jobs", "-j", parser=integer(0, 1024), metavar="INTEGER",
        help="Worker processes (default: one per core).",
    ),
    json_out: bool = typer.Option(False, "--json", help="Print the points as one JSON object."),
    csv_out: bool = typer.Option(False, "--csv", help="Print the points as CSV."),
) -> None:
    """Hit ratio vs G1 capacity for each backend (the miss-ratio curve): table and plot."""
    import os
    import time

    from kvtui.cli.compare_report import parse_backends, parse_capacities
    from kvtui.cli.progress import progress
    from kvtui.session.sweep import sweep as run_sweep
    from kvtui.session.sweep import sweep_json, workers_for
    from kvtui.workload.trace import load_trace

    try:
        sizes = parse_capacities(capacities, "--capacities", MAX_CAPACITY)
        backends = parse_backends(eviction)
    except KvError as exc:
        typer.echo(f"kvtui: {exc}", err=True)
        raise typer.Exit(2) from None
    if not is_file(Path(file)):
        raise reject(f"no trace file {file!r}")
    workers = jobs or os.cpu_count() or 1
    started = time.perf_counter()
    try:
        records = load_trace(file, limit)
        with progress("sweeping", len(records) * len(backends) * len(set(sizes))) as bar:
            advance = bar.advance if bar else None
            points = run_sweep(records, sizes, backends, block_size, file, workers, advance)
    except KvError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    elapsed = time.perf_counter() - started
    if json_out:
        from kvtui.session.jsontext import dumps

        sys.stdout.write(dumps(sweep_json(file, records, block_size, points)) + "\n")
    elif csv_out:
        from kvtui.cli.compare_report import sweep_csv

        sys.stdout.write(sweep_csv(points))
    else:
        from kvtui.cli.compare_report import print_sweep

        print_sweep(points, elapsed, workers_for(len(records), len(points), workers))


@app.command(**COMMAND, epilog=examples("kvtui presets", "kvtui run lineage-leaf-first"))
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
