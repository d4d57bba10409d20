"""``visit``: use a chain of blocks, then release what it committed, tail-first.

It is a trace request's whole life (:mod:`kvtui.workload.trace`) and the ``visit`` command
(:mod:`kvtui.workload.requests`). A module of its own so that a trace replay loads the engine and
this, not the request table, token sequences and hashing.

``visit`` takes no snapshot: its ``Use`` is validated before anything changes, and the ``Deref``
after it releases exactly the entries that ``Use`` just committed (each holds a reference it
took), so it cannot fail.
"""

from __future__ import annotations

from collections.abc import Sequence

from kvtui.sim.manager import KvManager, MoveResult
from kvtui.sim.moves import Deref, Move, Use


def visit(
    mgr: KvManager, blocks: Sequence[int], parent: int | None = None, checked: bool = False
) -> MoveResult:
    """Use the chain ``blocks``, then release the entries it committed, tail-first.

    ``returned`` is the number of entries the ``Use`` committed (fewer than the chain when G1
    ran out of slots, or when G2 is enabled and the ``Use`` stopped on an offload).
    ``checked``: the ids are known distinct plain ints (a loaded trace), so the ``Use`` does
    not check them again and the ``Deref`` of what it committed is not validated at all.
    """
    out = MoveResult(0)
    moves = visit_moves(mgr, blocks, parent, checked)
    for move, got in moves:
        fold(out, move, got)
    out.returned = moves[0][1].returned
    return out


def visit_moves(
    mgr: KvManager, blocks: Sequence[int], parent: int | None = None, checked: bool = False
) -> list[tuple[Move, MoveResult]]:
    """``visit``'s moves, applied, each with its own result: the ``Use``, then the ``Deref`` of
    what it committed (none if it committed nothing). ``visit`` folds them into one result; a
    replay that only counts (``TraceReplay.run``) reads them as they are."""
    use = Use(tuple(blocks), parent=parent)
    got = mgr.use(use, checked=True) if checked else mgr.apply(use)
    moves: list[tuple[Move, MoveResult]] = [(use, got)]
    if got.returned:
        release = tuple(reversed(use.blocks[: got.returned]))
        deref = Deref(release)
        moves.append((deref, mgr.release_committed(release) if checked else mgr.apply(deref)))  # type: ignore[arg-type]
    return moves


def fold(out: MoveResult, move: Move, got: MoveResult) -> MoveResult:
    """Record ``move`` and its result ``got`` in the command result ``out``; return ``got``."""
    out.expanded.append((move, got))
    out.events.extend(got.events)
    out.stored.extend(got.stored)
    out.evicted.extend(got.evicted)
    out.warnings.extend(got.warnings)
    out.blocked = out.blocked or got.blocked
    return got
