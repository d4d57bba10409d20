"""One snapshot of a session per step: everything the TUI draws, built without Textual.

Built from the engine after each step (off the UI thread) and handed to the widgets, which
render it and never touch the engine themselves. Testable and cheap to build: after one step
forward only what that step touched is looked at (the slots and blocks of its moves, the
blocks it evicted, the head of the eviction queue), so a step costs O(touched + queue), never
O(capacity) or O(registered blocks). The per-slot codes, slot owners, block views and event
list are kept by a :class:`ViewState` shared along a run of snapshots and updated in place;
anything else (a jump, a step back, a G2 session, another session) rebuilds it in full.
Snapshots are rendered in order, so a widget only ever reads the latest state through them.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from kvtui.session.labels import short_move
from kvtui.session.session import Session
from kvtui.sim.events import RouterEvent
from kvtui.sim.manager import KvManager, MoveResult
from kvtui.sim.moves import Deref, Partial, Promote, Use
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


class EventRows:
    """The (step, event) pairs up to a snapshot's step: a shared list seen up to ``length``."""

    __slots__ = ("pairs", "length")

    def __init__(self, pairs: list[tuple[int, RouterEvent]], length: int) -> None:
        self.pairs, self.length = pairs, length

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> tuple[int, RouterEvent]:
        if not -self.length <= index < self.length:
            raise IndexError(index)
        return self.pairs[index % self.length]

    def __iter__(self) -> Iterator[tuple[int, RouterEvent]]:
        return iter(self.pairs[: self.length])


class _ReadOnly(Mapping[Any, Any]):
    """A read-only window on one of the ViewState's tables."""

    __slots__ = ("_data",)

    def __init__(self, data: dict[Any, Any]) -> None:
        self._data = data

    def __getitem__(self, key: Any) -> Any:
        return self._data[key]

    def get(self, key: Any, default: Any = None) -> Any:
        return self._data.get(key, default)

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def __iter__(self) -> Iterator[Any]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)


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
    owner: Mapping[int, int | str]  # slot -> block id or partial name
    counts: dict[str, int]
    order: tuple[int, ...]  # next G1 victims (at most QUEUE_LIMIT)
    reasons: dict[int, str]
    changed: dict[int, str]  # slot -> "stored" | "reactivated" | "evicted"
    blocks: Mapping[int, BlockView]
    events: EventRows  # (step, event) for every event so far
    warnings: tuple[str, ...]
    expansion: tuple[str, ...]  # the MoveBlocks a request command expanded to (short labels)
    returned: int | None
    g2: Any = None  # engine G2 view (plain data) when offload is enabled
    step_events: frozenset[int] = field(default_factory=frozenset)  # event ids of this step
    scheduler: Any = None  # kvtui.tui.scheduler_view.SchedView in scheduler mode
    story: StepStory | None = None  # the step in words, the timeline window, the requests
    # What this snapshot changed since the previous one (None: anything may have changed):
    dirty: frozenset[int] | None = None  # slots whose code or owner changed
    touched: frozenset[int] | None = None  # blocks whose view may have changed
    state: Any = None  # the ViewState behind owner, blocks and events

    @property
    def next_victim(self) -> int | None:
        return self.order[0] if self.order else None

    def slot_of(self, block: int) -> int | None:
        view = self.blocks.get(block)
        return view.slot if view else None


class ViewState:
    """Per-slot codes, slot owners, block views and event rows, updated step by step."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.manager: KvManager = session.manager
        self.step = session.cursor
        mgr = self.manager
        self.codes = _slot_codes(mgr)
        self.counts = {name: self.codes.count(code) for code, name in enumerate(KIND_NAMES)}
        self.owner: dict[int, int | str] = {
            slot: (ref.name if isinstance(ref, Partial) else ref) for slot, ref in mgr.pool.owner.items()
        }
        self.partial_slots = dict(mgr.partials)
        self.order: list[int] = mgr.eviction_order(QUEUE_LIMIT)
        self.reasons = {block: mgr.pool.index.describe(block) for block in self.order}
        self.views = _block_views(mgr, self.order, self.reasons)
        self.block_refs = mgr.num_active_block_refs - len(mgr.partials)  # refs of full blocks
        self.pairs: list[tuple[int, RouterEvent]] = session.results.event_pairs(session.cursor)

    def follows(self, session: Session) -> bool:
        """True when ``session`` is one plain G1 step ahead of this state."""
        return (
            session is self.session
            and session.manager is self.manager
            and session.cursor == self.step + 1
            and session.config.offload is None
        )

    def advance(
        self, session: Session, previous: Snapshot
    ) -> tuple[frozenset[int], frozenset[int], dict[int, str]]:
        """Apply the last step's changes; (dirty slots, touched blocks, changed slots)."""
        mgr, result = self.manager, session.results[session.cursor - 1]
        blocks, partials = _touched(result, session.steps[session.cursor - 1].command)
        old_order = self.order
        old_slots = {self.views[b].slot for b in blocks if b in self.views}
        old_slots |= {self.partial_slots[p] for p in partials if p in self.partial_slots}
        changed = _changed(mgr, result, session.steps[session.cursor - 1].command, previous, self.views)
        new_slots = {mgr.slots[b] for b in blocks if b in mgr.slots}
        new_slots |= {mgr.partials[p] for p in partials if p in mgr.partials}
        dirty = old_slots | new_slots
        for slot in dirty:
            self._recode(slot)
        for name in partials:
            if name in mgr.partials:
                self.partial_slots[name] = mgr.partials[name]
            else:
                self.partial_slots.pop(name, None)
        self.order = mgr.eviction_order(QUEUE_LIMIT)
        index = mgr.pool.index
        self.reasons = {block: index.describe(block) for block in self.order}
        rank = {block: n for n, block in enumerate(self.order, 1)}
        touched = blocks | set(old_order) | set(self.order)
        for block in touched:
            info = mgr.blocks.get(block)
            old = self.views.pop(block, None)
            if old is not None:
                self.block_refs -= old.refs
            if info is not None:
                self.views[block] = _g1_view(block, info, rank.get(block), self.reasons)
                self.block_refs += info.refs
        self.pairs += [(session.cursor, e) for e in result.events]
        self.step = session.cursor
        return frozenset(dirty), frozenset(touched), changed

    def _recode(self, slot: int) -> None:
        mgr = self.manager
        ref = mgr.pool.owner.get(slot)
        if isinstance(ref, Partial):
            code, self.owner[slot] = PARTIAL, ref.name
        elif ref is not None:
            code = ACTIVE if mgr.refs.get(ref) else INACTIVE
            self.owner[slot] = ref
        else:
            self.owner.pop(slot, None)
            why = mgr.pool.held.get(slot)
            code = RESET if why is None else QUARANTINED if why == "quarantined" else RESERVED
        old = self.codes[slot]
        if old != code:
            self.counts[KIND_NAMES[old]] -= 1
            self.counts[KIND_NAMES[code]] += 1
            self.codes[slot] = code


def _touched(result: MoveResult, command: Any) -> tuple[set[int], set[str]]:
    """Blocks and partial names the step's moves named, plus the blocks it evicted."""
    moves = [move for move, _ in result.expanded] or [getattr(command, "move", None)]
    blocks: set[int] = set(result.evicted)
    partials: set[str] = set()
    for move in moves:
        if isinstance(move, Use | Deref):
            for ref in move.blocks:
                if isinstance(ref, Partial):
                    partials.add(ref.name)
                else:
                    blocks.add(ref)
        elif isinstance(move, Promote):
            blocks.add(move.block)
            partials.add(move.partial)
    return blocks, partials


def _slot_codes(mgr: KvManager) -> bytearray:
    codes = bytearray(mgr.capacity)  # all RESET
    refs = mgr.refs
    for slot, ref in mgr.pool.owner.items():
        if isinstance(ref, Partial):
            codes[slot] = PARTIAL
        else:
            codes[slot] = ACTIVE if refs.get(ref) else INACTIVE
    for slot, why in mgr.pool.held.items():
        codes[slot] = QUARANTINED if why == "quarantined" else RESERVED
    return codes


def _changed(
    mgr: KvManager,
    result: MoveResult,
    command: Any,
    previous: Snapshot | None,
    views: Mapping[int, BlockView],
) -> dict[int, str]:
    """Slots the last command touched: new stores (some on evicted slots) and reactivations.

    ``views`` are the block views *before* the command (where evicted blocks were).
    """
    if previous is None:
        return {}
    changed: dict[int, str] = {}
    for block in result.stored:
        info = mgr.blocks.get(block)
        if info is not None:
            changed[info.slot] = "stored"
    move = getattr(command, "move", None)
    if isinstance(move, Use):
        for ref in move.blocks:
            info = mgr.blocks.get(ref) if isinstance(ref, int) else None
            if info is not None and info.slot not in changed and previous.slots[info.slot] == INACTIVE:
                changed[info.slot] = "reactivated"
    for block in result.evicted:
        view = views.get(block)
        if view is not None and view.slot is not None and previous.owner.get(view.slot) == block:
            changed[view.slot] = "evicted"
    return changed


def _g1_view(block: int, b: Any, rank: int | None, reasons: dict[int, str]) -> BlockView:
    return BlockView(
        block,
        "active" if b.refs else "inactive",
        "G1",
        b.slot,
        b.parent,
        b.position,
        b.refs,
        rank,
        reasons.get(block, "held by a request" if b.refs else ""),
    )


def _block_views(mgr: KvManager, order: list[int], reasons: dict[int, str]) -> dict[int, BlockView]:
    rank = {block: n for n, block in enumerate(order, 1)}
    views = {block: _g1_view(block, b, rank.get(block), reasons) for block, b in mgr.blocks.items()}
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
    state: ViewState | None = previous.state if previous is not None else None
    last: MoveResult | None = session.last_result if session.cursor else None
    if state is not None and previous is not None and state.follows(session) and state.step == previous.step:
        dirty, touched, changed = state.advance(session, previous)
        dirty_slots: frozenset[int] | None = dirty
        touched_blocks: frozenset[int] | None = touched
    else:
        state = ViewState(session)
        dirty_slots = touched_blocks = None
        changed = {}
        if last is not None and previous is not None:  # the previous state is left as it was
            command = session.steps[session.cursor - 1].command
            changed = _changed(mgr, last, command, previous, previous.blocks)
    step_events = frozenset(e.event_id for e in last.events) if last else frozenset()
    offload = getattr(mgr, "offload_engine", None)
    counts = dict(state.counts)
    counts["refs"] = state.block_refs + len(mgr.partials)
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
        slots=bytes(state.codes),
        owner=_ReadOnly(state.owner),
        counts=counts,
        order=tuple(state.order),
        reasons=state.reasons,
        changed=changed,
        blocks=_ReadOnly(state.views),
        events=EventRows(state.pairs, len(state.pairs)),
        warnings=tuple(last.warnings) if last else (),
        expansion=tuple(f"{short_move(m)} → {r.returned}" for m, r in last.expanded) if last else (),
        returned=last.returned if last else None,
        g2=offload.view() if offload is not None else None,
        step_events=step_events,
        scheduler=scheduler_view(session),
        story=build_story(session, previous.story if previous else None),
        dirty=dirty_slots,
        touched=touched_blocks,
        state=state,
    )
