"""TinyLFU count-min sketch used by `multi_lru` (SPEC §3.3, kvbm_logical.md §4).

Depth 4, 4-bit saturating counters, ``max(1, capacity // 4)`` 64-bit words of 16 counters each,
all counters halved after ``10 * capacity`` successful increments. Counters live in a
``bytearray`` (one byte per 4-bit counter) so halving is one ``translate`` call.

Hash functions: ``xxh3_64(le_u64(block), seed=i)`` for i = 0..3. Upstream hashes the 16-byte
PLH with custom secrets; SPEC §3.3 says bit parity is not required, so we document ours instead.
Word index = ``h % width``, nibble = ``h & 15``, as upstream.

A key's four counter positions are hashed once and memoised per sketch width (``_HASHERS``,
module level: they are a pure function of the key and the width, so every sketch and clone may
share them), so a registration, a hit and a release of the same block cost one hashing, not
three. A memo is emptied (in place: sketches hold its ``get``) when it outgrows ``MEMO_LIMIT``.

Speed: `increment` runs once per registration and inactive hit, `multi_lru`'s insert reads the
counters once per released block, so both are written out flat — one frame, the memo's bound
``get`` on the instance, the four counters unrolled (a repeated index is still bumped twice).
Every registration hashes a new key, so the hashing avoids big-int sums (`_make_hasher`).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from math import lcm

import xxhash

_HALVE = bytes(i >> 1 for i in range(256))
_ODD = bytes(i & 1 for i in range(256))
DEPTH = 4
MAX_COUNT = 15
MEMO_LIMIT = 1 << 16
TABLE_LIMIT = 1 << 16  # largest index table (ints) kept per width; wider sketches do the sums
Indices = tuple[int, int, int, int]
Hasher = Callable[[int], Indices]
_HASHERS: dict[int, tuple[dict[int, Indices], Hasher]] = {}  # width -> (memo, hasher)
_xxh = xxhash.xxh3_64_intdigest  # (data, seed)


def hasher_for(width: int) -> tuple[dict[int, Indices], Hasher]:
    """The memo of ``width`` (key -> counter indices) and the function that hashes a key
    into it (and returns its indices), shared by every sketch of that width."""
    got = _HASHERS.get(width)
    if got is None:
        memo: dict[int, Indices] = {}
        got = _HASHERS[width] = memo, _make_hasher(width, memo)
    return got


def _make_hasher(width: int, memo: dict[int, Indices]) -> Hasher:
    # A counter index is (h % width) * 16 + (h & 15). Both parts are functions of h % m for
    # m = lcm(width, 16), so one big-int `%` and a list subscript give it: the four sums on
    # 64-bit ints cost more than the four xxh3 calls (each new block is hashed once).
    modulus = lcm(width, 16)
    if modulus > TABLE_LIMIT:
        return partial(_hash_by_sums, width, memo)
    table = [(x % width) * 16 + (x & 15) for x in range(modulus)]

    def hashed(key: int) -> Indices:
        data = key.to_bytes(8, "little")
        got = (
            table[_xxh(data, 0) % modulus],
            table[_xxh(data, 1) % modulus],
            table[_xxh(data, 2) % modulus],
            table[_xxh(data, 3) % modulus],
        )
        if len(memo) >= MEMO_LIMIT:
            memo.clear()  # in place: sketches hold this dict's `get`
        memo[key] = got
        return got

    return hashed


def _hash_by_sums(width: int, memo: dict[int, Indices], key: int) -> Indices:
    """`_make_hasher`'s function for a sketch too wide for an index table."""
    data = key.to_bytes(8, "little")
    h0, h1, h2, h3 = _xxh(data, 0), _xxh(data, 1), _xxh(data, 2), _xxh(data, 3)
    got = (
        (h0 % width) * 16 + (h0 & 15),
        (h1 % width) * 16 + (h1 & 15),
        (h2 % width) * 16 + (h2 & 15),
        (h3 % width) * 16 + (h3 & 15),
    )
    if len(memo) >= MEMO_LIMIT:
        memo.clear()
    memo[key] = got
    return got


class TinyLfu:
    # memo_get: the shared memo's bound ``get``, hashed: its hasher (`hasher_for`). Functions,
    # not the dict itself, so kvtui.sim.pool.container_bytes does not count the module-wide
    # memo in every clone. multi_lru's insert reads them (and ``counters``) directly.
    memo_get: Callable[[int], Indices | None]
    hashed: Hasher

    def __init__(self, capacity: int) -> None:
        self.width = max(1, capacity // 4)
        self.sample_size = 10 * capacity
        self.size = 0
        self.counters = bytearray(self.width * 16)
        memo, self.hashed = hasher_for(self.width)
        self.memo_get = memo.get

    def _indices(self, key: int) -> Indices:
        got = self.memo_get(key)
        return got if got is not None else self.hashed(key)

    def increment(self, key: int) -> None:
        # _indices and the loop over the four counters, inlined (a registration or hit each).
        got = self.memo_get(key)
        a, b, c, d = got if got is not None else self.hashed(key)
        counters = self.counters
        moved = False
        if counters[a] < MAX_COUNT:  # each read after the previous write: a repeated index
            counters[a] += 1  # is bumped twice, as the loop did
            moved = True
        if counters[b] < MAX_COUNT:
            counters[b] += 1
            moved = True
        if counters[c] < MAX_COUNT:
            counters[c] += 1
            moved = True
        if counters[d] < MAX_COUNT:
            counters[d] += 1
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
        twin.memo_get, twin.hashed = self.memo_get, self.hashed
        return twin
