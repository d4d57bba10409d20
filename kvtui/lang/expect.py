"""`expect` assertions: scripts and presets prove what their notes claim.

"The previous command" is the last command applied before the `expect` line; before any
command there is none, and only state expectations (inactive, active, partials, pools, clock)
make sense.

G2 forms: `host_stored` / `host_removed` check the previous command's `host_pinned` events;
`g2`, `pinned`, `transfers` and `eta` check the G2 state now and fail when G2 is not enabled.
"""

from __future__ import annotations

from kvtui.lang.request_expect import REQUEST_EXPECTS, request_expect_problem
from kvtui.lang.syntax import ExpectCommand, fmt_ms
from kvtui.sim.events import DEVICE, HOST_PINNED
from kvtui.sim.manager import KvManager, MoveResult
from kvtui.sim.offload import G2View
from kvtui.workload.world import World


class ExpectFailure(Exception):
    """An expectation that does not hold; the message says what was seen instead."""


def _ids(blocks: list[int] | tuple[int, ...]) -> str:
    return "[" + " ".join(map(str, blocks)) + "]"


def check(expect: ExpectCommand, world: World, last: MoveResult | None) -> None:
    """Raise ExpectFailure unless `expect` holds now."""
    mgr = world.manager
    if expect.what in REQUEST_EXPECTS:  # request forms: kvtui.lang.request_expect
        problem = request_expect_problem(expect, world, last)
        if problem is not None:
            raise ExpectFailure(problem)
        return
    if expect.what in _RESULT_CHECKS:
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
        "quarantined": mgr.num_quarantined,
        "reserved": mgr.num_reserved,
    }
    for key, value in expect.counts:
        if counts[key] != value:
            raise ExpectFailure(f"expected {key}={value}, got {key}={counts[key]}")


def _check_clock(expect: ExpectCommand, mgr: KvManager) -> None:
    want = expect.number or 0.0
    if abs(mgr.clock_ms - want) > 1e-9 * max(1.0, want):
        raise ExpectFailure(f"expected clock {want:g} ms, got {mgr.clock_ms:g} ms")


def _g2_view(expect: ExpectCommand, mgr: KvManager) -> G2View:
    view = mgr.g2_view()
    if view is None:
        raise ExpectFailure(f"'{expect.text}' needs the G2 tier (an offload section in the config)")
    return view


def _check_g2(expect: ExpectCommand, mgr: KvManager) -> None:
    seen = list(_g2_view(expect, mgr).evictable)
    if list(expect.blocks) != seen:
        raise ExpectFailure(f"expected G2 eviction order {_ids(expect.blocks)}, got {_ids(seen)}")


def _check_pinned(expect: ExpectCommand, mgr: KvManager) -> None:
    want, got = sorted(expect.blocks), sorted(_g2_view(expect, mgr).pinned)
    if want != got:
        raise ExpectFailure(f"expected pinned {_ids(want)}, got {_ids(got)}")


def _check_transfers(expect: ExpectCommand, mgr: KvManager) -> None:
    got = len(_g2_view(expect, mgr).transfers)
    if got != expect.number:
        raise ExpectFailure(f"expected {expect.number:g} transfer(s) in flight, got {got}")


def _check_eta(expect: ExpectCommand, mgr: KvManager) -> None:
    if not mgr.offload_enabled:
        _g2_view(expect, mgr)  # raises the "needs the G2 tier" failure
    want, got = expect.number or 0.0, mgr.earliest_deadline()
    if got is None:
        raise ExpectFailure(f"expected eta {fmt_ms(want)} ms, but no transfer is in flight")
    if abs(got - want) > 1e-9 * max(1.0, want):
        raise ExpectFailure(f"expected eta {fmt_ms(want)} ms, got {fmt_ms(got)} ms")


_STATE_CHECKS = {
    "inactive": _check_inactive,
    "active": _check_active,
    "partials": _check_partials,
    "pools": _check_pools,
    "clock": _check_clock,
    "g2": _check_g2,
    "pinned": _check_pinned,
    "transfers": _check_transfers,
    "eta": _check_eta,
}
_RESULT_CHECKS = ("returned", "stored", "removed", "warnings", "host_stored", "host_removed")


def _check_result(expect: ExpectCommand, last: MoveResult) -> None:
    if expect.what == "returned":
        if last.returned != expect.number:
            raise ExpectFailure(f"expected returned {expect.number:g}, got {last.returned}")
    elif expect.what == "warnings":
        if len(last.warnings) != expect.number:
            raise ExpectFailure(f"expected {expect.number:g} warning(s), got {len(last.warnings)}")
    elif expect.what in ("removed", "host_stored", "host_removed"):
        tier = DEVICE if expect.what == "removed" else HOST_PINNED
        kind = "stored" if expect.what == "host_stored" else "removed"
        seen = [b for e in last.events if e.tier == tier and e.kind == kind for b in e.blocks]
        if list(expect.blocks) != seen:
            raise ExpectFailure(f"expected {expect.what} {_ids(expect.blocks)}, got {_ids(seen)}")
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
