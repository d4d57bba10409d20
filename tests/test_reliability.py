"""Hostile and unlucky input (issue 15): nothing freezes, nothing is lost, nothing is amplified.

Each test feeds one input that used to freeze the TUI, run without limit, lose a journal or
print a traceback, and checks the promised behaviour instead: one line naming FILE:LINE, the
state untouched, every good journal line kept, bounded time and memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import resource
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import Result

from kvtui.lang.commands import parse
from kvtui.lang.script import load_script, load_script_text
from kvtui.session.journal import Journal, latest_journal
from kvtui.session.resume import resume, resume_with_notices
from kvtui.session.session import Session, StepError, restart_with, sandbox
from kvtui.sim.config import Config
from kvtui.sim.errors import KvError, ParseError, ScriptError
from kvtui.workload.trace import load_trace
from kvtui.workload.world import World
from tests.cli_support import invoke, isolate_state
from tests.tui_support import SIZE, lines_app, ready, type_command

BIG = "9" * 4301  # one digit past Python's int-from-string limit


@pytest.fixture(autouse=True)
def state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return isolate_state(tmp_path, monkeypatch)



def one_line_error(result: Result, code: int = 1) -> str:
    assert result.exit_code == code, (result.exit_code, result.stdout[-500:], result.stderr)
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert len(lines[0]) < 400, lines[0]
    return lines[0]


def write(tmp_path: Path, text: str, name: str = "s.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def limited_cli(*args: str, memory: int = 1 << 30, seconds: float = 60) -> subprocess.CompletedProcess[str]:
    """`kvtui ARGS` in a child process with an address-space limit and a timeout."""

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))

    return subprocess.run(
        [sys.executable, "-m", "kvtui.cli.app", *args],
        capture_output=True, text=True, timeout=seconds, preexec_fn=limit, check=False,
    )


# -- 1. the live TUI never freezes ------------------------------------------------------------


def command_error(app: object) -> str:
    from textual.widgets import Static

    widget = app.query_one("#command-error", Static)  # type: ignore[attr-defined]
    return str(widget.render())


async def settled(app: object) -> None:
    await asyncio.wait_for(app.settle(), timeout=10)  # type: ignore[attr-defined]


@pytest.mark.parametrize("text", ["use [/]", "use [@click=app.quit]q[/]", "use [b]x[/b] [red]"])
async def test_markup_typed_into_the_app_is_shown_as_text_and_the_engine_lives_on(text: str) -> None:
    app = lines_app(8, ["use 1 2 3"])
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await type_command(pilot, text)
        await settled(app)
        assert "bad block id '[" in command_error(app)  # the brackets as typed, not markup
        assert app.is_running and app.runner.thread.is_alive()
        await type_command(pilot, "use 7")
        await settled(app)
        assert app.session.cursor == 1 and 7 in app.session.manager.blocks  # still stepping


async def test_a_4301_digit_id_typed_into_the_app_is_a_short_error() -> None:
    app = lines_app(8, [])
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await type_command(pilot, f"use {BIG}")
        await settled(app)
        error = command_error(app)
        assert "does not fit in 64 bits" in error and "(4,303 characters)" in error and len(error) < 200
        assert app.runner.thread.is_alive()


async def test_an_unexpected_exception_is_shown_logged_and_the_engine_keeps_going(state_dir: Path) -> None:
    app = lines_app(8, ["use 1 2 3", "deref 3"])
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)

        def bug(session: Session) -> None:
            session.world.manager.refs.clear()  # a half-done change, then a crash
            raise RuntimeError("boom [red]not markup[/]")

        app.submit(bug)
        await settled(app)
        await pilot.pause()
        shown = [n.message for n in app._notifications]
        assert any("internal error" in m and "RuntimeError" in m and "[red]not markup[/]" in m for m in shown)
        assert "RuntimeError: boom" in (state_dir / "kvtui.log").read_text()
        assert app.runner.thread.is_alive()
        await pilot.press("right")
        await settled(app)
        assert app.session.cursor == 1 and set(app.session.manager.blocks) == {1, 2, 3}  # recovered


async def test_a_state_dir_that_is_a_file_refuses_typed_commands_and_changes_nothing(
    state_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    state_dir.parent.mkdir(parents=True, exist_ok=True)
    state_dir.write_text("not a folder")
    from kvtui.tui.app import KvtuiApp

    app = KvtuiApp(Session(load_script_text("config:\n  capacity: 4\n", "s.yaml")))
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        before = app.session.manager.dump()
        await type_command(pilot, "use 1")
        await settled(app)
        assert "cannot write the journal" in command_error(app)
        assert app.session.manager.dump() == before and app.session.total == 0  # did not count
        assert app.runner.thread.is_alive()


def test_insert_is_undone_when_the_journal_cannot_be_written(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    session = sandbox(Config(4))
    session.insert("use 1 2")  # no journal yet: counts
    session.journal = Journal(blocker / "j.jsonl")  # its folder is a file
    before = session.manager.dump()
    with pytest.raises(StepError, match="cannot write the journal .*the command was undone"):
        session.insert("use 3")
    assert session.manager.dump() == before
    assert [s.text for s in session.steps] == ["use 1 2"] and session.cursor == 1


# -- 2. bounded YAML ----------------------------------------------------------------------------


def alias_bomb() -> str:
    lines = ["config:", "  capacity: [&a0 [1, 1, 1, 1, 1, 1, 1, 1, 1]"]
    lines += [f"    , &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 9)]
    return "\n".join([*lines, "  ]", ""])


def test_an_alias_bomb_is_refused_in_bounded_time_and_memory(tmp_path: Path) -> None:
    path = write(tmp_path, alias_bomb())
    assert len(path.read_bytes()) < 600  # a few hundred bytes describing ~400M items
    done = limited_cli("validate", str(path), memory=1 << 30, seconds=30)
    assert done.returncode == 1, done.stderr[-400:]
    assert done.stderr.strip().startswith(f"{path}:")
    assert "aliases expand the file too much" in done.stderr and len(done.stderr) < 300


def test_one_long_line_aliased_many_times_is_refused_at_the_alias(tmp_path: Path) -> None:
    ids = " ".join(map(str, range(20_000)))
    text = f"config:\n  capacity: 4\nsteps:\n  - &u use {ids}\n" + "  - *u\n" * 1000
    with pytest.raises(ScriptError, match=r"s\.yaml:5: YAML aliases expand"):
        load_script_text(text, "s.yaml")


def test_an_alias_inside_its_own_anchor_is_refused() -> None:
    with pytest.raises(ScriptError, match=r":2: alias \*x is used inside its own anchor"):
        load_script_text("config:\n  capacity: &x [1, *x]\n", "s.yaml")


def test_a_few_small_aliases_still_load() -> None:
    script = load_script_text("config:\n  capacity: &c 4\nsteps:\n  - &u use 1\n  - *u\n", "s.yaml")
    assert script.config.capacity == 4 and [s.text for s in script.steps] == ["use 1", "use 1"]


def test_error_messages_never_repr_a_huge_value() -> None:
    text = "config:\n  capacity: [" + ", ".join(["[1, 2, 3]"] * 5000) + "]\n"
    with pytest.raises(ScriptError) as info:
        load_script_text(text, "s.yaml")
    assert str(info.value).startswith("s.yaml:2: config: capacity must be an integer, got list [[1, 2, 3]")
    assert len(str(info.value)) < 200


def test_integer_literals_are_capped_before_int() -> None:
    with pytest.raises(ScriptError, match=r"s\.yaml:2: bad value: an integer literal of 4,301 characters"):
        load_script_text(f"config:\n  capacity: {BIG}\n", "s.yaml")
    with pytest.raises(ParseError, match="does not fit in 64 bits"):
        parse(f"use {BIG}")
    with pytest.raises(ParseError, match="bad token"):
        parse(f"req a tokens {BIG}")
    with pytest.raises(ParseError, match="bad chunk size"):
        parse(f"prefill a {BIG}")


def test_a_trace_line_nested_100k_deep_is_one_line(tmp_path: Path) -> None:
    path = write(tmp_path, "[" * 100_000 + "]" * 100_000 + "\n", "t.jsonl")
    with pytest.raises(ScriptError, match=r"t\.jsonl:1: not a trace line: JSON nested more than 64"):
        load_trace(path)
    one_line_error(invoke("trace", str(path)))


def test_a_trace_integer_of_4301_digits_is_one_line(tmp_path: Path) -> None:
    line = json.dumps({"timestamp": 0, "input_length": 1, "output_length": 1, "hash_ids": [1]})
    path = write(tmp_path, line.replace("[1]", f"[{BIG}]") + "\n", "t.jsonl")
    error = one_line_error(invoke("trace", str(path)))
    assert error.startswith(f"{path}:1: not JSON") and "4300" in error


# -- 3. journals keep every good line -------------------------------------------------------


def journaled(tmp_path: Path, commands: list[str]) -> tuple[Session, Path]:
    path = tmp_path / "journals" / "j.jsonl"
    session = Session(load_script_text("config:\n  capacity: 8\n", "s.yaml"), Journal(path))
    for text in commands:
        session.insert(text)
    return session, path


def test_a_torn_last_line_is_dropped_with_a_notice_and_nothing_else_is_lost(tmp_path: Path) -> None:
    session, path = journaled(tmp_path, ["use 1 2", "use 3", "deref 3"])
    with path.open("a") as out:
        out.write('{"at": 3, "command": "use ')  # a crash in the middle of an append
    resumed = resume_with_notices(path)
    assert resumed.session.manager.dump() == session.manager.dump()
    assert resumed.notices[0].startswith(f"{path}:5: ") and "torn last line" in resumed.notices[0]
    fresh = resumed.session.journal
    assert fresh is not None and fresh.path != path and fresh.path.parent == path.parent
    resumed.session.insert("use 4")  # goes on in the fresh journal, which resumes fully
    again = resume_with_notices(fresh.path)
    assert again.notices == [] and again.session.manager.dump() == resumed.session.manager.dump()


def test_a_garbage_middle_line_stops_the_replay_there_and_keeps_what_came_before(tmp_path: Path) -> None:
    _, path = journaled(tmp_path, ["use 1 2"])
    with path.open("a") as out:
        out.write("garbage\n")
        out.write(json.dumps({"at": 1, "command": "use 5"}) + "\n")
    resumed = resume_with_notices(path)
    notice = resumed.notices[0]
    assert notice.startswith(f"{path}:3: not JSON") and "replay stopped here" in notice
    assert [s.text for s in resumed.session.steps] == ["use 1 2"]


MALFORMED_ROWS = [
    ("[1, 2]", "must be a JSON object, got list"),
    ('"use 1"', "must be a JSON object, got str"),
    ("7", "must be a JSON object, got int"),
    ('{"at": null, "command": "use 1"}', 'needs "at": a step number >= 0, got None'),
    ('{"at": Infinity, "command": "use 1"}', "Infinity is not a JSON number"),
    ('{"at": 1.5, "command": "use 1"}', 'needs "at"'),
    ('{"at": 0, "command": ["use 1"]}', 'needs "command": text'),
    ('{"at": 0, "command": ' + "[" * 50_000 + "]" * 50_000 + "}", "nested more than 16 levels"),
    ('{"at": ' + BIG + ', "command": "use 1"}', "not JSON"),
    ('{"at": 99, "command": "use 1"}', "past the session's last step"),
]


@pytest.mark.parametrize(("row", "message"), MALFORMED_ROWS, ids=[m for _, m in MALFORMED_ROWS])
def test_a_malformed_journal_row_is_a_located_notice(tmp_path: Path, row: str, message: str) -> None:
    session, path = journaled(tmp_path, ["use 1"])
    with path.open("a") as out:
        out.write(row + "\n")
    resumed = resume_with_notices(path)
    assert resumed.notices[0].startswith(f"{path}:3: ") and message in resumed.notices[0]
    assert resumed.session.manager.dump() == session.manager.dump()


@pytest.mark.parametrize(
    "header", ["[1]", '"text"', "{}", '{"kvtui_journal": 1, "script": 5}', "[" * 100_000]
)
def test_a_malformed_journal_header_is_one_line(tmp_path: Path, header: str) -> None:
    path = write(tmp_path, header + "\n", "j.jsonl")
    with pytest.raises(KvError, match=r"j\.jsonl:1: not a kvtui journal"):
        resume(path)
    assert one_line_error(invoke("open", "--resume", str(path))).startswith(f"{path}:1: not a kvtui journal")


def test_journals_are_private_to_the_user(tmp_path: Path) -> None:
    _, path = journaled(tmp_path, ["use 1"])
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_restarting_with_another_backend_starts_a_journal_with_that_backend(tmp_path: Path) -> None:
    session, path = journaled(tmp_path, ["use 1 2 3", "deref 3 2 1"])
    new = restart_with(session, "lru")
    assert new.journal is not None and new.journal.path != path
    new.insert("use 4")
    again = resume(new.journal.path)
    assert again.config.eviction == "lru"
    assert again.manager.dump() == new.manager.dump()
    assert resume(path).config.eviction == "lineage"  # the old journal is still whole


def test_a_dangling_symlink_in_the_journals_folder_is_skipped(state_dir: Path) -> None:
    folder = state_dir / "journals"
    folder.mkdir(parents=True)
    (folder / "a.jsonl").symlink_to(folder / "gone.jsonl")
    assert latest_journal() is None
    assert "no journal to resume" in one_line_error(invoke("open", "--resume"), 2)


# -- 4. one line where a traceback was --------------------------------------------------------


def test_a_4301_digit_integer_in_a_script_step_is_one_line(tmp_path: Path) -> None:
    path = write(tmp_path, f"config:\n  capacity: 4\nsteps:\n  - use {BIG}\n")
    error = one_line_error(invoke("run", str(path)))
    assert error.startswith(f"{path}:4: block id '999") and "' (4,303 characters) does not fit" in error
    report = json.loads(invoke("run", str(path), "--json").stdout)
    assert report["error"]["line"] == 4


def test_a_script_in_a_folder_without_search_permission_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path, "config:\n  capacity: 4\n")
    real_stat = Path.stat

    def denied(self: Path, **kwargs: object) -> os.stat_result:
        if self == path:
            raise PermissionError(13, "Permission denied", str(self))
        return real_stat(self, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Path, "stat", denied)
    def unreadable(self: Path, **kwargs: object) -> str:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "read_text", unreadable)
    for command in ("run", "validate"):
        assert one_line_error(invoke(command, str(path))) == f"{path}: cannot read script: Permission denied"


@pytest.mark.parametrize(
    ("offload", "message"),
    [
        ("block_size_bytes: 1" + "0" * 60, "offload.block_size_bytes must be in 1 .. 1_125_899_906_842_624"),
        ("g1_to_g2_gbps: 5.0e-324", "offload.g1_to_g2_gbps 4.94066e-324 is too slow"),
        ("g2_to_g1_gbps: 1.0e-300", "offload.g2_to_g1_gbps 1e-300 is too slow"),
        ("g1_to_g2_gbps: 1.0e+400", "offload.g1_to_g2_gbps must be a finite number, got inf"),
    ],
)
def test_link_figures_that_would_overflow_the_clock_are_refused(
    tmp_path: Path, offload: str, message: str
) -> None:
    steps = "steps:\n  - use 1 2 3 4\n  - deref 4 3 2 1\n  - use 5 6 7 8\n  - tick next\n"
    path = write(tmp_path, f"config:\n  capacity: 4\n  offload:\n    g2_blocks: 4\n    {offload}\n{steps}")
    error = one_line_error(invoke("run", str(path)))
    assert error.startswith(f"{path}:5: config: {message}")


def test_the_clock_never_becomes_infinite_so_the_report_stays_json(tmp_path: Path) -> None:
    big = "1" + "0" * 308
    path = write(tmp_path, f"config:\n  capacity: 4\nsteps:\n  - tick {big}\n  - tick {big}\n")
    result = invoke("run", str(path), "--json")
    assert "Infinity" not in result.stdout
    report = json.loads(result.stdout)
    assert report["clock_ms"] == 1e308 and report["error"]["line"] == 5
    assert "the clock would overflow" in report["error"]["message"]


# -- 8. costs that do not grow with history -----------------------------------------------------


class NoCopy:
    def __deepcopy__(self, memo: object) -> NoCopy:
        raise AssertionError("an untouched request was copied")


def test_a_request_command_copies_only_the_request_it_names() -> None:
    world = World.from_config(Config(64))
    session = Session(load_script_text("config:\n  capacity: 64\n", "s.yaml"))
    session.world = world
    for name in ("a", "b"):
        session.insert(f"req {name} tokens " + " ".join(map(str, range(40))))
    world.requests.requests["a"].source = NoCopy()  # type: ignore[assignment]
    session.insert("prefill b")  # would deep-copy 'a' if it snapshot the whole table
    assert world.requests.requests["b"].state == "running"


def test_a_failing_request_command_still_rolls_back_the_request_it_names(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from kvtui.sim.errors import CommandError
    from kvtui.sim.moves import Use
    from kvtui.workload import requests

    session = sandbox(Config(8, block_size=4))
    session.insert("req a tokens " + " ".join(map(str, range(8))))
    session.insert("req b tokens " + " ".join(map(str, range(100, 108))))
    session.insert("prefill a")
    before = session.world.clone()

    def half_way(mgr: object, req: requests.Request, amount: int | None) -> None:
        req.state, req.preemptions = "finished", 9  # the request changed …
        mgr.apply(Use((77,)))  # type: ignore[attr-defined]  # … and the manager too
        raise CommandError("a move failed half-way")

    monkeypatch.setitem(requests._ACTIONS, "finish", half_way)
    with pytest.raises(StepError, match="half-way"):
        session.insert("finish a")
    assert session.world.dump() == before.dump()
    a = session.world.requests.requests["a"]
    assert (a.state, a.preemptions) == ("running", 0)
    assert list(session.world.requests.requests) == ["a", "b"]


def long_script(tmp_path: Path, steps: int) -> Path:
    lines = ["name: long", "config:", "  capacity: 64", "steps:"]
    for i in range(steps // 2):
        lines += [f"  - use {i}", f"  - deref {i}"]
    return write(tmp_path, "\n".join(lines) + "\n", "long.yaml")


def test_a_long_run_streams_every_step_and_matches_the_full_report(tmp_path: Path) -> None:
    from kvtui.session.report import build_report, dumps

    path = long_script(tmp_path, 5000)  # more than one printed batch
    text = invoke("run", str(path))
    assert text.exit_code == 0
    table = text.stdout.split("\nG1 reset")[0]  # the step rows, before the pools summary
    rows = [line.split() for line in table.splitlines()]
    assert [r[0] for r in rows if r and r[0].isdigit()] == [str(n) for n in range(1, 5001)]
    session = Session(load_script(path), checkpoints=False)
    session.run_to_end()
    assert invoke("run", str(path), "--json").stdout == dumps(build_report(session)) + "\n"


def test_validate_and_run_hold_no_event_history(tmp_path: Path) -> None:
    from kvtui.lang.script_stream import open_stream
    from kvtui.session.headless import HeadlessRun

    stream = open_stream(long_script(tmp_path, 400))
    assert stream.script.steps == [] and stream.count == 400
    run = HeadlessRun(stream.script)
    assert run.run(stream.steps()) is None
    assert run.steps == 400 and run.manager.events == [] and run.manager.next_event_id > 200


def test_trace_replay_can_keep_no_events(tmp_path: Path) -> None:
    from kvtui.workload.trace import TraceReplay, parse_trace

    lines = [json.dumps({"timestamp": i, "input_length": 1024, "output_length": 1, "hash_ids": [i, i + 1]})
             for i in range(50)]
    kept = TraceReplay(parse_trace(lines), 8)
    kept.run()
    dropped = TraceReplay(parse_trace(lines), 8, record_events=False)
    dropped.run()
    assert kept.manager.events and dropped.manager.events == []
    assert dropped.figures == kept.figures and dropped.figures.evicted_blocks > 0


# -- 9. smaller items -------------------------------------------------------------------------


def test_script_names_and_bad_tokens_reach_the_terminal_escaped(tmp_path: Path) -> None:
    text = 'name: "\\e[2Jred"\nconfig:\n  capacity: 4\nsteps:\n  - "use \\e]0;x\\a"\n'
    path = write(tmp_path, text, "s\x1b[31m.yaml")
    result = invoke("run", str(path))
    assert "\x1b" not in result.stdout + result.stderr and "\x07" not in result.stderr
    assert "bad block id '\\x1b]0;x\\x07'" in result.stderr and "s\\x1b[31m.yaml:5:" in result.stderr
    assert "\x1b" not in invoke("validate", str(path)).stderr


def test_expect_clock_0_can_be_written() -> None:
    session = Session(load_script_text("config:\n  capacity: 4\nsteps:\n  - expect clock 0\n", "s.yaml"))
    session.run_to_end()


def test_unreadable_files_are_not_reported_at_line_0(tmp_path: Path) -> None:
    missing = tmp_path / "missing.jsonl"
    with pytest.raises(ScriptError) as info:
        load_trace(missing)
    assert str(info.value).startswith(f"{missing}: cannot read trace: ") and ":0:" not in str(info.value)
    bad = write(tmp_path, "x", "bad.yaml")
    bad.write_bytes(b"\xff\xfe")
    assert one_line_error(invoke("validate", str(bad))).startswith(f"{bad}: cannot read script: not UTF-8")


@pytest.mark.parametrize(("value", "what"), [("020", "integer 020"), ("1:00", "integer 1:00"),
                                             ("1:30.5", "number 1:30.5"), ("-017", "integer -017")])
def test_yaml_1_1_octal_and_base_60_are_refused_not_misread(value: str, what: str) -> None:
    with pytest.raises(ScriptError, match=rf"s\.yaml:2: bad value: ambiguous {what}"):
        load_script_text(f"config:\n  capacity: {value}\n", "s.yaml")
    assert load_script_text("config:\n  capacity: 20\n  dp_rank: 0\n", "s.yaml").config.capacity == 20


def test_a_trace_with_a_utf8_bom_is_read_like_a_script_with_one(tmp_path: Path) -> None:
    line = json.dumps({"timestamp": 0, "input_length": 1, "output_length": 1, "hash_ids": [1, 2]})
    path = tmp_path / "t.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + line.encode() + b"\n")
    assert [r.hash_ids for r in load_trace(path)] == [(1, 2)]
    script = tmp_path / "s.yaml"
    script.write_bytes(b"\xef\xbb\xbfconfig:\n  capacity: 4\n")
    assert load_script(script).config.capacity == 4


def test_a_streamed_script_has_exactly_the_steps_of_a_full_load() -> None:
    from kvtui.lang.script_stream import open_stream
    from kvtui.presets import preset_names, preset_path

    def shape(step: object) -> tuple[object, ...]:
        checks = [(c.text, c.line, c.error) for c in step.checks]  # type: ignore[attr-defined]
        return (step.text, step.line, step.error, list(step.notes), checks)  # type: ignore[attr-defined]

    for name in preset_names():
        path = preset_path(name)
        assert path is not None
        full, stream = load_script(path), open_stream(path)
        head = (stream.script.name, stream.script.config, stream.count)
        assert head == (full.name, full.config, len(full.steps)), name
        assert shape(stream.script.intro) == shape(full.intro), name
        assert [shape(s) for s in stream.steps()] == [shape(s) for s in full.steps], name


def test_streamed_human_output_of_a_short_run_is_the_full_table(tmp_path: Path) -> None:
    import io

    from rich.console import Console

    from kvtui.cli.text_report import print_run
    from kvtui.presets import preset_names, preset_path

    for name in preset_names():
        path = preset_path(name)
        assert path is not None
        session = Session(load_script(path), checkpoints=False)
        failures: list[StepError] = []
        with contextlib.suppress(StepError):  # a bad command ends both runs at the same step
            session.run_to_end(failures.append)
        out = io.StringIO()
        print_run(session, Console(file=out, width=200, highlight=False), failures=failures)
        streamed = invoke("run", name, "--no-expect").stdout
        assert streamed == out.getvalue(), name
