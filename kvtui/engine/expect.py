"""`expect` assertions: scripts and presets prove what their notes claim.

"The previous command" is the last command applied before the `expect` line; before any
command there is none, and only state expectations (inactive, active, partials, pools, clock)
make sense.
"""

from __future__ import annotations

from kvtui.engine.commands import ExpectCommand
from kvtui.engine.events import DEVICE
from kvtui.engine.manager import KvManager, MoveResult


class ExpectFailure(Exception):
    """An expectation that does not hold; the message says what was seen instead."""


def _ids(blocks: list[int] | tuple[int, ...]) -> str:
    return "[" + " ".join(map(str, blocks)) + "]"


def check(expect: ExpectCommand, mgr: KvManager, last: MoveResult | None) -> None:
    """Raise ExpectFailure unless `expect` holds now."""
    if expect.what in ("returned", "stored", "removed", "warnings"):
        if last is None:
            raise ExpectFailure(f"'{expect.text}' needs a command before it")
        _check_result(expect, last)
    else:
        _STATE_CHECKS[expect.what](expect, mgr)


def _check_inactive(expect: ExpectCommand, mgr: KvManager) -> None:
    seen = mgr.eviction_order()
    if list(expect.blocks) != seen:
        raise ExpectFailure(f"expected eviction order {_ids(expect.blocks)}, got {_ids(seen)}")


def _check_active(expect: ExpectCommand, mgr: KvManager) -> None:
    want, got = dict(expect.refs), mgr.active()
    if want != got:
        raise ExpectFailure(f"expected active {_refs(want)}, got {_refs(got)}")


def _check_partials(expect: ExpectCommand, mgr: KvManager) -> None:
    want, got = sorted(expect.names), sorted(mgr.partials)
    if want != got:
        raise ExpectFailure(f"expected partials {_names(want)}, got {_names(got)}")


def _check_pools(expect: ExpectCommand, mgr: KvManager) -> None:
    counts = {
        "reset": mgr.num_reset,
        "inactive": mgr.num_inactive_blocks,
        "active": mgr.num_active_blocks,
    }
    for key, value in expect.counts:
        if counts[key] != value:
            raise ExpectFailure(f"expected {key}={value}, got {key}={counts[key]}")


def _check_clock(expect: ExpectCommand, mgr: KvManager) -> None:
    want = expect.number or 0.0
    if abs(mgr.clock_ms - want) > 1e-9 * max(1.0, want):
        raise ExpectFailure(f"expected clock {want:g} ms, got {mgr.clock_ms:g} ms")


_STATE_CHECKS = {
    "inactive": _check_inactive,
    "active": _check_active,
    "partials": _check_partials,
    "pools": _check_pools,
    "clock": _check_clock,
}


def _check_result(expect: ExpectCommand, last: MoveResult) -> None:
    if expect.what == "returned":
        if last.returned != expect.number:
            raise ExpectFailure(f"expected returned {expect.number:g}, got {last.returned}")
    elif expect.what == "warnings":
        if len(last.warnings) != expect.number:
            raise ExpectFailure(f"expected {expect.number:g} warning(s), got {len(last.warnings)}")
    elif expect.what == "removed":
        seen = [b for e in last.events if e.tier == DEVICE and e.kind == "removed" for b in e.blocks]
        if list(expect.blocks) != seen:
            raise ExpectFailure(f"expected removed {_ids(expect.blocks)}, got {_ids(seen)}")
    else:
        _check_stored(expect, last)


def _check_stored(expect: ExpectCommand, last: MoveResult) -> None:
    events = [e for e in last.events if e.tier == DEVICE and e.kind == "stored"]
    seen = [b for e in events for b in e.blocks]
    if list(expect.blocks) != seen:
        raise ExpectFailure(f"expected stored {_ids(expect.blocks)}, got {_ids(seen)}")
    if expect.parent_given and events and events[0].parent_hash != expect.parent:
        want = "none" if expect.parent is None else expect.parent
        got = "none" if events[0].parent_hash is None else events[0].parent_hash
        raise ExpectFailure(f"expected stored parent={want}, got parent={got}")


def _names(names: list[str]) -> str:
    return "[" + " ".join("~" + n for n in names) + "]"


def _refs(refs: dict[int, int]) -> str:
    return "[" + " ".join(f"{b}:{n}" for b, n in sorted(refs.items())) + "]"
