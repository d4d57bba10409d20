"""The World: everything one simulated deployment holds, cloned and restored as one.

The KV manager (kvtui.sim) knows nothing of requests; the request table and, in scheduler
mode, the scheduler's queues (SPEC §13) sit beside it here. Session checkpoints and the rollback
of a multi-move command copy the whole World, so blocks, the requests that hold them and the
queues never disagree.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any

from kvtui.sim.config import Config
from kvtui.sim.errors import CommandError
from kvtui.sim.manager import KvManager, MoveResult
from kvtui.workload.actions import DrainCommand, NewRequest, PassCommand, RequestAction, RequestCommand
from kvtui.workload.requests import (
    PENDING,
    Request,
    RequestTable,
    SchedInfo,
    execute_request,
    prompt_tokens,
)
from kvtui.workload.scheduler import core
from kvtui.workload.scheduler.state import PassResult, SchedulerState
from kvtui.workload.sequence import ActiveSequence, SequenceError

DEFAULT_OUTPUT = 16
"""`req … out=N` default: max output tokens of a scheduler request (SPEC §13)."""


@dataclass(slots=True)
class World:
    manager: KvManager
    requests: RequestTable = field(default_factory=RequestTable)
    scheduler: SchedulerState | None = None

    @classmethod
    def from_config(cls, config: Config) -> World:
        sched = SchedulerState(config.scheduler) if config.scheduler is not None else None
        return cls(KvManager.from_config(config), RequestTable(), sched)

    def clone(self) -> World:
        """Each member clones itself (a member added to World needs only a ``clone`` method;
        an absent one, None, stays None)."""
        return World(*(_copy(getattr(self, f.name), "clone") for f in fields(self)))

    def restore(self, snapshot: World) -> None:
        """Become ``snapshot`` (a private clone) in place, so every holder sees the rollback.

        A member with a ``restore`` method becomes its snapshot in place; any other is replaced.
        """
        for f in fields(self):
            mine, theirs = getattr(self, f.name), getattr(snapshot, f.name)
            if mine is not None and theirs is not None and hasattr(mine, "restore"):
                mine.restore(theirs)
            else:
                setattr(self, f.name, theirs)

    def freeze(self) -> FrozenWorld:
        """A compact copy for a long-lived checkpoint; its ``clone()`` gives back a World.

        Members with a ``freeze`` method are packed (the manager); the others are cloned.
        """
        return FrozenWorld([_copy(getattr(self, f.name), "freeze") for f in fields(self)])

    def frozen_footprint(self) -> int:
        """About what :meth:`freeze` will take (members without an estimate count as clones)."""
        members = [getattr(self, f.name) for f in fields(self)]
        return sum(getattr(m, "frozen_footprint", getattr(m, "footprint", lambda: 0))() for m in members)

    def footprint(self) -> int:
        """Approximate bytes a clone holds of its own (checkpoints are budgeted by it)."""
        members = [getattr(self, f.name) for f in fields(self)]
        return sum(m.footprint() for m in members if hasattr(m, "footprint"))

    def intact(self) -> bool:
        """False for a clone whose shared history a diverging write cut (see kvtui.sim.history)."""
        return self.manager.intact()

    def execute_request(self, command: RequestCommand, atomic: bool = True) -> MoveResult:
        """Apply a request command atomically: a rejected one leaves the World as it was.

        Without the scheduler only the request the command names is copied for the rollback
        (with the manager), so the cost does not grow with the number of requests ever created.

        ``atomic=False`` skips that copy, which costs O(pool) a command: a rejected command may
        then leave the World changed, and the caller rebuilds it (a Session replays from its
        nearest checkpoint, so only a failure pays).
        """
        if isinstance(command, PassCommand):
            return self._atomic(
                "pass", lambda sched, out: self._passes(sched, out, command.count), atomic
            )
        if isinstance(command, DrainCommand):
            return self._atomic(
                "drain", lambda sched, out: core.drain(self.manager, self.requests, sched, out), atomic
            )
        if isinstance(command, NewRequest) and self.scheduler is not None:
            return self.submit(command)
        if not atomic or not isinstance(command, RequestAction):  # the others validate first
            return execute_request(self.manager, self.requests, command)
        if self.scheduler is not None:  # queues may change too: copy the whole World
            return self._atomic_request(command)
        table = self.requests.requests
        touched = table.get(command.name)
        saved = copy.deepcopy(touched) if touched is not None else None
        manager = self.manager.clone()
        try:
            return execute_request(self.manager, self.requests, command)
        except BaseException:
            self.manager.restore(manager)
            if saved is not None:
                table[command.name] = saved  # same key: creation order is kept
            raise

    def _atomic_request(self, command: RequestAction) -> MoveResult:
        snapshot = self.clone()
        try:
            return execute_request(self.manager, self.requests, command)
        except BaseException:
            self.restore(snapshot)
            raise

    # -- the scheduler (SPEC §13) ---------------------------------------------------------

    def submit(self, command: NewRequest) -> MoveResult:
        """Queue a scheduler request to arrive at ``at`` (validated before anything changes)."""
        sched = self._sched("req")
        tokens = prompt_tokens(self.requests, command)
        out = DEFAULT_OUTPUT if command.out is None else command.out
        at = self.manager.clock_ms if command.at is None else command.at
        try:
            seq = ActiveSequence(
                tokens, out, self.manager.block_size, sched.config.prefix_caching, label=command.name
            )
        except SequenceError as exc:
            raise CommandError(f"req {command.name}: {exc}") from None
        self.add_request(command.name, seq, at, str(command))
        return MoveResult(1)

    def add_request(self, name: str, seq: ActiveSequence, at: float, source: str = "") -> Request:
        """Register a built request with the scheduler (the trace replay's direct path)."""
        sched = self._sched("req")
        order = sched.submit(name, at)
        req = Request(name, seq, PENDING, source, 0, SchedInfo(at, order))
        self.requests.requests[name] = req
        return req

    def run_pass(self, out: PassResult | None = None) -> PassResult:
        """One pass, not atomic (timed replay: a failure ends the replay anyway)."""
        out = out if out is not None else PassResult(0)
        core.run_pass(self.manager, self.requests, self._sched("pass"), out)
        return out

    def _passes(self, sched: SchedulerState, out: PassResult, count: int) -> None:
        for _ in range(count):
            core.run_pass(self.manager, self.requests, sched, out)

    def _atomic(
        self, verb: str, body: Callable[[SchedulerState, PassResult], None], atomic: bool = True
    ) -> PassResult:
        sched = self._sched(verb)
        out = PassResult(0)
        if not atomic:  # the caller rebuilds on failure (see execute_request)
            body(sched, out)
            return out
        snapshot = self.clone()
        try:
            body(sched, out)
        except BaseException:
            self.restore(snapshot)
            raise
        return out

    def _sched(self, verb: str) -> SchedulerState:
        if self.scheduler is None:
            raise CommandError(f"{verb} needs the scheduler (add a `scheduler:` section to the config)")
        return self.scheduler

    def dump(self) -> dict[str, Any]:
        """The manager's full dump (exact before/after comparisons in tests)."""
        return self.manager.dump()


def _copy(member: Any, how: str) -> Any:
    """``member.freeze()`` / ``member.clone()`` (a clone when it cannot freeze); None stays None."""
    if member is None:
        return None
    return getattr(member, how, member.clone)()


class FrozenWorld:
    """A World's members packed or cloned, in field order (see :meth:`World.freeze`)."""

    def __init__(self, members: list[Any]) -> None:
        self.members = members

    def clone(self) -> World:
        return World(*(_copy(member, "clone") for member in self.members))

    def footprint(self) -> int:
        return sum(m.footprint() for m in self.members if hasattr(m, "footprint"))

    def intact(self) -> bool:
        return all(m.intact() for m in self.members if hasattr(m, "intact"))
