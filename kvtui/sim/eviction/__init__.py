"""Inactive-pool eviction backends (SPEC §3)."""

from __future__ import annotations

from kvtui.sim.eviction.base import InactiveIndex
from kvtui.sim.eviction.lineage import LineageIndex
from kvtui.sim.eviction.lru import LruIndex
from kvtui.sim.eviction.multi_lru import MultiLruIndex

BACKENDS = ("lineage", "lru", "multi_lru")


def make_index(name: str, capacity: int) -> InactiveIndex:
    """Build the backend called `name` for a pool of `capacity` slots."""
    if name == "lineage":
        return LineageIndex()
    if name == "lru":
        return LruIndex()
    if name == "multi_lru":
        return MultiLruIndex(capacity)
    raise ValueError(f"unknown eviction backend {name!r} (choose from {', '.join(BACKENDS)})")


__all__ = ["BACKENDS", "InactiveIndex", "LineageIndex", "LruIndex", "MultiLruIndex", "make_index"]
