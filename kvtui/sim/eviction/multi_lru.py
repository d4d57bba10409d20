"""`multi_lru`: four frequency tiers over a TinyLFU sketch (SPEC §3.3).

A block's tier is fixed when it enters the inactive pool from its frequency estimate ``c``:
``c < 3`` → 0, ``c < 8`` → 1, ``c < 15`` → 2, else 3. Eviction takes the oldest entry of the
lowest non-empty tier. The sketch is touched by the manager (registrations and inactive hits),
never by the index itself (the current upstream backend does not touch either).
"""

from __future__ import annotations

from collections import OrderedDict
from itertools import chain, islice

from kvtui.sim.eviction.tinylfu import TinyLfu
from kvtui.sim.frozen import SIGNED, UNSIGNED, PackedDict, nbytes

THRESHOLDS = (3, 8, 15)
TIER_NAMES = ("cold", "warm", "hot", "very hot")


def tier_for(count: int) -> int:
    for tier, limit in enumerate(THRESHOLDS):
        if count < limit:
            return tier
    return len(THRESHOLDS)


class MultiLruIndex:
    name = "multi_lru"
    needs_parent = False

    def __init__(self, capacity: int) -> None:
        self.sketch = TinyLfu(capacity)
        self._tiers: list[OrderedDict[int, int]] = [OrderedDict() for _ in range(4)]
        self._tier_of: dict[int, int] = {}

    def __len__(self) -> int:
        return len(self._tier_of)

    def __contains__(self, block: int) -> bool:
        return block in self._tier_of

    def insert(self, block: int, slot: int, parent: int | None) -> None:
        count = self.sketch.estimate(block)
        tier = 0 if count < 3 else 1 if count < 8 else 2 if count < 15 else 3  # tier_for, inlined
        self._tiers[tier][block] = slot
        self._tier_of[block] = tier

    def insert_all(
        self, blocks: list[int], slots: list[int], parents: list[int | None] | None
    ) -> None:
        estimate, tiers, tier_of = self.sketch.estimate, self._tiers, self._tier_of
        for block, slot in zip(blocks, slots, strict=True):
            count = estimate(block)
            tier = 0 if count < 3 else 1 if count < 8 else 2 if count < 15 else 3
            tiers[tier][block] = slot
            tier_of[block] = tier

    def remove(self, block: int) -> int:
        return self._tiers[self._tier_of.pop(block)].pop(block)

    def discard(self, block: int) -> object:
        return self.remove(block)

    def pop_entry(self) -> tuple[int, object]:
        return self.pop_victim()

    def pop_victim(self) -> tuple[int, int]:
        for entries in self._tiers:
            if entries:
                block, slot = entries.popitem(last=False)
                del self._tier_of[block]
                return block, slot
        raise IndexError("pop_victim on an empty index")

    def order(self, limit: int | None = None) -> list[int]:
        return list(islice(chain.from_iterable(self._tiers), limit))

    def touch(self, block: int) -> None:
        self.sketch.increment(block)

    def tier(self, block: int) -> int:
        return self._tier_of[block]

    def describe(self, block: int) -> str:
        tier = self._tier_of[block]
        return f"tier {tier} ({TIER_NAMES[tier]}), oldest in tier first"

    def clone(self) -> MultiLruIndex:
        twin = MultiLruIndex.__new__(MultiLruIndex)
        twin.sketch = self.sketch.clone()
        twin._tiers = [entries.copy() for entries in self._tiers]
        twin._tier_of = self._tier_of.copy()
        return twin

    def freeze(self) -> FrozenMultiLru:
        """A compact copy for a long-lived checkpoint (kvtui.sim.frozen)."""
        tiers = [PackedDict(entries, UNSIGNED, SIGNED) for entries in self._tiers]
        return FrozenMultiLru(self.sketch.clone(), tiers, PackedDict(self._tier_of, UNSIGNED, SIGNED))


class FrozenMultiLru:
    __slots__ = ("sketch", "tiers", "tier_of")

    def __init__(self, sketch: TinyLfu, tiers: list[PackedDict], tier_of: PackedDict) -> None:
        self.sketch, self.tiers, self.tier_of = sketch, tiers, tier_of

    def thaw(self) -> MultiLruIndex:
        twin = MultiLruIndex.__new__(MultiLruIndex)
        twin.sketch = self.sketch.clone()
        twin._tiers = [tier.thaw_ordered() for tier in self.tiers]
        twin._tier_of = self.tier_of.thaw()
        return twin

    @property
    def nbytes(self) -> int:
        return nbytes(self.tier_of, *self.tiers) + len(self.sketch.counters)
