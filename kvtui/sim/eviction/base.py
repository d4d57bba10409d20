"""The contract every inactive-pool backend fulfils (SPEC §3).

The index holds *inactive* G1 blocks (registered, refcount 0) keyed by block id, each with its
slot. A hit takes an entry out (`remove`); allocation takes victims in policy order
(`pop_victim`). `order` must list exactly the victims repeated `pop_victim` calls would take
(SPEC §12.4) without changing anything.
"""

from __future__ import annotations

from typing import Protocol


class InactiveIndex(Protocol):
    name: str
    needs_parent: bool  # False: the backend ignores lineage (insert_all takes no parents)
    batch_inserts: bool  # True: a released chain is faster through one insert_all call

    def __len__(self) -> int: ...

    def __contains__(self, block: int) -> bool: ...

    def insert(self, block: int, slot: int, parent: int | None) -> None:
        """The block's last reference was released: it becomes evictable now."""

    def insert_all(
        self, blocks: list[int], slots: list[int], parents: list[int | None] | None
    ) -> None:
        """`insert` each block in order (``parents`` is None when ``needs_parent`` is False).

        Why in bulk: a deref releases a whole chain, and one call lets a backend do the work in
        C (lru) or at least without a method call per block."""

    def remove(self, block: int) -> int:
        """A hit reactivates the block: take it out and return its slot."""

    def discard(self, block: int) -> object:
        """`remove` when the caller needs no slot back (may be a bound C method)."""

    def pop_victim(self) -> tuple[int, int]:
        """Evict the next victim; return (block, slot). Only called when non-empty."""

    def pop_entry(self) -> tuple[int, object]:
        """`pop_victim` for a caller that knows the victim's slot: (block, anything); may be
        a bound C method. Raises IndexError or KeyError when empty."""

    def order(self, limit: int | None = None) -> list[int]:
        """The next victims in eviction order (at most `limit`), without mutating."""

    def touch(self, block: int) -> None:
        """A frequency touch (registration or inactive hit); only multi_lru uses it."""

    def describe(self, block: int) -> str:
        """Why the block sits where it does in the order (for the TUI)."""

    def clone(self) -> InactiveIndex:
        """An independent copy, for undo checkpoints."""
