"""Bundled presets: there are enough of them, each documents itself and proves its claims.

Every preset has a description, at least one note and at least one expect, and runs green: all
its expects hold (Session.run_to_end) and `kvtui run NAME` exits 0.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kvtui.cli.app import app
from kvtui.lang.script import load_script
from kvtui.presets import DEFAULT, describe, preset_names, preset_path, resolve
from kvtui.session.session import Session

NAMES = preset_names()


def test_at_least_eight_presets_including_the_tour() -> None:
    assert len(NAMES) >= 8
    assert DEFAULT in NAMES
    assert len(set(NAMES)) == len(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_preset_documents_itself(name: str) -> None:
    path = preset_path(name)
    assert path is not None and resolve(name) == path
    script = load_script(path)
    assert script.name and script.name != name  # a real title, not the file stem
    assert script.description.strip()
    assert describe(name) == script.description.strip().splitlines()[0]
    notes = script.intro.notes + [n for s in script.steps for n in s.notes]
    checks = script.intro.checks + [c for s in script.steps for c in s.checks]
    assert notes, "a preset explains itself with at least one note"
    assert checks, "a preset proves its notes with at least one expect"
    assert all(n.strip() for n in notes)
    assert all(c.expect is not None and c.error is None for c in checks)
    assert all(s.command is not None and s.error is None for s in script.steps)


@pytest.mark.parametrize("name", NAMES)
def test_preset_runs_green(name: str) -> None:
    session = Session(load_script(preset_path(name)))  # type: ignore[arg-type]
    session.run_to_end()  # raises StepError on any failing expect or invalid step
    assert session.cursor == session.total > 0
    # A step may warn only when the preset says so (`expect warnings N`): the scheduler's
    # pathologies (SPEC §13) are flagged as warnings and its presets show them on purpose.
    for step, result in zip(session.steps, session.records, strict=True):
        acknowledged = any(c.expect is not None and c.expect.what == "warnings" for c in step.checks)
        assert not result.warnings or acknowledged, (step.text, result.warnings)


@pytest.mark.parametrize("name", NAMES)
def test_kvtui_run_preset(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KVTUI_STATE_DIR", str(tmp_path))
    runner = CliRunner()
    human = runner.invoke(app, ["run", name])
    assert human.exit_code == 0, human.stderr
    assert human.stderr == ""
    report = runner.invoke(app, ["run", name, "--json"])
    assert report.exit_code == 0, report.stderr
    data = json.loads(report.stdout)
    assert "error" not in data
    assert data["steps"] == len(load_script(preset_path(name)).steps)  # type: ignore[arg-type]
    validate = runner.invoke(app, ["validate", name])
    assert validate.exit_code == 0
    assert validate.stdout.endswith(f"ok ({data['steps']} steps)\n")
