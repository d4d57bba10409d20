"""The G2 host-pinned tier (SPEC §6): its pool, the offload/onboard links and in-flight copies.

Why a separate engine: G2 has its own capacity, eviction order and clock-driven transfers,
while the G1 manager only needs to ask it four things — "copy these evicted blocks", "which ids
are resident", "onboard this run" and "what completed by time t". G1 slots never live here:
the engine only carries the slot numbers the manager quarantined or reserved, and hands them
back on completion. Router events are returned as :class:`G2Event` values in publication
order; the manager gives them event ids, so one id stream covers both tiers.

G2 reuses :class:`BlockPool` with the lineage backend (SPEC §6.2: G2 evicts unpinned leaves,
oldest tick first, with the §3.1 rules). A G2 slot is *reset* (free list), *inactive* (in the
lineage index: resident and evictable), or *active*: the destination of an in-flight copy, or a
resident block pinned by an in-flight swap-in (taken out of the index like a G1 hit).
"""

from __future__ import annotations

import sys
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

from kvtui.sim.config import OffloadConfig
from kvtui.sim.links import Link
from kvtui.sim.pool import BlockPool

OFFLOAD = "offload"  # G1 → G2 link
ONBOARD = "onboard"  # G2 → G1 link


@dataclass(frozen=True, slots=True)
class Evicted:
    """A block evicted from G1 into a copy: its quarantined G1 slot and router metadata."""

    block: int
    slot: int
    parent: int | None
    position: int
    token_hash: int = 0


@dataclass(frozen=True, slots=True)
class G2Event:
    """A `host_pinned` router event to publish (the manager assigns the event id)."""

    kind: str  # "stored" | "removed"
    block: int
    parent: int | None = None
    token_hash: int = 0


@dataclass(frozen=True, slots=True)
class Resident:
    """A block registered on G2 (inactive, or pinned by a swap-in)."""

    slot: int
    parent: int | None
    position: int
    token_hash: int


@dataclass(frozen=True, slots=True)
class OffloadBatch:
    """One G1 → G2 transfer: the blocks actually copied, in batch (eviction) order."""

    transfer_id: int
    blocks: tuple[Evicted, ...]
    g2_slots: tuple[int, ...]
    started_ms: float


@dataclass(frozen=True, slots=True)
class SwapIn:
    """One G2 → G1 transfer of a contiguous run, into reserved G1 destination slots."""

    transfer_id: int
    blocks: tuple[int, ...]
    g1_slots: tuple[int, ...]
    token_hashes: tuple[int, ...]
    anchor: int | None  # parent of the device `stored` event: last G1-cached prefix block
    started_ms: float


@dataclass(frozen=True, slots=True)
class Completed:
    """A transfer observed complete by a tick, with the G2 events its completion published."""

    transfer: OffloadBatch | SwapIn
    events: tuple[G2Event, ...] = ()


@dataclass(slots=True)
class EnqueueOutcome:
    """What handing evicted blocks to G2 did, so the manager can free slots and publish."""

    freed: list[int] = field(default_factory=list)  # G1 slots to release now (skipped, dropped)
    events: list[G2Event] = field(default_factory=list)  # host_pinned `removed`, in order
    skipped: list[int] = field(default_factory=list)  # already in G2 or in flight
    dropped: list[int] = field(default_factory=list)  # no G2 slot could be found
    started: list[int] = field(default_factory=list)  # transfer ids


@dataclass(frozen=True, slots=True)
class TransferInfo:
    """A transfer still pending (in flight, or finished but not yet observed by a tick)."""

    transfer_id: int
    link: str
    blocks: tuple[int, ...]
    nbytes: int
    started_ms: float
    bytes_done: float
    eta_ms: float
    g1_slots: tuple[int, ...]  # quarantined sources (offload) or reserved destinations (onboard)

    @property
    def fraction(self) -> float:
        return 1.0 if self.nbytes == 0 else self.bytes_done / self.nbytes

    def to_json(self) -> dict[str, Any]:
        """The SPEC §10 shape of one transfer."""
        return {
            "link": self.link,
            "blocks": list(self.blocks),
            "bytes": self.nbytes,
            "started_ms": self.started_ms,
            "eta_ms": self.eta_ms,
        }


@dataclass(frozen=True, slots=True)
class G2View:
    """Plain-data snapshot of G2 for the UI (richer than the JSON report)."""

    capacity: int
    reset: int
    evictable: tuple[int, ...]  # inactive residents in eviction order
    pinned: tuple[int, ...]
    in_flight: tuple[int, ...]  # blocks being copied G1 → G2 (destination slot allocated)
    transfers: tuple[TransferInfo, ...]

    @property
    def active(self) -> int:
        return len(self.pinned) + len(self.in_flight)


class OffloadEngine:
    """G2 pool, metadata of its residents, and the two processor-sharing links."""

    def __init__(self, config: OffloadConfig) -> None:
        self.config = config
        self.capacity = config.g2_blocks
        self.pool = BlockPool(config.g2_blocks, "lineage")
        self.resident: dict[int, Resident] = {}
        self.pins: dict[int, int] = {}  # block -> in-flight swap-ins holding it (ordered by pin)
        self.inflight: dict[int, int] = {}  # block -> offload transfer id copying it
        self.offload_link = Link(OFFLOAD, config.g1_to_g2_gbps)
        self.onboard_link = Link(ONBOARD, config.g2_to_g1_gbps)
        self.batches: dict[int, OffloadBatch] = {}
        self.swapins: dict[int, SwapIn] = {}
        # Ids are shared by both links, as upstream's TransferState counter (offload.md §2).
        self.next_transfer_id = 0

    # -- queries --------------------------------------------------------------------------

    def is_resident(self, block: int) -> bool:
        return block in self.resident

    def is_in_flight(self, block: int) -> bool:
        return block in self.inflight

    def resident_run(self, ids: Sequence[int]) -> list[int]:
        """The leading run of `ids` resident on G2 (upstream's linear G2 prefix match)."""
        run: list[int] = []
        for block in ids:
            if block not in self.resident:
                break
            run.append(block)
        return run

    def eviction_order(self, limit: int | None = None) -> list[int]:
        return self.pool.index.order(limit)

    def pinned(self) -> list[int]:
        return list(self.pins)

    def next_deadline(self) -> float | None:
        """Earliest pending completion on either link, assuming no new arrivals."""
        times = [t for t in (self.offload_link.next_deadline(), self.onboard_link.next_deadline())
                 if t is not None]
        return min(times) if times else None

    def transfers(self) -> list[TransferInfo]:
        """Pending transfers of both links, in start order (ids increase with start)."""
        out = [self._info(OFFLOAD, b.transfer_id, tuple(e.block for e in b.blocks),
                          tuple(e.slot for e in b.blocks), b.started_ms)
               for b in self.batches.values()]
        out += [self._info(ONBOARD, s.transfer_id, s.blocks, s.g1_slots, s.started_ms)
                for s in self.swapins.values()]
        out.sort(key=lambda t: t.transfer_id)
        return out

    def describe(self, block: int) -> str:
        """Why a G2 block sits where it does (for the TUI)."""
        if block in self.pins:
            return f"pinned by {self.pins[block]} in-flight swap-in(s), not evictable"
        if block in self.resident:
            return self.pool.index.describe(block)
        if block in self.inflight:
            return f"being copied G1 → G2 (transfer {self.inflight[block]})"
        return "not on G2"

    def view(self) -> G2View:
        return G2View(
            self.capacity, len(self.pool.free), tuple(self.eviction_order()), tuple(self.pins),
            tuple(self.inflight), tuple(self.transfers()),
        )

    def to_json(self) -> dict[str, Any]:
        """SPEC §10 `g2`. `resident` lists evictable blocks in eviction order, then pinned ones
        (which have no place in the order) in pin order, so it is the full G2-registered set."""
        return {
            "capacity": self.capacity,
            "resident": self.eviction_order() + self.pinned(),
            "pinned": self.pinned(),
            "transfers": [t.to_json() for t in self.transfers()],
        }

    # -- G1 → G2 --------------------------------------------------------------------------

    def enqueue(self, victims: Sequence[Evicted], now: float) -> EnqueueOutcome:
        """Dedup, batch and start the copies of evicted G1 blocks (SPEC §6.2)."""
        out = EnqueueOutcome()
        passing: list[Evicted] = []
        for victim in victims:
            if victim.block in self.resident or victim.block in self.inflight:
                # Skipped blocks need no copy, so their source slot is free at once. SPEC only
                # says so when *every* block is skipped; per block is the same rule applied
                # piecewise (as a dropped block's slot is freed per block).
                out.skipped.append(victim.block)
                out.freed.append(victim.slot)
            else:
                passing.append(victim)
        size = self.config.batch_size
        for first in range(0, len(passing), size):
            # SPEC §6.2: every batch starts now. Upstream also caps concurrent batches at
            # batch_size (offload.md §3.2); the SPEC has no such queue, and SPEC wins.
            self._start_batch(passing[first : first + size], now, out)
        return out

    def _start_batch(self, batch: Sequence[Evicted], now: float, out: EnqueueOutcome) -> None:
        copied: list[Evicted] = []
        g2_slots: list[int] = []
        for victim in batch:
            slot = self._allocate(out.events)
            if slot is None:  # G2 holds only pinned / in-flight blocks: drop, not copied
                out.dropped.append(victim.block)
                out.freed.append(victim.slot)
                continue
            self.pool.owner[slot] = victim.block
            copied.append(victim)
            g2_slots.append(slot)
        if not copied:
            return
        tid = self._new_id()
        for victim in copied:
            self.inflight[victim.block] = tid
        self.offload_link.start(tid, len(copied) * self.config.block_size_bytes, now)
        self.batches[tid] = OffloadBatch(tid, tuple(copied), tuple(g2_slots), now)
        out.started.append(tid)

    def _allocate(self, events: list[G2Event]) -> int | None:
        """One G2 destination slot: reset first, then evict the oldest unpinned leaf."""
        got = self.pool.allocate(1)
        if got is None:
            return None
        slots, evicted = got
        for block in evicted:
            del self.resident[block]
            events.append(G2Event("removed", block))
        return slots[0]

    def _land(self, batch: OffloadBatch) -> Completed:
        """Copied blocks enter G2 inactive in lineage order (position, then batch order)."""
        order = sorted(range(len(batch.blocks)), key=lambda i: (batch.blocks[i].position, i))
        events: list[G2Event] = []
        for i in order:
            victim, slot = batch.blocks[i], batch.g2_slots[i]
            del self.inflight[victim.block]
            self.resident[victim.block] = Resident(slot, victim.parent, victim.position,
                                                   victim.token_hash)
            self.pool.index.insert(victim.block, slot, victim.parent)
            events.append(G2Event("stored", victim.block, victim.parent, victim.token_hash))
        return Completed(batch, tuple(events))

    # -- G2 → G1 --------------------------------------------------------------------------

    def pin(self, blocks: Sequence[int]) -> None:
        """Take resident blocks out of the evictable pool (nested pins are counted)."""
        for block in blocks:
            held = self.pins.get(block, 0)
            if not held:
                self.pool.index.remove(block)
            self.pins[block] = held + 1

    def unpin(self, blocks: Sequence[int]) -> None:
        """Release pins; a block left unpinned re-enters G2 inactive as the most recent."""
        for block in blocks:
            held = self.pins[block] - 1
            if held:
                self.pins[block] = held
                continue
            del self.pins[block]
            info = self.resident[block]
            self.pool.index.insert(block, info.slot, info.parent)

    def start_swapin(
        self, blocks: Sequence[int], g1_slots: Sequence[int], anchor: int | None, now: float
    ) -> SwapIn:
        """One onboard transfer for a run the caller has already pinned."""
        tid = self._new_id()
        tokens = tuple(self.resident[b].token_hash for b in blocks)
        swap = SwapIn(tid, tuple(blocks), tuple(g1_slots), tokens, anchor, now)
        self.onboard_link.start(tid, len(blocks) * self.config.block_size_bytes, now)
        self.swapins[tid] = swap
        return swap

    # -- time -----------------------------------------------------------------------------

    def advance(self, target: float, hold: Collection[int] = ()) -> list[Completed]:
        """Move both links to `target`; apply G2-side completions in completion order.

        Offload batches land on G2 (events returned); swap-ins unpin their G2 blocks and are
        returned for the manager to register on G1. At equal instants the offload link goes
        first, as upstream drains offload before onboard. Swap-ins whose id is in `hold` keep
        their G2 pins: the scheduler releases them when it registers the run (upstream drops
        the swap-in handle then, in reverse parking order).
        """
        out: list[Completed] = []
        while (deadline := self.next_deadline()) is not None and deadline <= target:
            if not self._collect(deadline, out, hold):
                break  # float guard: the deadline completed nothing, finish at target
        self._collect(target, out, hold)
        return out

    def _collect(self, now: float, out: list[Completed], hold: Collection[int] = ()) -> bool:
        done = len(out)
        for tid in self.offload_link.advance(now):
            out.append(self._land(self.batches.pop(tid)))
        for tid in self.onboard_link.advance(now):
            swap = self.swapins.pop(tid)
            if tid not in hold:
                self.unpin(swap.blocks)
            out.append(Completed(swap))
        return len(out) > done

    # -- copies ---------------------------------------------------------------------------

    def footprint(self) -> int:
        """Approximate bytes of a clone's own containers."""
        own = (self.resident, self.pins, self.inflight, self.batches, self.swapins)
        return self.pool.footprint() + sum(map(sys.getsizeof, own))

    def clone(self) -> OffloadEngine:
        """Independent copy for undo checkpoints; records are immutable, so dicts copy flat."""
        twin = OffloadEngine.__new__(OffloadEngine)
        twin.config, twin.capacity = self.config, self.capacity
        twin.pool = self.pool.clone()
        twin.resident = self.resident.copy()
        twin.pins = self.pins.copy()
        twin.inflight = self.inflight.copy()
        twin.offload_link = self.offload_link.clone()
        twin.onboard_link = self.onboard_link.clone()
        twin.batches = self.batches.copy()
        twin.swapins = self.swapins.copy()
        twin.next_transfer_id = self.next_transfer_id
        return twin

    def dump(self) -> dict[str, Any]:
        """Every piece of G2 state, for exact before/after comparisons in tests."""
        return {
            "free": list(self.pool.free),
            "owner": sorted((s, str(b)) for s, b in self.pool.owner.items()),
            "eviction_order": self.eviction_order(),
            "resident": sorted((b, r.slot, r.parent, r.position, r.token_hash)
                               for b, r in self.resident.items()),
            "pins": list(self.pins.items()),
            "inflight": list(self.inflight.items()),
            "transfers": [
                (t.transfer_id, t.link, t.blocks, t.g1_slots, t.nbytes, t.started_ms, t.bytes_done)
                for t in self.transfers()
            ],
            "g2_slots": [b.g2_slots for b in self.batches.values()],
            "links": (self.offload_link.now_ms, self.onboard_link.now_ms),
            "next_transfer_id": self.next_transfer_id,
        }

    # -- internals ------------------------------------------------------------------------

    def _new_id(self) -> int:
        tid = self.next_transfer_id
        self.next_transfer_id += 1
        return tid

    def _info(
        self, name: str, tid: int, blocks: tuple[int, ...], g1_slots: tuple[int, ...],
        started: float,
    ) -> TransferInfo:
        link = self.offload_link if name == OFFLOAD else self.onboard_link
        done, nbytes = link.progress(tid)
        return TransferInfo(tid, name, blocks, nbytes, started, done, link.eta(tid), g1_slots)
