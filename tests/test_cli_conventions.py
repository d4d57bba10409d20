"""The command line keeps its promises: Typer conventions, options that work or are refused in
one line, errors in kvtui's words with long tokens shortened, `run`'s notes, `--quiet` and
`--no-expect`, and the wording of the human reports."""

from __future__ import annotations

import json
import re
from importlib.metadata import version
from pathlib import Path

import pytest
import typer.main
from typer.testing import Result

from kvtui.cli.app import app
from kvtui.sim.errors import bounded, shorten
from kvtui.tui.app import KvtuiApp
from tests.cli_support import invoke as invoke_cli
from tests.cli_support import isolate_state

COMMANDS = sorted(typer.main.get_command(app).commands)  # type: ignore[attr-defined]


@pytest.fixture(autouse=True)
def state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return isolate_state(tmp_path, monkeypatch)


@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch) -> list[KvtuiApp]:
    """`kvtui open` builds its session and app, but the app does not take over the terminal."""
    apps: list[KvtuiApp] = []
    monkeypatch.setattr(KvtuiApp, "run", lambda self, *a, **k: apps.append(self))
    return apps


def invoke(*args: str) -> Result:
    return invoke_cli(*args, prog_name="kvtui")


def usage_error(*args: str) -> str:
    """The one line a usage error prints (exit 2, nothing on stdout)."""
    result = invoke(*args)
    assert (result.exit_code, result.stdout) == (2, ""), (result.exit_code, result.stdout, result.stderr)
    assert result.stderr.count("\n") == 1, result.stderr
    return result.stderr.rstrip("\n")


# -- help, version, completion ---------------------------------------------------------------------


@pytest.mark.parametrize("command", [[], *[[c] for c in COMMANDS]])
def test_help_has_plain_metavars_examples_and_no_spec(command: list[str]) -> None:
    long = invoke(*command, "--help")
    short = invoke(*command, "-h")
    assert long.exit_code == short.exit_code == 0
    assert long.stdout == short.stdout
    text = long.stdout
    assert not re.search(r"<(str|bool|int|float)|\{[a-z_]+\}|int range", text), text
    assert "SPEC" not in text and "§" not in text
    assert "Examples" in text and "kvtui" in text.split("Examples")[1]


@pytest.mark.parametrize("command", COMMANDS)
def test_help_shows_every_option_with_its_help(command: str) -> None:
    """Each option's names, metavar and help text are on the page (drawn by kvtui.cli.help)."""
    group = typer.main.get_command(app)
    click_command = group.commands[command]  # type: ignore[attr-defined]
    text = " ".join(invoke(command, "-h").stdout.replace("│", " ").split())
    for param in click_command.params:
        for name in [*param.opts, *param.secondary_opts]:
            if param.param_type_name == "option":
                assert name in text, (command, name)
        if param.metavar:
            assert param.metavar in text, (command, param.metavar)
        assert " ".join((param.help or "").split()) in text, (command, param.help)
    first = (click_command.help or "").split("\n\n")[0]
    assert " ".join(first.split()) in text
    assert "\x1b[" not in text  # no colour codes when the output is not a terminal


def test_help_fits_a_narrow_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "60")
    page = invoke("run", "-h").stdout
    assert max(map(len, page.splitlines())) <= 60
    assert "Check expect lines without enforcing them" in " ".join(page.replace("│", " ").split())


def test_help_colours_names_on_a_terminal() -> None:
    from kvtui.cli.help import render

    group = typer.main.get_command(app)
    with group.make_context("kvtui", ["run", "-h"], resilient_parsing=True) as ctx:
        command = group.commands["run"]  # type: ignore[attr-defined]
        with command.make_context("run", [], parent=ctx, resilient_parsing=True) as sub:
            coloured, plain = render(command, sub, 100), render(command, sub, 100, color=False)
    assert "\x1b[1;36m--capacity\x1b[0m" in coloured and "\x1b[36mkvtui run tour\x1b[0m" in coloured
    assert re.sub(r"\x1b\[[0-9;]*m", "", coloured) == plain


def test_cli_limits_are_the_engines() -> None:
    """kvtui.cli.options repeats the engine's limits so that `kvtui --help` loads no engine."""
    from kvtui.cli import options
    from kvtui.sim import config, eviction

    assert options.MAX_CAPACITY == config.MAX_CAPACITY
    assert options.PREEMPTION_MODES == config.PREEMPTION_MODES
    assert options.BACKENDS == eviction.BACKENDS


def test_metavars_name_what_is_expected() -> None:
    run = invoke("run", "-h").stdout
    assert "Usage: kvtui run [OPTIONS] SCRIPT" in run
    assert re.search(r"--capacity\s+-c\s+INTEGER", run)
    assert re.search(r"--eviction\s+-e\s+\[lineage\|lru\|multi_lru\]", run)
    assert re.search(r"--json\s+Print", run)  # a flag shows no metavar
    assert "Usage: kvtui trace [OPTIONS] FILE" in invoke("trace", "-h").stdout
    assert "Usage: kvtui open [OPTIONS] [SCRIPT]" in invoke("open", "-h").stdout


def test_version_and_completion() -> None:
    result = invoke("--version")
    assert (result.exit_code, result.stdout) == (0, f"kvtui {version('kvtui')}\n")
    completion = invoke("--show-completion", "bash")
    assert completion.exit_code == 0 and "_KVTUI_COMPLETE" in completion.stdout


# -- usage errors: one line, kvtui's words, long tokens shortened -----------------------------------


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["run", "tour", "-e", "fifo"], "kvtui run: Invalid value for '--eviction' / '-e': 'fifo' is not an "
         "eviction backend (lineage, lru, multi_lru) (see 'kvtui run -h')"),
        (["run", "tour", "-c", "0"], "kvtui run: Invalid value for '--capacity' / '-c': 0 is not in "
         "1..1,000,000 (see 'kvtui run -h')"),
        (["run", "tour", "-c", "ten"], "kvtui run: Invalid value for '--capacity' / '-c': 'ten' is not a "
         "whole number (see 'kvtui run -h')"),
        (["run"], "kvtui run: Missing argument 'SCRIPT'. (see 'kvtui run -h')"),
        (["run", "tour", "--frob"], "kvtui run: No such option: --frob (see 'kvtui run -h')"),
        (["trace", "x.jsonl", "--limit", "0"], "kvtui trace: Invalid value for '--limit': 0 is not in "
         "1..1,000,000,000,000 (see 'kvtui trace -h')"),
    ],
)
def test_usage_errors_are_one_line_in_our_words(args: list[str], line: str) -> None:
    got = usage_error(*args)
    assert got == line
    assert "Value error" not in got and "Input should" not in got


def test_long_tokens_in_errors_are_shortened(tmp_path: Path) -> None:
    huge = "9" * 100_000
    line = usage_error("run", "tour", "-c", huge)
    assert len(line) < 200 and "(100,000 characters)" in line
    script = tmp_path / "big.yaml"
    script.write_text(f"config:\n  capacity: 4\nsteps:\n  - use 1\n  - use {huge[:4000]}\n")
    for args in (["run", str(script)], ["run", str(script), "--json"], ["validate", str(script)]):
        result = invoke(*args)
        assert result.exit_code == 1
        assert result.stderr.startswith(f"{script}:5: block id '999")
        assert result.stderr.endswith("' (4,002 characters) does not fit in 64 bits at column 5\n")
        assert len(result.stderr) < len(str(script)) + 120
    report = json.loads(invoke("run", str(script), "--json").stdout)
    assert len(report["error"]["message"]) < 120


@pytest.mark.parametrize(
    "args", [["run", "NAME"], ["validate", "NAME"], ["open", "NAME"], ["serve", "NAME"], ["trace", "NAME"],
             ["open", "--resume", "NAME"], ["open", "--trace", "NAME"]],
)
def test_a_name_too_long_for_the_system_is_one_short_line(opened: list[KvtuiApp], args: list[str]) -> None:
    name = "x" * 5000  # longer than any file name: looking it up fails with ENAMETOOLONG
    line = usage_error(*[name if a == "NAME" else a for a in args])
    assert len(line) <= 120 and "(5,002 characters)" in line


def test_shorten_keeps_both_ends_and_is_stable() -> None:
    text = "a" * 30 + "b" * 100 + "c" * 30
    short = shorten(text)
    assert len(short) <= 60 and short.startswith("aaaa") and short.endswith("c (160 characters)")
    assert shorten(short) == short
    assert shorten("x" * 60) == "x" * 60
    message = bounded("see /a/very/long/" + "p" * 100 + ".yaml and " + "z" * 500)
    assert "/a/very/long/" + "p" * 100 + ".yaml" in message  # a path is never cut
    assert bounded(message) == message and "(500 characters)" in message


# -- open: every option works or is refused ---------------------------------------------------------


def write_trace(tmp_path: Path) -> Path:
    path = tmp_path / "t.jsonl"
    rows = [{"timestamp": i, "input_length": 32, "output_length": 1, "hash_ids": [1, 2 + i]}
            for i in range(4)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["open", "tour", "--limit", "5"], "kvtui: --limit only applies with --trace FILE"),
        (["open", "tour", "--g2-blocks", "4", "--block-size", "16"],
         "kvtui: --block-size, --g2-blocks only apply with --trace FILE"),
        (["open", "tour", "--trace", "TRACE"],
         "kvtui: give a script or --trace FILE, not both (got 'tour' and --trace)"),
        (["open", "--resume", "-e", "lru"],
         "kvtui: --resume replays a journal as it was written: it takes no --eviction"),
        (["open", "--resume", "nope.jsonl"], "kvtui: no journal file 'nope.jsonl' to resume"),
        (["serve", "--allow-remote"], "kvtui: --allow-remote only applies with a --host other than loopback"),
        (["compare", "tour", "--limit", "5"], "kvtui: --limit only applies with --trace FILE"),
        (["compare", "tour", "--trace", "TRACE"],
         "kvtui: give a script or --trace FILE, not both (got 'tour' and --trace)"),
    ],
)
def test_open_refuses_options_that_do_not_apply(
    tmp_path: Path, opened: list[KvtuiApp], args: list[str], line: str
) -> None:
    trace = write_trace(tmp_path)
    assert usage_error(*[str(trace) if a == "TRACE" else a for a in args]) == line
    assert opened == []


def test_open_resume_without_any_journal_names_the_folder(state_dir: Path, opened: list[KvtuiApp]) -> None:
    assert usage_error("open", "--resume") == f"kvtui: no journal to resume in {state_dir / 'journals'}"


def test_open_trace_honours_every_trace_option(tmp_path: Path, opened: list[KvtuiApp]) -> None:
    trace = write_trace(tmp_path)
    result = invoke("open", "--trace", str(trace), "--limit", "3", "--block-size", "16", "--g2-blocks", "8",
                    "-c", "5", "-e", "lru")
    assert result.exit_code == 0, result.stderr
    (tui,) = opened
    config = tui.session.config
    assert (config.capacity, config.eviction, config.block_size) == (5, "lru", 16)
    assert config.offload is not None and config.offload.g2_blocks == 8
    assert sum(1 for s in tui.session.steps if s.text.startswith("visit")) == 3


def test_open_script_honours_its_overrides(opened: list[KvtuiApp]) -> None:
    assert invoke("open", "tour", "-e", "multi_lru", "-c", "9").exit_code == 0
    assert (opened[0].session.config.eviction, opened[0].session.config.capacity) == ("multi_lru", 9)


# -- run: notes, --quiet, --no-expect ---------------------------------------------------------------


def test_run_shows_notes_beside_their_steps_and_quiet_hides_them() -> None:
    out = invoke("run", "tour").stdout.splitlines()
    first = next(i for i, line in enumerate(out) if line.lstrip().startswith("1  use 1 2 3"))
    intro = next(i for i, line in enumerate(out) if "note: Eight empty G1 slots" in line)
    after = next(i for i, line in enumerate(out) if "note: A request computed three KV blocks" in line)
    second = next(i for i, line in enumerate(out) if line.lstrip().startswith("2  use 1 2 4"))
    assert intro < first < after < second
    quiet = invoke("run", "tour", "--quiet").stdout
    assert "note:" not in quiet and "use 1 2 3" in quiet
    assert invoke("run", "tour", "-q").stdout == quiet


def test_no_expect_reports_failures_and_runs_on() -> None:
    enforced = invoke("run", "tour", "-e", "lru", "-c", "10")
    assert enforced.exit_code == 1
    assert enforced.stderr.endswith("expected reset=8, got reset=10 (an override changed the config the "
                                    "expects were written for: add --no-expect)\n")
    result = invoke("run", "tour", "-e", "lru", "-c", "10", "--no-expect")
    assert result.exit_code == 0
    assert "expect failed (not enforced): line 9: expect pools reset=8" in result.stdout
    assert "11  promote ~p 30 parent=1" in result.stdout  # it ran to the end
    failed = int(re.search(r"kvtui: (\d+) expect line\(s\) failed", result.stderr).group(1))  # type: ignore[union-attr]
    assert failed == result.stdout.count("expect failed (not enforced)") >= 2
    as_json = invoke("run", "tour", "-e", "lru", "-c", "10", "--no-expect", "--json")
    assert as_json.exit_code == 0 and "error" not in json.loads(as_json.stdout)
    assert as_json.stderr.count("(not enforced: --no-expect)") == failed


def test_no_expect_still_stops_at_a_bad_command(tmp_path: Path) -> None:
    script = tmp_path / "s.yaml"
    script.write_text("config:\n  capacity: 4\nsteps:\n  - use 1\n  - expect stored 9\n  - deref 7\n")
    result = invoke("run", str(script), "--no-expect")
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "kvtui: 1 expect line(s) failed, not enforced (--no-expect)",
        f"{script}:6: deref 7: block 7 is not in G1, so there is no reference to release",
    ]


# -- wording of the human reports -------------------------------------------------------------------


def test_request_summary_says_what_it_holds() -> None:
    out = invoke("run", "request-shared-prompt").stdout
    state = re.compile(r"\s+\w+: (waiting|running|preempted|finished)")
    lines = [line for line in out.splitlines() if state.match(line)]
    assert lines
    for line in lines:
        held, total = map(int, re.search(r"holds (\d+) of its (\d+) block\(s\)", line).groups())  # type: ignore[union-attr]
        assert held <= total
        listed = line.split("its blocks: ")[1].split()
        assert len(listed) == total
    assert not any("holds 0 block(s):" in line for line in out.splitlines())


def test_empty_trace_is_not_capacity_1(tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    out = invoke("trace", str(empty)).stdout
    assert "capacity unbounded ·" in out and "capacity 1" not in out
    trace = write_trace(tmp_path)
    assert "capacity unbounded (5 slots, one per distinct block)" in invoke("trace", str(trace)).stdout
