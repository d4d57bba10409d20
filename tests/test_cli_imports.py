"""What each command line loads, in a fresh interpreter as a user runs it.

Headless commands never load Textual (nor Pydantic, which Typer would use to coerce values);
`kvtui --help` and a command's `-h` load no engine, session, Rich or YAML; `kvtui trace` loads no
session, parser or YAML, and Rich's progress bar only for a terminal. These are the causes of a
slow start-up; the times themselves are measured by benchmarks/bench_cli.py, not here.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

WATCHED = (
    "textual", "pydantic", "yaml", "rich", "rich.progress", "typer.rich_utils", "plotext",
    "kvtui.sim.config", "kvtui.sim.manager", "kvtui.workload", "kvtui.lang", "kvtui.session",
    "kvtui.session.session", "kvtui.tui",
)
PROBE = """
import runpy, sys
sys.argv = ["kvtui", *{args!r}]
try:
    runpy.run_module("kvtui.cli.app", run_name="__main__")
except SystemExit as exc:
    code = exc.code
else:
    code = 0
print("\\n" + repr((code, sorted(m for m in {watched!r} if m in sys.modules))))
"""


def loaded(*args: str, cwd: Path | None = None) -> set[str]:
    """The watched modules `kvtui ARGS` loads (stdout and stderr are pipes, not a terminal)."""
    env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "TTY_COMPATIBLE")}
    code = PROBE.format(args=list(args), watched=WATCHED)
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=cwd, env=env)
    assert run.returncode == 0, run.stderr
    exit_code, modules = ast.literal_eval(run.stdout.splitlines()[-1])
    assert exit_code in (0, None), (exit_code, run.stdout, run.stderr)
    return set(modules)


@pytest.fixture(scope="module")
def trace_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rows = [{"timestamp": i, "input_length": 1024, "output_length": 4, "hash_ids": [1, 2, 3 + i % 4]}
            for i in range(40)]
    path = tmp_path_factory.mktemp("trace") / "trace.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


@pytest.mark.parametrize("args", [["--help"], ["-h"], ["trace", "-h"], ["run", "--help"], ["open", "-h"]])
def test_help_loads_no_engine_rich_or_yaml(args: list[str]) -> None:
    assert loaded(*args) == set()


def test_trace_loads_the_engine_but_no_session_parser_yaml_or_progress_bar(trace_file: Path) -> None:
    text = loaded("trace", str(trace_file))
    assert {"kvtui.sim.manager", "kvtui.workload", "rich"} <= text
    assert not text & {"textual", "pydantic", "yaml", "rich.progress", "kvtui.lang", "kvtui.session"}
    as_json = loaded("trace", str(trace_file), "--json")
    assert "rich" not in as_json
    assert not as_json & {"textual", "pydantic", "yaml", "kvtui.lang", "kvtui.session.session", "kvtui.tui"}


@pytest.mark.parametrize(
    "args",
    [["run", "tour", "--json"], ["run", "tour", "--quiet"], ["validate", "tour"], ["presets"],
     ["trace", "TRACE", "--scheduler", "--json"], ["compare", "tour", "--text"],
     ["sweep", "TRACE", "--capacities", "4,8", "--json"]],
)
def test_headless_commands_never_load_textual_or_pydantic(args: list[str], trace_file: Path) -> None:
    modules = loaded(*[str(trace_file) if a == "TRACE" else a for a in args])
    assert not modules & {"textual", "pydantic", "kvtui.tui"}, modules


def test_the_watched_kvtui_modules_exist() -> None:
    """A renamed module would make the checks above pass vacuously."""
    import importlib.util

    for name in WATCHED:
        if name.startswith("kvtui."):
            assert importlib.util.find_spec(name) is not None, name
