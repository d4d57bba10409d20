"""Lockstep comparison (kvtui.session.compare) and `kvtui compare` headless.

Expected divergences come from the presets' own expects (lineage-root-last and lru-root-first
run the same workload and pin each backend's evictions) or are recomputed independently by
stepping plain sessions, never copied from the comparison's output.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from kvtui.cli.app import app
from kvtui.lang.script import Script, Step, load_script, make_step
from kvtui.lang.trace_script import trace_script
from kvtui.presets import preset_path
from kvtui.session.compare import Comparison, Variant, make_variants
from kvtui.session.session import Session
from kvtui.sim.config import Config
from kvtui.sim.errors import KvError
from kvtui.workload.trace import TraceReplay, figures_json, load_trace
from tests.test_trace import TRACE


def preset(name: str) -> Script:
    path = preset_path(name)
    assert path is not None
    return load_script(path)


def lines_script(capacity: int, lines: list[str]) -> Script:
    steps = [make_step(text, n + 1) for n, text in enumerate(lines)]
    return Script("t.yaml", "t", "", Config(capacity), steps, Step(""))


def scanned(script: Script, evictions: list[str], capacities: list[int] | None = None) -> Comparison:
    comparison = Comparison(script, make_variants(evictions, capacities or []))
    comparison.scan()
    return comparison


def first_order_difference(script: Script, a: str, b: str) -> int:
    """Independently: the first step after which the two backends' full eviction orders differ."""
    left, right = Session.from_script(script, a), Session.from_script(script, b)
    for step in range(1, left.total + 1):
        left.forward(check_expects=False)
        right.forward(check_expects=False)
        if left.manager.eviction_order() != right.manager.eviction_order():
            return step
    raise AssertionError("the orders never differ")


# -- variants ---------------------------------------------------------------------------------


def test_variants_are_labelled_by_what_varies() -> None:
    assert make_variants(["lineage", "lru"], []) == [Variant("lineage", "lineage"), Variant("lru", "lru")]
    assert [v.label for v in make_variants([], [8, 16])] == ["cap 8", "cap 16"]
    assert [v.label for v in make_variants(["lru"], [8, 16])] == ["cap 8", "cap 16"]
    assert [(v.eviction, v.capacity) for v in make_variants(["lru"], [8, 16])] == [("lru", 8), ("lru", 16)]


@pytest.mark.parametrize(
    ("evictions", "capacities"),
    [(["lru"], []), ([], [8]), (["lineage", "lru"], [8, 16]), (["lru", "lru"], []), ([], [])],
)
def test_variants_need_two_or_three_distinct_sessions(evictions: list[str], capacities: list[int]) -> None:
    with pytest.raises(KvError):
        make_variants(evictions, capacities)


# -- divergences ------------------------------------------------------------------------------


def test_lineage_vs_lru_on_a_root_first_release() -> None:
    script = preset("lineage-root-last")
    comparison = scanned(script, ["lineage", "lru"])
    assert comparison.total == script_steps(script) == 6  # expects are not checked: lru fails them
    assert comparison.error is None
    # deref 0 1 2 3 4 (step 2): lineage queues 4 3 2 1 0, lru 0 1 2 3 4 (the two presets' expects)
    assert comparison.first_divergence() == first_order_difference(script, "lineage", "lru") == 2
    first = comparison.divergences[0]
    assert first.kinds == ("order",)
    assert first.text == "eviction order parts: lineage next 4 3 2 1 0, lru next 0 1 2 3 4"
    # use 30 31 (step 4): lineage-root-last expects removed 4 3, lru-root-first removed 0 1
    evictions = comparison.divergence_at(4)
    assert evictions is not None and "evicted" in evictions.kinds
    assert [f.evicted for f in evictions.facts] == [(4, 3), (0, 1)]
    assert "lineage evicted 4 3, lru evicted 0 1" in evictions.text
    # step 3 (use 20..24) takes free slots in both; step 5 (deref 31 30) differs in no result and
    # the queues already differed before it
    assert comparison.divergence_at(3) is None and comparison.divergence_at(5) is None
    # use 0 1 2 40 (step 6): lineage re-finds the prefix 0 1 2; lru lost 0 and 1 so its prefix hit is 0
    last = comparison.divergence_at(6)
    assert last is not None and "hits" in last.kinds
    assert [(f.prefix_hit, f.lookups) for f in last.facts] == [(3, 4), (0, 4)]
    assert comparison.steps == [2, 4, 6]


def script_steps(script: Script) -> int:
    return len(script.steps)


def test_tallies_count_prefix_hits_in_blocks_and_tokens() -> None:
    comparison = scanned(preset("compare-root-first"), ["lineage", "lru"])
    lineage, lru = comparison.tally()
    # Uses look up 4 + 6 + 5 = 15 blocks; lineage hits 0 1 of turn 2, lru nothing (preset notes)
    assert (lineage.lookups, lineage.prefix_hit_blocks) == (15, 2)
    assert (lru.lookups, lru.prefix_hit_blocks) == (15, 0)
    assert lineage.prefix_hit_tokens == 2 * 16 and lineage.tokens == 15 * 16  # block size 16
    # evictions: lineage 3 2 then 15 14 13; lru 0 1 then 2 3 15 14 13
    assert (lineage.evicted, lru.evicted) == (5, 7)
    assert comparison.tally(2) == (comparison.tallies[2][0], comparison.tallies[2][1])


def test_identical_sessions_never_diverge() -> None:
    comparison = scanned(lines_script(8, ["use 1 2 3", "deref 3 2 1", "use 1 2 4"]), [], [8, 9])
    assert comparison.divergences == [] and comparison.first_divergence() is None


def test_a_step_that_fails_in_one_session_stops_all_of_them_on_the_same_step() -> None:
    # capacity 1 commits only block 1, so `deref 2` is invalid there but fine with capacity 2
    comparison = scanned(lines_script(1, ["use 1 2", "deref 2", "use 3"]), [], [1, 2])
    assert comparison.total == 1
    assert comparison.error is not None and comparison.error_label == "cap 1"
    assert comparison.error.step == 2
    assert [s.cursor for s in comparison.sessions] == [1, 1]
    assert comparison.to_json()["error"]["session"] == "cap 1"


def test_jumps_keep_the_sessions_in_lockstep() -> None:
    comparison = scanned(preset("lineage-root-last"), ["lineage", "lru"])
    comparison.jump(0)
    assert [s.cursor for s in comparison.sessions] == [0, 0]
    assert comparison.next_divergence(0) == 2
    assert comparison.next_divergence(2) == 4
    assert comparison.next_divergence(6) is None
    assert comparison.previous_divergence(4) == 2
    assert comparison.previous_divergence(2) is None
    comparison.jump(4)
    assert [s.cursor for s in comparison.sessions] == [4, 4]
    assert [s.manager.eviction_order() for s in comparison.sessions] == [[2, 1, 0], [2, 3, 4]]
    comparison.jump(99)
    assert comparison.cursor == 6


def test_trace_figures_equal_kvtui_trace() -> None:
    """The comparison's hit figures on a trace are exactly each backend's TraceReplay figures."""
    records = load_trace(TRACE, 300)
    comparison = scanned(trace_script(records, 1024), ["lineage", "lru", "multi_lru"])
    for label, tally in zip(comparison.labels, comparison.tally(), strict=True):
        replay = TraceReplay(records, 1024, label)
        replay.run()
        figures = figures_json(replay)
        assert tally.lookups == figures["blocks"]
        assert tally.prefix_hit_blocks == figures["prefix_hit_blocks"]
        assert tally.prefix_hit_tokens == figures["prefix_hit_tokens"]
        assert tally.tokens == figures["input_tokens"]
        assert tally.evicted == figures["evicted_blocks"]
        assert tally.stored == figures["stored_blocks"]


# -- the CLI ----------------------------------------------------------------------------------


def invoke(*args: str) -> Result:
    result = CliRunner().invoke(app, ["compare", *args])
    assert "Traceback" not in result.stdout + result.stderr
    return result


def test_compare_json_lists_the_divergence_steps() -> None:
    result = invoke("lineage-root-last", "--eviction", "lineage,lru", "--json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["first_divergence"] == 2
    assert [d["step"] for d in data["divergences"]] == [2, 4, 6]
    assert data["divergences"][1]["sessions"]["lru"]["evicted"] == [0, 1]
    lineage, lru = data["sessions"]
    assert (lineage["label"], lru["label"]) == ("lineage", "lru")
    assert lineage["g1"]["inactive"] == [30] and lineage["figures"]["prefix_hit_blocks"] == 3
    assert lru["figures"]["evicted_blocks"] == 6  # 0 1, then 2 3 4 31 for `use 0 1 2 40`


def test_compare_text_is_a_table_with_the_divergences(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "160")
    result = invoke("lineage-root-last", "-e", "lineage,lru", "--text")
    assert result.exit_code == 0, result.stderr
    assert "3 divergence steps (first: step 2)" in result.stdout
    assert "lineage evicted 4 3, lru evicted 0 1" in result.stdout


def test_compare_defaults_to_all_three_backends() -> None:
    data = json.loads(invoke("tour", "--json").stdout)
    assert [s["label"] for s in data["sessions"]] == ["lineage", "lru", "multi_lru"]


@pytest.mark.parametrize(
    "args",
    [
        ["tour", "-e", "lru"],
        ["tour", "-e", "lineage,fifo"],
        ["tour", "-c", "4,x"],
        ["tour", "-e", "lru,lineage", "-c", "4,8"],
        [],
    ],
)
def test_compare_bad_options_are_one_line(args: list[str]) -> None:
    result = invoke(*args, "--json")
    assert result.exit_code == 2
    assert result.stdout == "" and len(result.stderr.strip().splitlines()) == 1


def test_compare_on_a_trace() -> None:
    result = invoke("--trace", str(TRACE), "--limit", "50", "-c", "64", "-e", "lineage,multi_lru", "--json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["steps"] == 50
    assert [s["config"]["capacity"] for s in data["sessions"]] == [64, 64]


def test_compare_without_a_terminal_prints_the_table_and_never_imports_textual() -> None:
    code = (
        "import sys; from typer.testing import CliRunner; from kvtui.cli.app import app; "
        "r = CliRunner().invoke(app, ['compare', 'lineage-root-last', '-e', 'lineage,lru']); "
        "assert r.exit_code == 0, r.output; assert 'divergence steps' in r.stdout, r.stdout; "
        "assert 'textual' not in sys.modules and 'plotext' not in sys.modules"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr


def test_compare_reports_a_step_that_fails_in_one_session(tmp_path: Path) -> None:
    path = tmp_path / "fails.yaml"
    path.write_text("config:\n  capacity: 1\nsteps:\n  - use 1 2\n  - deref 2\n", encoding="utf-8")
    result = invoke(str(path), "-c", "1,2", "--json")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["steps"] == 1 and data["error"]["session"] == "cap 1" and data["error"]["line"] == 5
    assert result.stderr.startswith(f"cap 1: {path}:5: ") and len(result.stderr.splitlines()) == 1
