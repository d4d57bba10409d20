"""The scheduler's mutable state (it lives in the World) and what one pass reports.

Queues hold request names; the requests themselves (sequence, state, :class:`SchedInfo`)
are in the World's request table, so a World clone copies both together.
"""

from __future__ import annotations

import heapq
from collections import deque
from dataclasses import dataclass, field

from kvtui.sim.config import SchedulerConfig
from kvtui.sim.manager import MoveResult


@dataclass(frozen=True, slots=True)
class Parked:
    """A request parked on a G2→G1 swap-in (upstream ``AwaitingSwapIn``).

    ``prefix`` is its G1-cached prefix, held (one reference each) until the run lands, so G1
    cannot evict the parent of the blocks being onboarded.
    """

    name: str
    transfer_id: int
    prefix: tuple[int, ...]
    blocks: tuple[int, ...]  # the run being onboarded


@dataclass(slots=True)
class SchedulerState:
    """Waiting, running and parked queues, future arrivals and pass counters."""

    config: SchedulerConfig
    waiting: deque[str] = field(default_factory=deque)
    running: list[str] = field(default_factory=list)
    parked: list[Parked] = field(default_factory=list)
    arrivals: list[tuple[float, int, str]] = field(default_factory=list)  # heap: (at, order, name)
    submitted: int = 0
    passes: int = 0
    stalled: int = 0  # consecutive passes that held requests but emitted no token
    peak_running: int = 0

    def clone(self) -> SchedulerState:
        return SchedulerState(
            self.config, deque(self.waiting), list(self.running), list(self.parked),
            list(self.arrivals), self.submitted, self.passes, self.stalled, self.peak_running,
        )

    def submit(self, name: str, at: float) -> int:
        """Queue a future arrival; returns its submission order."""
        order = self.submitted
        self.submitted += 1
        heapq.heappush(self.arrivals, (at, order, name))
        return order

    def arrived(self, now: float) -> list[str]:
        """Pop every arrival due by ``now``, in (arrival time, submission) order."""
        out = []
        while self.arrivals and self.arrivals[0][0] <= now:
            out.append(heapq.heappop(self.arrivals)[2])
        return out

    def next_arrival(self) -> float | None:
        return self.arrivals[0][0] if self.arrivals else None

    @property
    def holds_requests(self) -> bool:
        """True while something is waiting, running or parked (arrivals not yet due excluded)."""
        return bool(self.waiting or self.running or self.parked)

    @property
    def busy(self) -> bool:
        """True while any request is held or still to arrive."""
        return self.holds_requests or bool(self.arrivals)


@dataclass(frozen=True, slots=True)
class PassReport:
    """What one pass did, beyond its MoveBlocks (SPEC §13 "What a pass shows")."""

    number: int
    start_ms: float
    end_ms: float
    idle: bool = False  # nothing held: the pass only moved the clock
    budget: int | None = None  # token budget of the pass (None = unbounded)
    scheduled: int = 0  # tokens scheduled (budget used)
    prefill_ms: float = 0.0
    decode_ms: float = 0.0
    admitted: tuple[tuple[str, int], ...] = ()  # (name, cached prompt tokens)
    preempted: tuple[str, ...] = ()
    parked: tuple[str, ...] = ()
    unparked: tuple[str, ...] = ()  # swap-ins landed: requeued at the front
    emitted: tuple[str, ...] = ()  # one token each, in decode order
    finished: tuple[str, ...] = ()


@dataclass(slots=True)
class PassResult(MoveResult):
    """A ``pass``/``drain`` step: every MoveBlock in ``expanded`` plus one report per pass."""

    passes: list[PassReport] = field(default_factory=list)

    @property
    def last_pass(self) -> PassReport | None:
        return self.passes[-1] if self.passes else None
