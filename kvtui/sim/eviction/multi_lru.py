"""`multi_lru`: four frequency tiers over a TinyLFU sketch (SPEC §3.3).

A block's tier is fixed when it enters the inactive pool from its frequency estimate ``c``:
``c < 3`` → 0, ``c < 8`` → 1, ``c < 15`` → 2, else 3. Eviction takes the oldest entry of the
lowest non-empty tier. The sketch is touched by the manager (registrations and inactive hits),
never by the index itself (the current upstream backend does not touch either).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from itertools import chain, islice

from kvtui.sim.eviction.tinylfu import MAX_COUNT, TinyLfu
from kvtui.sim.frozen import SIGNED, UNSIGNED, PackedDict, nbytes

THRESHOLDS = (3, 8, 15)
TIER_NAMES = ("cold", "warm", "hot", "very hot")


def tier_for(count: int) -> int:
    for tier, limit in enumerate(THRESHOLDS):
        if count < limit:
            return tier
    return len(THRESHOLDS)


_TIER_OF_COUNT = tuple(tier_for(count) for count in range(MAX_COUNT + 1))  # one subscript


class MultiLruIndex:
    """Four OrderedDicts block -> slot (one per tier, oldest first) and a dict block -> tier.

    Speed: the manager calls ``touch`` per registration and inactive hit, ``discard`` per
    inactive hit, ``pop_entry`` per eviction and ``insert_all`` per released chain. ``touch`` is
    the sketch's own ``increment`` (bound per index: one Python frame, not two); the others are
    written out in one frame each. The tables stay plain dicts so a clone is a few C copies.
    """

    name = "multi_lru"
    needs_parent = False

    touch: Callable[[int], None]  # a frequency touch: the sketch's increment

    def __init__(self, capacity: int) -> None:
        self._bind(TinyLfu(capacity), [OrderedDict() for _ in range(4)], {})

    def _bind(self, sketch: TinyLfu, tiers: list[OrderedDict[int, int]], tier_of: dict[int, int]) -> None:
        self.sketch = sketch
        self._tiers = tiers
        self._tier_of = tier_of
        self.touch = sketch.increment

    def __len__(self) -> int:
        return len(self._tier_of)

    def __contains__(self, block: int) -> bool:
        return block in self._tier_of

    def insert(self, block: int, slot: int, parent: int | None) -> None:
        self.insert_all([block], [slot], None)

    def insert_all(
        self, blocks: list[int], slots: list[int], parents: list[int | None] | None
    ) -> None:
        # Per block: the sketch's estimate (memo lookup, min of four counters) and the tier for
        # it, inlined; the min is compared out (a builtin min call costs more than the reads).
        sketch, tiers, tier_of = self.sketch, self._tiers, self._tier_of
        memo_get, hashed, counters = sketch.memo_get, sketch.hashed, sketch.counters
        for block, slot in zip(blocks, slots, strict=True):
            got = memo_get(block)
            a, b, c, d = got if got is not None else hashed(block)
            count = counters[a]
            other = counters[b]
            if other < count:
                count = other
            other = counters[c]
            if other < count:
                count = other
            other = counters[d]
            if other < count:
                count = other
            tier = _TIER_OF_COUNT[count]
            tiers[tier][block] = slot
            tier_of[block] = tier

    def remove(self, block: int) -> int:
        return self._tiers[self._tier_of.pop(block)].pop(block)

    discard = remove  # the manager ignores the slot; one frame either way

    def pop_entry(self) -> tuple[int, int]:
        """`pop_victim`, raising KeyError (not IndexError) when empty, as the protocol allows."""
        t0, t1, t2, t3 = self._tiers
        entry = (t0 or t1 or t2 or t3).popitem(False)  # the lowest non-empty tier's oldest
        del self._tier_of[entry[0]]
        return entry

    def pop_victim(self) -> tuple[int, int]:
        if not self._tier_of:
            raise IndexError("pop_victim on an empty index")
        return self.pop_entry()

    def order(self, limit: int | None = None) -> list[int]:
        return list(islice(chain.from_iterable(self._tiers), limit))

    def tier(self, block: int) -> int:
        return self._tier_of[block]

    def describe(self, block: int) -> str:
        tier = self._tier_of[block]
        return f"tier {tier} ({TIER_NAMES[tier]}), oldest in tier first"

    def clone(self) -> MultiLruIndex:
        twin = MultiLruIndex.__new__(MultiLruIndex)
        twin._bind(self.sketch.clone(), [entries.copy() for entries in self._tiers], self._tier_of.copy())
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
        twin._bind(self.sketch.clone(), [tier.thaw_ordered() for tier in self.tiers], self.tier_of.thaw())
        return twin

    @property
    def nbytes(self) -> int:
        return nbytes(self.tier_of, *self.tiers) + len(self.sketch.counters)
