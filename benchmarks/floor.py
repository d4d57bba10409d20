"""The floor: the least a prefix cache with refcounts and LRU eviction can do per block op.

A plain dict of refcounts and an OrderedDict of released blocks (oldest release first), no
slots, no lineage, no events. Fed the same Use/Deref chains as the engine it must store and
evict exactly what the `lru` backend does (checked by bench_engine.py before timing), so the
ratio engine/floor is the price of everything the engine does beyond caching.
"""

from __future__ import annotations

from collections import OrderedDict


class FloorLru:
    def __init__(self, capacity: int) -> None:
        self.free = capacity
        self.refs: dict[int, int] = {}  # registered block -> refcount
        self.inactive: OrderedDict[int, None] = OrderedDict()  # refs == 0, oldest release first

    def use(self, blocks: tuple[int, ...]) -> tuple[int, list[int], list[int]]:
        """(entries committed, stored, evicted), stopping at the first block that gets no slot."""
        refs, inactive = self.refs, self.inactive
        stored: list[int] = []
        evicted: list[int] = []
        done = 0
        for block in blocks:
            count = refs.get(block)
            if count is not None:
                if count == 0:
                    del inactive[block]
                refs[block] = count + 1
            else:
                if self.free:
                    self.free -= 1
                elif inactive:
                    victim = inactive.popitem(last=False)[0]
                    del refs[victim]
                    evicted.append(victim)
                else:
                    break
                refs[block] = 1
                stored.append(block)
            done += 1
        return done, stored, evicted

    def deref(self, blocks: tuple[int, ...]) -> None:
        refs, inactive = self.refs, self.inactive
        for block in blocks:
            count = refs[block] - 1
            refs[block] = count
            if count == 0:
                inactive[block] = None
