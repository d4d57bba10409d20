"""Router events (SPEC §5) and the router's view rebuilt from them."""

from __future__ import annotations

from typing import Any, NamedTuple

DEVICE = "device"
HOST_PINNED = "host_pinned"


class RouterEvent(NamedTuple):
    """One `stored` or `removed` announcement, as a KV-aware router would receive it.

    A named tuple (immutable, compared by value) because one is built per command: it constructs
    several times faster than a frozen dataclass.
    """

    event_id: int
    dp_rank: int
    tier: str  # "device" (G1) | "host_pinned" (G2)
    kind: str  # "stored" | "removed"
    blocks: tuple[int, ...]
    parent_hash: int | None = None
    token_hashes: tuple[int, ...] = ()

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "event_id": self.event_id,
            "dp_rank": self.dp_rank,
            "tier": self.tier,
            "kind": self.kind,
        }
        if self.kind == "stored":
            out["parent_hash"] = self.parent_hash
            out["blocks"] = list(self.blocks)
            out["tokens_hashes"] = list(self.token_hashes)
        else:
            out["blocks"] = list(self.blocks)
        return out


def router_view(events: list[RouterEvent], tier: str = DEVICE) -> set[int]:
    """Apply all events of `tier` in order: the blocks a router believes are resident."""
    seen: set[int] = set()
    for event in events:
        if event.tier != tier:
            continue
        if event.kind == "stored":
            seen.update(event.blocks)
        else:
            seen.difference_update(event.blocks)
    return seen
