"""The scheduler's command syntax (SPEC §13): `req … out=N at=MS`, the trace source, `pass [N]`,
`drain` and the new expect forms; canonical text re-parses to the same command."""

from __future__ import annotations

import pytest

from kvtui.lang.commands import parse
from kvtui.sim.errors import ParseError
from kvtui.workload.actions import DrainCommand, NewRequest, PassCommand

ROUND_TRIP = [
    "req a tokens 1 2 3 out=4 at=10",
    "req a tokens 1 2 3 at=0.25",
    'req a text "hello world" out=1',
    "req b share a 2 5 out=3 at=7",
    "req t trace 5 6 input=700 out=2 at=12.5",
    "pass",
    "pass 12",
    "drain",
    "expect running a b",
    "expect waiting",
    "expect preempted 2",
    "expect request a running computed=8 preemptions=1 ttft=42.5",
]


@pytest.mark.parametrize("text", ROUND_TRIP)
def test_canonical_text_round_trips(text: str) -> None:
    command = parse(text)
    assert str(command) == text
    assert parse(str(command)) == command


def test_options_anywhere_after_the_name() -> None:
    assert parse("req a out=2 tokens 1 2") == parse("req a tokens 1 2 out=2")
    command = parse("req a tokens 1 2")
    assert isinstance(command, NewRequest) and command.out is None and command.at is None
    assert parse("pass") == PassCommand(1) and parse("drain") == DrainCommand()


def test_trace_source_synthesises_its_length() -> None:
    command = parse("req t trace 9 8")
    assert isinstance(command, NewRequest) and command.length == 1024 and command.ids == (9, 8)


REJECTED = [
    ("pass 0", "bad pass count '0' (an integer in 1..1_000_000) at column 6"),
    ("pass x", "bad pass count 'x' (an integer in 1..1_000_000) at column 6"),
    ("pass 1 2", "unexpected '2' (usage: pass [N]) at column 8"),
    ("drain now", "unexpected 'now' (drain takes nothing) at column 7"),
    ("req a tokens 1 out=0", "bad output token count '0' (an integer in 1..1_000_000) at column 20"),
    ("req a tokens 1 out=2 out=3", "second out= 'out=3' at column 22"),
    ("req a tokens 1 at=-1", "bad arrival time '-1' (a decimal number of milliseconds >= 0) at column 19"),
    ("req a tokens 1 at=1e3", "bad arrival time '1e3' (a decimal number of milliseconds >= 0) at column 19"),
    ("req t trace 1 input=600",
     "req trace: input=600 needs more than 1 hash id(s) of 512 tokens at column 24"),
    ("req t trace 1 1", "req trace: a hash id appears twice at column 16"),
    ("req t trace input=5", "req trace needs at least one hash id at column 20"),
    ("expect preempted", "usage: expect preempted N at column 17"),
    ("expect running a!", "bad request name 'a!' (letters, digits, _ and -) at column 16"),
    ("expect request a ttft=x", "bad time 'x' (a decimal number of milliseconds >= 0) at column 23"),
]


@pytest.mark.parametrize(("text", "message"), REJECTED, ids=[t for t, _ in REJECTED])
def test_errors_name_the_token_and_column(text: str, message: str) -> None:
    with pytest.raises(ParseError) as info:
        parse(text)
    assert str(info.value) == message


def test_scheduler_config_round_trips_through_a_saved_script() -> None:
    from kvtui.lang.script import dump_script, load_script, load_script_text
    from kvtui.presets import preset_path
    from kvtui.sim.config import SchedulerConfig

    path = preset_path("scheduler-chunked-prefill")
    assert path is not None
    script = load_script(path)
    again = load_script_text(dump_script(script), "saved.yaml")
    assert again.config == script.config
    unbounded = dataclass_replace(script, SchedulerConfig(None, 2, False, False, "fifo", 0.0))
    assert load_script_text(dump_script(unbounded), "saved.yaml").config == unbounded.config


def dataclass_replace(script, sched):  # type: ignore[no-untyped-def]
    import dataclasses

    return dataclasses.replace(script, config=dataclasses.replace(script.config, scheduler=sched))


@pytest.mark.parametrize(
    ("yaml_text", "message"),
    [
        ("config:\n  capacity: 4\n  scheduler:\n    budget: 3\n",
         "4: config: unknown scheduler key 'budget'"),
        ("config:\n  capacity: 4\n  scheduler:\n    preemption: random\n",
         "4: config: scheduler.preemption must be lifo or fifo, got 'random'"),
        ("config:\n  capacity: 4\n  scheduler:\n    max_num_seqs: 0\n",
         "4: config: scheduler.max_num_seqs must be in >= 1, got 0"),
        ("config:\n  capacity: 4\n  scheduler:\n    chunked_prefill: 1\n",
         "4: config: scheduler.chunked_prefill must be true or false, got int 1"),
        ("config:\n  capacity: 4\n  block_size: 1\n  scheduler: {}\n",
         "3: config: block_size must be >= 2 with a scheduler, got 1"),
    ],
)
def test_scheduler_config_errors_name_the_line(yaml_text: str, message: str) -> None:
    from kvtui.lang.script import load_script_text
    from kvtui.sim.errors import ScriptError

    with pytest.raises(ScriptError) as info:
        load_script_text(yaml_text, "s.yaml")
    assert str(info.value).startswith(f"s.yaml:{message}")
