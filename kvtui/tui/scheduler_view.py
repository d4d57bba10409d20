"""The scheduler's part of a TUI snapshot: queues with per-request progress and the last pass.

Plain data, no Textual: built on the engine thread beside kvtui.tui.model's Snapshot, in
O(requests shown × blocks they hold).
"""

from __future__ import annotations

from dataclasses import dataclass

from kvtui.session.session import Session
from kvtui.sim.manager import KvManager
from kvtui.sim.moves import Partial
from kvtui.workload.requests import Request
from kvtui.workload.scheduler.core import cached_prompt_tokens
from kvtui.workload.scheduler.state import PassReport, PassResult

ROWS = 80  # requests listed per queue


@dataclass(frozen=True, slots=True)
class RequestRow:
    name: str
    state: str
    computed: int
    prompt: int
    generated: int
    max_output: int
    held: int  # blocks it holds now
    cached: int  # prompt tokens cached: now (waiting) or at its latest admission (admitted)
    preemptions: int
    ttft_ms: float | None
    slots: tuple[int, ...]  # G1 slots of the blocks it holds
    last_block: int | None  # its last held full block (what the tree and queue select)


@dataclass(frozen=True, slots=True)
class SchedView:
    passes: int
    budget: int | None
    max_seqs: int
    last: PassReport | None  # the last pass of the current step, if it was a pass
    running: tuple[RequestRow, ...]
    waiting: tuple[RequestRow, ...]
    parked: tuple[RequestRow, ...]
    pending: int
    finished: int
    peak_running: int

    def row(self, name: str) -> RequestRow | None:
        for row in (*self.running, *self.waiting, *self.parked):
            if row.name == name:
                return row
        return None


def scheduler_view(session: Session) -> SchedView | None:
    world = session.world
    sched = world.scheduler
    if sched is None:
        return None
    table = world.requests.requests
    mgr = world.manager
    last = session.last_result if session.cursor else None
    report = last.passes[-1] if isinstance(last, PassResult) and last.passes else None

    def rows(names: list[str]) -> tuple[RequestRow, ...]:
        return tuple(_row(table[n], mgr) for n in names[:ROWS])

    finished = sum(1 for r in table.values() if r.sched is not None and r.state == "finished")
    return SchedView(
        sched.passes, sched.config.max_num_batched_tokens, sched.config.max_num_seqs, report,
        rows(list(sched.running)), rows(list(sched.waiting)), rows([p.name for p in sched.parked]),
        len(sched.arrivals), finished, sched.peak_running,
    )


def _row(req: Request, mgr: KvManager) -> RequestRow:
    assert req.sched is not None
    seq, info = req.seq, req.sched
    held = req.held_blocks
    slots: list[int] = []
    last_block: int | None = None
    for entry in seq.unique_blocks[:held]:
        if isinstance(entry, Partial):
            slot = mgr.partials.get(entry.name)
        else:
            block = mgr.blocks.get(entry)
            slot = block.slot if block is not None else None
            last_block = entry
        if slot is not None:
            slots.append(slot)
    cached = info.reused if info.admitted_ms is not None and req.state == "running" else (
        cached_prompt_tokens(mgr, seq)
    )
    return RequestRow(
        req.name, req.state, info.computed, seq.num_input_tokens, seq.generated_tokens,
        seq.max_output_tokens, held, cached, req.preemptions, info.ttft_ms, tuple(slots), last_block,
    )
