"""TinyLFU count-min sketch used by `multi_lru` (SPEC §3.3, kvbm_logical.md §4).

Depth 4, 4-bit saturating counters, ``max(1, capacity // 4)`` 64-bit words of 16 counters each,
all counters halved after ``10 * capacity`` successful increments. Counters live in a
``bytearray`` (one byte per 4-bit counter) so halving is one ``translate`` call.

Hash functions: ``xxh3_64(le_u64(block), seed=i)`` for i = 0..3. Upstream hashes the 16-byte
PLH with custom secrets; SPEC §3.3 says bit parity is not required, so we document ours instead.
Word index = ``h % width``, nibble = ``h & 15``, as upstream.

Speed (the manager touches the sketch once per registration and inactive hit, and `multi_lru`
estimates once per released block):

* Touches are queued: ``pending.append`` is a C call, so a touch costs the manager no Python
  frame. The queue is counted, in order and with the same halvings, before anything reads the
  sketch (`flush`; `counters`, `size`, `estimate`, `clone` and `multi_lru`'s insert call it),
  so every observed state is the one counting each touch at once would give.
* A key's four counter positions are hashed once and memoised per sketch width (`HASHINGS`,
  module level: they are a pure function of the key and the width, so every sketch and clone
  shares them): a registration, a hit and a release of the same block cost one hashing. A
  memo is emptied when it holds ``MEMO_LIMIT`` keys.
* Every registration hashes a new key, so the hashing avoids big-int sums (`Hashing`), and
  the counters are unrolled (no loop, no ``min`` call).
"""

from __future__ import annotations

from array import array
from math import lcm
from struct import Struct

import xxhash

_HALVE = bytes(i >> 1 for i in range(256))
_ODD = bytes(i & 1 for i in range(256))
DEPTH = 4
MAX_COUNT = 15
MEMO_LIMIT = 1 << 16  # a memo is emptied when it holds this many keys
TABLE_LIMIT = 1 << 16  # largest index table kept per width; wider sketches do the sums
Indices = tuple[int, int, int, int]
_xxh = xxhash.xxh3_64_intdigest  # (data, seed)
_pack_u64 = Struct("<Q").pack  # key.to_bytes(8, "little"), a C call cheaper than the method


class Hashing:
    """The counter indices of keys in sketches ``width`` words wide, memoised (one per width,
    in `HASHINGS`: a sketch looks its own up by width rather than holding it, so neither
    kvtui.sim.pool.container_bytes nor a state walker counts the shared memo in every clone).

    * A counter index is ``(h % width) * 16 + (h & 15)``. Both parts are functions of ``h % m``
      for ``m = lcm(width, 16)``, so one big-int ``%`` and a subscript of a precomputed table
      give it: the sums on 64-bit ints cost more than the four xxh3 calls.
    * The memo maps a key to a row of four int columns, not to a tuple: a tuple per new block
      is a container the cyclic GC tracks, and 160,000 of them per 40,000 moves set off extra
      (full) collections that cost more than the row lookups (ints are not tracked).
    """

    __slots__ = ("width", "memo", "columns", "modulus", "table")

    def __init__(self, width: int) -> None:
        self.width = width
        self.memo: dict[int, int] = {}  # key -> its row in columns
        self.columns: tuple[list[int], list[int], list[int], list[int]] = ([], [], [], [])
        self.modulus = modulus = lcm(width, 16)
        self.table: tuple[int, ...] | None = None  # None: too wide, `hashed` does the sums
        if modulus <= TABLE_LIMIT:
            self.table = tuple((x % width) * 16 + (x & 15) for x in range(modulus))

    def indices(self, key: int) -> Indices:
        row = self.memo.get(key)
        if row is None:
            row = self.hashed(key)
        c0, c1, c2, c3 = self.columns
        return c0[row], c1[row], c2[row], c3[row]

    def clear(self) -> None:
        """Empty the memo, in place (flush and insert hold the columns)."""
        self.memo.clear()
        for column in self.columns:
            del column[:]

    def hashed(self, key: int) -> int:
        """Hash ``key`` into the memo (emptied first when full); its row. TinyLfu.flush has
        this inlined for table-sized widths."""
        data = key.to_bytes(8, "little")
        hashes = (_xxh(data, 0), _xxh(data, 1), _xxh(data, 2), _xxh(data, 3))
        table, modulus, width = self.table, self.modulus, self.width
        if len(self.memo) >= MEMO_LIMIT:
            self.clear()
        row = self.memo[key] = len(self.columns[0])
        for column, h in zip(self.columns, hashes, strict=True):
            column.append(table[h % modulus] if table is not None else (h % width) * 16 + (h & 15))
        return row


HASHINGS: dict[int, Hashing] = {}  # width -> its Hashing (TinyLfu() adds its width)


class TinyLfu:
    """The sketch. ``counters`` and ``size`` are properties that count the queued touches
    first; their values live in the instance dict under the same names, so anything that walks
    the instance's attributes (checkpoint sizing, tests' state snapshots) reads them through the
    properties too, and sees no difference between a queued and a counted touch."""

    # pending: touches not counted yet, in order (`flush`). An unsigned array: appending checks
    # the key is a u64 at once, as hashing it would, and neither checkpoint sizing
    # (kvtui.sim.pool.container_bytes) nor a state walker sees its items (a queue is no state).
    pending: array[int]

    def __init__(self, capacity: int) -> None:
        width = max(1, capacity // 4)
        if width not in HASHINGS:
            HASHINGS[width] = Hashing(width)
        self._set(width, 10 * capacity, bytearray(width * 16), 0)

    def _set(self, width: int, sample_size: int, counters: bytearray, size: int) -> None:
        self.width, self.sample_size, self.pending = width, sample_size, array("Q")
        self.__dict__.update(counters=counters, size=size)  # under the properties' names

    @property
    def counters(self) -> bytearray:
        if self.pending:
            self.flush()
        counters: bytearray = self.__dict__["counters"]
        return counters

    @property
    def size(self) -> int:
        """Moved increments since the last halving (halving when it reaches ``sample_size``)."""
        if self.pending:
            self.flush()
        size: int = self.__dict__["size"]
        return size

    @size.setter
    def size(self, value: int) -> None:
        if self.pending:
            self.flush()
        self.__dict__["size"] = value

    def _indices(self, key: int) -> Indices:
        return HASHINGS[self.width].indices(key)

    def increment(self, key: int) -> None:
        self.pending.append(key)
        self.flush()

    def flush(self) -> None:
        """Count the queued touches, in order (one frame for all; hashing inlined)."""
        pending = self.pending
        if not pending:
            return
        hashing, state = HASHINGS[self.width], self.__dict__
        if len(hashing.memo) + len(pending) > MEMO_LIMIT:  # checked once, not per new key
            hashing.clear()
        memo, table, modulus = hashing.memo, hashing.table, hashing.modulus
        c0, c1, c2, c3 = hashing.columns
        counters, size, sample_size = state["counters"], state["size"], self.sample_size
        for key in pending:
            if key in memo:  # `in` then a subscript beats a `get` call, hit or miss
                row = memo[key]
                a = c0[row]
                b = c1[row]
                c = c2[row]
                d = c3[row]
            elif table is None:
                row = hashing.hashed(key)
                a, b, c, d = c0[row], c1[row], c2[row], c3[row]
            else:  # Hashing.hashed, inlined: every registration is a new key
                data = _pack_u64(key)  # (the queue holds u64s only)
                a = table[_xxh(data, 0) % modulus]
                b = table[_xxh(data, 1) % modulus]
                c = table[_xxh(data, 2) % modulus]
                d = table[_xxh(data, 3) % modulus]
                memo[key] = len(c0)
                c0.append(a)  # (a method call, not a bound append: 3.11 specialises it)
                c1.append(b)
                c2.append(c)
                c3.append(d)
            moved = False
            count = counters[a]  # each read after the previous write: a repeated index is
            if count < MAX_COUNT:  # bumped twice, as a loop over the four would
                counters[a] = count + 1
                moved = True
            count = counters[b]
            if count < MAX_COUNT:
                counters[b] = count + 1
                moved = True
            count = counters[c]
            if count < MAX_COUNT:
                counters[c] = count + 1
                moved = True
            count = counters[d]
            if count < MAX_COUNT:
                counters[d] = count + 1
                moved = True
            if moved:
                size += 1
                if size >= sample_size:
                    size = _halve(counters, size)
        state["size"] = size
        del pending[:]

    def estimate(self, key: int) -> int:
        counters = self.counters
        a, b, c, d = self._indices(key)
        return min(counters[a], counters[b], counters[c], counters[d])

    def clone(self) -> TinyLfu:
        twin = TinyLfu.__new__(TinyLfu)
        twin._set(self.width, self.sample_size, bytearray(self.counters), self.size)
        return twin


def _halve(counters: bytearray, size: int) -> int:
    """Halve every counter in place (`flush` holds the bytearray); returns the new size."""
    # Upstream's formula (not Caffeine's): size = (size >> 1) - (odd >> 2).
    odd = counters.translate(_ODD).count(1)
    counters[:] = counters.translate(_HALVE)
    return (size >> 1) - (odd >> 2)
