"""Trace replay (kvtui.workload.trace): loading, hit figures computed by hand, the real trace.

The fixture trace (block size 4) and its hand count, unbounded capacity::

    line  hash_ids      input  prefix hit (blocks)  hit tokens = min(hit*4, input)
    1     1 2 3         10     0                    0
    2     1 2 4          9     2 (1 2)              8
    3     1 2 3 5       16     3 (1 2 3)            12
    4     6              3     0                    0
    5     1 7            8     1 (1)                4
                        ---    -                    --
    13 blocks           46     6 → 6/13             24 → 24/46

Capacity 3, lineage or lru (both evict the released chain tail-first here):
request 2 stores 4 by evicting 3; request 3 hits 1 2, finds 3 gone (prefix 2), stores 3 by
evicting 4 and then has no slot left for 5 (it does not fit); request 4 evicts 3; request 5
hits 1 and evicts 2 for 7. Prefix hits 0+2+2+0+1 = 5 → 5/13; tokens 0+8+8+0+4 = 20 → 20/46;
4 evictions; 1 request did not fit; 7 blocks stored.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kvtui.lang.trace_script import trace_script
from kvtui.session.session import Session
from kvtui.sim.config import OffloadConfig
from kvtui.sim.errors import ScriptError
from kvtui.sim.events import HOST_PINNED, router_view
from kvtui.sim.manager import KvManager
from kvtui.sim.moves import Deref, Use
from kvtui.workload.requests import prefix_hit
from kvtui.workload.trace import TraceReplay, figures_json, load_trace, parse_trace, scan

TRACE = Path(__file__).resolve().parents[1].parent / "shared" / "traces" / "mooncake_synthetic_trace.jsonl"

FIXTURE = [
    {"timestamp": 0, "input_length": 10, "output_length": 2, "hash_ids": [1, 2, 3]},
    {"timestamp": 5, "input_length": 9, "output_length": 1, "hash_ids": [1, 2, 4]},
    {"timestamp": 9, "input_length": 16, "output_length": 4, "hash_ids": [1, 2, 3, 5]},
    {"timestamp": 12, "input_length": 3, "output_length": 1, "hash_ids": [6]},
    {"timestamp": 20, "input_length": 8, "output_length": 3, "hash_ids": [1, 7]},
]


def fixture_lines() -> list[str]:
    return [json.dumps(row) for row in FIXTURE]


def write_fixture(tmp_path: Path) -> Path:
    path = tmp_path / "fixture.jsonl"
    path.write_text("\n".join(fixture_lines()) + "\n", encoding="utf-8")
    return path


def replay(capacity: int | None = None, eviction: str = "lineage", **kwargs: object) -> TraceReplay:
    records = parse_trace(fixture_lines(), "fixture.jsonl")
    run = TraceReplay(records, capacity, eviction, 4, label="fixture.jsonl", **kwargs)  # type: ignore[arg-type]
    run.run()
    return run


def test_load_trace_reads_every_field(tmp_path: Path) -> None:
    records = load_trace(write_fixture(tmp_path))
    assert [r.hash_ids for r in records] == [tuple(row["hash_ids"]) for row in FIXTURE]
    assert [r.line for r in records] == [1, 2, 3, 4, 5]
    assert records[2].timestamp == 9.0 and records[2].input_length == 16 and records[2].output_length == 4
    assert [r.line for r in load_trace(write_fixture(tmp_path), limit=2)] == [1, 2]


def test_unbounded_fixture_figures_match_the_hand_count() -> None:
    figures = figures_json(replay())
    assert figures["config"] == {"capacity": 7, "unbounded": True, "eviction": "lineage", "block_size": 4,
                                 "g2_blocks": None}
    assert (figures["requests"], figures["blocks"], figures["unique_blocks"]) == (5, 13, 7)
    hits = (figures["prefix_hit_blocks"], figures["prefix_hit_tokens"], figures["input_tokens"])
    assert hits == (6, 24, 46)
    assert figures["prefix_block_hit_ratio"] == 6 / 13
    assert figures["prefix_token_hit_ratio"] == 24 / 46
    assert figures["hit_blocks_anywhere"] == 6
    assert (figures["stored_blocks"], figures["evicted_blocks"], figures["truncated_requests"]) == (7, 0, 0)
    assert figures["g2"] is None


@pytest.mark.parametrize("eviction", ["lineage", "lru"])
def test_bounded_fixture_figures_match_the_hand_count(eviction: str) -> None:
    run = replay(3, eviction)
    figures = figures_json(run)
    assert figures["prefix_hit_blocks"] == 5 and figures["prefix_block_hit_ratio"] == 5 / 13
    assert figures["prefix_hit_tokens"] == 20 and figures["prefix_token_hit_ratio"] == 20 / 46
    assert figures["evicted_blocks"] == 4
    assert figures["truncated_requests"] == 1
    assert figures["stored_blocks"] == 7
    mgr = run.manager
    assert router_view(mgr.events) == set(mgr.blocks)
    assert mgr.active() == {}
    assert sorted(mgr.blocks) == [1, 6, 7]


def test_step_by_step_outcomes() -> None:
    records = parse_trace(fixture_lines())
    run = TraceReplay(records, 3, "lineage", 4)
    outcomes = []
    while not run.done:
        outcomes.append(run.step())
    assert [(o.prefix_hit, o.committed) for o in outcomes] == [(0, 3), (2, 3), (2, 3), (0, 1), (1, 2)]
    assert [o.record.line for o in outcomes] == [1, 2, 3, 4, 5]
    moves = [m for m, _ in outcomes[2].results[0].expanded]
    assert moves == [Use((1, 2, 3, 5)), Deref((3, 2, 1))]


def test_scan_counts_the_prefix_and_anywhere() -> None:
    mgr = KvManager(3, eviction="lru")
    mgr.apply(Use((1, 2, 3)))
    mgr.apply(Deref((1, 2, 3)))  # root released first: lru evicts it first
    mgr.apply(Use((9,)))
    assert scan(mgr, (1, 2, 3)) == (0, 2)
    assert scan(mgr, (9, 5)) == (1, 1)


def test_trace_script_plays_the_same_replay_in_a_session() -> None:
    records = parse_trace(fixture_lines())
    script = trace_script(records, 3, "lineage", 4)
    assert [s.text for s in script.steps][:2] == ["visit 1 2 3 input=10", "visit 1 2 4 input=9"]
    assert [s.line for s in script.steps] == [1, 2, 3, 4, 5]
    session = Session(script)
    session.run_to_end()
    hits = [prefix_hit(*r.expanded[0]) for r in session.records]  # type: ignore[arg-type]
    assert hits == [0, 2, 2, 0, 1]
    reference = replay(3)
    assert session.manager.dump() == reference.manager.dump()
    session.jump(2)
    assert [prefix_hit(*r.expanded[0]) for r in session.records] == [0, 2]  # type: ignore[arg-type]


def test_trace_script_with_g2_inserts_ticks() -> None:
    records = parse_trace(fixture_lines())
    script = trace_script(records, 3, "lineage", 4, OffloadConfig(8))
    texts = [s.text for s in script.steps]
    assert texts[:4] == ["visit 1 2 3 input=10", "tick 5", "visit 1 2 4 input=9", "tick 4"]
    Session(script).run_to_end()


def test_g2_replay_swaps_in_a_block_evicted_from_g1() -> None:
    run = replay(3, offload=OffloadConfig(8))
    figures = figures_json(run)
    g2 = figures["g2"]
    # request 2's store of 4 evicts 3 into G2 (the Use waits for the copy); request 3 finds 1 2 in
    # G1 and 3 in G2 and swaps 3 in, evicting 4 into G2 (G1 prefix 2 + G2 hit 1: tokens
    # min(3*4, 16) = 12 instead of 8), then 5 does not fit; request 4 evicts 3 again (already in
    # G2: no copy); request 5 evicts 2 into G2. G2 stores: 3, 4, 2.
    assert (figures["prefix_hit_blocks"], g2["hit_blocks"]) == (5, 1)
    assert g2["prefix_block_hit_ratio"] == 6 / 13
    assert g2["prefix_token_hit_ratio"] == 24 / 46
    assert (g2["stored_blocks"], g2["evicted_blocks"]) == (3, 0)
    assert figures["truncated_requests"] == 1
    assert 20.0 < g2["clock_ms"] < 20.1  # the last arrival plus one 1 MB copy at 14 GB/s
    mgr = run.manager
    assert router_view(mgr.events) == set(mgr.blocks)
    g2_state = mgr.g2()
    assert g2_state is not None and g2_state["transfers"] == []  # every request waited for its copies
    assert router_view(mgr.events, HOST_PINNED) == set(g2_state["resident"])


BAD_LINES = [
    ("{", "not JSON"),
    ("[1, 2]", "a trace line must be a JSON object"),
    ('{"timestamp": 0, "input_length": 1, "output_length": 1}', "missing key 'hash_ids'"),
    ('{"timestamp": -1, "input_length": 1, "output_length": 1, "hash_ids": []}',
     "timestamp must be a number >= 0, got -1"),
    ('{"timestamp": 0, "input_length": 1.5, "output_length": 1, "hash_ids": []}',
     "input_length must be an integer >= 0, got 1.5"),
    ('{"timestamp": 0, "input_length": 1, "output_length": 1, "hash_ids": 7}',
     "hash_ids must be a list of block ids, got 7"),
    ('{"timestamp": 0, "input_length": 1, "output_length": 1, "hash_ids": [1, "2"]}',
     "hash_ids: '2' is not an integer in 0..2^64-1"),
    ('{"timestamp": 0, "input_length": 1, "output_length": 1, "hash_ids": [1, 18446744073709551616]}',
     "hash_ids: 18446744073709551616 is not an integer in 0..2^64-1"),
    ('{"timestamp": 0, "input_length": 1, "output_length": 1, "hash_ids": [4, 5, 4]}',
     "hash_ids: block 4 appears twice"),
    ('{"timestamp": 0, "input_length": 1, "output_length": 1, "hash_ids": [1, true]}',
     "hash_ids: True is not an integer in 0..2^64-1"),
    ('{"timestamp": 0, "input_length": 1, "output_length": 1, "hash_ids": [1, 1.0]}',
     "hash_ids: 1.0 is not an integer in 0..2^64-1"),
    ('{"timestamp": 0, "input_length": 1, "output_length": 1, "hash_ids": [3, -1]}',
     "hash_ids: -1 is not an integer in 0..2^64-1"),
    ('{"timestamp": 0, "input_length": 1, "output_length": 1, "hash_ids": [1]} 5',
     "not JSON: Extra data: line 1 column 74 (char 73)"),
    ('\xa0{"timestamp": 0, "input_length": 1, "output_length": 1, "hash_ids": [1]}',
     "not JSON: Expecting value: line 1 column 1 (char 0)"),
]


@pytest.mark.parametrize(("line", "message"), BAD_LINES, ids=[m for _, m in BAD_LINES])
def test_bad_trace_lines_are_file_line_errors(line: str, message: str) -> None:
    with pytest.raises(ScriptError) as info:
        parse_trace([fixture_lines()[0], "", line], "t.jsonl")
    assert str(info.value).startswith(f"t.jsonl:3: {message}")


@pytest.mark.parametrize(
    "text",
    ['{"a": 1}', ' \t{"a": [1, 2]}\r\n', "[1] x", "[1] [2]", "\ufeff{}", "\x0c{}", "{}\x0b", "", "  ", "nul",
     "NaN", '"a\\u00e9"', "1" * 5000, "{", '{"a": 1,}', "[1, 2]\n\n", "\n[1]"],
)
def test_the_line_decoder_is_json_loads(text: str) -> None:
    """kvtui.workload.trace._loads gives json.loads's value, or raises its very error."""
    from kvtui.workload.trace import _loads

    try:
        expected: object = json.loads(text)
    except ValueError as exc:
        with pytest.raises(type(exc)) as info:
            _loads(text)
        assert str(info.value) == str(exc)
    else:
        assert repr(_loads(text)) == repr(expected)  # repr: NaN is not equal to itself


@given(st.text(alphabet=' \t\n\r\x0b\x0c\xa0\ufeff{}[]",:0123456789.eE+-truefalsnNI\\', max_size=40))
def test_the_line_decoder_is_json_loads_on_any_text(text: str) -> None:
    test_the_line_decoder_is_json_loads(text)


@pytest.mark.parametrize(("capacity", "g2"), [(None, None), (3, None), (2, None), (3, 4), (2, 1)])
def test_run_gives_the_figures_of_stepping_through(capacity: int | None, g2: int | None) -> None:
    """TraceReplay.run builds no outcomes (and no folded visit results): same figures."""
    offload = OffloadConfig(g2) if g2 else None
    records = parse_trace(fixture_lines() * 3, "fixture.jsonl")
    stepped = TraceReplay(records, capacity, "lineage", 4, offload, label="f")
    while not stepped.done:
        stepped.step()
    ran = TraceReplay(records, capacity, "lineage", 4, offload, label="f")
    ran.run()
    assert figures_json(ran) == figures_json(stepped)
    assert ran.manager.events == stepped.manager.events


def test_a_lineage_conflict_is_reported_at_its_line() -> None:
    lines = [*fixture_lines()[:2], json.dumps({"timestamp": 1, "input_length": 4, "output_length": 1,
                                               "hash_ids": [9, 2]})]
    run = TraceReplay(parse_trace(lines, "t.jsonl"), None, "lineage", 4, label="t.jsonl")
    with pytest.raises(ScriptError) as info:
        run.run()
    assert str(info.value) == "t.jsonl:3: block 2 has parent 1, this command implies 9"
    assert run.index == 2


def independent_prefix_ratio(path: Path) -> tuple[float, float]:
    """Unbounded cache, counted with a plain set: a block hits when it was seen before, over the
    leading run of each request; tokens = min(hit blocks × 512, input_length)."""
    seen: set[int] = set()
    hit_blocks = total_blocks = hit_tokens = total_tokens = 0
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            row = json.loads(line)
            ids = row["hash_ids"]
            run = 0
            while run < len(ids) and ids[run] in seen:
                run += 1
            seen.update(ids)
            hit_blocks += run
            total_blocks += len(ids)
            hit_tokens += min(run * 512, row["input_length"])
            total_tokens += row["input_length"]
    return hit_blocks / total_blocks, hit_tokens / total_tokens


@pytest.mark.skipif(not TRACE.is_file(), reason="the shared Mooncake trace is not available")
def test_real_trace_unbounded_prefix_hit_ratio_matches_an_independent_count() -> None:
    block_ratio, token_ratio = independent_prefix_ratio(TRACE)
    assert round(block_ratio, 3) == 0.640  # the traces README: "about 64%"
    run = TraceReplay(load_trace(TRACE), None, "lineage", 512, label=str(TRACE))
    run.run()
    figures = figures_json(run)
    assert figures["requests"] == 3993
    assert round(figures["prefix_block_hit_ratio"], 3) == round(block_ratio, 3) == 0.640
    assert round(figures["prefix_token_hit_ratio"], 3) == round(token_ratio, 3)
    assert figures["evicted_blocks"] == 0 and figures["truncated_requests"] == 0
