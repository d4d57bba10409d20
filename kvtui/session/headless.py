"""A one-way headless run that holds no history: `kvtui run` and `validate` of long scripts.

A :class:`~kvtui.session.session.Session` keeps every step and result so the TUI can step back.
A headless run never goes back, so here each step is applied, checked and handed to a sink
(which prints it or spools it into the JSON report) and then dropped: memory stays flat however
long the script is. Errors are the Session's, word for word (StepError with FILE:LINE).

Request commands: given a way to read the steps again (``replay``), the run applies them without
the O(pool) rollback copy each would otherwise cost (``atomic=False``, as a Session does). One that
fails part-way may have changed the World, so the run rebuilds it from the config by replaying
the steps before it: the report then shows the state after the last good step (SPEC §11). The
failure ends the run, so that replay is paid at most once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from itertools import islice

from kvtui.lang.script import Check, Script, Step
from kvtui.session.session import StepError, apply_step, check_item
from kvtui.sim.manager import KvManager, MoveResult
from kvtui.workload.actions import REQUEST_COMMAND_TYPES
from kvtui.workload.world import World

Sink = Callable[[int, Step, MoveResult], None]
Failed = Callable[[StepError], None]


class HeadlessRun:
    """Applies steps in order to one World; ``steps`` counts those applied."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self.label = script.path
        self.world = self._fresh_world()
        self.steps = 0
        self.last: MoveResult | None = None

    @property
    def manager(self) -> KvManager:
        return self.world.manager

    def _fresh_world(self) -> World:
        world = World.from_config(self.script.config)
        world.manager.record_events = False  # each step's events travel in its result
        return world

    def run(
        self,
        steps: Iterable[Step],
        sink: Sink | None = None,
        failed: Failed | None = None,
        replay: Callable[[], Iterable[Step]] | None = None,
    ) -> StepError | None:
        """Apply the intro checks, then every step with its checks; the first failure stops
        the run and is returned (a failed expect leaves its step applied, as in a Session).

        With ``failed``, a failing expect is handed to it and the run goes on (as
        ``Session.run_to_end(failed)``); ``sink`` gets each step after its checks.
        ``replay`` gives the same steps again from the first: with it request commands skip
        their rollback copy (see the module docstring).
        """
        atomic = replay is None
        try:
            self._checks(self.script.intro, 0, failed)
            for step in steps:
                number = self.steps + 1
                try:
                    result = apply_step(self.world, step, number, self.label, atomic)
                except StepError:
                    if replay is not None and isinstance(step.command, REQUEST_COMMAND_TYPES):
                        self._rebuild(replay(), number - 1)
                    raise
                self.steps, self.last = number, result
                try:
                    self._checks(step, number, failed)
                finally:  # an enforced failure still reports its (applied) step
                    if sink is not None:
                        sink(number, step, result)
        except StepError as exc:
            return exc
        return None

    def _rebuild(self, steps: Iterable[Step], count: int) -> None:
        """The World after the first ``count`` steps, replayed from the config (they applied
        before, and the engine is deterministic, so they apply again)."""
        world = self._fresh_world()
        for number, step in enumerate(islice(steps, count), 1):
            apply_step(world, step, number, self.label, atomic=False)
        self.world = world

    def _checks(self, step: Step, number: int, failed: Failed | None) -> None:
        for item in step.checks:
            try:
                self._check(item, number)
            except StepError as exc:
                if failed is None:
                    raise
                failed(exc)

    def _check(self, item: Check, number: int) -> None:
        check_item(item, self.world, self.last, self.label, number)
