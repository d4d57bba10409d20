"""SPEC §9 script files: the loader, its `FILE:LINE: message` errors, notes/expects, dump.

Every load error is checked as the exact full string. A bad *command* is not a load error: the
step keeps its parse error and raises StepError (with FILE:LINE) when the session reaches it.
Property tests: random YAML documents and random text never raise anything but ScriptError, and
load → dump → load keeps name, description, config, steps, notes and checks.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from kvtui.lang.commands import ExpectCommand, MoveCommand, parse
from kvtui.lang.script import Script, dump_script, load_script, load_script_text
from kvtui.presets import preset_names, preset_path
from kvtui.session.session import Session, StepError
from kvtui.sim.config import Config, OffloadConfig
from kvtui.sim.errors import ScriptError
from kvtui.sim.moves import Deref, Use

CONFIG_KEYS = "capacity, block_size, eviction, dp_rank, offload, scheduler"
OFFLOAD_KEYS = "g2_blocks, block_size_bytes, g1_to_g2_gbps, g2_to_g1_gbps, batch_size"


def write(tmp_path: Path, text: str, name: str = "s.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def load_error(tmp_path: Path, text: str) -> str:
    path = write(tmp_path, text)
    with pytest.raises(ScriptError) as info:
        load_script(path)
    assert "\n" not in str(info.value)
    return str(info.value).removeprefix(f"{path}:")


# -- loading good scripts ------------------------------------------------------------------


def test_minimal_script_defaults(tmp_path: Path) -> None:
    script = load_script(write(tmp_path, "config:\n  capacity: 4\n", "my-demo.yaml"))
    assert script.name == "my-demo"
    assert script.description == ""
    assert script.config == Config(capacity=4, block_size=16, eviction="lineage", dp_rank=0, offload=None)
    assert script.steps == []
    assert script.intro.notes == [] and script.intro.checks == []


@pytest.mark.parametrize("steps", ["steps: []\n", "steps:\n", "steps: null\n", ""])
def test_empty_or_absent_steps(tmp_path: Path, steps: str) -> None:
    script = load_script(write(tmp_path, "config:\n  capacity: 4\n" + steps))
    assert script.steps == []


def test_full_config(tmp_path: Path) -> None:
    text = """\
name: Full
description: |-
  first line
  second line
config:
  capacity: 1_000_000
  block_size: 1024
  eviction: multi_lru
  dp_rank: 3
  offload:
    g2_blocks: 4
    block_size_bytes: 2000
    g1_to_g2_gbps: 1
    g2_to_g1_gbps: 0.5
    batch_size: 2
steps:
  - use 1
"""
    script = load_script(write(tmp_path, text))
    assert script.name == "Full"
    assert script.description == "first line\nsecond line"
    assert script.config == Config(
        capacity=1_000_000, block_size=1024, eviction="multi_lru", dp_rank=3,
        offload=OffloadConfig(g2_blocks=4, block_size_bytes=2000, g1_to_g2_gbps=1.0,
                              g2_to_g1_gbps=0.5, batch_size=2),
    )
    assert script.config.offload is not None
    assert isinstance(script.config.offload.g1_to_g2_gbps, float)


def test_offload_defaults(tmp_path: Path) -> None:
    script = load_script(write(tmp_path, "config:\n  capacity: 4\n  offload:\n    g2_blocks: 8\n"))
    assert script.config.offload == OffloadConfig(8, 1_000_000, 14.0, 14.0, 32)


@pytest.mark.parametrize("size", [1, 2, 16, 512, 1024])
def test_block_size_powers_of_two(tmp_path: Path, size: int) -> None:
    script = load_script(write(tmp_path, f"config:\n  capacity: 4\n  block_size: {size}\n"))
    assert script.config.block_size == size


def test_steps_lines_notes_and_checks(tmp_path: Path) -> None:
    text = """\
config:
  capacity: 4
steps:
  - note: before anything
  - expect pools reset=4
  - use 1 2
  - note: after the use
  - expect stored 1 2
  - note: second note
  - deref 2
  - use 1 x
  - expect bogus
  - use 3
"""
    script = load_script(write(tmp_path, text))
    assert script.intro.text == ""
    assert script.intro.notes == ["before anything"]
    assert [(c.line, c.text) for c in script.intro.checks] == [(5, "expect pools reset=4")]
    assert [(s.text, s.line) for s in script.steps] == [
        ("use 1 2", 6), ("deref 2", 10), ("use 1 x", 11), ("use 3", 13),
    ]
    use, deref, bad, last = script.steps
    assert use.command == MoveCommand(Use((1, 2)))
    assert use.notes == ["after the use", "second note"]
    assert [(c.line, c.text, c.expect) for c in use.checks] == [
        (8, "expect stored 1 2", parse("expect stored 1 2")),
    ]
    assert deref.command == MoveCommand(Deref((2,))) and not deref.notes and not deref.checks
    # a bad command is kept with its error, not raised at load time
    assert bad.command is None
    assert bad.error == "bad block id 'x' (a non-negative decimal integer) at column 7"
    # a bad expect attaches to the preceding command with its error
    assert [(c.line, c.text, c.expect) for c in bad.checks] == [(12, "expect bogus", None)]
    assert bad.checks[0].error is not None and "unknown expectation 'bogus'" in bad.checks[0].error
    assert last.command == MoveCommand(Use((3,)))
    assert all(not s.typed for s in script.steps)


def test_bad_command_is_a_step_error_at_run_time(tmp_path: Path) -> None:
    text = "config:\n  capacity: 4\nsteps:\n  - use 1 2\n  - deref 2\n  - use 1 x\n  - use 3\n"
    path = write(tmp_path, text)
    session = Session(load_script(path))
    with pytest.raises(StepError) as info:
        session.run_to_end()
    message = "bad block id 'x' (a non-negative decimal integer) at column 7"
    assert str(info.value) == f"{path}:6: {message}"
    assert (info.value.step, info.value.line, info.value.message) == (3, 6, message)
    assert session.cursor == 2


def test_bad_expect_is_a_step_error_at_run_time(tmp_path: Path) -> None:
    path = write(tmp_path, "config:\n  capacity: 4\nsteps:\n  - use 1\n  - expect inactive x\n")
    session = Session(load_script(path))
    with pytest.raises(StepError) as info:
        session.run_to_end()
    assert str(info.value) == (
        f"{path}:5: bad block id 'x' (a non-negative decimal integer) at column 17"
    )
    assert info.value.step == 1


def test_command_error_is_a_step_error_with_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, "config:\n  capacity: 4\nsteps:\n  - use 1\n\n  - deref 7\n")
    session = Session(load_script(path))
    with pytest.raises(StepError) as info:
        session.run_to_end()
    assert str(info.value) == f"{path}:6: deref 7: block 7 is not in G1, so there is no reference to release"
    assert (info.value.step, info.value.line) == (2, 6)


def test_unreadable_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(ScriptError) as info:
        load_script(missing)
    assert str(info.value).startswith(f"{missing}: cannot read script: ")  # no made-up line 0
    bad = tmp_path / "bin.yaml"
    bad.write_bytes(b"config:\n  capacity: \xff\n")
    with pytest.raises(ScriptError) as info:
        load_script(bad)
    assert str(info.value).startswith(f"{bad}: cannot read script: ")


# -- load errors: exact FILE:LINE: message -------------------------------------------------

LOAD_ERRORS = [
    # YAML syntax
    ("syntax-tab", "config:\n  capacity: 4\n\tblock_size: 16\n",
     "3: YAML syntax error: found character '\\t' that cannot start any token"),
    ("syntax-flow", "config: {capacity: 4\nsteps: []\n",
     "2: YAML syntax error: expected ',' or '}', but got ':'"),
    ("syntax-quote", "config:\n  capacity: 4\nsteps:\n  - \"use 1\n",
     "5: YAML syntax error: found unexpected end of stream"),
    ("syntax-control", "config:\n  capacity: 4\nsteps:\n  - use 1\x07\n",
     "4: YAML syntax error: unacceptable character #x0007: special characters are not allowed"),
    ("two-documents", "config:\n  capacity: 4\n---\nconfig:\n  capacity: 4\n",
     "3: YAML syntax error: expected a single document in the stream, but found another document"),
    # empty / not a mapping
    ("empty", "", "1: the script is empty (it needs at least config.capacity)"),
    ("only-comment", "# nothing here\n\n", "1: the script is empty (it needs at least config.capacity)"),
    ("a-list", "- use 1\n", "1: the script must be a mapping"),
    ("a-scalar", "hello\n", "1: the script must be a mapping"),
    ("int-key", "config:\n  capacity: 4\n1: x\n", "3: the script keys must be strings, got 1"),
    # top-level keys
    ("unknown-top", "config:\n  capacity: 4\nsetps: []\n",
     "3: unknown key 'setps' (expected name, description, config, steps)"),
    ("missing-config", "name: x\nsteps:\n  - use 1\n", "1: missing required key 'config'"),
    ("name-not-text", "name: 5\nconfig:\n  capacity: 4\n", "1: name must be a string, got int"),
    ("description-list", "description: [a]\nconfig:\n  capacity: 4\n",
     "1: description must be a string, got list"),
    ("duplicate-top", "config:\n  capacity: 4\nsteps: []\nconfig:\n  capacity: 5\n",
     "4: duplicate key 'config' in the script"),
    # config
    ("config-not-mapping", "config: 4\n", "1: config must be a mapping"),
    ("unknown-config", "config:\n  capacity: 4\n  capcity: 5\n",
     f"3: config: unknown config key 'capcity' (expected {CONFIG_KEYS})"),
    ("duplicate-config", "config:\n  capacity: 4\n  capacity: 5\n", "3: duplicate key 'capacity' in config"),
    ("missing-capacity", "name: x\nconfig:\n  eviction: lru\n", "3: config: config.capacity is required"),
    ("capacity-str", "config:\n  eviction: lru\n  capacity: ten\n",
     "3: config: capacity must be an integer, got str 'ten'"),
    ("capacity-float", "config:\n  capacity: 4.0\n", "2: config: capacity must be an integer, got float 4.0"),
    ("capacity-bool", "config:\n  capacity: true\n", "2: config: capacity must be an integer, got bool True"),
    ("capacity-null", "config:\n  capacity:\n", "2: config: capacity must be an integer, got NoneType None"),
    ("capacity-0", "config:\n  capacity: 0\n", "2: config: capacity must be in 1 .. 1_000_000, got 0"),
    ("capacity-big", "config:\n  capacity: 1_000_001\n",
     "2: config: capacity must be in 1 .. 1_000_000, got 1000001"),
    ("capacity-tag", "config:\n  capacity: !!int abc\n", "2: bad !!int value 'abc'"),
    ("block-size-12", "config:\n  capacity: 4\n  block_size: 12\n",
     "3: config: block_size must be a power of two, got 12"),
    ("block-size-0", "config:\n  capacity: 4\n  block_size: 0\n",
     "3: config: block_size must be in 1 .. 1_024, got 0"),
    ("block-size-2048", "config:\n  capacity: 4\n  block_size: 2048\n",
     "3: config: block_size must be in 1 .. 1_024, got 2048"),
    ("eviction-fifo", "config:\n  capacity: 4\n  eviction: fifo\n",
     "3: config: eviction must be one of lineage, lru, multi_lru, got 'fifo'"),
    ("eviction-list", "config:\n  capacity: 4\n  eviction: [lru]\n",
     "3: config: eviction must be one of lineage, lru, multi_lru, got ['lru']"),
    ("dp-rank-negative", "config:\n  capacity: 4\n  dp_rank: -1\n",
     "3: config: dp_rank must be in 0 .. 4_294_967_295, got -1"),
    # offload
    ("offload-unknown", "config:\n  capacity: 4\n  offload:\n    g2_blocks: 4\n    g2_block: 5\n",
     f"5: config: unknown offload key 'g2_block' (expected {OFFLOAD_KEYS})"),
    ("offload-missing-g2", "config:\n  capacity: 4\n  offload:\n    batch_size: 4\n",
     "3: config: offload.g2_blocks is required"),
    ("offload-gbps-str", "config:\n  capacity: 4\n  offload:\n    g2_blocks: 4\n    g1_to_g2_gbps: fast\n",
     "5: config: offload.g1_to_g2_gbps must be a number, got str 'fast'"),
    ("offload-gbps-bool", "config:\n  capacity: 4\n  offload:\n    g2_blocks: 4\n    g2_to_g1_gbps: yes\n",
     "5: config: offload.g2_to_g1_gbps must be a number, got bool True"),
    ("offload-gbps-nan", "config:\n  capacity: 4\n  offload:\n    g2_blocks: 4\n    g2_to_g1_gbps: .nan\n",
     "5: config: offload.g2_to_g1_gbps must be a finite number, got nan"),
    ("offload-g2-0", "config:\n  capacity: 4\n  offload:\n    g2_blocks: 0\n",
     "4: config: offload.g2_blocks must be in 1 .. 1_000_000, got 0"),
    ("offload-not-mapping", "config:\n  capacity: 4\n  offload: 4\n",
     "3: config: offload must be a mapping, got int 4"),
    # steps
    ("steps-string", "config:\n  capacity: 4\nsteps: use 1\n", "3: steps must be a list of commands"),
    ("steps-mapping", "config:\n  capacity: 4\nsteps:\n  use: 1\n", "4: steps must be a list of commands"),
    ("step-number", "config:\n  capacity: 4\nsteps:\n  - use 1\n  - 42\n",
     "5: a step must be a command string or 'note: TEXT', got 42"),
    ("step-null", "config:\n  capacity: 4\nsteps:\n  - use 1\n  -\n",
     "5: a step must be a command string or 'note: TEXT', got None"),
    ("step-list", "config:\n  capacity: 4\nsteps:\n  - [use, 1]\n",
     "4: a step must be a command string or 'note: TEXT', got ['use', 1]"),
    ("step-mapping", "config:\n  capacity: 4\nsteps:\n  - use 1\n  - comment: hi\n",
     "5: a mapping step must be exactly 'note: TEXT'"),
    ("step-note-extra", "config:\n  capacity: 4\nsteps:\n  - note: a\n    extra: b\n",
     "5: a mapping step must be exactly 'note: TEXT'"),
    ("step-empty-mapping", "config:\n  capacity: 4\nsteps:\n  - use 1\n  - {}\n",
     "5: a mapping step must be exactly 'note: TEXT'"),
    ("note-number", "config:\n  capacity: 4\nsteps:\n  - note: 5\n", "4: a note must be text"),
    ("note-duplicate", "config:\n  capacity: 4\nsteps:\n  - {note: a, note: b}\n",
     "4: duplicate key 'note' in a step"),
    ("step-bad-tag", "config:\n  capacity: 4\nsteps:\n  - !!float x\n", "4: bad !!float value 'x'"),
]


@pytest.mark.parametrize(("text", "expected"), [c[1:] for c in LOAD_ERRORS], ids=[c[0] for c in LOAD_ERRORS])
def test_load_errors(tmp_path: Path, text: str, expected: str) -> None:
    assert load_error(tmp_path, text) == expected


def test_load_error_names_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "config:\n  capacity: 0\n", "weird name.yaml")
    with pytest.raises(ScriptError) as info:
        load_script(path)
    assert str(info.value) == f"{path}:2: config: capacity must be in 1 .. 1_000_000, got 0"
    assert (info.value.path, info.value.line) == (str(path), 2)


# -- dump ----------------------------------------------------------------------------------


def shape(script: Script) -> tuple[Any, ...]:
    """Everything a dump must keep (line numbers change, so they are left out)."""

    def step(s: Any) -> tuple[Any, ...]:
        checks = [(c.text, c.expect, c.error) for c in s.checks]
        return (s.text, s.command, s.error, list(s.notes), checks)

    steps = [step(s) for s in script.steps]
    return (script.name, script.description, script.config, step(script.intro), steps)


def round_trip(script: Script) -> Script:
    return load_script_text(dump_script(script), script.path)


@pytest.mark.parametrize("name", preset_names())
def test_dump_round_trips_presets(name: str) -> None:
    path = preset_path(name)
    assert path is not None
    script = load_script(path)
    again = round_trip(script)
    assert shape(again) == shape(script)
    assert dump_script(again) == dump_script(script)


def test_dump_round_trips_tricky_script(tmp_path: Path) -> None:
    text = """\
name: "Tricky: quotes ' and \\" and # hashes"
description: "two\\nlines"
config:
  capacity: 7
  block_size: 4
  eviction: lru
  dp_rank: 2
  offload:
    g2_blocks: 3
    g1_to_g2_gbps: 0.25
steps:
  - note: "note: with a colon"
  - expect pools reset=7
  - use 1 ~a
  - ""
  - "   "
  - "use 1 x"
  - expect nonsense
  - note: "- looks like a list"
  - "deref  1"
  - "tick 1e3"
  - "note: not a note"
"""
    script = load_script(write(tmp_path, text))
    assert len(script.steps) == 7
    again = round_trip(script)
    assert shape(again) == shape(script)


def test_dump_keeps_defaults_and_omits_empty_description(tmp_path: Path) -> None:
    script = load_script(write(tmp_path, "config:\n  capacity: 3\n", "plain.yaml"))
    data = yaml.safe_load(dump_script(script))
    assert data == {
        "name": "plain",
        "config": {"capacity": 3, "block_size": 16, "eviction": "lineage", "dp_rank": 0},
        "steps": [],
    }


# -- properties ----------------------------------------------------------------------------

KEYS = st.sampled_from(
    ["name", "description", "config", "steps", "note", "capacity", "block_size", "eviction",
     "dp_rank", "offload", "g2_blocks", "batch_size", "g1_to_g2_gbps", "x"]
)
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 2**70), st.floats(allow_nan=True),
    st.text(max_size=12),
    st.sampled_from(["use 1 2", "deref 1", "lru", "lineage", "multi_lru", "expect inactive", "tick 1"]),
)
DOCS = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(KEYS, inner, max_size=4)),
    max_leaves=20,
)


def check_loads_or_script_error(text: str) -> None:
    try:
        script = load_script_text(text, "r.yaml")
    except ScriptError as exc:
        assert str(exc).startswith("r.yaml:")
        assert "\n" not in str(exc)
        return
    assert isinstance(script.config, Config)


@given(DOCS)
def test_random_yaml_documents(doc: Any) -> None:
    check_loads_or_script_error(yaml.safe_dump(doc))


@given(
    st.fixed_dictionaries(
        {"config": st.dictionaries(KEYS, DOCS, max_size=4)},
        optional={"steps": st.lists(DOCS, max_size=5), "name": DOCS, "description": DOCS},
    )
)
def test_random_script_shaped_documents(doc: dict[str, Any]) -> None:
    check_loads_or_script_error(yaml.safe_dump(doc))


@given(st.text(max_size=80))
def test_random_text(text: str) -> None:
    check_loads_or_script_error(text)


@given(st.text(alphabet="config: capity\n-[]{}\"'#&*!|>%@`,?1234 \t\x85\u2028", max_size=80))
def test_random_yaml_ish_text(text: str) -> None:
    check_loads_or_script_error(text)


NO_SURROGATES = st.characters(exclude_categories=("Cs",))
STEP_TEXT = st.one_of(
    st.sampled_from(["use 1 2", "use ~a", "deref 2", "expect inactive 2", "expect bad", "use x",
                     "tick 1", "promote ~a 5", "", "  ", "note: x", "- 1", "'quoted'", "#", "yes"]),
    st.text(NO_SURROGATES, max_size=20),
)
STEPS = st.lists(
    st.one_of(STEP_TEXT, st.builds(lambda t: {"note": t}, st.text(NO_SURROGATES, max_size=20))),
    max_size=8,
)


@given(
    st.text(NO_SURROGATES, min_size=1, max_size=15),
    st.text(NO_SURROGATES, max_size=15),
    st.integers(1, 1_000_000),
    st.sampled_from(["lineage", "lru", "multi_lru"]),
    STEPS,
)
def test_dump_round_trip_property(name: str, description: str, capacity: int, eviction: str,
                                  steps: list[Any]) -> None:
    text = yaml.safe_dump(
        {"name": name, "description": description,
         "config": {"capacity": capacity, "eviction": eviction}, "steps": steps}
    )
    script = load_script_text(text, "p.yaml")
    again = round_trip(script)
    assert shape(again) == shape(script)
    assert isinstance(script.intro.checks, list)
    for step in script.steps:
        assert not isinstance(step.command, ExpectCommand)
