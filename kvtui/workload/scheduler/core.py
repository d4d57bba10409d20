"""One scheduler pass, as upstream's ``VllmCore::execute_pass_internal`` (lib/mocker/src/
scheduler/vllm/core.rs at the fork's commit 9c0587910; mocker_protocol.md §3.A, offload.md §4).

A pass at ``now`` (the manager's clock):

1. with G2, swap-ins landed by ``now`` are registered into G1 inactive, iterating the parked
   list in reverse so that prepending each request to waiting keeps their parking order;
2. arrivals due by ``now`` join the back of waiting (arrival time, then submission order);
   holding nothing, the pass only jumps the clock to the next arrival or G2 deadline;
3. running requests in order while budget remains (``Blocked`` stops, ``CurrentPreempted``
   retries the same index);
4. waiting requests from the front, only if nothing was preempted in this pass and fewer
   than ``max_num_seqs`` run (with G2 a request may park on a swap-in first);
5. prefill time from the polynomial on the pass's batch means; 6. decode of every ready
   request; 7. the clock moves to ``now + prefill + decode`` (to the next G2 deadline when
   the pass took no time and a transfer is pending: upstream's stall advance).

Every MoveBlock goes through :meth:`KvManager.apply`, recorded in order in the result's
``expanded``. The pass mutates the World; the caller snapshots it to make the pass atomic.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from kvtui.sim.config import SchedulerConfig
from kvtui.sim.errors import CommandError
from kvtui.sim.manager import KvManager, MoveResult
from kvtui.sim.moves import Deref, Move, Partial, Use
from kvtui.workload.requests import (
    FINISHED,
    PARKED,
    PREEMPTED,
    RUNNING,
    WAITING,
    Request,
    RequestTable,
    SchedInfo,
)
from kvtui.workload.scheduler import perf
from kvtui.workload.scheduler.state import Parked, PassReport, PassResult, SchedulerState
from kvtui.workload.sequence import ActiveSequence

UNBOUNDED = 2**62


class Outcome(Enum):
    SCHEDULED = "scheduled"
    BLOCKED = "blocked"
    CURRENT_PREEMPTED = "current_preempted"


@dataclass(slots=True)
class _Work:
    tokens: int
    prompt_tokens: int
    prefix_tokens: int


def cached_prompt_tokens(mgr: KvManager, seq: ActiveSequence) -> int:
    """Upstream ``get_prefill_cost(seq).cached_tokens``: the leading full blocks resident in G1
    (active or inactive) times the block size, capped at the prompt. With prefix caching off
    it is 0 (upstream skips the lookup), even for a request's own blocks."""
    if not seq.enable_prefix_caching:
        return 0
    blocks = mgr.refs  # registered ids (a plain dict: membership only)
    overlap = 0
    for ref in seq.unique_blocks:
        if isinstance(ref, Partial) or ref not in blocks:
            break
        overlap += 1
    return min(overlap * seq.block_size, seq.num_input_tokens)


@dataclass(slots=True)
class _Pass:
    mgr: KvManager
    table: RequestTable
    state: SchedulerState
    out: PassResult
    now: float
    budget: int = 0
    scheduled: dict[str, _Work] = field(default_factory=dict)
    batch_count: int = 0
    batch_isl: int = 0
    batch_prefix: int = 0
    preempted_any: bool = False
    admitted: list[tuple[str, int]] = field(default_factory=list)
    preempted: list[str] = field(default_factory=list)
    parked: list[str] = field(default_factory=list)
    unparked: list[str] = field(default_factory=list)
    emitted: list[str] = field(default_factory=list)
    finished: list[str] = field(default_factory=list)

    @property
    def cfg(self) -> SchedulerConfig:
        return self.state.config

    # -- the pass -------------------------------------------------------------------------

    def run(self) -> PassReport:
        state, mgr = self.state, self.mgr
        state.passes += 1
        self._land_swapins()
        for name in state.arrived(self.now):
            state.waiting.append(name)
            self.table.requests[name].state = WAITING
        if not state.holds_requests:
            return self._idle()
        self.budget = self.cfg.max_num_batched_tokens or UNBOUNDED
        self._schedule_running()
        self._admit_waiting()
        state.peak_running = max(state.peak_running, len(state.running))  # the batch's size
        prefill = perf.pass_prefill_ms(
            self.batch_count, self.batch_isl, self.batch_prefix, self.cfg.speedup_ratio
        )
        decode = self._decode(self.now + prefill)
        end = self.now + prefill + decode
        if end <= self.now and (deadline := mgr.earliest_deadline()) is not None:
            end = max(deadline, self.now)  # upstream's stall advance (G2 only)
        self._advance(end)
        state.stalled = 0 if self.emitted else state.stalled + 1
        if self.preempted and not self.emitted and not self.finished:
            self._warn(
                f"pass {state.passes} preempted {', '.join(self.preempted)} and emitted no token: "
                "upstream can thrash like this"
            )
        self.out.returned += sum(w.tokens for w in self.scheduled.values())
        return PassReport(
            state.passes, self.now, end, False, self.cfg.max_num_batched_tokens,
            sum(w.tokens for w in self.scheduled.values()), prefill, decode,
            tuple(self.admitted), tuple(self.preempted), tuple(self.parked), tuple(self.unparked),
            tuple(self.emitted), tuple(self.finished),
        )

    def _idle(self) -> PassReport:
        """Nothing held: jump to the next arrival or G2 deadline (or do nothing)."""
        times = [t for t in (self.state.next_arrival(), self.mgr.earliest_deadline()) if t is not None]
        end = max(self.now, min(times)) if times else self.now
        if times:
            self._advance(end)
        return PassReport(self.state.passes, self.now, end, True, self.cfg.max_num_batched_tokens)

    def _advance(self, end: float) -> None:
        got = self.mgr.advance_to(end, {p.transfer_id for p in self.state.parked})
        _fold(self.out, got)

    # -- steps 3 and 4: scheduling --------------------------------------------------------

    def _schedule_running(self) -> None:
        running = self.state.running
        index = 0
        while index < len(running) and self.budget > 0:
            outcome, _ = self._schedule(running[index], from_waiting=False)
            if outcome is Outcome.SCHEDULED:
                index += 1
            elif outcome is Outcome.BLOCKED:
                break

    def _admit_waiting(self) -> None:
        state = self.state
        while not self.preempted_any and len(state.running) < self.cfg.max_num_seqs and state.waiting:
            name = state.waiting[0]
            if self.mgr.offload_enabled:
                attempt = self._try_park(name)
                if attempt == "parked":
                    continue
                if attempt == "blocked":
                    break
            outcome, used = self._schedule(name, from_waiting=True)
            if outcome is not Outcome.SCHEDULED:
                break
            if used == 0 and self.budget == 0:
                break

    def _schedule(self, name: str, from_waiting: bool) -> tuple[Outcome, int]:
        """Upstream ``schedule_request``: chunked prefill plus allocation, preempting on a
        short Use."""
        req = self.table.requests[name]
        seq, info = req.seq, _info(req)
        cached = cached_prompt_tokens(self.mgr, seq) if info.computed == 0 else 0
        before = info.computed + cached
        prompt_len = seq.num_input_tokens
        prompt_before = min(before, prompt_len)
        remaining = max(0, len(seq) - before)
        prompt_remaining = prompt_len - prompt_before
        if prompt_remaining > 0 and not self.cfg.chunked_prefill and prompt_remaining > self.budget:
            if self.budget == (self.cfg.max_num_batched_tokens or UNBOUNDED):
                self._warn(
                    f"{name}: its {prompt_remaining}-token prompt exceeds the token budget without "
                    "chunked prefill, so it (and the queue behind it) never runs"
                )
            return Outcome.BLOCKED, 0
        desired = min(remaining, self.budget)
        if desired == 0 and remaining > 0:
            return Outcome.BLOCKED, 0
        target = before + desired
        after = target
        bs = seq.block_size
        while True:
            allocated = seq.num_allocated_tokens
            if target <= allocated:
                info.computed = after
                break
            use = seq.prepare_allocation(target)
            if use is None:
                seq.commit_allocation(target)
                info.computed = after
                break
            got = self._apply(use, req)
            if got.returned == len(use.blocks):
                committed = target
            else:
                prev_blocks = min(-(-allocated // bs), len(seq.unique_blocks))
                committed = (prev_blocks + got.returned) * bs
            seq.commit_allocation(min(committed, target))
            info.computed = min(after, committed)
            if got.returned == len(use.blocks):
                break
            victim = self._preempt()
            if victim is None:
                after = info.computed
                break
            self.preempted_any = True
            if from_waiting:
                self._warn(
                    f"admitting {name} preempted running {victim}: upstream admits by preemption "
                    "(two requests can preempt each other forever)"
                )
            undone = self.scheduled.pop(victim, None)
            if undone is not None:
                self.budget += undone.tokens
                if undone.prompt_tokens > 0:
                    self.batch_count -= 1
                    self.batch_isl -= undone.prefix_tokens + undone.prompt_tokens
                    self.batch_prefix -= undone.prefix_tokens
            if victim == name:
                return Outcome.CURRENT_PREEMPTED, 0
        used = max(0, after - before)
        if used == 0 and after < len(seq):
            return Outcome.BLOCKED, 0
        prompt_tokens = max(0, min(after, prompt_len) - prompt_before)
        self.scheduled[name] = _Work(used, prompt_tokens, prompt_before)
        if prompt_tokens > 0:
            self.batch_count += 1
            self.batch_isl += prompt_before + prompt_tokens
            self.batch_prefix += prompt_before
        if from_waiting:
            self._admit(req, info, cached)
        self.budget = max(0, self.budget - used)
        return Outcome.SCHEDULED, used

    def _admit(self, req: Request, info: SchedInfo, cached: int) -> None:
        state = self.state
        if state.waiting and state.waiting[0] == req.name:
            state.waiting.popleft()
        else:  # upstream removes from the front only; the admitted request is always there
            state.waiting.remove(req.name)
        state.running.append(req.name)
        req.state = RUNNING
        if info.admitted_ms is None:
            info.admitted_ms = self.now
            info.cached_at_admission = cached
        info.reused = max(info.reused, cached)
        self.admitted.append((req.name, cached))

    def _preempt(self) -> str | None:
        """Pop a victim (LIFO: the back of running; FIFO: the front), release its blocks
        tail-first and requeue it at the front of waiting with 0 computed tokens."""
        running = self.state.running
        if not running:
            return None
        name = running.pop() if self.cfg.preemption == "lifo" else running.pop(0)
        req = self.table.requests[name]
        req.state = PREEMPTED
        req.preemptions += 1
        _info(req).computed = 0
        for move in req.seq.reset_with_signal():
            self._apply(move, req)
        self.state.waiting.appendleft(name)
        self.preempted.append(name)
        return name

    # -- G2: parking on a swap-in (offload.md §4) -----------------------------------------

    def _try_park(self, name: str) -> str:
        """Upstream ``try_park_for_swap_in``: "parked", "blocked" (stop admitting) or "nohit".

        The G1-cached prefix is pinned first (here: a ``use`` of it, all hits) and released
        again (``deref``) when no swap-in starts, as upstream drops its pins; this refreshes the
        prefix's place in the eviction order exactly as upstream does.
        """
        req = self.table.requests[name]
        if req.state != WAITING:  # preempted requests never park
            return "nohit"
        seq = req.seq
        skip = cached_prompt_tokens(self.mgr, seq) // seq.block_size
        fulls = seq.full_block_ids()
        if skip >= len(fulls):
            return "nohit"
        prefix = fulls[:skip]
        if prefix:
            self._apply(Use(prefix), req)
        got, swap = self.mgr.start_swapin(fulls, skip)
        _fold(self.out, got)
        if swap is None:
            if prefix:
                self._apply(Deref(prefix), req)
            return "blocked" if got.blocked else "nohit"
        self.state.waiting.popleft()
        req.state = PARKED
        self.state.parked.append(Parked(name, swap.transfer_id, prefix, swap.blocks))
        self.parked.append(name)
        return "parked"

    def _land_swapins(self) -> None:
        """Register the runs of parked requests whose transfer completed, in reverse parking
        order, releasing each one's prefix and prepending it to waiting."""
        state, mgr = self.state, self.mgr
        if not state.parked:
            return
        self._advance(self.now)
        done = [p for p in state.parked if not mgr.swapin_pending(p.transfer_id)]
        if not done:
            return
        state.parked = [p for p in state.parked if mgr.swapin_pending(p.transfer_id)]
        for parked in reversed(done):
            req = self.table.requests[parked.name]
            if parked.transfer_id in mgr.landed:  # else a typed tick already registered it
                _fold(self.out, mgr.register_landed(parked.transfer_id))
            if parked.prefix:
                self._apply(Deref(parked.prefix), req)
            state.waiting.appendleft(parked.name)
            req.state = WAITING
            self.unparked.insert(0, parked.name)

    # -- step 6: decode -------------------------------------------------------------------

    def _decode(self, start: float) -> float:
        """Upstream ``emit_ready_tokens``: one token per ready request; returns decode ms."""
        table, mgr = self.table.requests, self.mgr
        ready = [
            n for n in self.state.running
            if _info(table[n]).computed >= len(table[n].seq) and not table[n].seq.is_finished
        ]
        if not ready:
            return 0.0
        bs = mgr.block_size
        ms = perf.scaled(
            perf.decode_ms(len(ready), mgr.num_active_blocks * bs, mgr.capacity * bs),
            self.cfg.speedup_ratio,
        )
        end = start + ms
        for name in ready:
            req = table[name]
            seq = req.seq
            emitted = False
            while req.state == RUNNING:
                signals = seq.generate()
                if self._process(signals, req):
                    if not seq.is_finished:
                        seq.commit_allocation(len(seq))
                    emitted = True
                    break
                seq.pop()
                victim = self._preempt()
                if victim is None:
                    break
                if victim == name:
                    self._warn(f"{name} could not get a block to decode and preempted itself")
                    break
            if emitted:
                self._emit(req, end)
        return ms if self.emitted else 0.0

    def _process(self, signals: list[Move], req: Request) -> bool:
        """Apply a decode step's signals in order; False when a partial's Use got no slot."""
        for move in signals:
            got = self._apply(move, req)
            if got.returned > 0:
                continue
            if not (isinstance(move, Use) and len(move.blocks) == 1 and isinstance(move.blocks[0], Partial)):
                raise CommandError(f"{req.name}: decode move {move} failed (upstream panics here)")
            return False
        return True

    def _emit(self, req: Request, at: float) -> None:
        info = _info(req)
        if info.first_token_ms is None:
            info.first_token_ms = at
        info.last_token_ms = at
        self.emitted.append(req.name)
        if req.seq.is_finished:
            req.state = FINISHED
            info.finish_ms = at
            self.state.running.remove(req.name)
            self.finished.append(req.name)

    # -- helpers --------------------------------------------------------------------------

    def _apply(self, move: Move, req: Request) -> MoveResult:
        if isinstance(move, Use):
            for entry in move.blocks:
                if isinstance(entry, Partial) and entry.name in self.mgr.partials:
                    raise CommandError(
                        f"request {req.name}: its partial block ~{entry.name} is already held by "
                        "someone else"
                    )
        got = self.mgr.apply(move)
        self.out.expanded.append((move, got))
        _fold(self.out, got)
        return got

    def _warn(self, text: str) -> None:
        self.out.warnings.append(text)


def _info(req: Request) -> SchedInfo:
    assert req.sched is not None, f"request {req.name} is not scheduler-owned"
    return req.sched


def _fold(out: MoveResult, got: MoveResult) -> None:
    out.events.extend(got.events)
    out.stored.extend(got.stored)
    out.evicted.extend(got.evicted)
    out.warnings.extend(got.warnings)
    out.blocked = out.blocked or got.blocked


def run_pass(mgr: KvManager, table: RequestTable, state: SchedulerState, out: PassResult) -> PassReport:
    """Run one pass at the manager's clock, recording into ``out`` (not atomic by itself)."""
    report = _Pass(mgr, table, state, out, mgr.clock_ms).run()
    out.passes.append(report)
    return report


MAX_DRAIN_PASSES = 1_000_000
STALL_PASSES = 1_000


def stall_message(table: RequestTable, state: SchedulerState) -> str:
    """The requests involved when passes keep emitting no token."""
    names = [*state.running, *list(state.waiting)[:8], *(p.name for p in state.parked)]
    shown = ", ".join(
        f"{n} ({table.requests[n].state}, {table.requests[n].preemptions} preemption(s))" for n in names
    )
    return f"{STALL_PASSES:,} passes in a row emitted no token; requests involved: {shown or 'none'}"


def drain(mgr: KvManager, table: RequestTable, state: SchedulerState, out: PassResult) -> None:
    """Run passes until every submitted request has finished (nothing waiting, running, parked
    or still to arrive). Raises CommandError on a stall or after MAX_DRAIN_PASSES passes."""
    for _ in range(MAX_DRAIN_PASSES):
        if not state.busy:
            return
        report = run_pass(mgr, table, state, out)
        if state.stalled >= STALL_PASSES:
            raise CommandError(f"drain: {stall_message(table, state)}")
        if report.idle and report.end_ms <= report.start_ms:
            return  # nothing held and nothing will arrive
    if state.busy:
        raise CommandError(f"drain: requests still pending after {MAX_DRAIN_PASSES:,} passes")
