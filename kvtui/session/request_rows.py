"""The requests view's data: each request's state and figures, as `expect request` names them.

Plain rows (no engine objects) so the TUI can draw them; the scheduler's panel can add its own
columns by extending :class:`RequestRow` or adding rows of its own beside these.
"""

from __future__ import annotations

from dataclasses import dataclass

from kvtui.workload.world import World

ROWS_SHOWN = 500


@dataclass(frozen=True, slots=True)
class RequestRow:
    name: str
    state: str  # waiting | running | preempted | finished
    tokens: int  # known tokens: prompt + generated
    generated: int
    allocated: int  # tokens covered by its allocation
    held: int  # blocks it holds a reference on now
    cached: int  # leading full blocks of its sequence resident in G1 now (prefill cost)
    preemptions: int


def request_rows(world: World, limit: int = ROWS_SHOWN) -> tuple[RequestRow, ...]:
    """Rows for the first `limit` requests in creation order (finished ones included)."""
    mgr = world.manager
    rows = []
    for req in list(world.requests.requests.values())[:limit]:
        seq = req.seq
        rows.append(
            RequestRow(
                req.name,
                req.state,
                len(seq),
                seq.generated_tokens,
                seq.num_allocated_tokens,
                req.held_blocks,
                mgr.prefill_cost(list(seq.full_block_ids())).cached_blocks,
                req.preemptions,
            )
        )
    return tuple(rows)
