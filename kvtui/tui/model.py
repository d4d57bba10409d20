"""One snapshot of a session per step: everything the TUI draws, built without Textual.

Built from the engine after each step (off the UI thread) and handed to the widgets, which
render it and never touch the engine themselves. Testable and cheap to build: after one step
forward or back only what that step touched is looked at (the slots and blocks of its moves,
the blocks it evicted, the head of the eviction queue), so a step costs O(touched + queue),
never O(capacity) or O(registered blocks). The per-slot codes, slot owners, block views and
event list are kept by a :class:`ViewState` shared along a run of snapshots and updated in
place; anything else (a jump, a G2 session, another session) rebuilds it in full. The compare
screen's lean snapshots (:class:`LeanViewState`: block views on demand, no event rows) also
keep a jump that went nowhere in place.
Snapshots are rendered in order, so a widget only ever reads the latest state through them.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from itertools import compress, repeat
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
        self.owner: dict[int, int | str] = _owner_names(mgr)
        self.partial_slots = dict(mgr.partials)
        self.order: list[int] = mgr.eviction_order(QUEUE_LIMIT)
        self.reasons = {block: mgr.pool.index.describe(block) for block in self.order}
        self.block_refs = mgr.num_active_block_refs - len(mgr.partials)  # refs of full blocks
        self._init_blocks(session)

    def _init_blocks(self, session: Session) -> None:
        """Every block's view and every event so far (what the full TUI's panels read)."""
        self.views = _block_views(self.manager, self.order, self.reasons)
        self.pairs: list[tuple[int, RouterEvent]] = session.results.event_pairs(session.cursor)
        # The rows up to this step are pairs[:n_pairs]. Entries are never changed in place, so
        # every snapshot's EventRows stays valid: a step back lowers n_pairs, and the rows past
        # it are reused by a replay of the same step or left behind by a different one.
        self.n_pairs = len(self.pairs)

    def blocks(self) -> Mapping[int, BlockView]:
        """The block views a snapshot reads (a read-only window on this state)."""
        return _ReadOnly(self.views)

    def _slot(self, block: int) -> int | None:
        """The G1 slot ``block`` held as of this state's step (before ``advance`` updates it)."""
        view = self.views.get(block)
        return view.slot if view is not None else None

    def _update_blocks(self, touched: set[int], rank: dict[int, int]) -> None:
        """Rebuild the views of the touched blocks from the manager (and the refs count)."""
        mgr = self.manager
        for block in touched:
            info = mgr.blocks.get(block)
            old = self.views.pop(block, None)
            if old is not None:
                self.block_refs -= old.refs
            if info is not None:
                self.views[block] = _g1_view(block, info, rank.get(block), self.reasons)
                self.block_refs += info.refs

    def _add_events(self, step: int, events: list[RouterEvent]) -> None:
        if not events:
            return
        rows, n = [(step, e) for e in events], self.n_pairs
        if n == len(self.pairs):
            self.pairs += rows
        elif self.pairs[n : n + len(rows)] != rows:  # a different step after a step back
            self.pairs = self.pairs[:n] + rows  # a new list: earlier snapshots keep theirs
        # else: the step stepped back over, applied again: its rows are there already
        self.n_pairs = n + len(rows)

    def _drop_events(self, events: list[RouterEvent]) -> None:
        """The step stepped back over published ``events``: its rows leave the visible ones."""
        self.n_pairs -= len(events)

    def follows(self, session: Session) -> bool:
        """True when ``session`` is one plain G1 step ahead of this state."""
        return (
            session is self.session
            and session.manager is self.manager
            and session.cursor == self.step + 1
            and session.config.offload is None
        )

    def retreats(self, session: Session) -> bool:
        """True when ``session`` is one plain G1 step behind this state, whose result is still
        kept (what it touched is what the step back undoes)."""
        return (
            session is self.session
            and session.cursor == self.step - 1
            and session.config.offload is None
            and len(session.results) > session.cursor
        )

    def advance(
        self, session: Session, previous: Snapshot
    ) -> tuple[frozenset[int], frozenset[int], dict[int, str]]:
        """Apply the last step's changes; (dirty slots, touched blocks, changed slots)."""
        result = session.results[session.cursor - 1]
        command = session.steps[session.cursor - 1].command
        changed = _changed(self.manager, result, command, previous, self.blocks())
        dirty, touched = self._redo_from(session, result, command)
        self._add_events(session.cursor, result.events)
        return dirty, touched, changed

    def stays(self, session: Session) -> bool:
        """True when ``session`` has not moved from this state (a jump that went nowhere) and
        this state may be kept as it is; the full state is rebuilt, as ever."""
        return False

    def stay(
        self, session: Session, previous: Snapshot
    ) -> tuple[frozenset[int], frozenset[int], dict[int, str]]:
        """Keep this state; the changed slots found as a rebuild finds them (against the same
        step), and those whose mark that changes are dirty."""
        changed: dict[int, str] = {}
        if session.cursor:
            last = session.results[session.cursor - 1]
            command = session.steps[session.cursor - 1].command
            changed = _changed(self.manager, last, command, previous, self.blocks())
        return frozenset(previous.changed.keys() | changed.keys()), frozenset(), changed

    def retreat(
        self, session: Session, previous: Snapshot
    ) -> tuple[frozenset[int], frozenset[int], dict[int, str]]:
        """Undo the step just stepped back over (see :meth:`retreats`); like :meth:`advance`.

        The slots marked changed are those of the step that led to the new cursor, found
        against the state before the step back, as a full rebuild after a step back finds them.
        """
        undone = session.results[session.cursor]
        last = session.results[session.cursor - 1] if session.cursor else None
        changed: dict[int, str] = {}
        if last is not None:
            command = session.steps[session.cursor - 1].command
            changed = _changed(session.manager, last, command, previous, self.blocks())
        dirty, touched = self._redo_from(session, undone, session.steps[session.cursor].command)
        self._drop_events(undone.events)
        return dirty, touched, changed

    def _redo_from(
        self, session: Session, result: MoveResult, command: Any
    ) -> tuple[frozenset[int], frozenset[int]]:
        """Bring this state to the session's, which differs from it by one step (``result`` of
        ``command``, applied or undone): only the slots and blocks that step touched, plus the
        queue head, are read again. (dirty slots, touched blocks)."""
        blocks, partials = _touched(result, command)
        old_order = self.order
        old_slots = {slot for b in blocks if (slot := self._slot(b)) is not None}
        old_slots |= {self.partial_slots[p] for p in partials if p in self.partial_slots}
        self.manager = mgr = session.manager  # a step back may have restored a clone
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
        self._update_blocks(touched, rank)
        self.step = session.cursor
        return frozenset(dirty), frozenset(touched)

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


class LeanViewState(ViewState):
    """A ViewState for screens that show the pool map and the queue head only (compare).

    Why: building a view of every registered block and copying every event is most of a full
    rebuild (60 ms per session at 32k blocks), and the compare screen shows neither. A block's
    view is built when asked for, from this state's own copies of the slots (a C-level dict
    copy), of the active blocks' refcounts and of the queue head's ranks and reasons, kept up
    to date step by step like the rest, so the UI thread never reads the engine's tables
    (parent and position come from a clone of the append-only lineage). No event rows.
    """

    def _init_blocks(self, session: Session) -> None:
        mgr = self.manager
        # refcounts of the active blocks only (few; a registered block missing here has none)
        refs = mgr.refs
        self.refs: dict[int, int] = {block: refs[block] for block in compress(refs, refs.values())}
        self.slot_of: dict[int, int] = dict(mgr.slots)
        self.lineage = mgr.lineage.clone()  # O(1): shares the append-only records
        self.rank = {block: n for n, block in enumerate(self.order, 1)}
        self.pairs, self.n_pairs = [], 0

    def blocks(self) -> Mapping[int, BlockView]:
        return _LeanViews(self)

    def stays(self, session: Session) -> bool:
        return (
            session is self.session
            and session.manager is self.manager
            and session.cursor == self.step
            and session.config.offload is None
        )

    def _slot(self, block: int) -> int | None:
        return self.slot_of.get(block)

    def _update_blocks(self, touched: set[int], rank: dict[int, int]) -> None:
        mgr = self.manager
        refs, slot_of = self.refs, self.slot_of
        for block in touched:
            self.block_refs -= refs.pop(block, 0)
            slot_of.pop(block, None)
            count = mgr.refs.get(block)
            if count is not None:
                slot_of[block] = mgr.slots[block]
                if count:
                    refs[block] = count
                    self.block_refs += count
        self.lineage = mgr.lineage.clone()
        self.rank = rank

    def _add_events(self, step: int, events: list[RouterEvent]) -> None:
        pass  # no event rows: the compare screen has no event log

    def _drop_events(self, events: list[RouterEvent]) -> None:
        pass


class _LeanViews(Mapping[int, BlockView]):
    """Block views of a :class:`LeanViewState`, built on demand (what `_g1_view` builds)."""

    __slots__ = ("_state",)

    def __init__(self, state: LeanViewState) -> None:
        self._state = state

    def __getitem__(self, block: int) -> BlockView:
        state = self._state
        slot, refs = state.slot_of[block], state.refs.get(block, 0)
        try:
            parent, position = state.lineage.get(block) or (None, 0)
        except IndexError:  # the shared records were cut by a diverging replay meanwhile
            parent, position = None, 0
        return BlockView(
            block,
            "active" if refs else "inactive",
            "G1",
            slot,
            parent,
            position,
            refs,
            state.rank.get(block),
            state.reasons.get(block, "held by a request" if refs else ""),
        )

    def __contains__(self, block: object) -> bool:
        return block in self._state.slot_of

    def __iter__(self) -> Iterator[int]:
        return iter(self._state.slot_of)

    def __len__(self) -> int:
        return len(self._state.slot_of)


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
    """One kind code per slot, read from the pool (a full rebuild: O(used slots)).

    Why not one Python loop over the pool's owners: at real sizes nearly every owned slot holds
    an inactive block, so every owned slot is marked INACTIVE by a C-level ``map`` and only the
    few active and partial slots are then set one by one (``compress`` picks the blocks with
    refs at C speed). The pool owns a registered block at ``mgr.slots[block]`` and a partial at
    ``mgr.partials[name]``, so this gives the same codes as asking every owner.
    """
    owner = mgr.pool.owner
    if len(owner) == mgr.capacity:  # a full pool (the steady state of a real run): all owned
        codes = bytearray(bytes([INACTIVE]) * mgr.capacity)
    else:
        codes = bytearray(mgr.capacity)  # all RESET
        deque(map(codes.__setitem__, owner, repeat(INACTIVE)), maxlen=0)
    slots = mgr.slots
    for block in compress(mgr.refs, mgr.refs.values()):
        codes[slots[block]] = ACTIVE
    for slot in mgr.partials.values():
        codes[slot] = PARTIAL
    for slot, why in mgr.pool.held.items():
        codes[slot] = QUARANTINED if why == "quarantined" else RESERVED
    return codes


def _owner_names(mgr: KvManager) -> dict[int, int | str]:
    """Slot -> block id, or partial name: a C-level copy of the pool's owners, then the few
    partial slots renamed (the pool holds Partial objects there)."""
    owner: dict[int, int | str] = dict(mgr.pool.owner)  # type: ignore[arg-type]  # partials fixed below
    for name, slot in mgr.partials.items():
        owner[slot] = name
    return owner


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


def _one_step(
    state: ViewState | None, previous: Snapshot | None, session: Session, kind: type[ViewState]
) -> Callable[[Session, Snapshot], tuple[frozenset[int], frozenset[int], dict[int, str]]] | None:
    """The state's update when ``session`` is one step from ``previous`` (else None: rebuild)."""
    if state is None or previous is None or type(state) is not kind or state.step != previous.step:
        return None
    if state.follows(session):
        return state.advance
    if state.retreats(session):
        return state.retreat
    return state.stay if state.stays(session) else None


def build_snapshot(session: Session, previous: Snapshot | None = None, *, lean: bool = False) -> Snapshot:
    """The session as the TUI draws it; after one plain step from ``previous``, built from what
    the step touched. ``lean``: only what a pool map, its legend and the queue head read (the
    compare screen): block views on demand, no event rows, story or scheduler view."""
    mgr = session.manager
    state: ViewState | None = previous.state if previous is not None else None
    last: MoveResult | None = session.last_result if session.cursor else None
    # A G2 session rebuilds every step anyway and its views include the G2 tier: never lean.
    kind = LeanViewState if lean and session.config.offload is None else ViewState
    move = _one_step(state, previous, session, kind)
    if state is not None and previous is not None and move is not None:
        dirty, touched, changed = move(session, previous)
        dirty_slots: frozenset[int] | None = dirty
        touched_blocks: frozenset[int] | None = touched
    else:
        state = kind(session)
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
        blocks=state.blocks(),
        events=EventRows(state.pairs, state.n_pairs),
        warnings=tuple(last.warnings) if last else (),
        expansion=tuple(f"{short_move(m)} → {r.returned}" for m, r in last.expanded) if last else (),
        returned=last.returned if last else None,
        g2=offload.view() if offload is not None else None,
        step_events=step_events,
        scheduler=None if lean else scheduler_view(session),
        story=None if lean else build_story(session, previous.story if previous else None),
        dirty=dirty_slots,
        touched=touched_blocks,
        state=state,
    )
