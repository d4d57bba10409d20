"""Capacity sweep (kvtui.session.sweep) and `kvtui sweep`: every point is exactly `kvtui trace`."""

from __future__ import annotations

import csv
import io
import json

import pytest
from typer.testing import CliRunner, Result

from kvtui.cli.app import app
from kvtui.session.sweep import sweep, workers_for
from kvtui.workload.trace import TraceReplay, figures_json, load_trace
from tests.test_trace import TRACE

LIMIT = 150


@pytest.fixture(scope="module")
def records() -> list:  # type: ignore[type-arg]
    return load_trace(TRACE, LIMIT)


def test_points_equal_single_replays_in_order(records: list) -> None:  # type: ignore[type-arg]
    done: list[int] = []
    points = sweep(records, [512, 128], ["lru", "lineage"], progress=done.append)
    assert [(p.eviction, p.capacity) for p in points] == [
        ("lru", 128),
        ("lru", 512),
        ("lineage", 128),
        ("lineage", 512),
    ]
    for point in points:
        replay = TraceReplay(records, point.capacity, point.eviction)
        replay.run()
        assert point.figures == figures_json(replay)
    assert sum(done) == 4 * LIMIT


def test_parallel_points_equal_the_serial_ones(records: list, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[type-arg]
    monkeypatch.setattr("kvtui.session.sweep.PARALLEL_MIN_REQUESTS", 0)  # parallel even for a small trace
    done: list[int] = []
    serial = sweep(records, [64, 256], ["multi_lru", "lru"])
    parallel = sweep(records, [64, 256], ["multi_lru", "lru"], jobs=2, progress=done.append)
    assert parallel == serial
    assert sum(done) == 4 * LIMIT  # every worker's progress reached this process


def test_a_capacity_above_the_distinct_blocks_is_the_unbounded_replay(records: list) -> None:  # type: ignore[type-arg]
    (point,) = sweep(records, [100_000], ["lru"])
    unbounded = TraceReplay(records, None, "lru")
    unbounded.run()
    assert point.figures["evicted_blocks"] == 0
    assert point.figures["prefix_hit_blocks"] == figures_json(unbounded)["prefix_hit_blocks"]


def invoke(*args: str) -> Result:
    result = CliRunner().invoke(app, ["sweep", *args])
    assert "Traceback" not in result.stdout + result.stderr
    return result


def test_cli_csv_and_json(records: list) -> None:  # type: ignore[type-arg]
    result = invoke(
        str(TRACE), "--limit", str(LIMIT), "--capacities", "256,64", "-e", "lru", "--csv", "-j", "1"
    )
    assert result.exit_code == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [(r["eviction"], r["capacity"]) for r in rows] == [("lru", "64"), ("lru", "256")]
    replay = TraceReplay(records, 64, "lru")
    replay.run()
    assert float(rows[0]["prefix_block_hit_ratio"]) == figures_json(replay)["prefix_block_hit_ratio"]
    data = json.loads(invoke(str(TRACE), "--limit", str(LIMIT), "--capacities", "64", "--json").stdout)
    assert data["evictions"] == ["lineage", "lru", "multi_lru"] and data["capacities"] == [64]
    assert data["requests"] == LIMIT and len(data["points"]) == 3


def test_small_sweeps_stay_in_process() -> None:
    assert workers_for(100, 4, jobs=2) == 1  # 400 requests: spawning would cost more
    assert workers_for(4000, 15, jobs=2) == 2
    assert workers_for(4000, 15, jobs=1) == workers_for(4000, 1, jobs=8) == 1


def test_cli_human_output_has_table_plot_and_wall_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "120")
    result = invoke(str(TRACE), "--limit", "60", "--capacities", "64,256", "-e", "lineage,multi_lru")
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert "prefix hit ratio, blocks (tokens)" in out
    assert "prefix hit ratio (blocks) vs G1 capacity" in out  # the plot's title
    assert "•• lineage" in out and "++ multi_lru" in out  # the plot's legend, markers per backend
    assert "\x1b[" not in out  # no colour codes when not writing to a terminal
    assert "wall time" in out and "4 replays on 1 process" in out


@pytest.mark.parametrize(
    "args", [["--capacities", "0"], ["--capacities", "64,,128"], ["--capacities", "64", "-e", "fifo"]]
)
def test_cli_bad_options_are_one_line(args: list[str]) -> None:
    result = invoke(str(TRACE), *args)
    assert result.exit_code == 2
    assert len(result.stderr.strip().splitlines()) == 1


def test_cli_missing_trace_file() -> None:
    result = invoke("/nonexistent.jsonl", "--capacities", "64")
    assert result.exit_code == 2 and "no trace file" in result.stderr
