"""Helpers for the scheduler tests: a World in scheduler mode, requests, passes, G2 seeding."""

from __future__ import annotations

from collections import Counter

from kvtui.lang.commands import parse
from kvtui.sim.config import Config, OffloadConfig, SchedulerConfig
from kvtui.sim.moves import Partial
from kvtui.sim.offload import Resident
from kvtui.workload.requests import FINISHED
from kvtui.workload.scheduler.state import PassResult
from kvtui.workload.world import World


def world(
    capacity: int,
    block_size: int = 4,
    budget: int | None = 8192,
    seqs: int = 256,
    chunked: bool = True,
    caching: bool = True,
    preemption: str = "lifo",
    speedup: float = 1.0,
    eviction: str = "lineage",
    offload: OffloadConfig | None = None,
) -> World:
    sched = SchedulerConfig(budget, seqs, chunked, caching, preemption, speedup)
    return World.from_config(Config(capacity, block_size, eviction, 0, offload, sched))


def req(w: World, name: str, tokens: range | list[int], out: int = 2, at: float | None = None) -> None:
    text = f"req {name} tokens {' '.join(map(str, tokens))} out={out}"
    if at is not None:
        text += f" at={at}"
    w.execute_request(parse(text))  # type: ignore[arg-type]


def run(w: World, text: str = "pass") -> PassResult:
    result = w.execute_request(parse(text))  # type: ignore[arg-type]
    assert isinstance(result, PassResult)
    return result


def held_refs(w: World) -> tuple[Counter[int], set[str]]:
    """The references the scheduler's requests should hold: each live request its first
    ``held_blocks`` entries, each parked request its pinned prefix."""
    refs: Counter[int] = Counter()
    partials: set[str] = set()
    for r in w.requests.requests.values():
        if r.state == FINISHED:
            continue
        for entry in r.seq.unique_blocks[: r.held_blocks]:
            if isinstance(entry, Partial):
                partials.add(entry.name)
            else:
                refs[entry] += 1
    assert w.scheduler is not None
    for parked in w.scheduler.parked:
        refs.update(parked.prefix)
    return refs, partials


def seed_g2(w: World, ids: tuple[int, ...], parent: int | None = None) -> None:
    """Put a chain of ids (under ``parent``) into G2's inactive pool directly (upstream
    ``seed_g2_blocks``)."""
    mgr = w.manager
    engine = mgr.offload_engine
    assert engine is not None
    start = 0 if parent is None else mgr.lineage[parent][1] + 1
    for position, block in enumerate(ids, start):
        mgr.lineage.setdefault(block, (parent, position))
        got = engine.pool.allocate(1)
        assert got is not None and not got[1]
        slot = got[0][0]
        engine.pool.owner[slot] = block
        engine.resident[block] = Resident(slot, parent, position, 0)
        engine.pool.index.insert(block, slot, parent)
        parent = block
