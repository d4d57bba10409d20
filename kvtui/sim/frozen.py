"""Compact copies of pool-sized tables, for long-lived checkpoints.

Why: a session keeps many checkpoints, and a live table (a dict of a few thousand entries)
costs 70–150 bytes an entry once its hash table and objects are
counted. A checkpoint is never changed, only copied back when the session goes back, so it can
hold the same data packed in arrays of machine integers (8 bytes a field), and rebuild the
dicts — in the same order, so the state is identical — when it is restored.

Integers that may not fit an array (ids up to 2^64 - 1, values that may be None) go in an
unsigned array or a plain list; a list holds references to the int objects the live tables
already have, so it costs 8 bytes an entry too.
"""

from __future__ import annotations

from array import array
from collections import OrderedDict, deque
from collections.abc import Iterable
from typing import Any

UNSIGNED = "Q"  # block ids and token hashes: 0..2^64-1
SIGNED = "q"  # slots, positions, refcounts, ticks, counts
NARROW = "i"  # SIGNED packs into this (4 bytes) when every value fits


class PackedDict:
    """A dict's keys and values, in order, packed; :meth:`thaw` rebuilds an equal dict."""

    __slots__ = ("keys", "values")

    def __init__(self, data: dict[Any, Any], key_code: str | None, value_code: str | None) -> None:
        self.keys = _pack(data.keys(), key_code)
        self.values = _pack(data.values(), value_code)

    def thaw(self) -> dict[Any, Any]:
        return dict(zip(self.keys, self.values, strict=True))

    def thaw_ordered(self) -> OrderedDict[Any, Any]:
        return OrderedDict(zip(self.keys, self.values, strict=True))

    def __len__(self) -> int:
        return len(self.keys)

    @property
    def nbytes(self) -> int:
        return sum(_nbytes(part) for part in (self.keys, self.values))


def _pack(items: Iterable[Any], code: str | None) -> array[int] | list[Any]:
    values = list(items)
    if code is None:
        return values
    # Signed fields (slots, positions, refcounts, ticks) nearly always fit 4 bytes: smaller
    # checkpoints mean more of them in the byte budget, so shorter replays on a jump.
    for each in (NARROW, code) if code == SIGNED else (code,):
        try:
            return array(each, values)
        except OverflowError:  # out of this array's range: try the wider one
            continue
        except TypeError:  # not an int: keep references
            break
    return values


def _nbytes(part: array[int] | list[Any]) -> int:
    return part.itemsize * len(part) if isinstance(part, array) else 8 * len(part) + 56


def pack(values: Iterable[Any], code: str | None) -> array[int] | list[Any]:
    """Values packed in an array of `code` (a list when one does not fit)."""
    return _pack(values, code)


def pack_deque(values: deque[int]) -> array[int] | list[int]:
    return _pack(values, SIGNED)


def nbytes(*parts: Any) -> int:
    """Approximate bytes of packed parts (PackedDicts, arrays, lists)."""
    total = 0
    for part in parts:
        total += part.nbytes if isinstance(part, PackedDict) else _nbytes(part)
    return total
