"""`multi_lru` and its TinyLFU sketch against a plain reference model, operation by operation.

Why: both are written for speed (memoised and table-driven hashing, unrolled counters, bound
callables), and SPEC §3.3's outputs are pinned (tests/golden). The model below is the direct
reading of the SPEC — four xxh3 seeds, ``(h % width) * 16 + (h & 15)``, saturating counters,
halving after ``10 * capacity`` moved increments, tiers fixed at insertion — with no caching, so
any drift in counts, reset timing, tiers, victims or order shows up here first.
"""

from __future__ import annotations

import random
from collections import OrderedDict
from itertools import chain

import pytest
import xxhash

from kvtui.sim.eviction import tinylfu
from kvtui.sim.eviction.multi_lru import FrozenMultiLru, MultiLruIndex, tier_for
from kvtui.sim.eviction.tinylfu import TinyLfu


class RefSketch:
    def __init__(self, capacity: int) -> None:
        self.width = max(1, capacity // 4)
        self.sample_size = 10 * capacity
        self.size = 0
        self.counters = [0] * (self.width * 16)

    def indices(self, key: int) -> list[int]:
        data = key.to_bytes(8, "little")
        hashes = [xxhash.xxh3_64_intdigest(data, seed) for seed in range(4)]
        return [(h % self.width) * 16 + (h & 15) for h in hashes]

    def increment(self, key: int) -> None:
        moved = False
        for i in self.indices(key):
            if self.counters[i] < 15:
                self.counters[i] += 1
                moved = True
        if moved:
            self.size += 1
            if self.size >= self.sample_size:
                odd = sum(c & 1 for c in self.counters)
                self.counters = [c >> 1 for c in self.counters]
                self.size = (self.size >> 1) - (odd >> 2)

    def estimate(self, key: int) -> int:
        return min(self.counters[i] for i in self.indices(key))


class RefIndex:
    def __init__(self, capacity: int) -> None:
        self.sketch = RefSketch(capacity)
        self.tiers: list[OrderedDict[int, int]] = [OrderedDict() for _ in range(4)]
        self.tier_of: dict[int, int] = {}

    def insert(self, block: int, slot: int) -> None:
        tier = tier_for(self.sketch.estimate(block))
        self.tiers[tier][block] = slot
        self.tier_of[block] = tier

    def remove(self, block: int) -> int:
        return self.tiers[self.tier_of.pop(block)].pop(block)

    def pop_victim(self) -> tuple[int, int]:
        for entries in self.tiers:
            if entries:
                block, slot = entries.popitem(last=False)
                del self.tier_of[block]
                return block, slot
        raise IndexError("pop_victim on an empty index")

    def order(self) -> list[int]:
        return list(chain.from_iterable(self.tiers))


def same(index: MultiLruIndex, ref: RefIndex, probes: list[int]) -> None:
    """Everything observable: order, tiers, descriptions, slots, counters, size, estimates."""
    assert index.order() == ref.order()
    assert index.order(3) == ref.order()[:3]
    assert len(index) == len(ref.tier_of)
    for block, tier in ref.tier_of.items():
        assert block in index and index.tier(block) == tier
        assert index.describe(block).startswith(f"tier {tier} (")
    assert [list(t.items()) for t in index._tiers] == [list(t.items()) for t in ref.tiers]
    for key in probes:
        assert index.sketch.estimate(key) == ref.sketch.estimate(key)
    assert list(index.sketch.counters) == ref.sketch.counters
    assert index.sketch.size == ref.sketch.size


def copy_ref(ref: RefIndex, twin: MultiLruIndex) -> RefIndex:
    """A reference for a copy that took a touch and maybe an eviction after `ref`'s state."""
    fresh = RefIndex.__new__(RefIndex)
    fresh.sketch = RefSketch.__new__(RefSketch)
    fresh.sketch.width, fresh.sketch.sample_size = ref.sketch.width, ref.sketch.sample_size
    fresh.sketch.counters, fresh.sketch.size = list(twin.sketch.counters), twin.sketch.size
    fresh.tiers = [OrderedDict(t) for t in twin._tiers]
    fresh.tier_of = {block: twin.tier(block) for block in twin.order()}
    return fresh


class Pair:
    """The index under test and the reference, driven by the same random operations."""

    def __init__(self, capacity: int, seed: int) -> None:
        self.rng = random.Random(seed)
        self.hot = [self.rng.randrange(1 << 20) for _ in range(12)]
        self.big = [(1 << 64) - 1, 1 << 63, 0]
        self.index, self.ref = MultiLruIndex(capacity), RefIndex(capacity)
        self.slot = 0

    def key(self) -> int:
        roll = self.rng.random()
        if roll < 0.6:
            return self.rng.choice(self.hot)
        return self.rng.choice(self.big) if roll < 0.65 else self.rng.randrange(1 << 64)

    def touch(self, key: int) -> None:
        self.index.touch(key)
        self.ref.sketch.increment(key)

    def release(self, count: int) -> None:
        """A released chain (`insert_all`), or one block (`insert`) when ``count`` is 0."""
        keys = (self.key() for _ in range(max(count, 1)))
        blocks = list(dict.fromkeys(k for k in keys if k not in self.ref.tier_of))
        slots = list(range(self.slot, self.slot + len(blocks)))
        self.slot += len(blocks)
        if count or not blocks:
            self.index.insert_all(blocks, slots, None)
        else:
            self.index.insert(blocks[0], slots[0], None)
        for block, slot in zip(blocks, slots, strict=True):
            self.ref.insert(block, slot)

    def hit(self) -> None:
        """An inactive hit: out of the index, then touched (as the manager does)."""
        block = self.rng.choice(list(self.ref.tier_of))
        index, slot = self.index, self.ref.remove(block)
        assert (index.discard(block) if self.rng.random() < 0.5 else index.remove(block)) == slot
        self.touch(block)

    def evict(self) -> None:
        want = self.ref.pop_victim()
        assert (self.index.pop_entry() if self.rng.random() < 0.5 else self.index.pop_victim()) == want

    def copy(self) -> None:
        """A clone or a frozen-and-thawed copy equals the index and is independent of it."""
        if self.rng.random() < 0.5:
            twin = self.index.clone()
        else:
            frozen = self.index.freeze()
            assert isinstance(frozen, FrozenMultiLru) and frozen.nbytes > 0
            twin = frozen.thaw()
        same(twin, self.ref, [])
        twin.touch(self.key())
        if len(twin):
            twin.pop_entry()
        same(self.index, self.ref, [])
        if self.rng.random() < 0.5:  # carry on with the copy
            self.index, self.ref = twin, copy_ref(self.ref, twin)

    def step(self) -> None:
        op, has = self.rng.random(), bool(self.ref.tier_of)
        if op < 0.35:
            self.touch(self.key())
        elif op < 0.6:
            self.release(0 if op > 0.55 else self.rng.randint(1, 6))
        elif op < 0.72 and has:
            self.hit()
        elif op < 0.85 and has:
            self.evict()
        elif op < 0.9:
            self.copy()

    def drain(self) -> None:
        same(self.index, self.ref, self.hot + self.big)
        while self.ref.tier_of:
            assert self.index.pop_victim() == self.ref.pop_victim()
        with pytest.raises(IndexError):
            self.index.pop_victim()
        with pytest.raises((IndexError, KeyError)):
            self.index.pop_entry()
        for missing in (self.hot[0], 12345):
            assert missing not in self.index
            for call in (self.index.remove, self.index.discard, self.index.tier, self.index.describe):
                with pytest.raises(KeyError):
                    call(missing)


def run_script(capacity: int, seed: int, steps: int) -> None:
    pair = Pair(capacity, seed)
    for step in range(steps):
        pair.step()
        if step % 5 == 0:
            same(pair.index, pair.ref, pair.rng.sample(pair.hot, 3))
    pair.drain()


# Widths 1 (every key in one word: repeated indices), 25 (lcm with 16 is 400), 1024 (a power
# of two) and 4097 (lcm 65552: too wide for an index table, hashed by sums).
@pytest.mark.parametrize("capacity", [1, 3, 7, 100, 4096, 16388])
@pytest.mark.parametrize("seed", [1, 2])
def test_multi_lru_matches_reference(capacity: int, seed: int) -> None:
    run_script(capacity, seed, 1500)


def test_multi_lru_matches_reference_with_a_tiny_memo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tinylfu, "MEMO_LIMIT", 5)  # memos emptied all the time
    run_script(7, 3, 1500)
    run_script(4096, 3, 1500)


def test_queued_touches_count_like_immediate_ones() -> None:
    """Touches queue on the sketch; an insert or a read counts them in order, with halvings."""
    index, ref = MultiLruIndex(3), RefIndex(3)  # sample size 30
    rng = random.Random(4)
    for batch in (1, 7, 40, 200, 3, 90):
        keys = [rng.randrange(12) for _ in range(batch)]
        for key in keys:
            index.touch(key)
            ref.sketch.increment(key)
        if batch % 2:  # the insert's estimate must see every queued touch
            block = next(k for k in [*reversed(keys), *range(100, 120)] if k not in ref.tier_of)
            index.insert_all([block], [batch], None)
            ref.insert(block, batch)
        else:
            assert index.sketch.size == ref.sketch.size
        same(index, ref, keys)


def test_sketch_resets_like_the_reference() -> None:
    sketch, ref = TinyLfu(8), RefSketch(8)  # sample size 80: many halvings
    rng = random.Random(5)
    resets = 0
    for _ in range(3000):
        key = rng.randrange(40)
        before = ref.size
        sketch.increment(key)
        ref.increment(key)
        resets += ref.size < before
        assert (sketch.size, list(sketch.counters)) == (ref.size, ref.counters)
    assert resets > 10


@pytest.mark.parametrize("capacity", [1, 100, 4096, 16388])
def test_hashes_are_the_documented_xxh3_seeds(capacity: int) -> None:
    sketch = TinyLfu(capacity)
    for key in (0, 1, 42, 10**9, (1 << 63) + 5, (1 << 64) - 1):
        want = tuple(RefSketch(capacity).indices(key))
        assert sketch._indices(key) == want
        assert sketch._indices(key) == want  # memoised


def test_hashes_are_pinned() -> None:
    assert TinyLfu(4096)._indices(42) == (15496, 2508, 9198, 13482)
    assert TinyLfu(100)._indices((1 << 64) - 1) == (35, 191, 217, 131)
