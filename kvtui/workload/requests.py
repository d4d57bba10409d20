"""Requests: named ``ActiveSequence`` s driven by typed commands, expanded to MoveBlocks.

Where the state lives
    The request registry (:class:`RequestTable`) sits beside the :class:`KvManager` in a
    :class:`~kvtui.workload.world.World`, which clones and restores both together. The
    session's checkpoints are such clones, so stepping back, jumping and replaying restore
    requests exactly like blocks. Journals need nothing extra: a typed request command is a
    step, re-parsed and re-applied on resume.

How a command applies
    A request command is validated first (the request exists, is in a state that allows the
    command, its next partial name is free). It then produces MoveBlocks from the request's
    ``ActiveSequence`` one at a time and applies each through :meth:`KvManager.apply` — the
    same validated path as a typed ``use``/``deref``/``promote``. Every move and its own result
    is recorded, in order, in the command's ``MoveResult.expanded``; the command's result
    aggregates their events, stored/evicted blocks and warnings.

Atomicity
    Before the first move, the World is cloned (manager and requests). If any move is
    rejected (a :class:`~kvtui.sim.errors.KvError`, e.g. a block dereffed by hand meanwhile)
    or anything else goes wrong, the World is restored in place from the clone, requests
    included, and the error propagates: the state is exactly as before, events and
    event ids included. Running out of capacity is not an error: like upstream's scheduler, a
    prefill commits the blocks the ``Use`` got (``returned`` says how many) and a decode whose
    new partial gets no slot takes its token back (``ActiveSequence.pop``); the command
    succeeds and can be repeated after a ``preempt``, ``finish`` or ``tick``.

    ``visit`` (:mod:`kvtui.workload.visit`) takes no snapshot: its ``Use`` is validated before
    anything changes, and the ``Deref`` after it releases exactly the entries that ``Use`` just
    committed (each holds a reference it took), so it cannot fail.

Request states: ``waiting`` (created) → ``running`` (prefill/resume) → ``preempted`` (preempt)
→ ``running`` (resume) → ``finished`` (finish, from any state).
"""

from __future__ import annotations

import copy
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from kvtui.sim.errors import CommandError
from kvtui.sim.manager import KvManager, MoveResult
from kvtui.sim.moves import Move, Partial, Use
from kvtui.workload.actions import NewRequest, RequestAction, VisitCommand, trace_tokens
from kvtui.workload.sequence import ActiveSequence, SequenceError
from kvtui.workload.visit import fold, visit

WAITING, RUNNING, PREEMPTED, FINISHED = "waiting", "running", "preempted", "finished"
PENDING, PARKED = "pending", "parked"  # scheduler only: not yet arrived; parked on a G2 swap-in
STATES = (PENDING, WAITING, RUNNING, PREEMPTED, PARKED, FINISHED)
MAX_OUTPUT = 2**31
"""Requests decode until `finish`: the sequence's output limit is never reached in practice."""


@dataclass(slots=True)
class SchedInfo:
    """A scheduler-owned request's progress and timings (SPEC §13 per-request metrics)."""

    arrival_ms: float
    order: int  # submission order (ties of equal arrival times)
    computed: int = 0  # upstream num_computed_tokens
    admitted_ms: float | None = None  # first admission
    cached_at_admission: int = 0  # cached prompt tokens at the first admission
    reused: int = 0  # largest cached prefix over all admissions (upstream reused_input_tokens)
    first_token_ms: float | None = None
    last_token_ms: float | None = None
    finish_ms: float | None = None

    @property
    def ttft_ms(self) -> float | None:
        return None if self.first_token_ms is None else self.first_token_ms - self.arrival_ms


@dataclass(slots=True)
class Request:
    """One request: its sequence (tokens, block ids, allocation cursor) and its state."""

    name: str
    seq: ActiveSequence
    state: str = WAITING
    source: str = ""  # the command that created it
    preemptions: int = 0
    sched: SchedInfo | None = None  # set when the scheduler owns the request (SPEC §13)

    def clone(self) -> Request:
        sched = None if self.sched is None else copy.copy(self.sched)
        return Request(self.name, self.seq.clone(), self.state, self.source, self.preemptions, sched)

    @property
    def held_blocks(self) -> int:
        """Blocks it holds a reference on now (its allocated tokens rounded up to blocks)."""
        seq = self.seq
        return min(-(-seq.num_allocated_tokens // seq.block_size), len(seq.unique_blocks))

    @property
    def prefilled(self) -> bool:
        return self.seq.num_allocated_tokens >= len(self.seq)


@dataclass(slots=True)
class RequestTable:
    """Every request of one manager, in creation order (finished ones are kept)."""

    requests: dict[str, Request] = field(default_factory=dict)

    def get(self, name: str) -> Request:
        found = self.requests.get(name)
        if found is None:
            raise CommandError(f"no request named '{name}'")
        return found

    def clone(self) -> RequestTable:
        """Independent copy; finished requests never change again, so they are shared."""
        return RequestTable(
            {name: req if req.state == FINISHED else req.clone() for name, req in self.requests.items()}
        )

    def restore(self, snapshot: RequestTable) -> None:
        self.requests = snapshot.requests

    def footprint(self) -> int:
        """Rough bytes of a clone: a request's objects plus its tokens and block ids."""
        return sum(2_000 + 40 * len(req.seq.tokens) for req in self.requests.values())

    def __len__(self) -> int:
        return len(self.requests)


ManualCommand = NewRequest | RequestAction | VisitCommand


def execute_request(mgr: KvManager, table: RequestTable, command: ManualCommand) -> MoveResult:
    """Apply a request command to ``mgr`` and ``table``.

    Validation errors leave both untouched; a failure after the first move leaves them
    changed, so the caller snapshots first (:meth:`World.execute_request` does).
    """
    if isinstance(command, VisitCommand):
        return visit(mgr, command.blocks, checked=command.checked)
    if isinstance(command, NewRequest):
        return _create(mgr, table, command)
    req = table.get(command.name)
    if req.sched is not None:
        raise CommandError(
            f"{command.verb} {req.name}: the scheduler drives this request (use pass or drain)"
        )
    _check_state(req, command)
    return _ACTIONS[command.verb](mgr, req, command.amount)


def prompt_tokens(table: RequestTable, command: NewRequest) -> Sequence[int]:
    """The prompt a ``req`` command describes (validated; nothing changes)."""
    if command.name in table.requests:
        raise CommandError(f"request '{command.name}' already exists")
    if command.source == "trace":
        return trace_tokens(command.ids, command.length)
    if command.source != "share":
        return command.tokens
    other = table.get(command.other)
    known = other.seq.tokens
    if command.shared > len(known):
        raise CommandError(
            f"request '{command.other}' has {len(known)} tokens, fewer than the {command.shared} "
            "to share"
        )
    rng = random.Random(f"kvtui:share:{command.name}")
    own = [rng.getrandbits(32) for _ in range(command.length - command.shared)]
    return [*known[: command.shared], *own]


def _create(mgr: KvManager, table: RequestTable, command: NewRequest) -> MoveResult:
    if command.out is not None or command.at is not None:
        raise CommandError(
            f"req {command.name}: out= and at= queue a request for the scheduler "
            "(add a `scheduler:` section to the config)"
        )
    tokens = prompt_tokens(table, command)
    try:
        seq = ActiveSequence(tokens, MAX_OUTPUT, mgr.block_size, label=command.name)
    except SequenceError as exc:
        raise CommandError(f"req {command.name}: {exc}") from None
    table.requests[command.name] = Request(command.name, seq, WAITING, str(command))
    return MoveResult(1)


_ALLOWED = {
    "prefill": (WAITING, RUNNING),
    "decode": (RUNNING,),
    "preempt": (RUNNING,),
    "resume": (PREEMPTED,),
    "finish": (WAITING, RUNNING, PREEMPTED),
}
_HINT = {
    ("prefill", PREEMPTED): "resume it",
    ("decode", WAITING): "prefill it first",
    ("decode", PREEMPTED): "resume it first",
    ("preempt", WAITING): "it holds no blocks yet",
    ("resume", WAITING): "prefill it",
    ("resume", RUNNING): "it is not preempted",
}


def _check_state(req: Request, command: RequestAction) -> None:
    verb = command.verb
    if req.state not in _ALLOWED[verb]:
        hint = _HINT.get((verb, req.state))
        raise CommandError(
            f"{verb} {req.name}: the request is {req.state}" + (f" ({hint})" if hint else "")
        )
    seq = req.seq
    if verb == "prefill" and req.prefilled:
        raise CommandError(
            f"prefill {req.name}: all {len(seq)} tokens are already allocated (decode it)"
        )
    if verb == "decode" and not req.prefilled:
        raise CommandError(
            f"decode {req.name}: only {seq.num_allocated_tokens} of {len(seq)} tokens are "
            "allocated (prefill the rest first)"
        )


def _prefill(mgr: KvManager, req: Request, chunk: int | None) -> MoveResult:
    seq = req.seq
    target = len(seq) if chunk is None else min(seq.num_allocated_tokens + chunk, len(seq))
    return _allocate(mgr, req, target)


def _resume(mgr: KvManager, req: Request, _: int | None) -> MoveResult:
    return _allocate(mgr, req, len(req.seq))


def _allocate(mgr: KvManager, req: Request, target: int) -> MoveResult:
    """Upstream ``schedule_request``'s allocation: one Use, partial progress committed."""
    seq = req.seq
    out = MoveResult(0)
    use = seq.prepare_allocation(target)
    req.state = RUNNING
    if use is None:  # the chunk ends inside an allocated block
        seq.commit_allocation(target)
        return out
    bs = seq.block_size
    prev_blocks = min(-(-seq.num_allocated_tokens // bs), len(seq.unique_blocks))
    _check_partials_free(mgr, req, use)
    got = _apply(mgr, out, use)
    if got.returned == len(use.blocks):
        seq.commit_allocation(target)
    else:
        seq.commit_allocation(min((prev_blocks + got.returned) * bs, target))
    out.returned = got.returned
    return out


def _decode(mgr: KvManager, req: Request, count: int | None) -> MoveResult:
    """Generate tokens; a new block's partial that gets no slot takes its token back and stops."""
    seq = req.seq
    out = MoveResult(0)
    for _ in range(count or 1):
        _, signals = seq.generate_token()
        for move in signals:
            if isinstance(move, Use):
                _check_partials_free(mgr, req, move)
            got = _apply(mgr, out, move)
            if isinstance(move, Use) and got.returned == 0:
                seq.pop()  # upstream: the Promote already sent stays
                return out
        seq.commit_allocation(len(seq))
        out.returned += 1
    return out


def _release(mgr: KvManager, req: Request, state: str) -> MoveResult:
    """Deref every held block tail-first (the ids are kept) and move the request to `state`."""
    out = MoveResult(1)
    for move in req.seq.reset_with_signal():
        _apply(mgr, out, move)
    req.state = state
    return out


def _preempt(mgr: KvManager, req: Request, _: int | None) -> MoveResult:
    req.preemptions += 1
    return _release(mgr, req, PREEMPTED)


def _finish(mgr: KvManager, req: Request, _: int | None) -> MoveResult:
    return _release(mgr, req, FINISHED)


_ACTIONS: dict[str, Callable[[KvManager, Request, int | None], MoveResult]] = {
    "prefill": _prefill,
    "decode": _decode,
    "preempt": _preempt,
    "resume": _resume,
    "finish": _finish,
}


def _check_partials_free(mgr: KvManager, req: Request, use: Use) -> None:
    """A request's new partial must not already be held (e.g. typed by hand as ``use ~NAME``):
    the manager would treat it as held and the request would share someone else's slot."""
    for entry in use.blocks:
        if isinstance(entry, Partial) and entry.name in mgr.partials:
            raise CommandError(
                f"request {req.name}: its partial block ~{entry.name} is already held by someone else"
            )


def _apply(mgr: KvManager, out: MoveResult, move: Move) -> MoveResult:
    """Apply one expanded move through the manager and fold its result into ``out``."""
    return fold(out, move, mgr.apply(move))


# -- reading results ----------------------------------------------------------------------------


def prefix_hit(move: Use, result: MoveResult) -> int:
    """Leading full blocks of ``move`` that were resident in G1 before it (its prefix hit).

    They are the leading committed entries the Use did not store: nothing is allocated, hence
    nothing evicted, before the first miss, so this equals a lookup made just before the Use.
    """
    stored = set(result.stored)
    hits = 0
    for entry in move.blocks[: result.returned]:
        if isinstance(entry, Partial) or entry in stored:
            break
        hits += 1
    return hits


def first_use(result: MoveResult) -> tuple[Use, MoveResult] | None:
    """The first ``Use`` a request command expanded to, with its result."""
    for move, got in result.expanded:
        if isinstance(move, Use):
            return move, got
    return None

