"""The G1 KV manager: the MoveBlock protocol with the seed's semantics (SPEC §4–§5).

Every public command validates completely before it touches state, so a rejected command
leaves the manager exactly as it was: no slot moved, no event, no event id consumed (SPEC §11).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from kvtui.engine.config import Config, OffloadConfig
from kvtui.engine.errors import (
    CommandError,
    DuplicateBlockError,
    EmptyCommandError,
    LineageError,
    NotHeldError,
    OffloadError,
    UnknownPartialError,
)
from kvtui.engine.events import DEVICE, RouterEvent
from kvtui.engine.eviction import BACKENDS
from kvtui.engine.moves import Deref, Move, Partial, Promote, Use
from kvtui.engine.pool import BlockPool

MAX_ID = 2**64 - 1


@dataclass(slots=True)
class Block:
    """A full block registered on G1 (active when refs > 0, else inactive)."""

    slot: int
    parent: int | None
    position: int
    token_hash: int = 0
    refs: int = 1


@dataclass(slots=True)
class MoveResult:
    """What one command did: its return value, the events it published and any warnings."""

    returned: int
    events: list[RouterEvent] = field(default_factory=list)
    stored: list[int] = field(default_factory=list)
    evicted: list[int] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


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
        self.blocks: dict[int, Block] = {}
        self.partials: dict[str, int] = {}  # partial name -> slot
        self.lineage: dict[int, tuple[int | None, int]] = {}  # id -> (parent, position)
        self.events: list[RouterEvent] = []
        self.next_event_id = 0
        self.clock_ms = 0.0
        self.offload = offload

    @classmethod
    def from_config(cls, config: Config) -> KvManager:
        return cls(config.capacity, config.block_size, config.eviction, config.dp_rank, config.offload)

    # -- queries --------------------------------------------------------------------------

    @property
    def num_active_blocks(self) -> int:
        return self.capacity - self.pool.available

    @property
    def num_active_block_refs(self) -> int:
        return sum(b.refs for b in self.blocks.values()) + len(self.partials)

    @property
    def num_inactive_blocks(self) -> int:
        return len(self.pool.index)

    @property
    def num_reset(self) -> int:
        return len(self.pool.free)

    def refcount(self, block: int) -> int:
        info = self.blocks.get(block)
        return info.refs if info else 0

    def is_active(self, block: int) -> bool:
        return self.refcount(block) > 0

    def is_inactive(self, block: int) -> bool:
        return block in self.pool.index

    def active(self) -> dict[int, int]:
        """Active full blocks with their refcounts."""
        return {k: b.refs for k, b in self.blocks.items() if b.refs}

    def eviction_order(self, limit: int | None = None) -> list[int]:
        """Inactive blocks in the exact order the backend would evict them (no mutation)."""
        return self.pool.index.order(limit)

    def prefill_cost(self, ids: list[int]) -> PrefillCost:
        """SPEC §4.4: leading run of ids that are active or registered."""
        cached = 0
        for block in ids:
            if block not in self.blocks:
                break
            cached += 1
        return PrefillCost(cached, len(ids) - cached)

    # -- commands -------------------------------------------------------------------------

    def apply(self, move: Move) -> MoveResult:
        if isinstance(move, Use):
            return self.use(move)
        if isinstance(move, Deref):
            return self.deref(move)
        if isinstance(move, Promote):
            return self.promote(move)
        raise CommandError(f"not a MoveBlock: {move!r}")

    def use(self, move: Use) -> MoveResult:
        chain = self._validate_use(move)
        self._record(chain)
        tokens = dict(zip([b for b, _, _ in chain], move.token_hashes or (), strict=False))
        # Anchor of the stored event: the block before the slice, moved by every hit.
        anchor = chain[0][1] if chain else None
        result = MoveResult(0)
        for entry in move.blocks:
            if isinstance(entry, Partial):
                if entry.name not in self.partials:
                    got = self._allocate_one(result)
                    if got is None:
                        break
                    self.partials[entry.name] = got
                    self.pool.owner[got] = entry
            elif self._hit(entry):
                anchor = entry
            else:
                got = self._allocate_one(result)
                if got is None:
                    break
                self._register(entry, got, tokens.get(entry, 0))
                result.stored.append(entry)
            result.returned += 1
        stored_tokens = [tokens.get(b, 0) for b in result.stored]
        self._publish_store(result, result.stored, anchor, stored_tokens)
        self._publish_removed(result, result.evicted)
        again = [b for b in result.stored if b in set(result.evicted)]
        for block in again:
            result.warnings.append(
                f"block {block} was evicted and stored again in the same use: upstream "
                "publishes it as stored then removed, so a router forgets a resident block"
            )
        return result

    def deref(self, move: Deref) -> MoveResult:
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
        self._publish_store(result, [block], parent, [move.token_hash])
        return result

    def tick(self, ms: float | None) -> MoveResult:
        """Advance the virtual clock by `ms` (> 0), or to the next transfer completion (None)."""
        if ms is None:
            raise OffloadError("tick next: no transfer is in flight")
        if not ms > 0 or ms == float("inf"):
            raise OffloadError(f"tick needs a finite duration > 0 ms, got {ms}")
        self.clock_ms += ms
        return MoveResult(1)

    # -- validation (no mutation) ---------------------------------------------------------

    def _validate_use(self, move: Use) -> list[tuple[int, int | None, int]]:
        if not move.blocks:
            raise EmptyCommandError("use needs at least one block")
        fulls: list[int] = []
        for entry in move.blocks:
            if isinstance(entry, Partial):
                self._check_partial_name(entry.name)
                continue
            _check_id(entry)
            if entry in fulls:
                raise DuplicateBlockError(f"block {entry} appears twice in one use")
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
                raise NotHeldError(
                    f"deref {block}: block is held {held} time(s) but listed {times} time(s)"
                )

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
        for block, parent, position in chain:
            self.lineage.setdefault(block, (parent, position))

    def _hit(self, block: int) -> bool:
        """Active hit (refcount + 1) or inactive hit (reactivate); False on a miss."""
        info = self.blocks.get(block)
        if info is None:
            return False
        if info.refs == 0:
            self.pool.index.remove(block)
            self.pool.index.touch(block)  # frequency touch on an inactive hit only
        info.refs += 1
        return True

    def _register(self, block: int, slot: int, token_hash: int) -> None:
        parent, position = self.lineage[block]
        self.blocks[block] = Block(slot, parent, position, token_hash)
        self.pool.owner[slot] = block
        self.pool.index.touch(block)

    def _release(self, block: int) -> None:
        info = self.blocks[block]
        info.refs -= 1
        if info.refs == 0:
            self.pool.index.insert(block, info.slot, info.parent)

    def _allocate_one(self, result: MoveResult) -> int | None:
        got = self.pool.allocate(1)
        if got is None:
            return None
        slots, evicted = got
        for block in evicted:
            del self.blocks[block]
        result.evicted.extend(evicted)
        return slots[0]

    def _publish(self, result: MoveResult, event: RouterEvent) -> None:
        self.events.append(event)
        self.next_event_id += 1
        result.events.append(event)

    def _publish_store(
        self, result: MoveResult, blocks: list[int], parent: int | None, tokens: list[int]
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
        twin.blocks = {
            k: Block(b.slot, b.parent, b.position, b.token_hash, b.refs)
            for k, b in self.blocks.items()
        }
        twin.partials = self.partials.copy()
        twin.lineage = self.lineage.copy()
        twin.events = list(self.events)
        twin.next_event_id = self.next_event_id
        twin.clock_ms, twin.offload = self.clock_ms, self.offload
        return twin

    def dump(self) -> dict[str, Any]:
        """Every piece of state, for exact before/after comparisons in tests."""
        return {
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


def _name(parent: int | None) -> str:
    return "none (root)" if parent is None else str(parent)
