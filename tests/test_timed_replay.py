"""Timed trace replay (SPEC §14): token synthesis, hashing, figures, the CLI, and the session
script that steps the same replay one pass at a time."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kvtui.cli.app import app
from kvtui.lang.trace_script import scheduled_trace_script
from kvtui.session.session import Session
from kvtui.sim.config import SchedulerConfig
from kvtui.workload.actions import trace_tokens
from kvtui.workload.hashing import hash_token_blocks
from kvtui.workload.scheduler.replay import TimedReplay, TraceHasher, percentiles
from kvtui.workload.trace import load_trace, parse_trace

MOONCAKE = Path("/work/shared/traces/mooncake_synthetic_trace.jsonl")
TWO = [
    '{"timestamp": 0, "input_length": 1024, "output_length": 2, "hash_ids": [1, 2]}',
    '{"timestamp": 0, "input_length": 1024, "output_length": 1, "hash_ids": [1, 3]}',
]


def test_trace_tokens_follow_upstream_synthesis() -> None:
    assert trace_tokens((7, 2**32 + 9), 600) == [7] * 512 + [9] * 88
    assert trace_tokens((1, 2, 3), 512) == [1] * 512


@pytest.mark.parametrize("block_size", [4, 16, 512, 1024])
def test_memoised_hashes_equal_plain_hashing(block_size: int) -> None:
    rng = random.Random(block_size)
    hasher = TraceHasher(block_size)
    for _ in range(5):
        ids = tuple(rng.randrange(6) for _ in range(3))
        if len(set(ids)) < 3:
            continue
        length = rng.randrange(1, 3 * 512 + 1)
        want = hash_token_blocks(trace_tokens(ids, length), block_size)
        assert hasher.hashes(ids, length) == (want.token_hashes, want.block_ids)


def test_percentiles_use_upstream_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    got = percentiles(values)
    assert (got["p50"], got["p90"], got["p99"], got["max"]) == (51.0, 90.0, 99.0, 100.0)
    assert percentiles([])["p50"] == 0.0


def test_two_requests_hand_counted() -> None:
    replay = TimedReplay(parse_trace(TWO), SchedulerConfig())
    replay.run()
    fig = replay.figures()
    # capacity: 3 distinct prompt blocks + one decode block each
    assert fig["config"]["capacity"] == 5
    assert (fig["completed"], fig["output_tokens"], fig["passes"]) == (2, 3, 2)
    # t1 finds t0's first block active when it is scheduled in the same pass
    assert fig["prefix_hit_tokens"] == 512 and fig["prefix_hit_ratio"] == 0.25
    # one pass: batch 2, means isl 1024, prefix 256 → 1536 new tokens; decode at 3/5 blocks
    prefill = 4.209989e-07 * 1536**2 + 1.518344e-02 * 1536 + 16.50142
    decode = -25.74 * 0.6**2 + 54.01 * 0.6 + 5.74
    assert fig["ttft_ms"]["p50"] == pytest.approx(prefill + decode)
    # pass 2: t1 finished; t0 still holds its two blocks and its new partial → 3/5 again
    assert fig["itl_ms"]["max"] == pytest.approx(decode)
    assert fig["preemptions"] == 0 and fig["peak_running"] == 2


def test_session_steps_reproduce_the_replay(tmp_path: Path) -> None:
    if not MOONCAKE.is_file():
        pytest.skip("the shared Mooncake trace is not present")
    records = load_trace(MOONCAKE, 25)
    sched = SchedulerConfig(max_num_batched_tokens=4096)
    replay = TimedReplay(records, sched, 300)
    replay.run()
    finished: list[int] = []  # the planning's progress (the TUI's start-up bar)
    script = scheduled_trace_script(records, sched, 300, progress=finished.append)
    assert sum(finished) == len(records) and len(finished) > 1
    assert sum(1 for s in script.steps if s.text == "pass") == replay.world.scheduler.passes  # type: ignore[union-attr]
    session = Session(script, checkpoints=False)
    session.run_to_end()
    assert session.manager.clock_ms == replay.world.manager.clock_ms
    assert session.manager.events == replay.world.manager.events


def test_cli_json_and_text(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    path = tmp_path / "two.jsonl"
    path.write_text("\n".join(TWO) + "\n")
    result = CliRunner().invoke(app, ["trace", str(path), "--scheduler", "--json"])
    assert result.exit_code == 0, result.stderr
    fig = json.loads(result.stdout)
    assert fig["mode"] == "scheduler" and fig["completed"] == 2
    assert fig["config"]["scheduler"]["max_num_batched_tokens"] == 8192
    assert fig["g2"] is None
    with_g2 = CliRunner().invoke(app, ["trace", str(path), "--scheduler", "--json", "--g2-blocks", "4"])
    assert with_g2.exit_code == 0, with_g2.stderr
    g2 = json.loads(with_g2.stdout)["g2"]
    assert g2["parked_requests"] == 0 and g2["onboarded_blocks"] == 0  # nothing evicted: no G2 hit
    text = CliRunner().invoke(app, ["trace", str(path), "--scheduler", "--preemption", "fifo",
                                    "--budget", "256"])
    assert text.exit_code == 0, text.stderr
    assert "TTFT p50 / p90 / p99" in text.stdout and "requests/s" in text.stdout
    assert "fifo" in text.stdout


def test_cli_rejects_an_input_longer_than_its_hash_ids(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"timestamp": 0, "input_length": 2000, "output_length": 2, "hash_ids": [1]}\n')
    result = CliRunner().invoke(app, ["trace", str(path), "--scheduler"])
    assert result.exit_code == 1 and "bad.jsonl:1:" in result.stderr
    assert "Traceback" not in result.stdout + result.stderr


def test_open_trace_scheduler_builds_a_pass_per_step(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from kvtui.tui.app import KvtuiApp

    opened: list[Session] = []
    monkeypatch.setattr(KvtuiApp, "run", lambda self: opened.append(self.session))
    path = tmp_path / "two.jsonl"
    path.write_text("\n".join(TWO) + "\n")
    result = CliRunner().invoke(app, ["open", "--trace", str(path), "--scheduler"])
    assert result.exit_code == 0, result.stderr
    (session,) = opened
    assert [s.text.split()[0] for s in session.steps] == ["req", "req", "pass", "pass"]
    assert session.config.scheduler == SchedulerConfig()


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["--budget", "5"], "kvtui: --budget only applies with --scheduler"),
        (["--no-chunked-prefill", "--preemption", "fifo"],
         "kvtui: --[no-]chunked-prefill, --preemption only apply with --scheduler"),
        (["--scheduler", "--budget", "5", "--unbounded-budget"],
         "kvtui: give --budget N or --unbounded-budget, not both"),
        (["--scheduler", "--block-size", "1"], "kvtui: --scheduler needs --block-size 2 or more"),
    ],
)
def test_trace_refuses_scheduler_options_that_do_not_apply(
    tmp_path: Path, args: list[str], line: str
) -> None:
    path = tmp_path / "two.jsonl"
    path.write_text("\n".join(TWO) + "\n")
    result = CliRunner().invoke(app, ["trace", str(path), *args])
    assert (result.exit_code, result.stderr.rstrip("\n")) == (2, line)


def test_open_scheduler_needs_a_trace() -> None:
    result = CliRunner().invoke(app, ["open", "tour", "--scheduler"])
    line = "kvtui: --scheduler only applies with --trace FILE"
    assert (result.exit_code, result.stderr.rstrip("\n")) == (2, line)


def test_trace_scheduler_options_reach_the_config(tmp_path: Path) -> None:
    path = tmp_path / "two.jsonl"
    path.write_text("\n".join(TWO) + "\n")
    args = ["trace", str(path), "--scheduler", "--json", "--unbounded-budget", "--max-seqs", "1",
            "--no-chunked-prefill", "--no-prefix-caching", "--preemption", "fifo", "--speedup", "2"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["config"]["scheduler"] == {
        "max_num_batched_tokens": None, "max_num_seqs": 1, "chunked_prefill": False,
        "prefix_caching": False, "preemption": "fifo", "speedup_ratio": 2.0,
    }
