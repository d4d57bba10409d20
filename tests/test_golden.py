"""Pinned outputs: every preset's `kvtui run NAME --json` and a few trace replays, byte for byte.

The files under tests/golden/ were written by the landed code before the package was split into
layers; any refactor must leave them unchanged. Regenerate one deliberately (and say why in the
commit) with `kvtui run NAME --json > tests/golden/NAME.json`.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kvtui.cli.app import app
from kvtui.presets import preset_names

GOLDEN = Path(__file__).parent / "golden"
TRACE = Path(__file__).resolve().parents[2] / "shared" / "traces" / "mooncake_synthetic_trace.jsonl"
TRACE_RUNS = {
    f"trace-{backend}-2048.json": ["--capacity", "2048", "--eviction", backend] for backend in
    ("lineage", "lru", "multi_lru")
} | {
    f"trace-{backend}-1024-g2.json": ["--capacity", "1024", "--eviction", backend, "--g2-blocks", "1024",
                                      "--limit", "800"]
    for backend in ("lineage", "lru", "multi_lru")
}


def _run(*args: str) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.mark.parametrize("name", preset_names())
def test_preset_report_is_byte_identical(name: str) -> None:
    assert _run("run", name, "--json") == (GOLDEN / f"{name}.json").read_text(encoding="utf-8")


@pytest.mark.skipif(not TRACE.is_file(), reason="the shared Mooncake trace is not available")
@pytest.mark.parametrize("golden", sorted(TRACE_RUNS))
def test_trace_figures_are_unchanged(golden: str) -> None:
    got = json.loads(_run("trace", str(TRACE), *TRACE_RUNS[golden], "--json"))
    want = json.loads((GOLDEN / golden).read_text(encoding="utf-8"))
    got.pop("trace"), want.pop("trace")  # the file's path as given on the command line
    assert got == want
