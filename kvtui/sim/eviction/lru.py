"""`lru`: evict in the order blocks entered the inactive pool (SPEC §3.2).

Upstream uses an LRU cache whose hits *remove* the entry, so in practice it is FIFO by release
time and ignores lineage: a chain released root-first is evicted root-first.
"""

from __future__ import annotations

from collections import OrderedDict
from itertools import islice


class LruIndex:
    name = "lru"

    def __init__(self) -> None:
        self._entries: OrderedDict[int, int] = OrderedDict()  # block -> slot, oldest first
        self._seq: dict[int, int] = {}  # block -> release sequence number (for describe)
        self._counter = 0

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, block: int) -> bool:
        return block in self._entries

    def insert(self, block: int, slot: int, parent: int | None) -> None:
        self._entries[block] = slot
        self._seq[block] = self._counter
        self._counter += 1

    def remove(self, block: int) -> int:
        del self._seq[block]
        return self._entries.pop(block)

    def pop_victim(self) -> tuple[int, int]:
        block, slot = self._entries.popitem(last=False)
        del self._seq[block]
        return block, slot

    def order(self, limit: int | None = None) -> list[int]:
        return list(islice(self._entries, limit))

    def touch(self, block: int) -> None:
        pass

    def describe(self, block: int) -> str:
        return f"released #{self._seq[block]} (oldest release goes first)"

    def clone(self) -> LruIndex:
        twin = LruIndex()
        twin._entries = self._entries.copy()
        twin._seq = self._seq.copy()
        twin._counter = self._counter
        return twin
