"""The G1 block pool (SPEC §2): slots, FIFO free list, inactive index, all-or-nothing allocation.

Each slot is in exactly one pool: *reset* (in the free list), *inactive* (in the eviction
index) or *active* (owned by a full block with refs, a partial, or held back: quarantined behind
a G2 copy or reserved for a swap-in). Slot ownership is recorded in `owner` so views can colour
every slot without scanning blocks.
"""

from __future__ import annotations

import sys
from collections import deque
from typing import Any

from kvtui.sim.eviction import InactiveIndex, make_index
from kvtui.sim.frozen import SIGNED, PackedDict, nbytes, pack_deque
from kvtui.sim.moves import BlockRef

QUARANTINED = "quarantined"  # G1 source slot of an in-flight G1→G2 copy (SPEC §6.2)
RESERVED = "reserved"  # G1 destination slot of an in-flight G2→G1 swap-in (SPEC §6.3)


class BlockPool:
    def __init__(self, capacity: int, eviction: str) -> None:
        self.capacity = capacity
        self.free: deque[int] = deque(range(capacity))
        self.index: InactiveIndex = make_index(eviction, capacity)
        self.owner: dict[int, BlockRef] = {}  # slot -> block id or partial (not reset/held)
        self.held: dict[int, str] = {}  # slot -> "quarantined" | "reserved"

    @property
    def available(self) -> int:
        return len(self.free) + len(self.index)

    def allocate(self, n: int) -> tuple[list[int], list[int]] | None:
        """Take `n` slots, reset ones first, then victims in backend order (all or nothing).

        Returns (slots, evicted block ids); evicted slots come last, in eviction order.
        """
        if self.available < n:
            return None
        take = min(n, len(self.free))
        slots = [self.free.popleft() for _ in range(take)]
        evicted = []
        for _ in range(n - take):
            block, slot = self.index.pop_victim()
            del self.owner[slot]
            evicted.append(block)
            slots.append(slot)
        return slots, evicted

    def hold(self, slot: int, why: str) -> None:
        """Keep a slot out of every pool but *active*: quarantined or reserved (SPEC §6)."""
        self.owner.pop(slot, None)
        self.held[slot] = why

    def release(self, slot: int) -> None:
        """Return a slot to the back of the free list."""
        self.owner.pop(slot, None)
        self.held.pop(slot, None)
        self.free.append(slot)

    def footprint(self) -> int:
        """Approximate bytes of a clone's own containers (slot tables and eviction index)."""
        return sum(map(sys.getsizeof, (self.free, self.owner, self.held))) + container_bytes(self.index)

    def freeze(self) -> FrozenPool:
        """A compact copy for a long-lived checkpoint (kvtui.sim.frozen)."""
        return FrozenPool(self)

    def clone(self) -> BlockPool:
        twin = BlockPool.__new__(BlockPool)
        twin.capacity = self.capacity
        twin.free = self.free.copy()
        twin.index = self.index.clone()
        twin.owner = self.owner.copy()
        twin.held = self.held.copy()
        return twin


class FrozenPool:
    """A BlockPool packed: free list and slot owners as arrays, the index frozen if it can be."""

    __slots__ = ("capacity", "free", "owner", "held", "index")

    def __init__(self, pool: BlockPool) -> None:
        self.capacity = pool.capacity
        self.free = pack_deque(pool.free)
        self.owner = PackedDict(pool.owner, SIGNED, None)
        self.held = pool.held.copy()
        freeze = getattr(pool.index, "freeze", None)
        self.index: Any = freeze() if freeze is not None else pool.index.clone()

    def thaw(self) -> BlockPool:
        twin = BlockPool.__new__(BlockPool)
        twin.capacity = self.capacity
        twin.free = deque(self.free)
        twin.owner = self.owner.thaw()
        twin.held = self.held.copy()
        index = self.index
        twin.index = index.thaw() if hasattr(index, "thaw") else index.clone()
        return twin

    @property
    def nbytes(self) -> int:
        index = getattr(self.index, "nbytes", None)
        return nbytes(self.free, self.owner) + (index if index is not None else container_bytes(self.index))


def container_bytes(obj: object) -> int:
    """Bytes of the containers an object holds directly (an eviction index and its sketch)."""
    names = [*getattr(obj, "__dict__", ()), *getattr(type(obj), "__slots__", ())]
    total = 0
    for name in names:
        value = getattr(obj, name, None)
        if isinstance(value, dict | list | set | bytearray | deque):
            total += sys.getsizeof(value)
            if isinstance(value, list) and value and isinstance(value[0], dict):  # multi_lru tiers
                total += sum(map(sys.getsizeof, value))
        elif hasattr(value, "counters"):  # multi_lru's TinyLFU sketch
            total += container_bytes(value)
    return total
