"""Small drivers and helpers shared by the tests: ids stay ints, `~name` strings are partials."""

from __future__ import annotations

from typing import Any

from kvtui.sim import Deref, KvManager, Partial, Promote, RouterEvent, Use


def ref(entry: int | str) -> int | Partial:
    if isinstance(entry, str):
        return Partial(entry.removeprefix("~"))
    return entry


class Driver:
    """A manager plus a cursor into its event list, so tests can drain new events."""

    def __init__(self, capacity: int, eviction: str = "lineage", block_size: int = 16) -> None:
        self.mgr = KvManager(capacity, block_size=block_size, eviction=eviction)
        self.seen = 0

    def use(self, *entries: int | str, parent: int | None = None) -> int:
        return self.mgr.use(Use(tuple(ref(e) for e in entries), parent)).returned

    def deref(self, *entries: int | str) -> None:
        self.mgr.deref(Deref(tuple(ref(e) for e in entries)))

    def promote(self, partial: str, block: int, parent: int | None = None) -> None:
        self.mgr.promote(Promote(partial.removeprefix("~"), block, parent))

    def drain(self) -> list[RouterEvent]:
        new = self.mgr.events[self.seen :]
        self.seen = len(self.mgr.events)
        return new


def stored(event: RouterEvent) -> tuple[list[int], int | None]:
    assert event.kind == "stored", event
    return list(event.blocks), event.parent_hash


def removed(event: RouterEvent) -> list[int]:
    assert event.kind == "removed", event
    return list(event.blocks)


def session_requests(session: Any) -> dict[str, Any]:
    """A session's request table, comparable across steps: each request's state, tokens,
    allocated tokens and blocks (read from ``session.world``, which a rebuild replaces)."""
    return {
        name: (r.state, list(r.seq.tokens), r.seq.num_allocated_tokens, list(r.seq.unique_blocks))
        for name, r in session.world.requests.requests.items()
    }
