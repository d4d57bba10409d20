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

from kvtui.sim.eviction.tinylfu import HASHINGS, MAX_COUNT, TinyLfu
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
    """Four OrderedDicts block -> slot, one per tier, oldest first; a block is in exactly one.

    Speed: the manager calls ``touch`` per registration and inactive hit, ``discard`` per
    inactive hit, ``pop_entry`` per eviction and ``insert_all`` per released chain.

    * ``touch`` queues the block on the sketch (a bound C ``append``; see kvtui.sim.eviction.
      tinylfu); ``insert_all`` counts the queue before it estimates.
    * No block -> tier dict: every insert and eviction would write it, while only a hit (and
      the TUI's ``tier``/``describe``) needs the tier, found by probing the four dicts.
    * The others are written out in one frame each; the tables stay four OrderedDicts so a
      clone is four C copies (a session near-clones every 32 steps).
    """

    name = "multi_lru"
    needs_parent = False
    batch_inserts = True

    touch: Callable[[int], None]  # a frequency touch: queued on the sketch (a C call)

    def __init__(self, capacity: int) -> None:
        self._bind(TinyLfu(capacity), [OrderedDict() for _ in range(4)])

    def _bind(self, sketch: TinyLfu, tiers: list[OrderedDict[int, int]]) -> None:
        self.sketch = sketch
        self._tiers = tiers
        self.touch = sketch.pending.append

    def __len__(self) -> int:
        t0, t1, t2, t3 = self._tiers
        return len(t0) + len(t1) + len(t2) + len(t3)

    def __contains__(self, block: int) -> bool:
        t0, t1, t2, t3 = self._tiers
        return block in t0 or block in t1 or block in t2 or block in t3

    def insert(self, block: int, slot: int, parent: int | None) -> None:
        self.insert_all([block], [slot], None)

    def insert_all(
        self, blocks: list[int], slots: list[int], parents: list[int | None] | None
    ) -> None:
        # Per block: the sketch's estimate (memo lookup, min of four counters) and the tier for
        # it, inlined; the min is compared out (a builtin min call costs more than the reads).
        tiers, sketch = self._tiers, self.sketch
        counters, hashing = sketch.counters, HASHINGS[sketch.width]  # counters: touches counted
        memo, hashed = hashing.memo, hashing.hashed
        c0, c1, c2, c3 = hashing.columns
        for block, slot in zip(blocks, slots, strict=True):
            try:  # a released block was touched (hashed) at its registration: a hit, no call
                row = memo[block]
            except KeyError:  # its memo was emptied since, or a bare insert (tests)
                row = hashed(block)
            count = counters[c0[row]]
            other = counters[c1[row]]
            if other < count:
                count = other
            other = counters[c2[row]]
            if other < count:
                count = other
            other = counters[c3[row]]
            if other < count:
                count = other
            tiers[_TIER_OF_COUNT[count]][block] = slot

    def remove(self, block: int) -> int:
        t0, t1, t2, t3 = self._tiers
        # Hottest first: an inactive hit is likelier on a block that was hit before.
        if block in t3:
            return t3.pop(block)
        if block in t2:
            return t2.pop(block)
        if block in t1:
            return t1.pop(block)
        return t0.pop(block)  # KeyError when the block is in no tier

    discard = remove  # the manager ignores the slot; one frame either way

    def pop_entry(self) -> tuple[int, int]:
        """`pop_victim`, raising KeyError (not IndexError) when empty, as the protocol allows."""
        t0, t1, t2, t3 = self._tiers
        return (t0 or t1 or t2 or t3).popitem(False)  # the lowest non-empty tier's oldest

    def pop_victim(self) -> tuple[int, int]:
        if not len(self):
            raise IndexError("pop_victim on an empty index")
        return self.pop_entry()

    def order(self, limit: int | None = None) -> list[int]:
        return list(islice(chain.from_iterable(self._tiers), limit))

    def tier(self, block: int) -> int:
        for tier, entries in enumerate(self._tiers):
            if block in entries:
                return tier
        raise KeyError(block)

    def describe(self, block: int) -> str:
        tier = self.tier(block)
        return f"tier {tier} ({TIER_NAMES[tier]}), oldest in tier first"

    def clone(self) -> MultiLruIndex:
        twin = MultiLruIndex.__new__(MultiLruIndex)
        twin._bind(self.sketch.clone(), [entries.copy() for entries in self._tiers])
        return twin

    def freeze(self) -> FrozenMultiLru:
        """A compact copy for a long-lived checkpoint (kvtui.sim.frozen)."""
        tiers = [PackedDict(entries, UNSIGNED, SIGNED) for entries in self._tiers]
        return FrozenMultiLru(self.sketch.clone(), tiers)


class FrozenMultiLru:
    __slots__ = ("sketch", "tiers")

    def __init__(self, sketch: TinyLfu, tiers: list[PackedDict]) -> None:
        self.sketch, self.tiers = sketch, tiers

    def thaw(self) -> MultiLruIndex:
        twin = MultiLruIndex.__new__(MultiLruIndex)
        twin._bind(self.sketch.clone(), [tier.thaw_ordered() for tier in self.tiers])
        return twin

    @property
    def nbytes(self) -> int:
        return nbytes(*self.tiers) + len(self.sketch.counters)
