"""A trace as a script: one ``visit`` step per request, so a session (and the TUI) can play it."""

from __future__ import annotations

from kvtui.lang.commands import TickCommand
from kvtui.lang.script import Script, Step
from kvtui.sim.config import Config, OffloadConfig
from kvtui.workload.actions import VisitCommand
from kvtui.workload.trace import DEFAULT_BLOCK_SIZE, TraceRequest, distinct_blocks


def trace_script(
    records: list[TraceRequest],
    capacity: int | None = None,
    eviction: str = "lineage",
    block_size: int = DEFAULT_BLOCK_SIZE,
    offload: OffloadConfig | None = None,
    name: str = "trace",
) -> Script:
    """A script whose steps replay the trace in a session: one ``visit`` per request.

    With G2 enabled a ``tick`` step is inserted wherever the arrival time advances (a session
    command is one step, so a ``visit`` stopped on an offload does not wait: its request keeps
    the blocks it got). Each step's line is the request's line in the trace file.
    """
    slots = capacity if capacity is not None else max(1, distinct_blocks(records))
    config = Config(slots, block_size, eviction, 0, offload)
    steps: list[Step] = []
    clock = 0.0
    for rec in records:
        if offload is not None and rec.timestamp > clock:
            tick = TickCommand(rec.timestamp - clock)
            steps.append(Step(str(tick), rec.line, tick))
            clock = rec.timestamp
        if rec.hash_ids:
            command = VisitCommand(rec.hash_ids, rec.input_length)
            steps.append(Step(str(command), rec.line, command))
    intro = Step("", notes=[f"{len(records)} trace requests, one `visit` each"])
    return Script(name, name, "Trace replay", config, steps, intro)
