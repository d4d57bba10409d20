"""The session's kept step results, packed: what a step did, for every step, in little memory.

A session keeps every step's MoveResult (the timeline, the report and the TUI read them), and a
long session has 100,000 of them. As objects they cost ~420 bytes for a plain `use` (the result,
its events list and its stored list) and ~110 for a `deref` that returned 1 and did nothing
else. Packed:

* a result that only returned a number is kept as that int (small ints are shared: 0 bytes);
* a plain G1 result (events, stored and evicted ids; no warnings, swap-in or expanded moves) is
  one flat tuple ``(returned, stored, evicted, *events)``, whose stored/evicted tuple is the very
  ``blocks`` tuple of the event that announced them when it is equal (so ~120 bytes for a `use`);
* anything else (warnings, G2 transfers, request and scheduler results) is kept as it is.

Reading one back builds an equal, slimmed MoveResult (a fresh object on each read; nothing
mutates a kept result).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any, overload

from kvtui.sim.events import RouterEvent
from kvtui.sim.manager import MoveResult

Packed = int | tuple[Any, ...] | MoveResult
_NONE: list[Any] = MoveResult(0).slim().events  # the read-only empty list slimmed results share


def pack(result: MoveResult) -> Packed:
    """The packed form of a final (slimmed or not) result."""
    if type(result) is not MoveResult or result.warnings or result.onboarding or result.expanded:
        return result  # a subclass (scheduler passes), or more than a plain G1 move says
    if result.blocked:
        return result
    events = result.events
    if not events and not result.stored and not result.evicted:
        return result.returned
    return (result.returned, _shared(result.stored, events), _shared(result.evicted, events), *events)


def unpack(packed: Packed) -> MoveResult:
    """A MoveResult equal to the one packed (slimmed: its empty lists are the shared one)."""
    kind = type(packed)
    if kind is int:
        return MoveResult(packed, _NONE, _NONE, _NONE, _NONE, False, _NONE, _NONE)  # type: ignore[arg-type]
    if kind is tuple:
        returned, stored, evicted, *events = packed  # type: ignore[misc]
        return MoveResult(
            returned, events, list(stored) if stored else _NONE, list(evicted) if evicted else _NONE,
            _NONE, False, _NONE, _NONE,
        )
    return packed  # type: ignore[return-value]  # kept whole


def _shared(blocks: list[int], events: list[RouterEvent]) -> tuple[int, ...]:
    """``blocks`` as a tuple: an event's own ``blocks`` when equal (nothing new is kept)."""
    if not blocks:
        return ()
    for event in events:
        if len(event.blocks) == len(blocks) and event.blocks == tuple(blocks):
            return event.blocks
    return tuple(blocks)


class ResultLog(Sequence[MoveResult]):
    """A list of step results that keeps them packed (see the module docstring).

    It offers what the session uses of a list: append, item assignment, ``del log[i:]``,
    indexing and slicing (which unpack), and equality with any sequence of results.
    """

    __slots__ = ("_items",)

    def __init__(self, results: Iterable[MoveResult] = ()) -> None:
        self._items: list[Packed] = [pack(result) for result in results]

    def append(self, result: MoveResult) -> None:
        self._items.append(pack(result))

    def __setitem__(self, index: int, result: MoveResult) -> None:
        self._items[index] = pack(result)

    def __delitem__(self, index: int | slice) -> None:
        del self._items[index]

    def __len__(self) -> int:
        return len(self._items)

    @overload
    def __getitem__(self, index: int) -> MoveResult: ...

    @overload
    def __getitem__(self, index: slice) -> list[MoveResult]: ...

    def __getitem__(self, index: int | slice) -> MoveResult | list[MoveResult]:
        if isinstance(index, slice):
            return [unpack(packed) for packed in self._items[index]]
        return unpack(self._items[index])

    def event_pairs(self, stop: int) -> list[tuple[int, RouterEvent]]:
        """(step number, event) for every event of steps 1..stop, in order, read straight from
        the packed entries (unpacking each result would cost ~1 µs a step; the TUI asks for a
        whole history after every jump)."""
        pairs: list[tuple[int, RouterEvent]] = []
        for number, packed in enumerate(self._items[:stop], 1):
            kind = type(packed)
            if kind is tuple:
                pairs += [(number, event) for event in packed[3:]]  # type: ignore[index]
            elif kind is not int:
                pairs += [(number, event) for event in packed.events]  # type: ignore[union-attr]
        return pairs

    def __iter__(self) -> Iterator[MoveResult]:
        return map(unpack, self._items)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence) or isinstance(other, str):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))

    __hash__ = None  # type: ignore[assignment]  # mutable, like a list

    def __repr__(self) -> str:
        return f"ResultLog({list(self)!r})"
