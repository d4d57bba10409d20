"""TinyLFU count-min sketch used by `multi_lru` (SPEC §3.3, kvbm_logical.md §4).

Depth 4, 4-bit saturating counters, ``max(1, capacity // 4)`` 64-bit words of 16 counters each,
all counters halved after ``10 * capacity`` successful increments. Counters live in a
``bytearray`` (one byte per 4-bit counter) so halving is one ``translate`` call.

Hash functions: ``xxh3_64(le_u64(block), seed=i)`` for i = 0..3. Upstream hashes the 16-byte
PLH with custom secrets; SPEC §3.3 says bit parity is not required, so we document ours instead.
Word index = ``h % width``, nibble = ``h & 15``, as upstream.
"""

from __future__ import annotations

import xxhash

_HALVE = bytes(i >> 1 for i in range(256))
_ODD = bytes(i & 1 for i in range(256))
DEPTH = 4
MAX_COUNT = 15


class TinyLfu:
    def __init__(self, capacity: int) -> None:
        self.width = max(1, capacity // 4)
        self.sample_size = 10 * capacity
        self.size = 0
        self.counters = bytearray(self.width * 16)

    def _indices(self, key: int) -> list[int]:
        data = key.to_bytes(8, "little")
        out = []
        for seed in range(DEPTH):
            h = xxhash.xxh3_64_intdigest(data, seed=seed)
            out.append((h % self.width) * 16 + (h & 15))
        return out

    def increment(self, key: int) -> None:
        counters = self.counters
        moved = False
        for i in self._indices(key):
            if counters[i] < MAX_COUNT:
                counters[i] += 1
                moved = True
        if moved:
            self.size += 1
            if self.size >= self.sample_size:
                self._reset()

    def estimate(self, key: int) -> int:
        counters = self.counters
        return min(counters[i] for i in self._indices(key))

    def _reset(self) -> None:
        # Upstream's formula (not Caffeine's): size = (size >> 1) - (odd >> 2).
        odd = self.counters.translate(_ODD).count(1)
        self.counters = bytearray(self.counters.translate(_HALVE))
        self.size = (self.size >> 1) - (odd >> 2)

    def clone(self) -> TinyLfu:
        twin = TinyLfu.__new__(TinyLfu)
        twin.width, twin.sample_size, twin.size = self.width, self.sample_size, self.size
        twin.counters = bytearray(self.counters)
        return twin
