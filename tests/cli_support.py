"""Drivers shared by the CLI tests: one isolated state directory and a traceback-free invoke."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from kvtui.cli.app import app


def isolate_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Journals and saved files go to a fresh folder; Rich output is 200 columns wide."""
    folder = tmp_path / "state"
    monkeypatch.setenv("KVTUI_STATE_DIR", str(folder))
    monkeypatch.setenv("COLUMNS", "200")
    return folder


def invoke(*args: str, prog_name: str | None = None) -> Result:
    """Run `kvtui ARGS`; whatever happens, no traceback and no exception but an exit."""
    result = CliRunner().invoke(app, list(args), prog_name=prog_name)
    assert "Traceback" not in result.stdout + result.stderr
    if result.exception is not None:
        assert isinstance(result.exception, SystemExit), repr(result.exception)
    return result
