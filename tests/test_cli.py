"""The command line (Typer): `presets`, `run` (human and SPEC §10 JSON), `validate`, exit codes.

Exit codes: 0 ok; 1 a bad script (load error, invalid step, failing expect) reported as one
`FILE:LINE: message` line on stderr without a traceback; 2 a usage error (unknown script, bad
option value).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from kvtui.lang.script import load_script
from kvtui.presets import describe, preset_names, preset_path
from kvtui.session.session import Session
from tests.cli_support import invoke, isolate_state

TOP_KEYS = {"name", "steps", "clock_ms", "config", "results", "events", "g1", "g2"}
CONFIG_KEYS = {"capacity", "block_size", "eviction", "dp_rank", "offload"}
STORED_KEYS = {"step", "event_id", "dp_rank", "tier", "kind", "parent_hash", "blocks", "tokens_hashes"}
REMOVED_KEYS = {"step", "event_id", "dp_rank", "tier", "kind", "blocks"}
G1_KEYS = {
    "capacity", "reset", "num_active_blocks", "num_active_block_refs", "num_inactive_blocks",
    "active", "partials", "quarantined", "inactive",
}


@pytest.fixture(autouse=True)
def state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return isolate_state(tmp_path, monkeypatch)



def write(tmp_path: Path, text: str, name: str = "s.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_report_shape(report: dict[str, Any]) -> None:
    """SPEC §10: exactly these keys and types (plus SPEC §13's keys in scheduler mode only)."""
    scheduler = "scheduler" in report["config"]
    extra = {"scheduler"} if scheduler else set()
    assert set(report) - {"error"} == TOP_KEYS | extra
    assert isinstance(report["name"], str)
    assert is_int(report["steps"])
    assert isinstance(report["clock_ms"], float)
    config = report["config"]
    assert set(config) == CONFIG_KEYS | extra
    assert is_int(config["capacity"]) and is_int(config["block_size"]) and is_int(config["dp_rank"])
    assert config["eviction"] in ("lineage", "lru", "multi_lru")
    optional = {"warnings", "passes"} if scheduler else {"warnings"}
    assert all(set(r) - optional == {"step", "command", "returned"} for r in report["results"])
    assert [r["step"] for r in report["results"]] == list(range(1, report["steps"] + 1))
    for result in report["results"]:
        assert isinstance(result["command"], str) and is_int(result["returned"])
    ids = [e["event_id"] for e in report["events"]]
    assert ids == list(range(len(ids)))
    for event in report["events"]:
        assert set(event) == (STORED_KEYS if event["kind"] == "stored" else REMOVED_KEYS)
        assert event["kind"] in ("stored", "removed")
        assert event["tier"] in ("device", "host_pinned")
        assert 1 <= event["step"] <= report["steps"]
        assert is_int(event["dp_rank"]) and event["dp_rank"] == config["dp_rank"]
        assert event["blocks"] and all(is_int(b) for b in event["blocks"])
        if event["kind"] == "stored":
            assert event["parent_hash"] is None or is_int(event["parent_hash"])
            assert len(event["tokens_hashes"]) == len(event["blocks"])
            assert all(is_int(t) for t in event["tokens_hashes"])
    g1 = report["g1"]
    assert set(g1) == G1_KEYS
    for key in G1_KEYS - {"active", "partials", "inactive"}:
        assert is_int(g1[key]), key
    assert g1["capacity"] == config["capacity"]
    assert g1["reset"] + g1["num_inactive_blocks"] + g1["num_active_blocks"] == g1["capacity"]
    assert all(isinstance(k, str) and k.isdigit() and is_int(v) for k, v in g1["active"].items())
    assert all(isinstance(p, str) and not p.startswith("~") for p in g1["partials"])
    assert all(is_int(b) for b in g1["inactive"]) and len(g1["inactive"]) == g1["num_inactive_blocks"]
    if config["offload"] is None:
        assert report["g2"] is None
    else:
        g2 = report["g2"]
        assert set(g2) == {"capacity", "resident", "pinned", "transfers"}
        assert g2["capacity"] == config["offload"]["g2_blocks"]
        assert all(is_int(b) for b in g2["resident"] + g2["pinned"])
        for transfer in g2["transfers"]:
            assert set(transfer) == {"link", "blocks", "bytes", "started_ms", "eta_ms"}
            assert transfer["link"] in ("offload", "onboard")
            assert all(is_int(b) for b in transfer["blocks"]) and is_int(transfer["bytes"])
            assert isinstance(transfer["started_ms"], float) and isinstance(transfer["eta_ms"], float)


# -- presets -------------------------------------------------------------------------------


def test_presets_lists_every_preset_with_its_description() -> None:
    result = invoke("presets")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert len(lines) == len(preset_names()) >= 8
    for name, line in zip(preset_names(), lines, strict=True):
        assert line.startswith(name + " ")
        assert line.endswith(describe(name))
        assert describe(name)


# -- run: human output ---------------------------------------------------------------------


def test_run_preset_human_output() -> None:
    result = invoke("run", "tour")
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    out = result.stdout
    session = Session(load_script(preset_path("tour")))  # type: ignore[arg-type]
    session.run_to_end()
    assert out.startswith(session.name)
    for number, step in enumerate(session.steps, start=1):
        rows = [line for line in out.splitlines() if line.split()[:1] == [str(number)]]
        assert any(step.text in row for row in rows), step.text
    order = " ".join(map(str, session.manager.eviction_order()))
    assert order and f"eviction order (next victim first): {order}" in out
    assert "G1 removed [3 4]" in out


def test_run_script_file_human_output(tmp_path: Path) -> None:
    path = write(tmp_path, "config:\n  capacity: 3\nsteps:\n  - use 1 2 3\n  - deref 3 2 1\n  - use 9\n")
    result = invoke("run", str(path))
    assert result.exit_code == 0
    assert "eviction order (next victim first): 2 1" in result.stdout
    assert "G1 removed [3]" in result.stdout


# -- run --json ----------------------------------------------------------------------------


def test_run_json_report_of_the_lineage_walkthrough() -> None:
    result = invoke("run", "lineage-leaf-first", "--json")
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    report = json.loads(result.stdout)
    check_report_shape(report)
    assert "error" not in report
    assert report["name"] == "Lineage evicts leaves first"
    assert report["steps"] == 7
    assert report["clock_ms"] == 0.0
    assert report["config"] == {"capacity": 10, "block_size": 16, "eviction": "lineage", "dp_rank": 0,
                                "offload": None}
    assert [(r["step"], r["command"], r["returned"]) for r in report["results"]] == [
        (1, "use 0 1 2 3 4", 5), (2, "use 0 1 5 6", 4), (3, "deref 4 3 2 1 0", 1),
        (4, "deref 6 5 1 0", 1), (5, "use 0 1 2 7 8 9", 6), (6, "use 10 11 12", 3), (7, "use 13", 1),
    ]
    assert report["events"][0] == {
        "step": 1, "event_id": 0, "dp_rank": 0, "tier": "device", "kind": "stored",
        "parent_hash": None, "blocks": [0, 1, 2, 3, 4], "tokens_hashes": [0, 0, 0, 0, 0],
    }
    removed = [e for e in report["events"] if e["kind"] == "removed"]
    assert [(e["step"], e["blocks"]) for e in removed] == [(6, [4, 3, 6]), (7, [5])]
    assert removed[0] == {"step": 6, "event_id": 4, "dp_rank": 0, "tier": "device", "kind": "removed",
                          "blocks": [4, 3, 6]}
    assert report["g1"]["inactive"] == []
    assert report["g1"]["reset"] == 0 and report["g1"]["num_active_blocks"] == 10


def test_run_json_results_one_per_step_and_byte_identical() -> None:
    for name in preset_names():
        first = invoke("run", name, "--json")
        second = invoke("run", name, "--json")
        assert first.exit_code == 0, (name, first.stderr)
        assert first.stdout == second.stdout
        report = json.loads(first.stdout)
        check_report_shape(report)
        script = load_script(preset_path(name))  # type: ignore[arg-type]
        assert report["steps"] == len(script.steps)
        assert [r["command"] for r in report["results"]] == [s.text for s in script.steps]


def test_json_partials_active_and_large_ids_are_integers(tmp_path: Path) -> None:
    big, over53 = 2**64 - 1, 2**53 + 1
    path = write(tmp_path, f"config:\n  capacity: 4\nsteps:\n  - use {over53} {big} ~a\n  - deref {big}\n")
    result = invoke("run", str(path), "--json")
    assert result.exit_code == 0, result.stderr
    assert f"{big}" in result.stdout and f"{over53}" in result.stdout
    assert "e+" not in result.stdout and "E+" not in result.stdout
    report = json.loads(result.stdout)
    check_report_shape(report)
    assert report["events"][0]["blocks"] == [over53, big]
    assert report["g1"]["active"] == {str(over53): 1}
    assert report["g1"]["inactive"] == [big]
    assert report["g1"]["partials"] == ["a"]
    assert report["g1"]["num_active_block_refs"] == 2


def test_json_warning_of_a_block_evicted_and_stored_again(tmp_path: Path) -> None:
    """SPEC §4.1 flaw: ~a evicts 1, then the same use stores 1 again (stored then removed)."""
    path = write(tmp_path, "config:\n  capacity: 2\nsteps:\n  - use 1\n  - deref 1\n  - use 2\n"
                           "  - deref 2\n  - use ~a 1\n")
    result = invoke("run", str(path), "--json")
    assert result.exit_code == 0
    report = json.loads(result.stdout)
    check_report_shape(report)
    warned = [r for r in report["results"] if "warnings" in r]
    assert [r["step"] for r in warned] == [5]
    assert len(warned[0]["warnings"]) == 1 and "block 1 " in warned[0]["warnings"][0]
    assert [(e["kind"], e["blocks"]) for e in report["events"] if e["step"] == 5] == [
        ("stored", [1]), ("removed", [1, 2]),
    ]
    assert set(report["results"][0]) == {"step", "command", "returned"}  # no empty warnings key


def test_json_g2_report_of_the_spec_example(tmp_path: Path) -> None:
    """SPEC §6.2's example, stopped while the copy of 2 is in flight."""
    path = write(tmp_path, """\
config:
  capacity: 1
  offload:
    g2_blocks: 1
    block_size_bytes: 1000000
    g1_to_g2_gbps: 1.0
    g2_to_g1_gbps: 1.0
steps:
  - use 1
  - deref 1
  - use 2
  - expect returned 0
  - expect removed 1
  - tick 1
  - use 2
  - deref 2
  - use 3
  - expect returned 0
  - expect removed 2
""")
    first, second = invoke("run", str(path), "--json"), invoke("run", str(path), "--json")
    assert first.exit_code == 0, first.stderr
    assert first.stdout == second.stdout
    report = json.loads(first.stdout)
    check_report_shape(report)
    assert report["config"]["offload"] == {"g2_blocks": 1, "block_size_bytes": 1_000_000,
                                           "g1_to_g2_gbps": 1.0, "g2_to_g1_gbps": 1.0, "batch_size": 32}
    assert [(e["step"], e["tier"], e["kind"], e["blocks"]) for e in report["events"]] == [
        (1, "device", "stored", [1]), (3, "device", "removed", [1]), (4, "host_pinned", "stored", [1]),
        (5, "device", "stored", [2]), (7, "device", "removed", [2]), (7, "host_pinned", "removed", [1]),
    ]
    assert report["clock_ms"] == 1.0
    assert report["g1"]["quarantined"] == 1 and report["g1"]["num_active_blocks"] == 1
    assert report["g2"] == {"capacity": 1, "resident": [], "pinned": [], "transfers": [
        {"link": "offload", "blocks": [2], "bytes": 1_000_000, "started_ms": 1.0, "eta_ms": 2.0},
    ]}


def test_run_json_clock(tmp_path: Path) -> None:
    path = write(tmp_path, "config:\n  capacity: 2\nsteps:\n  - tick 1.5\n  - tick 2\n")
    report = json.loads(invoke("run", str(path), "--json").stdout)
    assert report["clock_ms"] == 3.5
    assert [r["returned"] for r in report["results"]] == [1, 1]


# -- overrides -----------------------------------------------------------------------------


def test_eviction_override_beats_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "config:\n  capacity: 10\n  eviction: lineage\nsteps:\n"
                           "  - use 0 1 2 3 4\n  - deref 0 1 2 3 4\n")
    base = json.loads(invoke("run", str(path), "--json").stdout)
    lru = json.loads(invoke("run", str(path), "--json", "--eviction", "lru").stdout)
    assert base["config"]["eviction"] == "lineage" and base["g1"]["inactive"] == [4, 3, 2, 1, 0]
    assert lru["config"]["eviction"] == "lru" and lru["g1"]["inactive"] == [0, 1, 2, 3, 4]
    check_report_shape(lru)


def test_eviction_override_on_a_preset_breaks_its_expects() -> None:
    result = invoke("run", "lineage-root-last", "--json", "--eviction", "lru")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["config"]["eviction"] == "lru"
    assert report["error"]["step"] == 2
    assert report["error"]["message"] == (
        "expect inactive 4 3 2 1 0: expected eviction order [4 3 2 1 0], got [0 1 2 3 4]"
    )


def test_capacity_override_beats_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "config:\n  capacity: 2\nsteps:\n  - use 1 2 3\n")
    base = json.loads(invoke("run", str(path), "--json").stdout)
    assert base["config"]["capacity"] == 2 and base["results"][0]["returned"] == 2
    result = invoke("run", str(path), "--json", "--capacity", "50")
    assert result.exit_code == 0
    report = json.loads(result.stdout)
    assert report["config"]["capacity"] == 50 and report["g1"]["capacity"] == 50
    assert report["results"][0]["returned"] == 3
    assert report["g1"]["reset"] == 47
    # the tour's intro expects capacity 8: the override makes it fail before step 1
    tour = invoke("run", "tour", "--json", "-c", "50")
    assert tour.exit_code == 1
    error = json.loads(tour.stdout)["error"]
    assert error["step"] == 0
    assert error["message"] == "expect pools reset=8 inactive=0 active=0: expected reset=8, got reset=50"


@pytest.mark.parametrize("value", ["multi_lru", "lineage"])
def test_short_eviction_option(value: str) -> None:
    report = json.loads(invoke("run", "shared-prefix", "--json", "-e", value).stdout)
    assert report["config"]["eviction"] == value


# -- errors --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("config:\n  capacity: 4\n\tsteps: []\n", 3,
         "YAML syntax error: found character '\\t' that cannot start any token"),
        ("config:\n  capacity: 0\n", 2, "config: capacity must be in 1 .. 1_000_000, got 0"),
        ("steps: []\n", 1, "missing required key 'config'"),
        ("config:\n  capacity: 4\nsteps:\n  - 5\n", 4,
         "a step must be a command string or 'note: TEXT', got 5"),
    ],
)
@pytest.mark.parametrize("json_flag", [[], ["--json"]])
def test_malformed_script_is_one_line_exit_1(
    tmp_path: Path, text: str, line: int, message: str, json_flag: list[str]
) -> None:
    path = write(tmp_path, text)
    for command in (["run", str(path), *json_flag], ["validate", str(path)]):
        result = invoke(*command)
        assert result.exit_code == 1
        assert result.stderr == f"{path}:{line}: {message}\n"
        assert result.stdout == ""


def test_json_invalid_step_3_reports_steps_1_2_and_the_error(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "config:\n  capacity: 4\nsteps:\n  - use 1 2\n  - note: fine\n  - deref 2\n\n"
        "  - deref 7\n  - use 3\n",
    )
    result = invoke("run", str(path), "--json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    check_report_shape(report)
    message = "deref 7: block 7 is not in G1, so there is no reference to release"
    assert report["error"] == {"step": 3, "line": 8, "message": message}
    assert report["steps"] == 2
    assert [(r["step"], r["command"]) for r in report["results"]] == [(1, "use 1 2"), (2, "deref 2")]
    assert report["g1"]["inactive"] == [2]
    assert result.stderr == f"{path}:8: {message}\n"
    assert list(report) == [*list(report)[:-1], "error"]


def test_json_unparsable_step(tmp_path: Path) -> None:
    path = write(tmp_path, "config:\n  capacity: 4\nsteps:\n  - use 1\n  - use 2\n  - frob 3\n")
    result = invoke("run", str(path), "--json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    verbs = "use, deref, promote, tick, swapin, expect, req, prefill, decode, preempt, resume, finish, "
    verbs += "visit, pass, drain"
    message = f"unknown command 'frob' (expected one of {verbs}) at column 1"
    assert report["error"] == {"step": 3, "line": 6, "message": message}
    assert len(report["results"]) == 2
    assert result.stderr == f"{path}:6: {message}\n"


def test_invalid_step_human_output(tmp_path: Path) -> None:
    path = write(tmp_path, "config:\n  capacity: 4\nsteps:\n  - use 1\n  - deref 1 1\n")
    result = invoke("run", str(path))
    assert result.exit_code == 1
    message = "deref 1: block 1 is active with refcount 1, but the deref lists it 2 times"
    assert result.stderr == f"{path}:5: {message}\n"
    assert "use 1" in result.stdout


def test_failing_expect_exits_1(tmp_path: Path) -> None:
    path = write(tmp_path, "config:\n  capacity: 4\nsteps:\n  - use 1 2\n  - expect stored 2 1\n  - use 3\n")
    message = "expect stored 2 1: expected stored [2 1], got [1 2]"
    human = invoke("run", str(path))
    assert human.exit_code == 1
    assert human.stderr == f"{path}:5: {message}\n"
    result = invoke("run", str(path), "--json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["error"] == {"step": 1, "line": 5, "message": message}
    assert report["steps"] == 1  # the step applied; the run stopped at its failing expect
    validate = invoke("validate", str(path))
    assert validate.exit_code == 1
    assert validate.stderr == f"{path}:5: {message}\n"


def test_unknown_script_exits_2(tmp_path: Path) -> None:
    for command in (["run", "no-such-preset"], ["run", "no-such-preset", "--json"], ["validate", "nope"]):
        result = invoke(*command)
        assert result.exit_code == 2
        assert result.stdout == ""
        assert "no script file or preset named" in result.stderr
    result = invoke("run", str(tmp_path / "missing.yaml"))
    assert result.exit_code == 2


@pytest.mark.parametrize(
    "options",
    [["--eviction", "fifo"], ["-e", "LRU"], ["--capacity", "0"], ["--capacity", "1000001"],
     ["--capacity", "-3"], ["--capacity", "ten"]],
)
def test_bad_options_exit_2(options: list[str]) -> None:
    result = invoke("run", "tour", *options)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "Invalid value" in result.stderr


def test_capacity_bounds_are_accepted() -> None:
    big = json.loads(invoke("run", "tour", "--json", "-c", "1000000").stdout)
    assert big["config"]["capacity"] == 1_000_000
    result = invoke("run", "shared-prefix", "--json", "-c", "1")
    assert json.loads(result.stdout)["config"]["capacity"] == 1


# -- validate ------------------------------------------------------------------------------


def test_validate_ok(tmp_path: Path) -> None:
    result = invoke("validate", "tour")
    assert result.exit_code == 0
    path = preset_path("tour")
    assert result.stdout == f"{path}: ok (11 steps)\n"
    empty = write(tmp_path, "config:\n  capacity: 1\n")
    result = invoke("validate", str(empty))
    assert (result.exit_code, result.stdout) == (0, f"{empty}: ok (0 steps)\n")


def test_validate_bad_command(tmp_path: Path) -> None:
    path = write(tmp_path, "config:\n  capacity: 4\nsteps:\n  - use 1\n  - promote ~a 3\n")
    result = invoke("validate", str(path))
    assert result.exit_code == 1
    assert result.stderr == f"{path}:5: promote ~a: partial block is not held\n"


def test_installed_entry_point_runs_headless(tmp_path: Path) -> None:
    """The console script itself: JSON on stdout, one error line on stderr, no traceback."""
    exe = Path(sys.executable).with_name("kvtui")
    path = write(tmp_path, "config:\n  capacity: 4\nsteps:\n  - use 1\n  - use x\n")
    proc = subprocess.run([str(exe), "run", str(path), "--json"], capture_output=True, text=True,
                          timeout=60, env={"KVTUI_STATE_DIR": str(tmp_path), "PATH": ""})
    assert proc.returncode == 1
    assert json.loads(proc.stdout)["error"]["line"] == 5
    assert proc.stderr == f"{path}:5: bad block id 'x' (a non-negative decimal integer) at column 5\n"


# -- the TUI commands: argument errors are caught before Textual starts -------------------------


def test_open_unknown_script_is_a_usage_error() -> None:
    result = invoke("open", "no-such-preset")
    assert result.exit_code == 2
    assert "no script file or preset named 'no-such-preset'" in result.stderr


def test_open_resume_without_journal_is_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KVTUI_STATE_DIR", str(tmp_path / "empty"))
    result = invoke("open", "--resume")
    assert result.exit_code == 2
    assert "no journal to resume" in result.stderr


def test_open_resume_of_a_bad_journal_is_a_script_error(tmp_path: Path) -> None:
    bad = tmp_path / "j.jsonl"
    bad.write_text('{"not": "a journal"}\n')
    result = invoke("open", "--resume", str(bad))
    assert result.exit_code == 1
    assert result.stderr.strip() == f"{bad}:1: not a kvtui journal"


def test_open_trace_missing_file_is_a_usage_error(tmp_path: Path) -> None:
    result = invoke("open", "--trace", str(tmp_path / "none.jsonl"))
    assert result.exit_code == 2
    assert "no trace file" in result.stderr
