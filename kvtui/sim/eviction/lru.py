"""`lru`: evict in the order blocks entered the inactive pool (SPEC §3.2).

Upstream uses an LRU cache whose hits *remove* the entry, so in practice it is FIFO by release
time and ignores lineage: a chain released root-first is evicted root-first.
"""

from __future__ import annotations

from collections import OrderedDict
from itertools import islice

from kvtui.sim.frozen import UNSIGNED, PackedDict


class LruIndex:
    name = "lru"

    def __init__(self) -> None:
        # block -> (slot, release sequence number), oldest first; one dict so that every
        # operation is one dict operation and a clone one copy (the number is for describe)
        self._entries: OrderedDict[int, tuple[int, int]] = OrderedDict()
        self._counter = 0

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, block: int) -> bool:
        return block in self._entries

    def insert(self, block: int, slot: int, parent: int | None) -> None:
        self._entries[block] = (slot, self._counter)
        self._counter += 1

    def remove(self, block: int) -> int:
        return self._entries.pop(block)[0]

    def pop_victim(self) -> tuple[int, int]:
        block, (slot, _) = self._entries.popitem(last=False)
        return block, slot

    def order(self, limit: int | None = None) -> list[int]:
        return list(islice(self._entries, limit))

    def touch(self, block: int) -> None:
        pass

    def describe(self, block: int) -> str:
        return f"released #{self._entries[block][1]} (oldest release goes first)"

    def clone(self) -> LruIndex:
        twin = LruIndex.__new__(LruIndex)
        twin._entries = self._entries.copy()
        twin._counter = self._counter
        return twin

    def freeze(self) -> FrozenLru:
        """A compact copy for a long-lived checkpoint (kvtui.sim.frozen)."""
        return FrozenLru(PackedDict(self._entries, UNSIGNED, None), self._counter)


class FrozenLru:
    __slots__ = ("entries", "counter")

    def __init__(self, entries: PackedDict, counter: int) -> None:
        self.entries, self.counter = entries, counter

    def thaw(self) -> LruIndex:
        twin = LruIndex.__new__(LruIndex)
        twin._entries = self.entries.thaw_ordered()
        twin._counter = self.counter
        return twin

    @property
    def nbytes(self) -> int:
        return self.entries.nbytes
