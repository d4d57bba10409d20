"""A trace as a script: one ``visit`` step per request, so a session (and the TUI) can play it."""

from __future__ import annotations

from collections.abc import Callable

from kvtui.lang.commands import TickCommand
from kvtui.lang.script import Script, Step
from kvtui.sim.config import Config, OffloadConfig, SchedulerConfig
from kvtui.workload.actions import NewRequest, PassCommand, VisitCommand
from kvtui.workload.scheduler.replay import TimedReplay
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
            command = VisitCommand(rec.hash_ids, rec.input_length, checked=True)
            steps.append(Step(str(command), rec.line, command))
    intro = Step("", notes=[f"{len(records)} trace requests, one `visit` each"])
    return Script(name, name, "Trace replay", config, steps, intro)


def scheduled_trace_script(
    records: list[TraceRequest],
    scheduler: SchedulerConfig,
    capacity: int | None = None,
    eviction: str = "lineage",
    block_size: int = DEFAULT_BLOCK_SIZE,
    offload: OffloadConfig | None = None,
    name: str = "trace",
    progress: Callable[[int], None] | None = None,
) -> Script:
    """The timed replay (SPEC §14) as session steps: one ``pass`` step per scheduler pass,
    each preceded by the ``req … at=MS`` steps of the requests submitted before it.

    A headless dry run of the same replay plans the steps (how many passes, and which requests
    are known before each), so the session reproduces it pass for pass. It takes as long as
    `kvtui trace --scheduler`: ``progress(n)`` reports n more finished requests.
    """
    replay = TimedReplay(records, scheduler, capacity, eviction, block_size, offload, label=name)
    replay.run(progress)
    config = replay.world.manager
    steps: list[Step] = []
    submitted = 0
    for before in replay.submitted_before:
        for index in range(submitted, before):
            rec = replay.records[index]
            command = NewRequest(
                replay.request_name(index), "trace", ids=rec.hash_ids, length=rec.input_length,
                out=rec.output_length, at=rec.timestamp,
            )
            steps.append(Step(str(command), rec.line, command))
        submitted = before
        steps.append(Step("pass", None, PassCommand()))
    cfg = Config(config.capacity, block_size, eviction, 0, offload, scheduler)
    intro = Step("", notes=[f"{len(records)} trace requests through the scheduler, one pass per step"])
    return Script(name, name, "Timed trace replay", cfg, steps, intro)
