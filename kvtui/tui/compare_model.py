"""What the compare screen draws at one step: a Snapshot per session plus what differs between them.

No Textual here (testable, built off the UI thread). A block *differs* when another session does
not hold it in the same state (active, inactive, or not resident at all); a queue entry differs
when another session ranks that block elsewhere in its eviction order (or does not queue it).

Cheap per key press at real sizes: the snapshots are lean (`build_snapshot(lean=True)`: the pool
map, legend and queue head only) and, after one step forward or back, built from what the step
touched; the differing blocks are kept in a :class:`Differences` carried from view to view and,
after such a step, re-checked only for the blocks some session's step touched. A jump rebuilds
both, mostly with C-level dict and set operations.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import compress

from kvtui.session.compare import Comparison, Divergence, Tally
from kvtui.session.labels import short
from kvtui.sim.manager import KvManager
from kvtui.tui.model import ACTIVE, Snapshot, build_snapshot

QUEUE_SHOWN = 12  # eviction-queue entries shown per session


@dataclass(frozen=True, slots=True)
class CompareView:
    name: str
    step: int
    total: int
    command: str
    labels: tuple[str, ...]
    sides: tuple[Snapshot, ...]
    tallies: tuple[Tally, ...]
    differing: tuple[frozenset[int], ...]  # per session: slots whose block differs elsewhere
    # Per session, the slots whose `differing` membership may have changed since the previous
    # view (None: anything may have): a pool map re-renders only their rows.
    differing_changed: tuple[frozenset[int] | None, ...]
    queue_differs: tuple[frozenset[int], ...]  # per session: queued blocks ranked differently elsewhere
    divergence: Divergence | None  # the divergence at this step, if any
    passed: int  # divergences at or before this step
    count: int  # divergences in all
    first: int | None
    error: str | None
    differences: Differences | None = None  # the engine thread's running state behind `differing`

    def state_of(self, side: int, block: int) -> str:
        """The block in one session, in words: state, slot, refs or eviction rank, why."""
        view = self.sides[side].blocks.get(block)
        if view is None:
            return "not resident"
        where = f"slot {view.slot}" if view.slot is not None else view.tier
        if view.state == "active":
            return f"active ×{view.refs} in {where}"
        rank = f", eviction rank #{view.rank}" if view.rank else ""
        reason = f" · {view.reason}" if view.reason else ""
        return f"{view.state} in {where}{rank}{reason}"

    def difference_text(self) -> str:
        if self.step == 0:
            first = f"step {self.first}" if self.first is not None else "none: they never diverge"
            return f"start · first divergence: {first}"
        if self.divergence is not None:
            return f"step {self.step} · {self.command} — {self.divergence.text}"
        return f"step {self.step} · {self.command} — the same in every session"


def _held(snap: Snapshot) -> tuple[set[int], set[int]]:
    """(active, inactive) full blocks of one session's G1."""
    active: set[int] = set()
    inactive: set[int] = set()
    codes = snap.slots
    for slot, ref in snap.owner.items():
        if isinstance(ref, int):
            (active if codes[slot] == ACTIVE else inactive).add(ref)
    return active, inactive


def differing_slots(sides: Sequence[Snapshot]) -> tuple[frozenset[int], ...]:
    """Per session, the slots holding a block another session holds differently.

    Read from every slot of the snapshots: the definition that :class:`Differences` keeps up
    to date from step to step (the tests compare the two); O(slots used) Python work.
    """
    held = [_held(snap) for snap in sides]
    same_active = set.intersection(*(active for active, _ in held))
    same_inactive = set.intersection(*(inactive for _, inactive in held))
    out = []
    for snap, (active, inactive) in zip(sides, held, strict=True):
        differ = (active - same_active) | (inactive - same_inactive)
        slots = (slot for slot, ref in snap.owner.items() if ref in differ) if differ else ()
        out.append(frozenset(slots))
    return tuple(out)


def queue_differences(sides: Sequence[Snapshot]) -> tuple[frozenset[int], ...]:
    """Per session, the shown queue entries whose rank differs in some other session."""
    ranks = [{b: n for n, b in enumerate(snap.order)} for snap in sides]
    out = []
    for index, snap in enumerate(sides):
        others = [r for i, r in enumerate(ranks) if i != index]
        out.append(
            frozenset(b for n, b in enumerate(snap.order[:QUEUE_SHOWN]) if any(r.get(b) != n for r in others))
        )
    return tuple(out)


class Differences:
    """Per session, the blocks another session holds differently and their slots, kept from
    step to step on the engine thread (the views get frozen copies).

    Why: recomputing them from every slot costs O(used slots) Python work per session and key
    press (36 ms for three 32k-slot sessions); a step changes the state of only the blocks it
    touched, so only those are re-checked. Read from the managers: it is built on the engine
    thread right after the sessions moved, where they hold exactly the view's step.
    """

    def __init__(self, managers: Sequence[KvManager], step: int) -> None:
        self.step = step
        # A block is the same everywhere when every session holds it and it is active in all
        # of them or in none. Active blocks are few, so: the blocks all hold (C-level set
        # operations on the refcount dicts' keys), less those active somewhere but not everywhere.
        refs = [mgr.refs for mgr in managers]
        active = [set(compress(r, r.values())) for r in refs]
        same = refs[0].keys() & refs[1].keys()
        for more in refs[2:]:
            same &= more.keys()
        same -= set.union(*active) - set.intersection(*active)
        self.blocks: list[dict[int, int]] = []  # per session: differing block -> its slot
        for mgr, held in zip(managers, refs, strict=True):
            differ = held.keys() - same
            # two passes over the same unchanged set yield the same order: block -> its slot
            self.blocks.append(dict(zip(differ, map(mgr.slots.__getitem__, differ), strict=True)))
        self.slots = [set(blocks.values()) for blocks in self.blocks]

    def advance(
        self, managers: Sequence[KvManager], touched: Iterable[int], step: int
    ) -> tuple[frozenset[int], ...]:
        """Re-check the ``touched`` blocks after one step (forward or back); per session, the
        slots that may have changed membership. Old entries go first, then new ones: a step may
        evict a block and store another in its slot, which must end up marked by the new one
        alone."""
        touched = set(touched)
        changed: list[set[int]] = [set() for _ in managers]
        for blocks, slots, out in zip(self.blocks, self.slots, changed, strict=True):
            for block in touched:
                slot = blocks.pop(block, None)
                if slot is not None:
                    slots.discard(slot)
                    out.add(slot)
        for block in touched:
            states = [_state(mgr, block) for mgr in managers]
            if len(set(states)) == 1:
                continue  # held the same way everywhere (or nowhere)
            for mgr, state, blocks, slots, out in zip(
                managers, states, self.blocks, self.slots, changed, strict=True
            ):
                if state is not None:
                    slot = mgr.slots[block]
                    blocks[block] = slot
                    slots.add(slot)
                    out.add(slot)
        self.step = step
        return tuple(frozenset(out) for out in changed)

    def frozen(self) -> tuple[frozenset[int], ...]:
        return tuple(frozenset(slots) for slots in self.slots)


def _state(mgr: KvManager, block: int) -> bool | None:
    """A block on G1: True when active, False when inactive, None when not resident."""
    refs = mgr.refs.get(block)
    return None if refs is None else bool(refs)


def _differences(
    comparison: Comparison, sides: Sequence[Snapshot], previous: CompareView | None
) -> tuple[Differences, tuple[frozenset[int] | None, ...]]:
    """The running differences at the comparison's step, moved on from ``previous`` when every
    session's snapshot was (one step forward or back, or none: each says what it touched)."""
    managers = [session.manager for session in comparison.sessions]
    step = comparison.cursor
    kept = previous.differences if previous is not None else None
    touched = [snap.touched for snap in sides]
    if previous is not None and kept is not None and kept.step == previous.step and None not in touched:
        changed = kept.advance(managers, set().union(*(t for t in touched if t is not None)), step)
        return kept, changed
    return Differences(managers, step), tuple(None for _ in sides)


def build_compare_view(comparison: Comparison, previous: CompareView | None = None) -> CompareView:
    """The view at the comparison's step; cheap after one step forward from ``previous`` (the
    view built on the engine thread just before; its snapshots' state is advanced in place)."""
    sessions = comparison.sessions
    before = previous.sides if previous is not None else [None] * len(sessions)
    sides = tuple(build_snapshot(s, p, lean=True) for s, p in zip(sessions, before, strict=True))
    differences, changed = _differences(comparison, sides, previous)
    step = comparison.cursor
    error = None
    if comparison.error is not None:
        error = f"{comparison.error_label}: {comparison.error}"
    return CompareView(
        name=comparison.name,
        step=step,
        total=comparison.total,
        command=sessions[0].steps[step - 1].text if step else "",
        labels=tuple(comparison.labels),
        sides=sides,
        tallies=comparison.tally(),
        differing=differences.frozen(),
        differing_changed=changed,
        queue_differs=queue_differences(sides),
        divergence=comparison.divergence_at(step),
        passed=bisect.bisect_right(comparison.steps, step),
        count=len(comparison.steps),
        first=comparison.first_divergence(),
        error=error,
        differences=differences,
    )


def queue_lines(view: CompareView, side: int) -> list[list[tuple[str, str]]]:
    """One line of (text, style) pieces per shown victim: rank, block (``≠`` when another session
    ranks it elsewhere) and why it sits there."""
    snap = view.sides[side]
    if not snap.order:
        return [[("nothing cached: no victim", "dim")]]
    lines = []
    for rank, block in enumerate(snap.order[:QUEUE_SHOWN], 1):
        differs = block in view.queue_differs[side]
        style = "bold white on red3" if rank == 1 else "bold"
        mark = ("≠", "bold bright_magenta") if differs else (" ", "")
        lines.append(
            [(f"{rank:>3}. ", "dim"), (short(block), style), mark, (f" {snap.reasons.get(block, '')}", "")]
        )
    if len(snap.order) > QUEUE_SHOWN:
        lines.append([(f"     … {snap.counts['inactive'] - QUEUE_SHOWN} more", "dim")])
    return lines
