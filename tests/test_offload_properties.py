"""SPEC §12 invariants on both tiers under random sessions with the G2 tier (SPEC §6).

A Hypothesis state machine drives a small manager (G1 capacity 1..6, G2 capacity 1..6, batch
size 1..3, 1 MB blocks on slow or infinite links, every G1 backend) with valid `use` (chains
that follow recorded lineage, plus fresh ids and partials), `deref`, `promote`, `tick MS`,
`tick next` and `swapin` (chains walking a known id's ancestry), and a few invalid commands
that must change nothing. After every command:

1. G1: reset + inactive + active = capacity, slots partitioned between free list, owners and
   held slots; quarantined slots are exactly the sources of in-flight copies, reserved slots
   exactly the destinations of in-flight swap-ins. G2: reset + inactive + pinned + in-flight
   = g2_blocks, partitioned likewise.
2. Refcounts equal the test's model of outstanding uses.
   A blocked Use or refused swap-in always evicted something (so a retry can progress).
3. The router view per tier equals the registered set (G2 publishes on state change, and with
   G2 a Use stops at its first eviction, so the §4.1 flaw cannot occur); and on a clone
   drained with `tick next` until nothing is pending, both views still equal the registered
   sets and nothing is held, pinned or in flight.
4. G1 `eviction_order()` equals the victims of repeated single-block Uses on a clone (each
   evicts at most one block, blocked or not), and G2's order equals its pool's victims.
"""

from __future__ import annotations

from collections import Counter
from itertools import count
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from kvtui.sim import CommandError, Deref, KvManager, MoveResult, Partial, Promote, Use, router_view
from kvtui.sim.config import OffloadConfig
from kvtui.sim.events import DEVICE, HOST_PINNED

MB = 1_000_000
NAMES = ("a", "b", "c")
DRAIN_BASE = 2**63  # ids used only on clones


def check_g1(mgr: KvManager, refs: Counter[int], partials: set[str]) -> None:
    pool, engine = mgr.pool, mgr.offload_engine
    assert engine is not None
    assert mgr.num_reset + mgr.num_inactive_blocks + mgr.num_active_blocks == mgr.capacity
    free, owned, held = set(pool.free), set(pool.owner), set(pool.held)
    assert len(free) == len(pool.free)
    assert not free & owned and not free & held and not owned & held
    assert free | owned | held == set(range(mgr.capacity))
    inactive = {b for b, info in mgr.blocks.items() if info.refs == 0}
    assert set(mgr.eviction_order()) == inactive and len(pool.index) == len(inactive)
    for block, info in mgr.blocks.items():
        assert pool.owner[info.slot] == block
    assert len(pool.owner) == len(mgr.blocks) + len(mgr.partials)
    sources = {v.slot for b in engine.batches.values() for v in b.blocks}
    # swap-ins on the link, and those landed but held for the scheduler to register
    destinations = {s for sw in [*engine.swapins.values(), *mgr.landed.values()] for s in sw.g1_slots}
    assert {s for s, why in pool.held.items() if why == "quarantined"} == sources
    assert {s for s, why in pool.held.items() if why == "reserved"} == destinations
    assert mgr.num_quarantined + mgr.num_reserved == len(held)
    assert mgr.active() == dict(+refs)
    assert set(mgr.partials) == partials
    assert mgr.num_active_block_refs == sum(refs.values()) + len(partials)


def check_g2(mgr: KvManager) -> None:
    engine = mgr.offload_engine
    assert engine is not None
    pool = engine.pool
    evictable = engine.eviction_order()
    assert len(pool.free) + len(evictable) + len(engine.pins) + len(engine.inflight) == engine.capacity
    assert set(evictable) | set(engine.pins) == set(engine.resident)
    assert not set(evictable) & set(engine.pins) and not set(engine.resident) & set(engine.inflight)
    slots = [r.slot for r in engine.resident.values()]
    slots += [s for b in engine.batches.values() for s in b.g2_slots]
    assert sorted(slots + list(pool.free)) == list(range(engine.capacity))
    assert {pool.owner[r.slot] for r in engine.resident.values()} == set(engine.resident)
    assert set(engine.inflight) == {v.block for b in engine.batches.values() for v in b.blocks}
    pinned = Counter(b for sw in [*engine.swapins.values(), *mgr.landed.values()] for b in sw.blocks)
    assert engine.pins == dict(pinned)


def check_views(mgr: KvManager) -> None:
    engine = mgr.offload_engine
    assert engine is not None
    assert [e.event_id for e in mgr.events] == list(range(len(mgr.events)))
    assert router_view(mgr.events, DEVICE) == set(mgr.blocks)
    assert router_view(mgr.events, HOST_PINNED) == set(engine.resident)
    report = mgr.g2()
    assert report is not None and set(report["resident"]) == set(engine.resident)


def g1_victims(mgr: KvManager) -> list[int]:
    twin, fresh, victims = mgr.clone(), count(DRAIN_BASE), []
    while twin.num_inactive_blocks:
        got = twin.use(Use((next(fresh),)))
        assert len(got.evicted) == (0 if got.returned else 1), got
        victims.extend(got.evicted)
    return victims


def g2_victims(mgr: KvManager) -> list[int]:
    engine = mgr.clone().offload_engine
    assert engine is not None
    victims: list[int] = []
    while len(engine.pool.index):
        engine.pool.free.clear()
        got = engine.pool.allocate(1)
        assert got is not None
        victims.extend(got[1])
    return victims


class OffloadMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.mgr = KvManager(1)
        self.refs: Counter[int] = Counter()
        self.partials: set[str] = set()
        self.fresh = count()

    @initialize(
        capacity=st.integers(1, 6),
        g2_blocks=st.integers(1, 6),
        batch_size=st.integers(1, 3),
        offload_gbps=st.sampled_from([1.0, 0.5, 2.0, 0.0]),
        onboard_gbps=st.sampled_from([1.0, 0.5, 0.0]),
        eviction=st.sampled_from(["lineage", "lru", "multi_lru"]),
    )
    def setup(self, capacity: int, g2_blocks: int, batch_size: int, offload_gbps: float,
              onboard_gbps: float, eviction: str) -> None:
        offload = OffloadConfig(g2_blocks, MB, offload_gbps, onboard_gbps, batch_size)
        self.mgr = KvManager(capacity, 16, eviction, offload=offload)

    # -- generators -----------------------------------------------------------------------

    def _children(self) -> dict[int | None, list[int]]:
        kids: dict[int | None, list[int]] = {}
        for block, (parent, _) in sorted(self.mgr.lineage.items()):
            kids.setdefault(parent, []).append(block)
        return kids

    def _chain(self, data: Any, length: int) -> list[int]:
        """A chain valid under recorded lineage: known children or fresh ids."""
        kids = self._children()
        chain: list[int] = []
        prev: int | None = None
        known = sorted(self.mgr.lineage)
        if known and data.draw(st.booleans()):
            prev = data.draw(st.sampled_from(known))
            chain.append(prev)
        while len(chain) < length:
            options = [k for k in kids.get(prev, []) if k not in chain] if chain or prev else []
            if options and data.draw(st.booleans()):
                prev = data.draw(st.sampled_from(options))
            else:
                prev = next(self.fresh)
            chain.append(prev)
        return chain

    def _ancestry(self, block: int) -> list[int]:
        out = [block]
        while (parent := self.mgr.lineage[out[-1]][0]) is not None:
            out.append(parent)
        return out[::-1]

    def _apply(self, move: Use | Deref | Promote) -> MoveResult:
        result = self.mgr.apply(move)
        assert result.warnings == []  # with G2, a Use stops at its first eviction
        return result

    # -- rules ----------------------------------------------------------------------------

    @rule(data=st.data(), length=st.integers(1, 4))
    def use(self, data: Any, length: int) -> None:
        entries: list[int | Partial] = [*self._chain(data, length)]
        free_names = [n for n in NAMES if n not in self.partials]
        if free_names and data.draw(st.booleans()):
            entries.insert(data.draw(st.integers(0, len(entries))), Partial(data.draw(
                st.sampled_from(free_names))))
        result = self._apply(Use(tuple(entries)))
        for entry in entries[: result.returned]:
            if isinstance(entry, Partial):
                self.partials.add(entry.name)
            else:
                self.refs[entry] += 1
        if result.returned < len(entries):
            assert result.blocked or self.mgr.num_reset == 0
        assert result.evicted if result.blocked else result.returned == len(entries) or (
            self.mgr.num_inactive_blocks == 0 and self.mgr.num_reset == 0)

    @rule(data=st.data())
    def deref(self, data: Any) -> None:
        held: list[int | Partial] = [*sorted(self.refs.elements())]
        held += [Partial(n) for n in sorted(self.partials)]
        if not held:
            return
        picked = data.draw(st.lists(st.sampled_from(range(len(held))), min_size=1, unique=True))
        entries = [held[i] for i in picked]
        self._apply(Deref(tuple(entries)))
        for entry in entries:
            if isinstance(entry, Partial):
                self.partials.remove(entry.name)
            else:
                self.refs[entry] -= 1

    @rule(data=st.data())
    def promote(self, data: Any) -> None:
        if not self.partials:
            return
        name = data.draw(st.sampled_from(sorted(self.partials)))
        block = data.draw(st.sampled_from(sorted(set(self.mgr.lineage)) + [next(self.fresh)]))
        self._apply(Promote(name, block))
        self.partials.remove(name)
        self.refs[block] += 1

    @rule(ms=st.sampled_from([0.1, 0.25, 0.5, 1.0, 2.5]))
    def tick(self, ms: float) -> None:
        self.mgr.tick(ms)

    @rule()
    def tick_next(self) -> None:
        deadline = self.mgr.earliest_deadline()
        if deadline is None:
            try:
                self.mgr.tick(None)
            except CommandError:
                return
            raise AssertionError("tick next with nothing pending must fail")
        self.mgr.tick(None)
        assert self.mgr.clock_ms == deadline

    @rule(data=st.data())
    def swapin(self, data: Any) -> None:
        engine = self.mgr.offload_engine
        assert engine is not None
        known = sorted(self.mgr.lineage)
        if not known:
            return
        pool = sorted(engine.resident) if engine.resident and data.draw(st.booleans()) else known
        chain = self._ancestry(data.draw(st.sampled_from(pool)))
        chain = chain[data.draw(st.integers(0, len(chain) - 1)) :]
        before = self.mgr.num_reserved
        result = self.mgr.swapin(tuple(chain))
        assert result.returned == 1
        assert self.mgr.num_reserved == before + len(result.onboarding)
        assert not (result.blocked and result.onboarding)
        assert not result.blocked or result.evicted  # a refusal always frees room for a retry

    @rule(data=st.data())
    def invalid(self, data: Any) -> None:
        known = sorted(self.mgr.lineage) or [0]
        block = data.draw(st.sampled_from(known))
        move = data.draw(st.sampled_from(["dup", "empty", "tick0"]))
        before = self.mgr.dump()
        try:
            if move == "dup":
                self.mgr.swapin((block, block))
            elif move == "empty":
                self.mgr.swapin(())
            else:
                self.mgr.tick(0.0)
        except CommandError:
            pass
        else:
            raise AssertionError(f"{move} must be rejected")
        assert self.mgr.dump() == before

    # -- invariants -----------------------------------------------------------------------

    @invariant()
    def pools_and_views(self) -> None:
        check_g1(self.mgr, self.refs, self.partials)
        check_g2(self.mgr)
        check_views(self.mgr)

    @invariant()
    def eviction_orders(self) -> None:
        assert g1_victims(self.mgr) == self.mgr.eviction_order()
        engine = self.mgr.offload_engine
        assert engine is not None
        assert g2_victims(self.mgr) == engine.eviction_order()

    @invariant()
    def drained_clone(self) -> None:
        twin = self.mgr.clone()
        assert twin.dump() == self.mgr.dump()
        before = self.mgr.dump()
        steps = 0
        while twin.earliest_deadline() is not None:
            twin.tick(None)
            steps += 1
            assert steps <= 64
        assert twin.pool.held == {}
        engine = twin.offload_engine
        assert engine is not None
        assert not engine.pins and not engine.inflight and not engine.batches and not engine.swapins
        check_g1(twin, self.refs, self.partials)
        check_g2(twin)
        check_views(twin)
        assert self.mgr.dump() == before  # the clone is independent


TestOffloadMachine = OffloadMachine.TestCase

RULES = ("use", "use", "use", "deref", "deref", "promote", "tick", "tick_next", "swapin", "swapin")


@given(data=st.data(), steps=st.integers(20, 80))
def test_long_sessions_keep_invariants(data: Any, steps: int) -> None:
    """Longer sessions than the state machine usually reaches, same rules and checks."""
    machine = OffloadMachine()
    machine.setup(
        data.draw(st.integers(1, 6)), data.draw(st.integers(1, 6)), data.draw(st.integers(1, 3)),
        data.draw(st.sampled_from([1.0, 0.5, 0.0])), data.draw(st.sampled_from([1.0, 0.5, 0.0])),
        data.draw(st.sampled_from(["lineage", "lru", "multi_lru"])),
    )
    for _ in range(steps):
        name = data.draw(st.sampled_from(RULES))
        if name in ("use", "deref", "promote", "swapin"):
            args: tuple[Any, ...] = (data,) if name != "use" else (data, data.draw(st.integers(1, 4)))
            getattr(machine, name)(*args)
        elif name == "tick":
            machine.tick(data.draw(st.sampled_from([0.1, 0.5, 1.0, 2.5])))
        else:
            machine.tick_next()
        machine.pools_and_views()
        machine.eviction_orders()
    machine.drained_clone()


@given(
    run=st.integers(1, 4), free=st.integers(0, 4), inactive=st.integers(0, 3),
    partials=st.integers(0, 2), eviction=st.sampled_from(["lineage", "lru", "multi_lru"]),
)
def test_swapin_reservation_outcomes(run: int, free: int, inactive: int, partials: int,
                                     eviction: str) -> None:
    """SPEC §6.3 / seed reservation: reserve, refuse after evicting the shortfall, or no-op."""
    capacity = run + free + inactive + partials
    offload = OffloadConfig(run + inactive + 2, MB, 1.0, 1.0, 32)
    mgr = KvManager(capacity, 16, eviction, offload=offload)
    chain = tuple(range(100, 100 + run))
    names = [f"p{i}" for i in range(free + partials)]
    mgr.use(Use(chain))
    mgr.deref(Deref(chain[::-1]))
    for block in range(200, 200 + inactive):
        mgr.use(Use((block,)))
    for name in names:
        mgr.use(Use((Partial(name),)))
    assert mgr.num_reset == 0
    assert mgr.use(Use(tuple(range(300, 300 + run)))).evicted == list(chain[::-1])
    mgr.tick(None)  # the chain is on G2; `run` free slots
    for entry in [*range(200, 200 + inactive), *(Partial(n) for n in names[:free])]:
        mgr.deref(Deref((entry,)))
    for block in range(400, 400 + run):
        assert mgr.use(Use((block,))).returned == 1
    assert (mgr.num_reset, mgr.num_inactive_blocks) == (free, inactive)

    order, free_list, before = mgr.eviction_order(), list(mgr.pool.free), mgr.dump()
    result = mgr.swapin(chain)
    if free >= run:
        assert result.onboarding == list(chain) and mgr.num_reserved == run
    elif inactive:
        shortfall = min(run - free, inactive)
        assert (result.blocked, result.onboarding) == (True, [])
        assert result.evicted == order[:shortfall]
        assert list(mgr.pool.free) == free_list and mgr.num_reserved == 0
        assert mgr.num_quarantined == shortfall
    else:
        assert (result.blocked, result.onboarding, result.events) == (False, [], [])
        assert mgr.dump() == before  # pinned then unpinned: one chain keeps its G2 order
    while mgr.earliest_deadline() is not None:
        mgr.tick(None)
    assert router_view(mgr.events, DEVICE) == set(mgr.blocks)
    engine = mgr.offload_engine
    assert engine is not None and router_view(mgr.events, HOST_PINNED) == set(engine.resident)
