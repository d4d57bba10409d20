"""Append-only history shared by a manager and its clones: lineage records and router events.

Why: lineage records (id -> parent, position) and published events only ever grow, and they
grow with the session, not with the pool. Copying them into every session checkpoint made memory
and clone time O(history) per checkpoint. Instead every clone of a manager shares one *store*
and keeps a *watermark* ``n``: it sees the first ``n`` entries. Cloning is O(1), and restoring an
earlier state is just taking its watermark (entries past it become invisible, not deleted), so
checkpoints *ahead* of the cursor stay usable when the session steps back.

Replaying forward from an older watermark appends the same entries again (the engine is
deterministic), which the store recognises and keeps. A write that differs from the entry at the
writer's watermark means the history diverged (a command typed in the past): the store drops
every entry from there on and records the cut in ``cuts``. A clone whose watermark lies beyond a
cut made after it was taken no longer sees its own history; :meth:`intact` says so, and the
session drops such checkpoints.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")
Record = tuple[int | None, int]  # (parent, position)


class _Store(Generic[T]):
    __slots__ = ("items", "cuts")

    def __init__(self) -> None:
        self.items: list[T] = []
        self.cuts: list[int] = []  # positions where a diverging write truncated the store


class _LineageStore(_Store[int]):
    """Block ids in recording order, with each one's parent and position alongside (parallel
    lists: a tuple per record cost 64 bytes more, and a session records millions)."""

    __slots__ = ("parents", "positions")

    def __init__(self) -> None:
        super().__init__()
        self.parents: list[int | None] = []
        self.positions: list[int] = []


class _View:
    """The watermark bookkeeping shared by both logs."""

    __slots__ = ("n", "_seen")

    n: int
    _seen: int  # cuts already made when this view was taken

    def _cuts(self) -> list[int]:
        raise NotImplementedError

    def intact(self) -> bool:
        """False when a diverging write since this view was taken cut below its watermark."""
        cuts = self._cuts()
        return all(cut >= self.n for cut in cuts[self._seen :])


class EventHistory(_View, Generic[T]):
    """An append-only list seen up to a watermark (router events)."""

    __slots__ = ("_store",)

    def __init__(self) -> None:
        self._store: _Store[T] = _Store()
        self.n = 0
        self._seen = 0

    def _cuts(self) -> list[int]:
        return self._store.cuts

    def append(self, item: T) -> None:
        store, n = self._store, self.n
        items = store.items
        if n < len(items):
            if items[n] == item:  # replaying the same history: keep the stored entry
                self.n = n + 1
                return
            del items[n:]
            store.cuts.append(n)
        items.append(item)
        self.n = n + 1

    def extend(self, items: Sequence[T]) -> None:
        """`append` each item (at the head of the store, one C-level extend)."""
        store = self._store
        if self.n == len(store.items):
            store.items.extend(items)
            self.n += len(items)
            return
        for item in items:
            self.append(item)

    def items(self) -> list[T]:
        """The visible entries (the store itself when nothing is hidden: do not mutate)."""
        items = self._store.items
        return items if self.n == len(items) else items[: self.n]

    def __len__(self) -> int:
        return self.n

    def visible(self) -> list[T]:
        """What this holder sees (for exact state comparisons in tests)."""
        return self.items()[:]

    def clone(self) -> EventHistory[T]:
        twin: EventHistory[T] = EventHistory.__new__(EventHistory)
        twin._store, twin.n, twin._seen = self._store, self.n, len(self._store.cuts)
        return twin


class LineageHistory(_View, Mapping[int, Record]):
    """An append-only mapping block -> (parent, position) seen up to a watermark.

    ``index`` maps every stored block to its ``seq``, where ``parents[seq]`` and
    ``positions[seq]`` hold its record; an entry is visible when ``seq < n``. The manager's hot
    loops read ``index`` and compare ``seq`` directly.
    """

    __slots__ = ("index", "_store")

    def __init__(self) -> None:
        self._store = _LineageStore()
        self.index: dict[int, int] = {}
        self.n = 0
        self._seen = 0

    def _cuts(self) -> list[int]:
        return self._store.cuts

    def add(self, block: int, parent: int | None, position: int) -> None:
        """Record a block not visible yet (the caller checked) at the watermark."""
        store, n, index = self._store, self.n, self.index
        order = store.items
        if n < len(order):
            if order[n] == block and store.parents[n] == parent and store.positions[n] == position:
                self.n = n + 1  # replaying the same history
                return
            for gone in order[n:]:
                del index[gone]
            del order[n:], store.parents[n:], store.positions[n:]
            store.cuts.append(n)
        index[block] = n
        order.append(block)
        store.parents.append(parent)
        store.positions.append(position)
        self.n = n + 1

    def setdefault(self, block: int, record: Record) -> Record:
        """Record ``block`` unless it is visible already (a dict's setdefault): its record."""
        got = self.get(block)
        if got is None:
            self.add(block, record[0], record[1])
            return record
        return got

    def add_new(
        self, blocks: Sequence[int], parents: Sequence[int | None], positions: Sequence[int]
    ) -> None:
        """Record several blocks, none visible yet, in order, with their parents and positions
        (parallel sequences: at the head of the store they are appended by C-level extends)."""
        store, n = self._store, self.n
        if n != len(store.items):
            for block, parent, position in zip(blocks, parents, positions, strict=True):
                self.add(block, parent, position)
            return
        store.items.extend(blocks)
        store.parents.extend(parents)
        store.positions.extend(positions)
        index = self.index
        for block in blocks:  # a plain loop: dict.update(zip(...)) measured 2x slower here
            index[block] = n
            n += 1
        self.n = n

    def visible(self) -> list[tuple[int, int | None, int]]:
        """What this holder sees, in recording order (for exact state comparisons in tests)."""
        store, n = self._store, self.n
        return list(zip(store.items[:n], store.parents[:n], store.positions[:n], strict=True))

    @property
    def parents(self) -> list[int | None]:
        """Parent of the block recorded at each seq (read only; see ``index``)."""
        return self._store.parents

    @property
    def positions(self) -> list[int]:
        """Position of the block recorded at each seq (read only; see ``index``)."""
        return self._store.positions

    def at_head(self) -> bool:
        """True when every stored entry is visible (no seq check needed)."""
        return self.n == len(self._store.items)

    def clone(self) -> LineageHistory:
        twin = LineageHistory.__new__(LineageHistory)
        twin._store, twin.index, twin.n = self._store, self.index, self.n
        twin._seen = len(self._store.cuts)
        return twin

    # -- Mapping --------------------------------------------------------------------------

    def __getitem__(self, block: int) -> Record:
        seq = self.index.get(block)
        if seq is None or seq >= self.n:
            raise KeyError(block)
        return self._store.parents[seq], self._store.positions[seq]

    def get(self, block: int, default: object = None) -> Record | None:  # type: ignore[override]
        seq = self.index.get(block)
        if seq is None or seq >= self.n:
            return default  # type: ignore[return-value]
        return self._store.parents[seq], self._store.positions[seq]

    def __contains__(self, block: object) -> bool:
        seq = self.index.get(block)  # type: ignore[call-overload]
        return seq is not None and seq < self.n

    def __iter__(self) -> Iterator[int]:
        order = self._store.items
        return iter(order if self.n == len(order) else order[: self.n])

    def __len__(self) -> int:
        return self.n
