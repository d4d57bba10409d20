"""Every `kvtui` command line in the README's ```bash blocks, and every example in a command's
`--help`, runs green.

Headless commands run for real (a subprocess, in a folder holding the README's own example
script as `my-script.yaml` and a small `trace.jsonl`). The TUI commands (`kvtui`, `kvtui open`,
`kvtui serve`) are checked up to the point where the app would take over the terminal or the
server would start listening. Synopsis lines (with `[...]` or `FILE`) are not commands.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kvtui.cli import serve as serve_module
from kvtui.cli.app import app
from kvtui.lang.script import Script, Step
from kvtui.session.journal import Journal, new_journal_path
from kvtui.session.session import Session
from kvtui.sim.config import Config
from kvtui.tui.app import KvtuiApp

README = Path(__file__).resolve().parents[1] / "README.md"
TUI_COMMANDS = ("open", "serve")


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README.read_text(encoding="utf-8"), re.S)


def commands() -> list[list[str]]:
    found = []
    for block in blocks("bash"):
        for line in block.splitlines():
            line = line.split("  #")[0].strip()
            if not line.startswith("kvtui") or "[" in line or "FILE" in line:
                continue
            found.append(shlex.split(line)[1:])
    return found


def help_examples() -> list[list[str]]:
    """The example lines of every command's `--help` (its epilog)."""
    import typer.main

    group = typer.main.get_command(app)
    epilogs = [group.epilog or "", *(c.epilog or "" for c in group.commands.values())]  # type: ignore[attr-defined]
    lines = re.findall(r"\[cyan\](.*?)\[/\]", "\n".join(epilogs))
    return [shlex.split(line)[1:] for line in lines]


def test_every_command_has_examples() -> None:
    import typer.main

    group = typer.main.get_command(app)
    for name, command in group.commands.items():  # type: ignore[attr-defined]
        assert "[cyan]kvtui " + name in (command.epilog or ""), name


def test_the_readme_has_commands_to_check() -> None:
    found = commands()
    assert len(found) >= 12
    assert ["run", "tour", "--eviction", "lru", "--capacity", "10", "--no-expect"] in found


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working folder with the files the README's commands name, and a state dir."""
    (script,) = [b for b in blocks("yaml") if "steps:" in b]
    (tmp_path / "my-script.yaml").write_text(script, encoding="utf-8")
    rows = [{"timestamp": i * 10, "input_length": 1024, "output_length": 8, "hash_ids": [1, 2, 3 + i % 3]}
            for i in range(300)]
    (tmp_path / "trace.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("KVTUI_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("COLUMNS", "200")
    return tmp_path


def runnable(found: list[list[str]]) -> list[list[str]]:
    """Drop lines naming files the test folder does not hold (a journal's path in a help example)."""
    unique = {tuple(a): a for a in found if not any(part.startswith("~") for part in a)}
    return list(unique.values())


ALL = runnable(commands() + help_examples())


@pytest.mark.parametrize("args", [a for a in ALL if not a or a[0] in TUI_COMMANDS], ids=" ".join)
def test_tui_command_starts(folder: Path, monkeypatch: pytest.MonkeyPatch, args: list[str]) -> None:
    apps: list[KvtuiApp] = []
    served: list[serve_module.ServeOptions] = []
    monkeypatch.setattr(KvtuiApp, "run", lambda self, *a, **k: apps.append(self))
    monkeypatch.setattr(serve_module, "serve_app", served.append)
    if "--resume" in args:  # a journal to resume: one typed command of an earlier session
        earlier = Script("earlier", "earlier", "", Config(4), [], Step(""))
        Session(earlier, Journal(new_journal_path("earlier"))).insert("use 1 2")
    result = CliRunner().invoke(app, args, prog_name="kvtui")
    assert result.exit_code == 0, result.stderr
    assert len(apps) + len(served) == 1


@pytest.mark.parametrize("args", [a for a in ALL if a and a[0] not in TUI_COMMANDS], ids=" ".join)
def test_headless_command_runs_green(folder: Path, args: list[str]) -> None:
    result = subprocess.run([sys.executable, "-m", "kvtui.cli.app", *args], cwd=folder, capture_output=True,
                            text=True, timeout=120, env={**os.environ})
    assert result.returncode == 0, result.stderr
    assert result.stdout
    assert "Traceback" not in result.stderr
