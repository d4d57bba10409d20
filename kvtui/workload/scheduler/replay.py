"""Timed trace replay (SPEC §14): Mooncake requests arrive at their timestamps and run
through the scheduler; the report gives hit ratios, latency percentiles and throughput.

Prompt tokens follow upstream's ``synthesize_tokens`` (one hash id = 512 copies of the id as a
u32, cut to ``input_length``), so prompts share a token prefix exactly when they share a hash-id
prefix, and block ids are SPEC §7's for the configured block size. Block hashes are memoised
per (parent, block content): trace prompts repeat long prefixes.

Requests are built when they arrive and dropped from the World when they finish (their figures
are kept here), so memory follows the requests in flight, not the trace.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kvtui.sim.config import MAX_CAPACITY, Config, OffloadConfig, SchedulerConfig
from kvtui.sim.errors import KvError, ScriptError
from kvtui.sim.events import DEVICE
from kvtui.workload.actions import TRACE_TOKENS_PER_ID, trace_tokens
from kvtui.workload.hashing import SALT_HASH, block_id, runs_hash
from kvtui.workload.requests import FINISHED
from kvtui.workload.scheduler.core import STALL_PASSES, stall_message
from kvtui.workload.scheduler.state import PassReport, PassResult
from kvtui.workload.sequence import ActiveSequence
from kvtui.workload.trace import TraceRequest
from kvtui.workload.world import World

SERIES_POINTS = 60  # G1 use over time: at most this many time buckets in the report


class TraceHasher:
    """Token hashes and block ids of trace prompts, memoised (SPEC §7 values)."""

    def __init__(self, block_size: int) -> None:
        self.block_size = block_size
        self._token_hash: dict[tuple[tuple[int, int], ...], int] = {}
        self._block_id: dict[tuple[int | None, int], int] = {}

    def hashes(self, ids: tuple[int, ...], length: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """(token hashes, block ids) of the full blocks of a ``length``-token trace prompt."""
        bs = self.block_size
        ths: list[int] = []
        bids: list[int] = []
        parent: int | None = None
        for start in range(0, length - bs + 1, bs):
            runs = _runs(ids, start, start + bs)
            th = self._token_hash.get(runs)
            if th is None:
                th = runs_hash(runs, SALT_HASH)
                self._token_hash[runs] = th
            key = (parent, th)
            bid = self._block_id.get(key)
            if bid is None:
                bid = self._block_id[key] = block_id(parent, th)
            ths.append(th)
            bids.append(bid)
            parent = bid
        return tuple(ths), tuple(bids)


def _runs(ids: tuple[int, ...], start: int, stop: int) -> tuple[tuple[int, int], ...]:
    """The block's tokens [start, stop) as (token, count) runs of the synthesised prompt."""
    out: list[tuple[int, int]] = []
    pos = start
    while pos < stop:
        index = pos // TRACE_TOKENS_PER_ID
        end = min(stop, (index + 1) * TRACE_TOKENS_PER_ID)
        out.append((ids[index] & 0xFFFFFFFF, end - pos))
        pos = end
    return tuple(out)


def percentiles(values: list[float]) -> dict[str, float]:
    """mean, p50, p90, p99 and max; upstream's rank = round((n - 1) * p / 100)."""
    if not values:
        return {"mean": 0.0, "p50": 0.0, "p90": 0.0, "p99": 0.0, "max": 0.0}
    ordered = sorted(values)
    n = len(ordered)

    def at(p: float) -> float:
        return ordered[min(n - 1, round((n - 1) * p / 100))]

    return {"mean": sum(ordered) / n, "p50": at(50), "p90": at(90), "p99": at(99), "max": ordered[-1]}


@dataclass(slots=True)
class _Done:
    prompt: int
    output: int
    cached: int
    reused: int
    ttft: float
    e2e: float
    preemptions: int


@dataclass(slots=True)
class TimedReplay:
    """Drives a trace through a scheduler World, one pass per :meth:`step`."""

    records: list[TraceRequest]
    scheduler: SchedulerConfig
    capacity: int | None = None  # None: room for every request at once (nothing evicted)
    eviction: str = "lineage"
    block_size: int = TRACE_TOKENS_PER_ID
    offload: OffloadConfig | None = None
    label: str = "trace"
    world: World = field(init=False)
    submitted: int = field(init=False, default=0)
    done: list[_Done] = field(init=False, default_factory=list)
    itls: list[float] = field(init=False, default_factory=list)
    last_token: dict[str, float] = field(init=False, default_factory=dict)
    preemptions: int = field(init=False, default=0)
    parks: int = field(init=False, default=0)  # G2: requests parked on a swap-in
    onboarded_blocks: int = field(init=False, default=0)  # G2: blocks those swap-ins brought back
    stored_blocks: int = field(init=False, default=0)
    evicted_blocks: int = field(init=False, default=0)
    use: list[tuple[float, int]] = field(init=False, default_factory=list)  # (end_ms, active)
    submitted_before: list[int] = field(init=False, default_factory=list)  # per pass (a script's plan)
    _hashes: list[tuple[tuple[int, ...], tuple[int, ...]]] = field(init=False, default_factory=list)

    def __post_init__(self) -> None:
        if self.block_size < 2:
            raise KvError(f"block size must be >= 2 with the scheduler, got {self.block_size}")
        self.records = sorted(self.records, key=lambda r: r.timestamp)  # stable: file order ties
        hasher = TraceHasher(self.block_size)
        for rec in self.records:
            if rec.input_length > len(rec.hash_ids) * TRACE_TOKENS_PER_ID or rec.input_length == 0:
                raise ScriptError(
                    self.label, rec.line,
                    f"input_length {rec.input_length} needs 1..{len(rec.hash_ids)} × "
                    f"{TRACE_TOKENS_PER_ID} tokens of hash ids",
                )
            if rec.output_length < 1:
                raise ScriptError(self.label, rec.line, "output_length must be >= 1 with the scheduler")
            caching = self.scheduler.prefix_caching
            self._hashes.append(hasher.hashes(rec.hash_ids, rec.input_length) if caching else ((), ()))
        slots = self.capacity if self.capacity is not None else self._room()
        config = Config(slots, self.block_size, self.eviction, 0, self.offload, self.scheduler)
        self.world = World.from_config(config)

    def _room(self) -> int:
        """Every distinct prompt block plus each request's own tail and output blocks."""
        bs = self.block_size
        distinct = {b for _, bids in self._hashes for b in bids}
        own = sum(
            -(-(rec.input_length + rec.output_length) // bs) - len(h[1])
            for rec, h in zip(self.records, self._hashes, strict=True)
        )
        return max(1, min(MAX_CAPACITY, len(distinct) + own))

    @property
    def finished(self) -> bool:
        sched = self.world.scheduler
        assert sched is not None
        return self.submitted >= len(self.records) and not sched.busy

    def step(self) -> PassReport:
        """Submit what has arrived, run one pass, record its figures."""
        world = self.world
        sched = world.scheduler
        assert sched is not None
        clock = world.manager.clock_ms
        while self.submitted < len(self.records) and (
            self.records[self.submitted].timestamp <= clock or not sched.busy
        ):
            self._submit()
        self.submitted_before.append(self.submitted)
        out = PassResult(0)
        world.run_pass(out)
        report = out.passes[0]
        self._record(report, out)
        if sched.stalled >= STALL_PASSES:
            raise KvError(f"{self.label}: {stall_message(world.requests, sched)}")
        return report

    def run(self, progress: Callable[[int], None] | None = None) -> None:
        """Replay to the end; ``progress(n)`` reports n more finished requests."""
        while not self.finished:
            report = self.step()
            if progress is not None and report.finished:
                progress(len(report.finished))

    def request_name(self, index: int) -> str:
        return f"t{index}"

    def _submit(self) -> None:
        index = self.submitted
        rec = self.records[index]
        ths, bids = self._hashes[index]
        name = self.request_name(index)
        seq = ActiveSequence(
            trace_tokens(rec.hash_ids, rec.input_length), rec.output_length, self.block_size,
            self.scheduler.prefix_caching, label=name,
            hashes=(ths, bids) if self.scheduler.prefix_caching else None,
        )
        self.world.add_request(name, seq, rec.timestamp, f"trace line {rec.line}")
        self.submitted += 1

    def _record(self, report: PassReport, out: PassResult) -> None:
        table = self.world.requests.requests
        for name in report.emitted:
            previous = self.last_token.get(name)
            if previous is not None:
                self.itls.append(report.end_ms - previous)
            self.last_token[name] = report.end_ms
        self.preemptions += len(report.preempted)
        if report.parked:
            parked = set(report.parked)
            sched = self.world.scheduler
            assert sched is not None
            self.parks += len(parked)
            self.onboarded_blocks += sum(len(p.blocks) for p in sched.parked if p.name in parked)
        for event in out.events:
            if event.tier == DEVICE:
                if event.kind == "stored":
                    self.stored_blocks += len(event.blocks)
                else:
                    self.evicted_blocks += len(event.blocks)
        self.use.append((report.end_ms, self.world.manager.num_active_blocks))
        for name in report.finished:
            req = table.pop(name)
            self.last_token.pop(name, None)
            info = req.sched
            assert info is not None and req.state == FINISHED
            assert info.first_token_ms is not None and info.finish_ms is not None
            self.done.append(_Done(
                req.seq.num_input_tokens, req.seq.generated_tokens, info.cached_at_admission,
                info.reused, info.first_token_ms - info.arrival_ms, info.finish_ms - info.arrival_ms,
                req.preemptions,
            ))

    # -- the report -----------------------------------------------------------------------

    def figures(self) -> dict[str, Any]:
        """The `kvtui trace --scheduler --json` object (deterministic)."""
        mgr = self.world.manager
        sched = self.world.scheduler
        assert sched is not None
        prompt = sum(d.prompt for d in self.done)
        output = sum(d.output for d in self.done)
        cached = sum(d.cached for d in self.done)
        reused = sum(d.reused for d in self.done)
        duration = max((t for t, _ in self.use), default=0.0)
        seconds = duration / 1000 if duration > 0 else 0.0

        def rate(amount: float) -> float:
            return amount / seconds if seconds else 0.0

        return {
            "trace": self.label,
            "mode": "scheduler",
            "config": {
                "capacity": mgr.capacity,
                "unbounded": self.capacity is None,
                "eviction": self.eviction,
                "block_size": self.block_size,
                "g2_blocks": self.offload.g2_blocks if self.offload else None,
                "scheduler": self.scheduler.to_json(),
            },
            "requests": len(self.records),
            "completed": len(self.done),
            "input_tokens": prompt,
            "output_tokens": output,
            "prefix_hit_tokens": cached,
            "prefix_hit_ratio": cached / prompt if prompt else 0.0,
            "reused_tokens": reused,
            "reused_ratio": reused / prompt if prompt else 0.0,
            "ttft_ms": percentiles([d.ttft for d in self.done]),
            "itl_ms": percentiles(self.itls),
            "e2e_ms": percentiles([d.e2e for d in self.done]),
            "duration_ms": duration,
            "throughput": {
                "requests_per_s": rate(len(self.done)),
                "input_tokens_per_s": rate(prompt),
                "output_tokens_per_s": rate(output),
            },
            "passes": sched.passes,
            "preemptions": self.preemptions,
            "preempted_requests": sum(1 for d in self.done if d.preemptions),
            "peak_running": sched.peak_running,
            "stored_blocks": self.stored_blocks,
            "evicted_blocks": self.evicted_blocks,
            "g1_use": self._use_series(duration),
            "g2": None if self.offload is None else {
                "parked_requests": self.parks, "onboarded_blocks": self.onboarded_blocks,
                "clock_ms": mgr.clock_ms,
            },
        }

    def _use_series(self, duration: float) -> dict[str, Any]:
        """Active G1 blocks over simulated time: per bucket, the mean over passes and the max."""
        capacity = self.world.manager.capacity
        width = duration / SERIES_POINTS if duration > 0 else 1.0
        buckets: list[list[int]] = [[] for _ in range(SERIES_POINTS)]
        for end, active in self.use:
            buckets[min(SERIES_POINTS - 1, int(end / width))].append(active)
        series = [
            {"t_ms": i * width, "active_mean": sum(b) / len(b), "active_max": max(b)}
            for i, b in enumerate(buckets) if b
        ]
        peak = max((a for _, a in self.use), default=0)
        mean = sum(a for _, a in self.use) / len(self.use) if self.use else 0.0
        return {"capacity": capacity, "peak_active": peak, "mean_active_fraction": mean / capacity,
                "series": series}
