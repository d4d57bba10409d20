"""TinyLFU count-min sketch used by `multi_lru` (SPEC §3.3, kvbm_logical.md §4).

Depth 4, 4-bit saturating counters, ``max(1, capacity // 4)`` 64-bit words of 16 counters each,
all counters halved after ``10 * capacity`` successful increments. Counters live in a
``bytearray`` (one byte per 4-bit counter) so halving is one ``translate`` call.

Hash functions: ``xxh3_64(le_u64(block), seed=i)`` for i = 0..3. Upstream hashes the 16-byte
PLH with custom secrets; SPEC §3.3 says bit parity is not required, so we document ours instead.
Word index = ``h % width``, nibble = ``h & 15``, as upstream.

A key's four counter positions are hashed once and memoised per sketch width (``_MEMOS``, module
level: they are a pure function of the key and the width, so every sketch and clone may share
them), so a registration, a hit and a release of the same block cost one hashing, not three.
A memo is dropped when it outgrows ``MEMO_LIMIT``.
"""

from __future__ import annotations

import xxhash

_HALVE = bytes(i >> 1 for i in range(256))
_ODD = bytes(i & 1 for i in range(256))
DEPTH = 4
MAX_COUNT = 15
MEMO_LIMIT = 1 << 16
_MEMOS: dict[int, dict[int, tuple[int, int, int, int]]] = {}
_xxh = xxhash.xxh3_64_intdigest  # (data, seed)  # width -> key -> counter indices


class TinyLfu:
    def __init__(self, capacity: int) -> None:
        self.width = max(1, capacity // 4)
        self.sample_size = 10 * capacity
        self.size = 0
        self.counters = bytearray(self.width * 16)

    def _indices(self, key: int) -> tuple[int, int, int, int]:
        memo = _MEMOS.get(self.width)
        got = memo.get(key) if memo is not None else None
        if got is not None:
            return got
        data = key.to_bytes(8, "little")
        width = self.width
        h0, h1, h2, h3 = _xxh(data, 0), _xxh(data, 1), _xxh(data, 2), _xxh(data, 3)
        got = (
            (h0 % width) * 16 + (h0 & 15),
            (h1 % width) * 16 + (h1 & 15),
            (h2 % width) * 16 + (h2 & 15),
            (h3 % width) * 16 + (h3 & 15),
        )
        if memo is None or len(memo) >= MEMO_LIMIT:
            memo = _MEMOS[width] = {}
        memo[key] = got
        return got

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
        a, b, c, d = self._indices(key)
        return min(counters[a], counters[b], counters[c], counters[d])

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
