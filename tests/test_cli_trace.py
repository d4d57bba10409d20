"""`kvtui trace FILE`: figures (human and --json), options, errors and the progress bar.

The fixture is tests/test_trace.py's hand-counted trace (block size 4 there; here the CLI's
--block-size 4 is passed explicitly).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from kvtui.cli.app import app
from tests.test_trace import TRACE, write_fixture


@pytest.fixture(autouse=True)
def wide(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")


def invoke(*args: str) -> Result:
    result = CliRunner().invoke(app, ["trace", *args])
    assert "Traceback" not in result.stdout + result.stderr
    return result


def test_json_figures_match_the_hand_count(tmp_path: Path) -> None:
    path = write_fixture(tmp_path)
    result = invoke(str(path), "--block-size", "4", "--json")
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""  # a short trace on a non-TTY: no progress bar
    figures = json.loads(result.stdout)
    assert figures["trace"] == str(path)
    assert figures["config"] == {"capacity": 7, "unbounded": True, "eviction": "lineage", "block_size": 4,
                                 "g2_blocks": None}
    assert figures["prefix_block_hit_ratio"] == 6 / 13
    assert figures["prefix_token_hit_ratio"] == 24 / 46
    assert figures["block_hit_ratio_anywhere"] == 6 / 13
    assert figures["evicted_blocks"] == 0 and figures["g2"] is None
    again = invoke(str(path), "--block-size", "4", "--json")
    assert again.stdout == result.stdout  # deterministic


def test_capacity_eviction_and_limit(tmp_path: Path) -> None:
    path = write_fixture(tmp_path)
    lru = json.loads(invoke(str(path), "--block-size", "4", "-c", "3", "-e", "lru",
                            "--json").stdout)
    assert lru["config"]["capacity"] == 3 and lru["config"]["eviction"] == "lru"
    assert not lru["config"]["unbounded"]
    assert (lru["prefix_hit_blocks"], lru["prefix_hit_tokens"]) == (5, 20)
    assert (lru["evicted_blocks"], lru["truncated_requests"]) == (4, 1)
    first_two = json.loads(invoke(str(path), "--limit", "2", "--json").stdout)
    assert (first_two["requests"], first_two["blocks"], first_two["prefix_hit_blocks"]) == (2, 6, 2)
    # the default block size is 512: every hit covers its request's whole input
    assert first_two["prefix_hit_tokens"] == 9 and first_two["config"]["block_size"] == 512


def test_g2_figures(tmp_path: Path) -> None:
    figures = json.loads(invoke(str(write_fixture(tmp_path)), "--block-size", "4", "-c", "3",
                                "--g2-blocks", "8", "--json").stdout)
    assert figures["config"]["g2_blocks"] == 8
    assert figures["g2"]["hit_blocks"] == 1
    assert figures["g2"]["prefix_block_hit_ratio"] == 6 / 13


def test_human_output(tmp_path: Path) -> None:
    path = write_fixture(tmp_path)
    result = invoke(str(path), "--block-size", "4", "-c", "3", "--g2-blocks", "8")
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert f"trace {path} — capacity 3 · lineage · block size 4 · G2 8 blocks" in out
    flat = " ".join(out.split())  # the table's column padding depends on the widest cell
    assert "prefix block hit ratio 0.385 5 of 13 blocks" in flat
    assert "prefix token hit ratio 0.435 20 of 46 input tokens" in flat
    assert "block hit ratio anywhere 0.385 5 blocks" in flat
    assert "evicted blocks 4 G1 removed" in flat
    assert "requests that did not fit 1" in flat
    assert "G2 hit blocks 1 onboarded after the G1 prefix" in flat
    assert "G1+G2 prefix block hit ratio 0.462" in flat
    assert "G2 stored / evicted blocks 3 / 0" in flat
    assert "replayed 13 blocks in" in out and "blocks/s" in out


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["missing.jsonl"], 2, "kvtui: no trace file 'missing.jsonl'"),
        (["FIXTURE", "--capacity", "0"], 2, "Invalid value for '--capacity' / '-c'"),
        (["FIXTURE", "--eviction", "fifo"], 2, "Invalid value for '--eviction' / '-e'"),
        (["FIXTURE", "--block-size", "0"], 2, "Invalid value for '--block-size'"),
    ],
)
def test_usage_errors(tmp_path: Path, args: list[str], code: int, message: str) -> None:
    path = write_fixture(tmp_path)
    result = invoke(*[str(path) if a == "FIXTURE" else a for a in args])
    assert result.exit_code == code
    assert message in result.stderr


def test_bad_trace_is_one_file_line_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"timestamp": 0, "input_length": 4, "output_length": 1, "hash_ids": [1]}\n'
                    '{"timestamp": 1, "input_length": 4, "output_length": 1}\n', encoding="utf-8")
    for extra in ([], ["--json"]):
        result = invoke(str(path), *extra)
        assert result.exit_code == 1
        assert result.stdout == ""
        assert result.stderr == f"{path}:2: missing key 'hash_ids'\n"


@pytest.mark.skipif(not TRACE.is_file(), reason="the shared Mooncake trace is not available")
def test_long_trace_shows_a_progress_bar_on_stderr_only() -> None:
    result = invoke(str(TRACE), "--limit", "1000", "--json")
    assert result.exit_code == 0
    assert "replaying" in result.stderr and "1000/1000" in result.stderr
    assert json.loads(result.stdout)["requests"] == 1000


@pytest.mark.parametrize(("done", "total"), [(1000, 1000), (999, 1000), (500, 1000), (0, 1000), (7, 99999)])
def test_the_final_line_off_a_terminal_is_richs(done: int, total: int) -> None:
    """kvtui.cli.progress writes the line Rich's bar ends with off a terminal, without Rich."""
    import io

    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from kvtui.cli.progress import FinalLine

    out = io.StringIO()
    columns = (TextColumn("replaying"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=Console(file=out, force_terminal=False, width=80)) as bar:
        bar.update(bar.add_task("replay", total=total), completed=done)
    line = FinalLine("replaying", total)
    line.advance(done)
    assert line.render(elapsed=0.0) + "\n" == out.getvalue()
