"""`lru`: evict in the order blocks entered the inactive pool (SPEC §3.2).

Upstream uses an LRU cache whose hits *remove* the entry, so in practice it is FIFO by release
time and ignores lineage: a chain released root-first is evicted root-first.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from functools import partial
from itertools import islice

from kvtui.sim.frozen import UNSIGNED, PackedDict


class LruIndex:
    """One OrderedDict block -> (slot, release number), oldest release first.

    The release number is only for :meth:`describe` (the TUI and the compare screen show it).
    ``discard``, ``pop_entry`` and ``insert_all`` are the OrderedDict's own C methods (bound per
    index) or one C call: the manager's per-block loops reach the index without a Python frame.
    """

    name = "lru"
    needs_parent = False
    batch_inserts = False

    discard: Callable[[int], object]  # remove() when the caller needs no slot back
    pop_entry: Callable[[], tuple[int, object]]  # pop_victim() when the caller knows the slot

    def __init__(self) -> None:
        self._bind(OrderedDict(), 0)

    def _bind(self, entries: OrderedDict[int, tuple[int, int]], counter: int) -> None:
        self._entries = entries
        self._counter = counter
        self.discard = entries.pop
        self.pop_entry = partial(entries.popitem, False)

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, block: int) -> bool:
        return block in self._entries

    def insert(self, block: int, slot: int, parent: int | None) -> None:
        self._entries[block] = (slot, self._counter)
        self._counter += 1

    def insert_all(
        self, blocks: list[int], slots: list[int], parents: list[int | None] | None
    ) -> None:
        start = self._counter
        self._counter = start + len(blocks)
        self._entries.update(zip(blocks, zip(slots, range(start, self._counter), strict=True), strict=True))

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
        twin._bind(self._entries.copy(), self._counter)
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
        twin._bind(self.entries.thaw_ordered(), self.counter)
        return twin

    @property
    def nbytes(self) -> int:
        return self.entries.nbytes
