"""The step engine shared by the headless CLI and the TUI.

A session is a config, a list of steps and a cursor (the number of steps applied). It steps
forwards, backwards and jumps; going back restores a checkpoint (a clone of the World) and
replays the few steps after it, so the state — events included — is exactly what stepping
forward produced.

Memory stays bounded: a checkpoint shares the append-only history (lineage records, events;
kvtui.sim.history) with the live World and packs its pool-sized tables into arrays
(`World.freeze`, kvtui.sim.frozen), so it costs a few hundred bytes a slot, not the session's
history. Checkpoints every `interval` steps are thinned
(the interval doubles) whenever they exceed `MAX_CHECKPOINTS` or `CHECKPOINT_BYTES`, so the
replay distance stays a small fraction of the session. A few *near* clones, every `NEAR_EVERY`
steps just behind where the cursor went, make stepping back (holding ←) replay only a few steps.

Typed commands are inserted at the cursor and appended to a journal as they apply, so nothing a
user typed is lost.
"""

from __future__ import annotations

import dataclasses
import gc
from collections.abc import Callable

from kvtui.lang.commands import (
    Command,
    ExpectCommand,
    MoveCommand,
    SwapinCommand,
    TickCommand,
)
from kvtui.lang.expect import ExpectFailure, check
from kvtui.lang.script import Check, Script, Step, make_step
from kvtui.session.journal import Journal, header_line, header_of, new_journal_path
from kvtui.session.label_resolve import resolve_labels
from kvtui.session.results import ResultLog
from kvtui.sim.config import Config
from kvtui.sim.errors import CommandError, KvError, ParseError, bounded, escaped
from kvtui.sim.manager import KvManager, MoveResult
from kvtui.workload.actions import REQUEST_COMMAND_TYPES
from kvtui.workload.world import FrozenWorld, World

FIRST_INTERVAL = 32
MAX_CHECKPOINTS = 256
CHECKPOINT_BYTES = 96_000_000  # estimated bytes of all kept checkpoints (World.footprint)
NEAR_EVERY = 32  # stride of the near clones kept just behind the cursor
NEAR_KEEP = 8  # at most this many near clones...
NEAR_BYTES = 24_000_000  # ...and at most this many bytes of them
THAWED_BYTES = 200_000_000  # the one unpacked checkpoint kept for holding ← (see Session._thawed)


class StepError(KvError):
    """A step that failed: a bad command or a failed expect, located by step and line."""

    def __init__(self, label: str, step: int, line: int | None, message: str) -> None:
        self.message = bounded(message)  # quoted tokens are cut; the label never is
        text = f"{escaped(label)}:{line}: {self.message}" if line is not None else self.message
        Exception.__init__(self, text)
        self.step = step
        self.line = line


def execute(world: World, command: Command, atomic: bool = True) -> MoveResult:
    """Apply one state-changing command; raises CommandError with the state untouched.

    ``atomic=False``: a request command is not copied for its rollback (an O(pool) copy per
    command), so a rejected one may leave the World changed: the caller must rebuild it.
    """
    mgr = world.manager
    if isinstance(command, MoveCommand):
        return mgr.apply(command.move)
    if isinstance(command, TickCommand):
        return mgr.tick(command.ms)
    if isinstance(command, SwapinCommand):
        return mgr.swapin(command.blocks)
    if isinstance(command, REQUEST_COMMAND_TYPES):  # expanded to MoveBlocks, atomically
        return world.execute_request(command, atomic)
    raise CommandError(f"'{command}' is not a state-changing command")


def apply_step(world: World, step: Step, number: int, label: str, atomic: bool = True) -> MoveResult:
    """Apply step `number`'s command; a StepError (FILE:LINE) if it is no command or refused.

    The one step engine shared by the Session and the history-free headless run (``atomic``:
    see :func:`execute`).
    """
    command = step.command  # parsed again from the text for most steps: read it once
    if step.error is not None or command is None:
        raise StepError(label, number, step.line, step.error or "not a command")
    try:
        return execute(world, command, atomic)
    except KvError as exc:
        raise StepError(label, number, step.line, str(exc)) from None


def check_item(item: Check, world: World, last: MoveResult | None, label: str, number: int) -> None:
    """Check one `expect` of step `number` now; a StepError (FILE:LINE) if it fails."""
    if item.error is not None or item.expect is None:
        raise StepError(label, number, item.line, item.error or "bad expect")
    try:
        check(item.expect, world, last)
    except ExpectFailure as exc:
        raise StepError(label, number, item.line, f"{item.text}: {exc}") from None


class Session:
    def __init__(self, script: Script, journal: Journal | None = None, checkpoints: bool = True) -> None:
        self.label = script.path
        self.name = script.name
        self.description = script.description
        self.config = script.config
        # Typed commands and expects change the steps, never the caller's script: the step list
        # is our own, and a step is copied (`_own`) only when a typed expect is attached to it.
        self.intro = script.intro
        self.steps = list(script.steps)
        self.journal = journal
        self.cursor = 0
        self.world = World.from_config(self.config)
        # results[i] is step i+1's result; entries past the cursor stay valid (the steps are
        # deterministic) until an insert, so a jump can land on a checkpoint ahead of the cursor
        self.results = ResultLog()  # packed: a long session keeps 100,000 of them
        self.interval = FIRST_INTERVAL
        self.keep_checkpoints = checkpoints  # a one-way headless run never goes back
        self.max_checkpoints = MAX_CHECKPOINTS
        self.checkpoints: dict[int, World | FrozenWorld] = {0: self.world.freeze()}
        self._sizes: dict[int, int] = {0: 0}  # checkpoint -> estimated bytes
        self._near: dict[int, tuple[World, int]] = {}  # near clone -> (world, bytes), oldest first
        self._near_from = 0  # jump replays keep near clones only over their last stretch
        self._back_to: int | None = None  # the target of the step back being replayed
        # The packed checkpoint a jump last restored, unpacked (at most one): holding ← restores
        # the same checkpoint up to NEAR_EVERY times, and a clone of this costs C-level dict
        # copies where unpacking rebuilds every table (35 ms at 65,536 slots).
        self._thawed: dict[int, World] = {}
        # step number -> why it failed (a bad command, or its first failed expect) on the
        # last pass over it; read by the TUI's timeline
        self.failures: dict[int, StepError] = {}

    @classmethod
    def from_script(
        cls,
        script: Script,
        eviction: str | None = None,
        capacity: int | None = None,
        checkpoints: bool = True,
    ) -> Session:
        """A session on `script`, with command-line overrides beating the file."""
        changes: dict[str, object] = {}
        if eviction is not None:
            changes["eviction"] = eviction
        if capacity is not None:
            changes["capacity"] = capacity
        if changes:
            config = dataclasses.replace(script.config, **changes)  # type: ignore[arg-type]
            script = dataclasses.replace(script, config=config)
        return cls(script, checkpoints=checkpoints)

    # -- where we are ---------------------------------------------------------------------

    @property
    def manager(self) -> KvManager:
        """The KV manager of the current World (read it; change it only through steps)."""
        return self.world.manager

    def as_script(self) -> Script:
        """The session's steps as a script (typed commands included)."""
        return Script(self.label, self.name, self.description, self.config, self.steps, self.intro)

    @property
    def total(self) -> int:
        return len(self.steps)

    @property
    def records(self) -> list[MoveResult]:
        """The results of the applied steps 1..cursor."""
        return self.results[: self.cursor]

    @property
    def last_result(self) -> MoveResult | None:
        return self.results[self.cursor - 1] if self.cursor else None

    @property
    def current_step(self) -> Step:
        """The step whose notes and checks describe the current state."""
        return self.steps[self.cursor - 1] if self.cursor else self.intro

    # -- moving ---------------------------------------------------------------------------

    def check_intro(self) -> None:
        try:
            self._run_checks(self.intro, 0)
        except StepError as exc:
            raise self._failed(exc) from None

    def forward(self, check_expects: bool = True) -> MoveResult:
        """Apply the step at the cursor; a failed expect still leaves the step applied."""
        if self.cursor >= len(self.steps):
            raise StepError(self.label, self.cursor, None, "already at the last step")
        step = self.steps[self.cursor]
        try:
            result = apply_step(self.world, step, self.cursor + 1, self.label, atomic=False).slim()
        except StepError as exc:
            self._undo_partial(step.command)
            raise self._failed(exc) from None
        if self.cursor == len(self.results):
            self.results.append(result)
        # else a replay after a jump gave the same result again: the kept one stays, since its
        # events are the ones the shared event history keeps (the replay's copies are dropped)
        self.cursor += 1
        self._maybe_checkpoint()
        # Checks run on every pass (jumps too) so a failed expect is known wherever it lies.
        self.failures.pop(self.cursor, None)
        if step.checks:
            try:
                self._run_checks(step, self.cursor)
            except StepError as exc:
                self._failed(exc)
                if check_expects:
                    raise
        return result

    def back(self) -> None:
        if self.cursor:
            self.jump(self.cursor - 1)

    def reset(self) -> None:
        self.jump(0)

    def jump(self, target: int) -> None:
        """Move the cursor to `target` (clamped); stops early at a step that fails."""
        target = max(0, min(target, len(self.steps)))
        # Near clones over the replay's last stretch: a long one after a step back (holding ←
        # goes on backwards), two after any other jump (enough for the next step back).
        back = target == self.cursor - 1
        window = NEAR_KEEP if back else 2
        limit = min(target, len(self.results))
        base = max(c for c in self.checkpoints if c <= limit)
        near = max((c for c in self._near if base < c <= limit), default=None)
        if target < self.cursor or max(base, near or 0) > self.cursor:
            source = self._restore_source(base) if near is None else self._near[near][0]
            self.world = source.clone()
            self.cursor = base if near is None else near
        self._near_from = target - NEAR_EVERY * window
        self._back_to = target if back else None
        try:
            while self.cursor < target:
                self.forward(check_expects=False)
        finally:
            self._near_from = 0
            self._back_to = None

    def run_to_end(self, failed: Callable[[StepError], None] | None = None) -> None:
        """Apply every remaining step with its checks (the headless run).

        With `failed`, each failing expect is handed to it and the run goes on (checked, not
        enforced: `kvtui run --no-expect`); a bad command still stops the run.
        """
        if self.cursor == 0:
            self._run_checks(self.intro, 0, failed)
        while self.cursor < len(self.steps):
            step = self.steps[self.cursor]
            self.forward(check_expects=failed is None)
            if failed is not None:
                self._run_checks(step, self.cursor, failed)

    # -- typing ---------------------------------------------------------------------------

    def insert(self, text: str) -> MoveResult | None:
        """Apply a typed command at the cursor and keep it as a step (journaled).

        A typed `expect` is checked now and attached to the current step; it returns None.
        """
        try:
            text = resolve_labels(text.strip(), self.world)
        except ParseError as exc:
            raise StepError(self.label, self.cursor + 1, None, str(exc)) from None
        step = make_step(text, None, typed=True)
        command = step.command
        if step.error is not None or command is None:
            raise StepError(self.label, self.cursor + 1, None, step.error or "empty command")
        if isinstance(command, ExpectCommand):
            item = Check(None, step.text, command)
            self._check_now(item)
            self._journal(step.text)
            if self.cursor:
                own = self.steps[self.cursor - 1] = _own(self.current_step)
            else:
                own = self.intro = _own(self.intro)
            own.checks.append(item)
            return None
        try:
            result = execute(self.world, command, atomic=False).slim()
        except KvError as exc:
            self._undo_partial(command)
            # A request command that failed part-way wrote to the shared history that clones
            # ahead of the cursor may still need.
            self._drop_clones(lambda c: c > self.cursor)
            raise StepError(self.label, self.cursor + 1, None, str(exc)) from None
        try:
            self._journal(step.text)
        except KvError as exc:  # not journaled, so it does not count: undo it
            self._rebuild()
            raise StepError(self.label, self.cursor + 1, None, f"{exc}; the command was undone") from None
        self.steps.insert(self.cursor, step)
        del self.results[self.cursor :]
        self.failures = {n: e for n, e in self.failures.items() if n <= self.cursor}
        self.results.append(result)
        self.cursor += 1
        self._drop_clones(lambda c: c >= self.cursor)
        self._maybe_checkpoint()
        return result

    # -- internals ------------------------------------------------------------------------

    def _journal(self, text: str) -> None:
        if self.journal is not None:
            self.journal.append(self.cursor, text, lambda: header_of(self.as_script()))

    def recover(self) -> None:
        """Make the World consistent again after an unexpected exception (a bug) interrupted a
        step half-way: rebuild the cursor's state from a checkpoint, or fall back to it."""
        try:
            self._rebuild()
        except Exception:  # noqa: BLE001 - the replay hit the same bug: stay on the checkpoint
            base = max(c for c in self.checkpoints if c <= self.cursor)
            self.world = self.checkpoints[base].clone()
            self.cursor = base

    def _undo_partial(self, command: Command | None) -> None:
        """After a refused command: a request command may have changed the World before it
        failed (the session runs them without an O(pool) rollback copy), so rebuild it. Other
        commands validate before they change anything."""
        if isinstance(command, REQUEST_COMMAND_TYPES):
            self._rebuild()

    def _rebuild(self) -> None:
        """Recompute the World at the cursor from the nearest checkpoint (a rollback path: the
        steps up to the cursor are unchanged, so replaying them gives the state back)."""
        target = self.cursor
        base = max(c for c in self.checkpoints if c <= target)
        self.world = self.checkpoints[base].clone()
        self.cursor = base
        while self.cursor < target:
            self.forward(check_expects=False)

    def _run_checks(self, step: Step, number: int, failed: Callable[[StepError], None] | None = None) -> None:
        for item in step.checks:
            try:
                self._check_now(item)
            except StepError as exc:
                error = StepError(self.label, number, item.line, exc.message)
                if failed is None:
                    raise error from None
                failed(error)

    def _check_now(self, item: Check) -> None:
        check_item(item, self.world, self.last_result, self.label, self.cursor)

    def _failed(self, error: StepError) -> StepError:
        self.failures[error.step] = error
        return error

    def _restore_source(self, base: int) -> World | FrozenWorld:
        """What a jump clones to restore checkpoint ``base``: a packed one is unpacked once and
        kept (see ``_thawed``), unless the pool is over THAWED_BYTES."""
        thawed = self._thawed.get(base)
        if thawed is not None:
            return thawed
        checkpoint = self.checkpoints[base]
        if isinstance(checkpoint, World) or self.world.footprint() > THAWED_BYTES:
            return checkpoint
        thawed = checkpoint.clone()
        self._thawed = {base: thawed}
        return thawed

    def _drop_clones(self, stale: Callable[[int], bool]) -> None:
        for cursor in [c for c in self.checkpoints if c and stale(c)]:
            del self.checkpoints[cursor], self._sizes[cursor]
        for cursor in [c for c in self._near if stale(c)]:
            del self._near[cursor]
        self._thawed = {c: world for c, world in self._thawed.items() if not stale(c)}

    def _maybe_checkpoint(self) -> None:
        cursor = self.cursor
        if not self.keep_checkpoints or cursor in self.checkpoints:
            return
        if cursor % NEAR_EVERY == 0:
            # Long-lived objects (checkpoints, results, history, a big pool's Blocks; none in a
            # reference cycle) move out of the cyclic collector's generations: full collections
            # otherwise rescan them all, pausing a step for up to a second with a million slots.
            # Refcounting still frees them when they are dropped.
            gc.freeze()
        if cursor % self.interval == 0:
            self._add_checkpoint(cursor)
        elif cursor % NEAR_EVERY == 0 and cursor >= self._near_from and cursor not in self._near:
            self._add_near(cursor)

    def _add_checkpoint(self, cursor: int) -> None:
        # Check the estimate before packing, so a pool too big for the budget (a million
        # slots) is not packed, for a second, only to be dropped.
        if not self._thin_for(cursor, self.world.frozen_footprint()):
            return
        frozen = self.world.freeze()
        size = frozen.footprint()
        if not self._thin_for(cursor, size):
            return
        self.checkpoints[cursor] = frozen
        self._sizes[cursor] = size
        self._near.pop(cursor, None)

    def _thin_for(self, cursor: int, size: int) -> bool:
        """Double the interval (dropping the checkpoints off it) until one more of `size` bytes
        keeps to the count and byte budgets; False when `cursor` is no longer on the interval."""
        while (
            len(self.checkpoints) >= self.max_checkpoints
            or sum(self._sizes.values()) + size > CHECKPOINT_BYTES
        ):
            self.interval *= 2
            for stale in [c for c in self.checkpoints if c % self.interval]:
                del self.checkpoints[stale], self._sizes[stale]
            if cursor % self.interval:
                return False
        return True

    def _add_near(self, cursor: int) -> None:
        size = self.world.footprint()
        if size > NEAR_BYTES // 2:
            # A huge pool (a million slots): its checkpoints are too big to keep, so a step back
            # would replay from far away every time. One near clone, the last one behind the
            # target of a step back, makes the next steps back replay a few steps instead;
            # taking one costs about as much as a step back, so a forward step never does.
            if self._back_to is not None and cursor > self._back_to - NEAR_EVERY:
                self._near = {cursor: (self.world.clone(), size)}
            return
        self._near[cursor] = (self.world.clone(), size)
        while len(self._near) > NEAR_KEEP or sum(size for _, size in self._near.values()) > NEAR_BYTES:
            far = max(self._near, key=lambda c: abs(c - cursor))
            del self._near[far]


def restart_with(old: Session, eviction: str) -> Session:
    """The same steps replayed to the same cursor under another eviction backend.

    The journal header records the config, so the new session gets a journal of its own,
    started at once (beside the old one) with the new config and every step so far; resuming
    it replays under the new backend."""
    script = Script(old.label, old.name, old.description, old.config, list(old.steps), old.intro)
    new = Session.from_script(script, eviction=eviction)
    new.jump(old.cursor)
    if old.journal is not None:
        journal = Journal(new_journal_path(old.name, folder=old.journal.path.parent))
        journal.start(header_line(header_of(new.as_script())))  # JournalError: the caller shows it
        new.journal = journal
    return new


def _own(step: Step) -> Step:
    return step.copy()


def sandbox(config: Config, name: str = "sandbox") -> Session:
    """An empty session to type into."""
    return Session(Script(name, name, "", config, [], Step("")))
