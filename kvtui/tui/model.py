"""One immutable snapshot of a session per step: everything the TUI draws, built in one go.

Built from the engine after each step (off the UI thread) and handed to the widgets, which
render it and never touch the engine themselves. No Textual import here, so it is testable and
cheap to build: O(occupied slots + blocks shown), not O(history).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

from kvtui.session.labels import short_move
from kvtui.session.session import Session
from kvtui.sim.events import RouterEvent
from kvtui.sim.manager import KvManager, MoveResult
from kvtui.sim.moves import Partial, Use
from kvtui.tui.scheduler_view import scheduler_view
from kvtui.tui.story import StepStory, build_story

RESET, INACTIVE, ACTIVE, PARTIAL, QUARANTINED, RESERVED = range(6)
KIND_NAMES = ("reset", "inactive", "active", "partial", "quarantined", "reserved")
QUEUE_LIMIT = 200  # eviction-queue entries computed per step


class BlockView(NamedTuple):
    """What the detail panel and the tree show for one block (a tuple: cheap to build per step)."""

    block: int
    state: str  # active | inactive | g2 | in flight
    tier: str  # G1 | G2 | G1→G2 | G2→G1
    slot: int | None
    parent: int | None
    position: int
    refs: int
    rank: int | None  # 1-based eviction rank in its tier, if known
    reason: str


@dataclass(frozen=True, slots=True)
class Snapshot:
    name: str
    description: str
    step: int
    total: int
    clock_ms: float
    eviction: str
    capacity: int
    block_size: int
    offload: bool
    notes: tuple[str, ...]
    command: str  # the command that produced this state ("" at the start)
    slots: bytes  # one kind code per slot
    owner: dict[int, int | str]  # slot -> block id or partial name
    counts: dict[str, int]
    order: tuple[int, ...]  # next G1 victims (at most QUEUE_LIMIT)
    reasons: dict[int, str]
    changed: dict[int, str]  # slot -> "stored" | "reactivated" | "evicted"
    blocks: dict[int, BlockView]
    events: tuple[tuple[int, RouterEvent], ...]  # (step, event) for every event so far
    warnings: tuple[str, ...]
    expansion: tuple[str, ...]  # the MoveBlocks a request command expanded to (short labels)
    returned: int | None
    g2: Any = None  # engine G2 view (plain data) when offload is enabled
    step_events: frozenset[int] = field(default_factory=frozenset)  # event ids of this step
    scheduler: Any = None  # kvtui.tui.scheduler_view.SchedView in scheduler mode
    story: StepStory | None = None  # the step in words, the timeline window, the requests

    @property
    def next_victim(self) -> int | None:
        return self.order[0] if self.order else None

    def slot_of(self, block: int) -> int | None:
        view = self.blocks.get(block)
        return view.slot if view else None


def _slot_codes(mgr: KvManager) -> bytearray:
    codes = bytearray(mgr.capacity)  # all RESET
    blocks = mgr.blocks
    for slot, ref in mgr.pool.owner.items():
        if isinstance(ref, Partial):
            codes[slot] = PARTIAL
        else:
            info = blocks.get(ref)
            codes[slot] = ACTIVE if info is not None and info.refs else INACTIVE
    for slot, why in mgr.pool.held.items():
        codes[slot] = QUARANTINED if why == "quarantined" else RESERVED
    return codes


def _changed(mgr: KvManager, session: Session, previous: Snapshot | None) -> dict[int, str]:
    """Slots the last command touched: new stores (some on evicted slots) and reactivations."""
    result = session.last_result
    if result is None or session.cursor == 0:
        return {}
    changed: dict[int, str] = {}
    evicted = set(result.evicted)
    for block in result.stored:
        info = mgr.blocks.get(block)
        if info is not None:
            changed[info.slot] = "stored"
    step = session.steps[session.cursor - 1]
    move = getattr(step.command, "move", None)
    if isinstance(move, Use) and previous is not None:
        for ref in move.blocks:
            info = mgr.blocks.get(ref) if isinstance(ref, int) else None
            if info is not None and info.slot not in changed and previous.slots[info.slot] == INACTIVE:
                changed[info.slot] = "reactivated"
    if evicted and previous is not None:
        for slot, ref in previous.owner.items():
            if ref in evicted:
                changed[slot] = "evicted"
    return changed


def _block_views(mgr: KvManager, order: list[int], reasons: dict[int, str]) -> dict[int, BlockView]:
    rank = {block: n for n, block in enumerate(order, 1)}
    views = {
        block: BlockView(
            block,
            "active" if b.refs else "inactive",
            "G1",
            b.slot,
            b.parent,
            b.position,
            b.refs,
            rank.get(block),
            reasons.get(block, "held by a request" if b.refs else ""),
        )
        for block, b in mgr.blocks.items()
    }
    offload = getattr(mgr, "offload_engine", None)
    if offload is not None:
        _add_g2_views(mgr, offload, views)
    return views


def _add_g2_views(mgr: KvManager, offload: Any, views: dict[int, BlockView]) -> None:
    g2_order = offload.eviction_order()
    g2_rank = {block: n for n, block in enumerate(g2_order, 1)}
    for block in list(g2_order) + list(offload.pinned()):
        if block in views:
            continue
        parent, position = mgr.lineage.get(block, (None, 0))
        views[block] = BlockView(
            block, "g2", "G2", None, parent, position, 0, g2_rank.get(block), offload.describe(block)
        )
    for transfer in offload.transfers():
        tier = "G1→G2" if transfer.link == "offload" else "G2→G1"
        for block in transfer.blocks:
            if block in views and transfer.link == "onboard":
                continue
            parent, position = mgr.lineage.get(block, (None, 0))
            views[block] = BlockView(
                block,
                "in flight",
                tier,
                None,
                parent,
                position,
                0,
                None,
                f"copy {tier}, eta {transfer.eta_ms:g} ms",
            )


def build_snapshot(session: Session, previous: Snapshot | None = None) -> Snapshot:
    mgr = session.manager
    order = mgr.eviction_order(QUEUE_LIMIT)
    index = mgr.pool.index
    reasons = {block: index.describe(block) for block in order}
    codes = _slot_codes(mgr)
    counts = {name: 0 for name in KIND_NAMES}
    for code, name in enumerate(KIND_NAMES):
        counts[name] = codes.count(code)
    counts["refs"] = mgr.num_active_block_refs
    last: MoveResult | None = session.last_result if session.cursor else None
    step_events = frozenset(e.event_id for e in last.events) if last else frozenset()
    events = _events(session, previous)
    offload = getattr(mgr, "offload_engine", None)
    return Snapshot(
        name=session.name,
        description=session.description,
        step=session.cursor,
        total=session.total,
        clock_ms=mgr.clock_ms,
        eviction=mgr.eviction,
        capacity=mgr.capacity,
        block_size=mgr.block_size,
        offload=session.config.offload is not None,
        notes=tuple(session.current_step.notes),
        command=session.steps[session.cursor - 1].text if session.cursor else "",
        slots=bytes(codes),
        owner={slot: (ref.name if isinstance(ref, Partial) else ref) for slot, ref in mgr.pool.owner.items()},
        counts=counts,
        order=tuple(order),
        reasons=reasons,
        changed=_changed(mgr, session, previous),
        blocks=_block_views(mgr, order, reasons),
        events=events,
        warnings=tuple(last.warnings) if last else (),
        expansion=tuple(f"{short_move(m)} → {r.returned}" for m, r in last.expanded) if last else (),
        returned=last.returned if last else None,
        g2=offload.view() if offload is not None else None,
        step_events=step_events,
        scheduler=scheduler_view(session),
        story=build_story(session, previous.story if previous else None),
    )


def _events(session: Session, previous: Snapshot | None) -> tuple[tuple[int, RouterEvent], ...]:
    """(step, event) pairs up to the cursor; extends the previous tuple after one step forward."""
    results, cursor = session.results, session.cursor
    if previous is not None and previous.step == cursor - 1 and cursor > 0:
        start = previous.events[-1][1].event_id + 1 if previous.events else 0
        new = tuple((cursor, e) for e in results[cursor - 1].events)
        if not new or new[0][1].event_id == start:
            return previous.events + new
    pairs: list[tuple[int, RouterEvent]] = []
    for number in range(1, cursor + 1):
        pairs += [(number, e) for e in results[number - 1].events]
    return tuple(pairs)
