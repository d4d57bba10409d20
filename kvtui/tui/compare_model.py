"""What the compare screen draws at one step: a Snapshot per session plus what differs between them.

No Textual here (testable, built off the UI thread). A block *differs* when another session does
not hold it in the same state (active, inactive, or not resident at all); a queue entry differs
when another session ranks that block elsewhere in its eviction order (or does not queue it).
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass

from kvtui.session.compare import Comparison, Divergence, Tally
from kvtui.session.labels import short
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
    queue_differs: tuple[frozenset[int], ...]  # per session: queued blocks ranked differently elsewhere
    divergence: Divergence | None  # the divergence at this step, if any
    passed: int  # divergences at or before this step
    count: int  # divergences in all
    first: int | None
    error: str | None

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

    Set algebra over each session's active and inactive blocks: O(slots used) in C-speed set
    operations, so a 3 × 32k-slot comparison stays cheap per step.
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


def build_compare_view(comparison: Comparison, previous: Sequence[Snapshot] | None = None) -> CompareView:
    sessions = comparison.sessions
    before = previous if previous is not None else [None] * len(sessions)
    sides = tuple(build_snapshot(s, p) for s, p in zip(sessions, before, strict=True))
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
        differing=differing_slots(sides),
        queue_differs=queue_differences(sides),
        divergence=comparison.divergence_at(step),
        passed=bisect.bisect_right(comparison.steps, step),
        count=len(comparison.steps),
        first=comparison.first_divergence(),
        error=error,
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
