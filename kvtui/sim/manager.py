"""The G1 KV manager: the MoveBlock protocol with the seed's semantics (SPEC §4–§5), plus the
G1 side of the optional G2 tier (SPEC §6): quarantined evictions, swap-in, tick.

Every public command validates completely before it touches state, so a rejected command
leaves the manager exactly as it was: no slot moved, no event, no event id consumed (SPEC §11).
Without an `offload` config every code path is the plain G1 one.
"""

from __future__ import annotations

import math
import sys
from collections import Counter
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple, cast

from kvtui.sim.config import Config, OffloadConfig
from kvtui.sim.errors import (
    CommandError,
    DuplicateBlockError,
    EmptyCommandError,
    LineageError,
    NotHeldError,
    OffloadError,
    UnknownPartialError,
)
from kvtui.sim.events import DEVICE, HOST_PINNED, RouterEvent
from kvtui.sim.eviction import BACKENDS
from kvtui.sim.frozen import SIGNED, UNSIGNED, nbytes, pack
from kvtui.sim.history import EventHistory, LineageHistory
from kvtui.sim.moves import BlockRef, Deref, Move, Partial, Promote, Use
from kvtui.sim.offload import Completed, Evicted, G2Event, G2View, OffloadEngine, SwapIn
from kvtui.sim.pool import QUARANTINED, RESERVED, BlockPool

MAX_ID = 2**64 - 1
_INT_ONLY = {int}


class Block(NamedTuple):
    """A read-only view of one full block registered on G1 (active when refs > 0, else
    inactive), built on demand by :class:`BlockTable`; the manager itself keeps plain int dicts.
    """

    slot: int
    parent: int | None
    position: int
    token_hash: int = 0
    refs: int = 1


class BlockTable(Mapping[int, Block]):
    """The registered blocks as a mapping id -> :class:`Block`, read from the manager's tables.

    Why a view: the manager keeps a block's refcount, slot and token hash in three int dicts
    (parent and position live in the lineage record), which makes each block operation a few
    dict operations and a clone a few C-level dict copies. Views, the scheduler and tests still
    read whole blocks; they get them here.
    """

    __slots__ = ("_mgr",)

    def __init__(self, mgr: KvManager) -> None:
        self._mgr = mgr

    def __getitem__(self, block: int) -> Block:
        mgr = self._mgr
        refs = mgr.refs[block]
        parent, position = mgr.lineage[block]
        return Block(mgr.slots[block], parent, position, mgr.tokens.get(block, 0), refs)

    def __contains__(self, block: object) -> bool:
        return block in self._mgr.refs

    def __iter__(self) -> Iterator[int]:
        return iter(self._mgr.refs)

    def __len__(self) -> int:
        return len(self._mgr.refs)


@dataclass(slots=True)
class MoveResult:
    """What one command did: its return value, the events it published and any warnings."""

    returned: int
    events: list[RouterEvent] = field(default_factory=list)
    stored: list[int] = field(default_factory=list)
    evicted: list[int] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    # G2 only: the Use stopped / the swap-in was refused because G1 had to evict to G2 first.
    blocked: bool = False
    onboarding: list[int] = field(default_factory=list)  # swap-in: ids whose transfer started
    # Multi-move commands (requests, passes): each MoveBlock they expanded to, in order, with
    # that move's own result. Empty for a typed MoveBlock, tick or swapin.
    expanded: list[tuple[Move, MoveResult]] = field(default_factory=list)

    def slim(self) -> MoveResult:
        """Share one read-only empty list for each empty field, here and in `expanded`.

        Why: a session keeps every step's result, and the empty lists were most of its size.
        Only for a result that is final (its command returned): filling it raises.
        """
        for name in _LIST_FIELDS:
            if not getattr(self, name):
                setattr(self, name, _EMPTY)
        for _, inner in self.expanded:
            inner.slim()
        return self


class _ReadOnlyEmpty(list[Any]):
    """The empty list slimmed results share: changing it raises instead of leaking."""

    __slots__ = ()

    def _refuse(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError("a slimmed MoveResult is final")

    append = extend = insert = remove = pop = clear = sort = reverse = _refuse
    __setitem__ = __delitem__ = __iadd__ = __imul__ = _refuse


_EMPTY: list[Any] = _ReadOnlyEmpty()
_LIST_FIELDS = ("events", "stored", "evicted", "warnings", "onboarding", "expanded")


@dataclass(frozen=True, slots=True)
class PrefillCost:
    cached_blocks: int
    new_blocks: int


def _check_id(block: int) -> None:
    if not isinstance(block, int) or isinstance(block, bool) or not 0 <= block <= MAX_ID:
        raise CommandError(f"block id {block!r} is not an integer in 0..2^64-1")


class KvManager:
    """G1 device tier: pool, registered blocks, recorded lineage and router events."""

    def __init__(
        self,
        capacity: int,
        block_size: int = 16,
        eviction: str = "lineage",
        dp_rank: int = 0,
        offload: OffloadConfig | None = None,
    ) -> None:
        if capacity < 1:
            raise CommandError("capacity must be at least 1")
        if eviction not in BACKENDS:
            raise CommandError(f"unknown eviction backend {eviction!r}")
        self.capacity = capacity
        self.block_size = block_size
        self.eviction = eviction
        self.dp_rank = dp_rank
        self.pool = BlockPool(capacity, eviction)
        # Registered full blocks: id -> refcount (membership = registered), id -> G1 slot, and
        # id -> token hash for the few stored with one. Parent and position are in `lineage`.
        self.refs: dict[int, int] = {}
        self.slots: dict[int, int] = {}
        self.tokens: dict[int, int] = {}
        self.partials: dict[str, int] = {}  # partial name -> slot
        # id -> (parent, position), and every published event: append-only, shared with clones
        # up to each one's watermark (kvtui.sim.history), so a checkpoint does not copy them.
        self.lineage = LineageHistory()
        self._events: EventHistory[RouterEvent] = EventHistory()
        # A headless run that reports each step's events as it goes turns this off so memory
        # does not grow with history (the events still travel in each step's MoveResult).
        self.record_events = True
        self.next_event_id = 0
        self.clock_ms = 0.0
        self.offload = offload
        self.offload_engine = OffloadEngine(offload) if offload is not None else None
        # Swap-ins completed on the link but held for the scheduler to register (by id).
        self.landed: dict[int, SwapIn] = {}

    @classmethod
    def from_config(cls, config: Config) -> KvManager:
        return cls(config.capacity, config.block_size, config.eviction, config.dp_rank, config.offload)

    # -- queries --------------------------------------------------------------------------

    @property
    def blocks(self) -> BlockTable:
        """Registered full blocks as id -> :class:`Block` (a read-only view)."""
        return BlockTable(self)

    @property
    def events(self) -> list[RouterEvent]:
        """Every router event published so far, in order (read only)."""
        return self._events.items()

    def intact(self) -> bool:
        """False when this is a clone whose shared history was cut by a diverging write."""
        return self.lineage.intact() and self._events.intact()

    @property
    def num_active_blocks(self) -> int:
        return self.capacity - self.pool.available

    @property
    def num_active_block_refs(self) -> int:
        return sum(self.refs.values()) + len(self.partials)

    @property
    def num_inactive_blocks(self) -> int:
        return len(self.pool.index)

    @property
    def num_reset(self) -> int:
        return len(self.pool.free)

    def refcount(self, block: int) -> int:
        return self.refs.get(block, 0)

    def is_active(self, block: int) -> bool:
        return self.refcount(block) > 0

    def is_inactive(self, block: int) -> bool:
        return block in self.pool.index

    def active(self) -> dict[int, int]:
        """Active full blocks with their refcounts."""
        return {k: refs for k, refs in self.refs.items() if refs}

    def eviction_order(self, limit: int | None = None) -> list[int]:
        """Inactive blocks in the exact order the backend would evict them (no mutation)."""
        return self.pool.index.order(limit)

    @property
    def offload_enabled(self) -> bool:
        """True when the G2 tier is configured (seed: `has_offload_engine`)."""
        return self.offload_engine is not None

    @property
    def num_quarantined(self) -> int:
        """G1 slots held behind an in-flight G1→G2 copy (counted as active)."""
        return sum(1 for why in self.pool.held.values() if why == QUARANTINED)

    @property
    def num_reserved(self) -> int:
        """G1 slots reserved as swap-in destinations (counted as active)."""
        return sum(1 for why in self.pool.held.values() if why == RESERVED)

    def earliest_deadline(self) -> float | None:
        """When `tick next` would land: the earliest pending transfer completion, or None."""
        return self.offload_engine.next_deadline() if self.offload_engine else None

    def pending_deadlines(self) -> list[float]:
        """Projected completion time of every pending transfer (no new arrivals), ascending."""
        if self.offload_engine is None:
            return []
        return sorted(t.eta_ms for t in self.offload_engine.transfers())

    def g2(self) -> dict[str, Any] | None:
        """SPEC §10's `g2` object, or None when G2 is disabled."""
        return self.offload_engine.to_json() if self.offload_engine else None

    def g2_json(self) -> dict[str, Any] | None:
        """Alias of :meth:`g2` (the name kvtui.session.report looks for)."""
        return self.g2()

    def g2_view(self) -> G2View | None:
        """Richer G2 snapshot for the UI (bytes done, slots, in-flight blocks)."""
        return self.offload_engine.view() if self.offload_engine else None

    def prefill_cost(self, ids: list[int]) -> PrefillCost:
        """SPEC §4.4: leading run of ids that are active or registered."""
        cached = 0
        for block in ids:
            if block not in self.refs:
                break
            cached += 1
        return PrefillCost(cached, len(ids) - cached)

    # -- commands -------------------------------------------------------------------------

    def apply(self, move: Move) -> MoveResult:
        kind = type(move)  # exact types first: one comparison for the common commands
        if kind is Use:
            if self.offload_engine is None and move.token_hashes is None:  # type: ignore[union-attr]
                fast = self._use_fast(move)  # type: ignore[arg-type]
                if fast is not None:
                    return fast
            return self._use_general(move)  # type: ignore[arg-type]
        if kind is Deref:
            if self._deref_fast(move):  # type: ignore[arg-type]
                return _done()
            return self._deref_general(move)  # type: ignore[arg-type]
        if isinstance(move, Use):
            return self.use(move)
        if isinstance(move, Deref):
            return self.deref(move)
        if isinstance(move, Promote):
            return self.promote(move)
        raise CommandError(f"not a MoveBlock: {move!r}")

    def use(self, move: Use, checked: bool = False) -> MoveResult:
        """``checked``: the caller guarantees distinct plain ids (a loaded trace), not rechecked."""
        if self.offload_engine is None and move.token_hashes is None:
            fast = self._use_fast(move, checked)
            if fast is not None:
                return fast
        return self._use_general(move)

    def _use_general(self, move: Use) -> MoveResult:
        """Every Use the fast path does not take: partials, token hashes, G2, and every error."""
        chain = self._validate_use(move)
        self._record(chain)
        tokens = dict(zip([b for b, _, _ in chain], move.token_hashes or (), strict=False))
        # Anchor of the stored event: the block before the slice, moved by every hit.
        anchor = chain[0][1] if chain else None
        result = MoveResult(0)
        victims: list[Evicted] = []  # G2 only: evictions that stop the Use (SPEC §6.2)
        for entry in move.blocks:
            if isinstance(entry, Partial):
                if entry.name not in self.partials:
                    got = self._take_slot(result, victims)
                    if got is None:
                        break
                    self.partials[entry.name] = got
                    self.pool.owner[got] = entry
            elif self._hit(entry):
                anchor = entry
            else:
                got = self._take_slot(result, victims)
                if got is None:
                    break
                self._register(entry, got, tokens.get(entry, 0))
                result.stored.append(entry)
            result.returned += 1
        if victims:  # one copy covers the rest of the Use's shortfall (seed)
            rest = move.blocks[result.returned + 1 :]
            self._evict_more(victims, 1 + self._pending_allocations(rest))
        stored_tokens = [tokens.get(b, 0) for b in result.stored]
        self._publish_store(result, result.stored, anchor, stored_tokens)
        if victims:
            self._offload(result, victims)
        else:
            self._publish_removed(result, result.evicted)
        if result.evicted and not set(result.evicted).isdisjoint(result.stored):
            _warn_restored(result)
        return result

    def deref(self, move: Deref) -> MoveResult:
        if self._deref_fast(move):
            return _done()
        return self._deref_general(move)

    def _deref_general(self, move: Deref) -> MoveResult:
        self._validate_deref(move)
        for entry in move.blocks:
            if isinstance(entry, Partial):
                self.pool.release(self.partials.pop(entry.name))
            else:
                self._release(entry)
        return MoveResult(1)

    def promote(self, move: Promote) -> MoveResult:
        chain = self._validate_promote(move)
        self._record(chain)
        block, parent, _ = chain[0]
        result = MoveResult(1)
        slot = self.partials.pop(move.partial)
        if self._hit(block):  # collision with a registered block: the partial's slot is freed
            self.pool.release(slot)
            return result
        self._register(block, slot, move.token_hash)
        result.stored.append(block)
        self._publish_store(result, [block], parent, [move.token_hash])
        return result

    def tick(self, ms: float | None) -> MoveResult:
        """Advance the virtual clock by `ms` (> 0), or to the next transfer completion (None).

        Transfers due by then complete in completion order, publishing their events.
        """
        engine = self.offload_engine
        if ms is None:
            deadline = engine.next_deadline() if engine else None
            if deadline is None:
                raise OffloadError("tick next: no transfer is in flight")
            target = max(deadline, self.clock_ms)
        else:
            if not ms > 0 or ms == float("inf"):
                raise OffloadError(f"tick needs a finite duration > 0 ms, got {ms}")
            target = self.clock_ms + ms
            if not math.isfinite(target):  # links need finite times; JSON has no Infinity
                raise OffloadError(f"tick {ms}: the clock would overflow")
        result = MoveResult(1)
        if engine is not None:
            for done in engine.advance(target):
                self._complete(done, result)
        self.clock_ms = target
        return result

    def swapin(self, blocks: tuple[int, ...]) -> MoveResult:
        """SPEC §6.3: onboard the G2-resident run that follows the chain's G1-cached prefix.

        Returns 1 like every non-Use command; `onboarding` names the blocks whose transfer
        started and `blocked` tells a refusal (G1 had to evict to G2 first).
        """
        engine = self.offload_engine
        if engine is None:
            raise OffloadError("swapin needs the G2 tier (add an `offload` section to the config)")
        chain = self._validate_swapin(blocks)
        skip = 0
        while skip < len(blocks) and blocks[skip] in self.refs:
            skip += 1
        return self._swapin_from(chain, skip)[0]

    def start_swapin(self, blocks: tuple[int, ...], skip: int) -> tuple[MoveResult, SwapIn | None]:
        """The scheduler's swap-in (upstream ``try_batch_swap_in``): onboard the G2-resident run
        that starts exactly at ``blocks[skip]`` (the caller's G1-cached prefix length).

        Returns the result (``blocked`` = refused behind a G1→G2 copy) and the started transfer.
        """
        if self.offload_engine is None:
            raise OffloadError("swap-in needs the G2 tier (add an `offload` section to the config)")
        return self._swapin_from(self._validate_swapin(blocks), skip)

    def _swapin_from(
        self, chain: list[tuple[int, int | None, int]], skip: int
    ) -> tuple[MoveResult, SwapIn | None]:
        engine = self.offload_engine
        assert engine is not None
        self._record(chain)
        blocks = [block for block, _, _ in chain]
        # The anchor starts at the block before the slice, as for a Use (SPEC §4.1): the seed's
        # `initial_parent_hash` is the last G1-cached prefix block of the whole sequence.
        anchor = blocks[skip - 1] if skip else chain[0][1]
        result = MoveResult(1)
        run = engine.resident_run(blocks[skip:])
        if not run:
            return result, None  # no G2 hit: nothing to do (seed: NoHits)
        # Seed order: the G2 run is pinned first (prepare_onboard_prefix), then G1 slots are
        # reserved, so copies started by the reservation cannot evict the run from G2.
        engine.pin(run)
        slots = self._reserve_destinations(len(run), result)
        if slots is None:
            # Seed: the dropped PreparedSwapIn unpins; the run re-enters G2 inactive as newest.
            engine.unpin(run)
            return result, None
        swap = engine.start_swapin(run, slots, anchor, self.clock_ms)
        result.onboarding = list(run)
        return result, swap

    def advance_to(self, target: float, hold: Collection[int] = ()) -> MoveResult:
        """Move the clock to ``target`` (>= the clock; the scheduler's time step).

        Transfers due by then complete as for ``tick``, except swap-ins whose transfer id is in
        ``hold``: they stay *landed* (destination slots reserved, G2 pins kept) until
        :meth:`register_landed`, so the scheduler registers them in its own order.
        """
        result = MoveResult(1)
        target = max(target, self.clock_ms)
        if not math.isfinite(target):
            raise OffloadError(f"the clock would overflow ({target} ms)")
        engine = self.offload_engine
        if engine is not None:
            for done in engine.advance(target, hold):
                swap = done.transfer
                if isinstance(swap, SwapIn) and swap.transfer_id in hold:
                    self.landed[swap.transfer_id] = swap
                else:
                    self._complete(done, result)
        self.clock_ms = target
        return result

    def register_landed(self, transfer_id: int) -> MoveResult:
        """Register a held swap-in's run into G1 inactive (device ``stored``), then unpin its
        G2 blocks (upstream: ``register_swapped_in_blocks``, then the handle drops)."""
        swap = self.landed.pop(transfer_id)
        result = MoveResult(1)
        self._register_swapped_in(swap, result)
        assert self.offload_engine is not None
        self.offload_engine.unpin(swap.blocks)
        return result

    def swapin_pending(self, transfer_id: int) -> bool:
        """True while the swap-in's transfer is still on the link (not landed or registered)."""
        return self.offload_engine is not None and transfer_id in self.offload_engine.swapins

    # -- fast paths ----------------------------------------------------------------------
    #
    # The common commands (a Use of plain ids on G1 only, a Deref of held ids) validate and
    # derive the chain's lineage in one pass without building anything per block, then apply
    # with the pool, index and block table inlined. On anything unusual (a partial, a bad or
    # repeated id, a lineage conflict, an unknown parent, a block not held) they return before
    # touching state and the general path below runs, raising its exact error. Both paths make
    # the same changes in the same order (tests/golden pins it).

    def _use_fast(self, move: Use, checked: bool = False) -> MoveResult | None:
        """Validate and record a Use of plain ids in one pass; None when the general path must
        run (it raises the exact error, or handles what this one does not).

        A valid chain is a run of recorded blocks followed by a run of new ones: a recorded
        block after a new one would need the new one as its recorded parent. So the recorded
        run is walked block by block (each must follow its predecessor), and the new run is
        checked and recorded with C-level calls.
        """
        blocks, parent = cast(tuple[int, ...], move.blocks), move.parent
        if not blocks:
            return None
        plain = checked or move.plain  # ints in range, vouched for by the parser or a trace
        if not plain and set(map(type, blocks)) != _INT_ONLY:
            return None  # a partial or not an int (bool included)
        lineage = self.lineage
        index, visible = lineage.index, lineage.n
        get = index.get
        if parent is None:
            seq = get(blocks[0])
            # The first block's parent is its recorded one (None: a new root).
            prev = anchor = lineage.parents[seq] if seq is not None and seq < visible else None
        else:
            if type(parent) is not int:
                return None
            seq = get(parent)
            if seq is None or seq >= visible:
                return None
            prev = anchor = parent
        rec_parents = lineage.parents
        known = 0
        for block in blocks:  # the recorded run
            seq = get(block)
            if seq is None or seq >= visible:
                break
            if rec_parents[seq] != prev:
                return None
            prev = block
            known += 1
        if known < len(blocks):
            new = blocks[known:]
            if not self._new_run_ok(new, plain):
                return None
            start = lineage.positions[index[prev]] + 1 if prev is not None else 0
            new_parents: list[int | None] = [prev, *new[:-1]]
            lineage.add_new(new, new_parents, range(start, start + len(new)))
        return self._use_apply(blocks, anchor)

    def _new_run_ok(self, new: tuple[int, ...], plain: bool) -> bool:
        """The tail of a Use after its recorded run: ids in range, none recorded, none twice."""
        if not plain and (min(new) < 0 or max(new) > MAX_ID):
            return False
        if len(new) > 1 and len(set(new)) != len(new):
            return False
        lineage = self.lineage
        if lineage.at_head():  # every stored entry is visible: membership is enough
            return lineage.index.keys().isdisjoint(new)
        return not any(map(lineage.__contains__, new))

    def _use_apply(self, blocks: tuple[int, ...], anchor: int | None) -> MoveResult:
        stored: list[int] = []
        evicted: list[int] = []
        # Built positionally, with the shared read-only empty list for the fields a plain Use
        # never fills (see MoveResult.slim): a default_factory call per field is slower.
        result = MoveResult(0, [], stored, evicted, _EMPTY, False, _EMPTY, _EMPTY)
        refs, slots, tokens, pool = self.refs, self.slots, self.tokens, self.pool
        free, owner, inactive = pool.free, pool.owner, pool.index
        discard, pop_entry = inactive.discard, inactive.pop_entry
        touch = inactive.touch if inactive.name == "multi_lru" else None
        for block in blocks:
            count = refs.get(block)
            if count is not None:  # a hit; an inactive one is reactivated (and touched)
                if not count:
                    discard(block)
                    if touch is not None:
                        touch(block)
                refs[block] = count + 1
                anchor = block
            else:  # a miss: a reset slot first, else the backend's next victim
                if free:
                    slot = free.popleft()
                else:
                    try:
                        victim = pop_entry()[0]
                    except (IndexError, KeyError):  # nothing inactive: the Use stops here
                        result.returned = blocks.index(block)  # ids are distinct
                        break
                    slot = slots.pop(victim)
                    del refs[victim]
                    if tokens:
                        tokens.pop(victim, None)
                    evicted.append(victim)
                refs[block] = 1
                slots[block] = slot
                owner[slot] = block  # replaces a victim as the slot's owner
                if touch is not None:
                    touch(block)
                stored.append(block)
        else:
            result.returned = len(blocks)
        if stored or evicted:
            self._publish_use(result, anchor)
            if evicted and stored and not set(evicted).isdisjoint(stored):
                result.warnings = []
                _warn_restored(result)
        return result

    def release_committed(self, blocks: tuple[int, ...]) -> MoveResult:
        """Deref ``blocks``, each held by a Use this caller just applied and listed once (a
        trace request releasing its chain): nothing to validate, so nothing is rechecked."""
        self._release_all(blocks)
        return _done()

    def _deref_fast(self, move: Deref) -> bool:
        """Release plain held ids listed once each; False (nothing done) otherwise."""
        blocks, refs = cast(tuple[int, ...], move.blocks), self.refs
        if not blocks or len(set(blocks)) != len(blocks):
            return False  # empty or a repeated id: the general path
        if not move.plain and set(map(type, blocks)) != _INT_ONLY:
            return False  # a partial or not an int (bool included): the general path
        if not all(map(refs.get, blocks)):  # one not registered, or cached (no reference)
            return False
        self._release_all(blocks)
        return True

    def _release_all(self, blocks: Sequence[int]) -> None:
        """Release one reference of each (distinct, held) block; those left with none become
        inactive in list order: one `insert` each, or one `insert_all` for a backend that
        does its per-block work better in one loop (``batch_inserts``)."""
        refs, slots, inactive = self.refs, self.slots, self.pool.index
        if not inactive.batch_inserts:  # lru: each insert is one C-backed dict write
            insert = inactive.insert
            for block in blocks:
                count = refs[block] - 1
                refs[block] = count
                if not count:
                    insert(block, slots[block], None)
            return
        freed = []
        for block in blocks:
            count = refs[block] - 1
            refs[block] = count
            if not count:
                freed.append(block)
        if freed:
            parents = None
            if inactive.needs_parent:
                index, recorded = self.lineage.index, self.lineage.parents
                parents = [recorded[index[block]] for block in freed]
            inactive.insert_all(freed, [slots[block] for block in freed], parents)

    # -- validation (no mutation) ---------------------------------------------------------

    def _validate_use(self, move: Use) -> list[tuple[int, int | None, int]]:
        if not move.blocks:
            raise EmptyCommandError("use needs at least one block")
        fulls: list[int] = []
        seen: set[int] = set()
        for entry in move.blocks:
            if isinstance(entry, Partial):
                self._check_partial_name(entry.name)
                continue
            _check_id(entry)
            if entry in seen:
                raise DuplicateBlockError(f"block {entry} appears twice in one use")
            seen.add(entry)
            fulls.append(entry)
        if move.token_hashes is not None and len(move.token_hashes) != len(fulls):
            raise CommandError(
                f"use has {len(fulls)} full blocks but {len(move.token_hashes)} token hashes"
            )
        return self._chain(fulls, move.parent)

    def _validate_deref(self, move: Deref) -> None:
        if not move.blocks:
            raise EmptyCommandError("deref needs at least one block")
        fulls: Counter[int] = Counter()
        partials: set[str] = set()
        for entry in move.blocks:
            if isinstance(entry, Partial):
                self._check_partial_name(entry.name)
                if entry.name not in self.partials:
                    raise UnknownPartialError(f"deref {entry}: partial block is not held")
                if entry.name in partials:
                    raise NotHeldError(f"deref {entry}: a partial is held once, listed twice")
                partials.add(entry.name)
            else:
                _check_id(entry)
                fulls[entry] += 1
        for block, times in fulls.items():
            held = self.refcount(block)
            if times > held:
                raise NotHeldError(f"deref {block}: {self._not_held(block, held, times)}")

    def _not_held(self, block: int, held: int, times: int) -> str:
        """Why a deref cannot release `block` `times` times, in plain words naming its state."""
        if block not in self.refs:
            return f"block {block} is not in G1, so there is no reference to release"
        if held == 0:
            return f"block {block} is cached (refcount 0): nothing holds it, so there is nothing to release"
        return f"block {block} is active with refcount {held}, but the deref lists it {times} times"

    def _validate_swapin(self, blocks: Sequence[int]) -> list[tuple[int, int | None, int]]:
        if not blocks:
            raise EmptyCommandError("swapin needs at least one block")
        seen: set[int] = set()
        for block in blocks:
            _check_id(block)
            if block in seen:
                raise DuplicateBlockError(f"block {block} appears twice in one swapin")
            seen.add(block)
        return self._chain(list(blocks), None)

    def _validate_promote(self, move: Promote) -> list[tuple[int, int | None, int]]:
        self._check_partial_name(move.partial)
        _check_id(move.block)
        if move.partial not in self.partials:
            raise UnknownPartialError(f"promote ~{move.partial}: partial block is not held")
        return self._chain([move.block], move.parent)

    def _chain(self, fulls: list[int], parent: int | None) -> list[tuple[int, int | None, int]]:
        """Lineage (block, parent, position) implied by a command (SPEC §8), or raise."""
        if isinstance(parent, Partial):
            raise LineageError("a partial block cannot be a parent")
        if parent is not None:
            _check_id(parent)
            if parent not in self.lineage:
                raise LineageError(f"parent={parent} names a block never seen")
        out: list[tuple[int, int | None, int]] = []
        positions: dict[int, int] = {}
        prev = parent
        for i, block in enumerate(fulls):
            recorded = self.lineage.get(block)
            if i == 0 and parent is None:
                implied = recorded[0] if recorded else None
            else:
                implied = prev
            if recorded is not None and recorded[0] != implied:
                raise LineageError(
                    f"block {block} has parent {_name(recorded[0])}, "
                    f"this command implies {_name(implied)}"
                )
            if implied is None:
                position = 0
            elif implied in positions:
                position = positions[implied] + 1
            else:
                position = self.lineage[implied][1] + 1
            positions[block] = position
            out.append((block, implied, position))
            prev = block
        return out

    @staticmethod
    def _check_partial_name(name: str) -> None:
        if not name or not all(c.isalnum() or c in "_-" for c in name) or not name.isascii():
            raise CommandError(f"bad partial name {name!r} (letters, digits, _ and - only)")

    # -- mutation helpers -----------------------------------------------------------------

    def _record(self, chain: list[tuple[int, int | None, int]]) -> None:
        lineage = self.lineage
        for block, parent, position in chain:
            if block not in lineage:
                lineage.add(block, parent, position)

    def _hit(self, block: int) -> bool:
        """Active hit (refcount + 1) or inactive hit (reactivate); False on a miss."""
        count = self.refs.get(block)
        if count is None:
            return False
        if count == 0:
            self.pool.index.remove(block)
            self.pool.index.touch(block)  # frequency touch on an inactive hit only
        self.refs[block] = count + 1
        return True

    def _register(self, block: int, slot: int, token_hash: int, refs: int = 1) -> None:
        self.refs[block] = refs
        self.slots[block] = slot
        if token_hash:
            self.tokens[block] = token_hash
        self.pool.owner[slot] = block
        self.pool.index.touch(block)

    def _forget(self, block: int) -> int:
        """Unregister an evicted block; its token hash (0 when it had none)."""
        del self.refs[block], self.slots[block]
        return self.tokens.pop(block, 0) if self.tokens else 0

    def _parent(self, block: int) -> int | None:
        return self.lineage.parents[self.lineage.index[block]]

    def _release(self, block: int) -> None:
        count = self.refs[block] - 1
        self.refs[block] = count
        if count == 0:
            self.pool.index.insert(block, self.slots[block], self._parent(block))

    def _allocate_one(self, result: MoveResult) -> int | None:
        got = self.pool.allocate(1)
        if got is None:
            return None
        slots, evicted = got
        for block in evicted:
            self._forget(block)
        result.evicted.extend(evicted)
        return slots[0]

    # -- G2 helpers (SPEC §6) -------------------------------------------------------------

    def _take_slot(self, result: MoveResult, victims: list[Evicted]) -> int | None:
        """One slot for a Use entry; with G2 an eviction quarantines its victim and stops."""
        if self.offload_engine is None or self.pool.free:
            return self._allocate_one(result)
        if len(self.pool.index):
            victims.append(self._quarantine_victim())
        return None

    def _quarantine_victim(self) -> Evicted:
        """Evict the next inactive block; its slot waits behind the G1→G2 copy."""
        block, slot = self.pool.index.pop_victim()
        parent, position = self.lineage[block]
        token_hash = self._forget(block)
        self.pool.hold(slot, QUARANTINED)
        return Evicted(block, slot, parent, position, token_hash)

    def _evict_more(self, victims: list[Evicted], need: int) -> None:
        """Seed `extend_blocked_g1_offload_batch`: grow the copy to `need` sources, stopping
        when an allocation would no longer evict (a reset slot) or nothing is left."""
        while len(victims) < need and not self.pool.free and len(self.pool.index):
            victims.append(self._quarantine_victim())

    def _pending_allocations(self, rest: Sequence[BlockRef]) -> int:
        """Seed `pending_use_allocations`: entries of the rest of a Use that need a slot."""
        return sum(
            1 for e in rest
            if (e.name not in self.partials if isinstance(e, Partial) else e not in self.refs)
        )

    def _offload(self, result: MoveResult, victims: list[Evicted]) -> None:
        """Publish the device `removed` now and hand the victims to G2 (seed order: device
        removed, then the host_pinned removed of G2 evictions made by the batches' starts)."""
        assert self.offload_engine is not None
        result.blocked = True
        evicted = [v.block for v in victims]
        result.evicted.extend(evicted)
        self._publish_removed(result, evicted)
        outcome = self.offload_engine.enqueue(victims, self.clock_ms)
        for slot in outcome.freed:
            self.pool.release(slot)
        for event in outcome.events:
            self._publish_host(result, event)

    def _reserve_destinations(self, count: int, result: MoveResult) -> list[int] | None:
        """Seed `reserve_swap_in_destination_slots`: `count` reset slots, or None (refused).

        Reset slots are taken first. Short of them with inactive blocks left, the seed evicts
        (into one copy) as many as the shortfall, then drops the slots it took and refuses
        (*blocked on G1 offload*). With no inactive block either, it refuses silently (seed
        NoCapacity, treated as NoHits). The taken slots go back to an empty free list, so its
        order ends up unchanged.
        """
        taken = [self.pool.free.popleft() for _ in range(min(count, len(self.pool.free)))]
        if len(taken) == count:
            for slot in taken:
                self.pool.hold(slot, RESERVED)
            return taken
        victims: list[Evicted] = []
        self._evict_more(victims, count - len(taken))
        self.pool.free.extend(taken)
        if victims:
            self._offload(result, victims)
        return None

    def _complete(self, done: Completed, result: MoveResult) -> None:
        transfer = done.transfer
        if isinstance(transfer, SwapIn):
            self._register_swapped_in(transfer, result)
            return
        for event in done.events:
            self._publish_host(result, event)
        for victim in transfer.blocks:
            self.pool.release(victim.slot)

    def _register_swapped_in(self, swap: SwapIn, result: MoveResult) -> None:
        """Seed `register_swapped_in_blocks`: land the run in G1 *inactive*.

        Blocks already on G1 (registered meanwhile) are skipped, their slot freed, and they move
        the anchor; each stretch of new blocks is one device `stored` event.
        """
        anchor = swap.anchor
        stretch: list[int] = []
        tokens: list[int] = []
        for block, slot, token in zip(swap.blocks, swap.g1_slots, swap.token_hashes, strict=True):
            if block in self.refs:
                self.pool.release(slot)
                self._publish_store(result, stretch, anchor, tokens)
                stretch, tokens, anchor = [], [], block
                continue
            self.pool.held.pop(slot)
            self._register(block, slot, token, refs=0)  # a registration touches the sketch
            self.pool.index.insert(block, slot, self._parent(block))
            stretch.append(block)
            tokens.append(token)
        self._publish_store(result, stretch, anchor, tokens)

    def _publish_host(self, result: MoveResult, g2: G2Event) -> None:
        if g2.kind == "stored":
            event = RouterEvent(
                self.next_event_id, self.dp_rank, HOST_PINNED, "stored", (g2.block,),
                g2.parent, (g2.token_hash,),
            )
        else:
            event = RouterEvent(self.next_event_id, self.dp_rank, HOST_PINNED, "removed", (g2.block,))
        self._publish(result, event)

    def _publish(self, result: MoveResult, event: RouterEvent) -> None:
        if self.record_events:
            self._events.append(event)
        self.next_event_id += 1
        result.events.append(event)

    def _publish_use(self, result: MoveResult, anchor: int | None) -> None:
        """A fast-path Use's events: `stored` (no token hashes), then `removed` (seed order)."""
        eid, rank, stored, evicted = self.next_event_id, self.dp_rank, result.stored, result.evicted
        events = result.events
        if stored:
            count = len(stored)
            zeros = _ZEROS[count] if count < len(_ZEROS) else _zeros(count)
            events.append(_event(RouterEvent, (eid, rank, DEVICE, "stored", tuple(stored), anchor, zeros)))
            eid += 1
        if evicted:
            events.append(_event(RouterEvent, (eid, rank, DEVICE, "removed", tuple(evicted), None, ())))
            eid += 1
        self.next_event_id = eid
        if self.record_events:
            self._events.extend(events)

    def _publish_store(
        self, result: MoveResult, blocks: list[int], parent: int | None, tokens: Sequence[int]
    ) -> None:
        if blocks:
            event = RouterEvent(
                self.next_event_id, self.dp_rank, DEVICE, "stored",
                tuple(blocks), parent, tuple(tokens),
            )
            self._publish(result, event)

    def _publish_removed(self, result: MoveResult, blocks: list[int]) -> None:
        if blocks:
            event = RouterEvent(self.next_event_id, self.dp_rank, DEVICE, "removed", tuple(blocks))
            self._publish(result, event)

    # -- copies and dumps -----------------------------------------------------------------

    def clone(self) -> KvManager:
        twin = KvManager.__new__(KvManager)
        twin.capacity, twin.block_size = self.capacity, self.block_size
        twin.eviction, twin.dp_rank = self.eviction, self.dp_rank
        twin.pool = self.pool.clone()
        # Blocks are shared until changed: both sides take fresh tags, so each copies a Block
        # before its first change (see Block.owner).
        twin.refs, twin.slots, twin.tokens = self.refs.copy(), self.slots.copy(), self.tokens.copy()
        twin.partials = self.partials.copy()
        twin.lineage = self.lineage.clone()
        twin._events = self._events.clone()
        twin.record_events = self.record_events
        twin.next_event_id = self.next_event_id
        twin.clock_ms, twin.offload = self.clock_ms, self.offload
        twin.offload_engine = self.offload_engine.clone() if self.offload_engine else None
        twin.landed = self.landed.copy()
        return twin

    def frozen_footprint(self) -> int:
        """About what :meth:`freeze` will take, counted without packing anything: 16 bytes a
        registered block (its id takes 8, slot and refcount 4 each), 16 a token hash, 8 per
        packed table entry (an inactive block has ~10 in its index)."""
        pool = self.pool
        offload = self.offload_engine.footprint() if self.offload_engine is not None else 0
        tables = 16 * len(self.refs) + 16 * len(self.tokens) + 16 * len(pool.owner) + 8 * len(pool.free)
        return tables + 80 * len(pool.index) + offload

    def freeze(self) -> FrozenManager:
        """A compact copy for a long-lived checkpoint: :meth:`FrozenManager.clone` restores it."""
        return FrozenManager(self)

    def footprint(self) -> int:
        """Approximate bytes a clone holds of its own: its tables (the append-only history is
        shared, see kvtui.sim.history; the int objects are shared with the original)."""
        return (
            sum(map(sys.getsizeof, (self.refs, self.slots, self.tokens, self.partials)))
            + self.pool.footprint()
            + (self.offload_engine.footprint() if self.offload_engine is not None else 0)
        )

    def restore(self, snapshot: KvManager) -> None:
        """Become `snapshot` (a private clone) in place: the rollback of a multi-move command.

        In place, so everyone holding this manager sees the rollback.
        """
        vars(self).clear()
        vars(self).update(vars(snapshot))

    def dump(self) -> dict[str, Any]:
        """Every piece of state, for exact before/after comparisons in tests."""
        out = {
            "free": list(self.pool.free),
            "owner": sorted((s, str(r)) for s, r in self.pool.owner.items()),
            "held": sorted(self.pool.held.items()),
            "blocks": sorted(
                (k, b.slot, b.parent, b.position, b.token_hash, b.refs)
                for k, b in self.blocks.items()
            ),
            "partials": sorted(self.partials.items()),
            "lineage": sorted(self.lineage.items(), key=lambda kv: kv[0]),
            "eviction_order": self.eviction_order(),
            "events": list(self.events),
            "next_event_id": self.next_event_id,
            "clock_ms": self.clock_ms,
        }
        if self.offload_engine is not None:  # absent without G2: the G1-only dump is unchanged
            out["g2"] = self.offload_engine.dump()
        if self.landed:
            out["landed"] = sorted(self.landed)
        return out


class FrozenManager:
    """A KvManager packed (kvtui.sim.frozen): its block tables as columns, pool and index
    frozen, the shared history by watermark. ``clone()`` rebuilds an equal manager."""

    def __init__(self, mgr: KvManager) -> None:
        self.scalars = (
            mgr.capacity, mgr.block_size, mgr.eviction, mgr.dp_rank, mgr.next_event_id,
            mgr.clock_ms, mgr.offload, mgr.record_events,
        )
        self.lineage = mgr.lineage.clone()
        self.events = mgr._events.clone()
        # `refs` and `slots` gain and lose keys together, so they share one key order.
        self.ids = pack(mgr.refs.keys(), UNSIGNED)
        self.columns = (pack(mgr.refs.values(), SIGNED), pack(mgr.slots.values(), SIGNED))
        self.tokens = mgr.tokens.copy()
        self.partials = mgr.partials.copy()
        self.pool = mgr.pool.freeze()
        self.offload_engine = mgr.offload_engine.clone() if mgr.offload_engine else None
        self.landed = mgr.landed.copy()

    def clone(self) -> KvManager:
        twin = KvManager.__new__(KvManager)
        (
            twin.capacity, twin.block_size, twin.eviction, twin.dp_rank, twin.next_event_id,
            twin.clock_ms, twin.offload, twin.record_events,
        ) = self.scalars
        refs, slots = self.columns
        twin.refs = dict(zip(self.ids, refs, strict=True))
        twin.slots = dict(zip(self.ids, slots, strict=True))
        twin.tokens = self.tokens.copy()
        twin.partials = self.partials.copy()
        twin.lineage = self.lineage.clone()
        twin._events = self.events.clone()
        twin.pool = self.pool.thaw()
        twin.offload_engine = self.offload_engine.clone() if self.offload_engine else None
        twin.landed = self.landed.copy()
        return twin

    def footprint(self) -> int:
        offload = self.offload_engine.footprint() if self.offload_engine is not None else 0
        tokens = 16 * len(self.tokens)
        return nbytes(self.ids, *self.columns) + tokens + self.pool.nbytes + offload + 1_000

    def intact(self) -> bool:
        return self.lineage.intact() and self.events.intact()


_ZEROS: list[tuple[int, ...]] = [()]


# RouterEvent built from a full tuple of its fields without the named tuple's Python-level
# __new__ (2.5x faster; a Use publishes up to two).
_event = tuple.__new__


def _warn_restored(result: MoveResult) -> None:
    evicted = set(result.evicted)
    for block in result.stored:
        if block in evicted:
            result.warnings.append(
                f"block {block} was evicted and stored again in the same use: upstream "
                "publishes it as stored then removed, so a router forgets a resident block"
            )


def _done() -> MoveResult:
    """The result of a command that returns 1 and reports nothing (a fast-path deref): final,
    so it shares the read-only empty lists of a slimmed result instead of making six."""
    return MoveResult(1, _EMPTY, _EMPTY, _EMPTY, _EMPTY, False, _EMPTY, _EMPTY)


def _zeros(count: int) -> tuple[int, ...]:
    """Token hashes of blocks stored without any: one shared tuple per length (a session keeps
    every event, and most stores carry no token hashes)."""
    if count > 256:
        return (0,) * count
    while len(_ZEROS) <= count:
        _ZEROS.append((0,) * len(_ZEROS))
    return _ZEROS[count]


def _name(parent: int | None) -> str:
    return "none (root)" if parent is None else str(parent)
