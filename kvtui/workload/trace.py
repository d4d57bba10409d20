"""Trace replay: Mooncake-format request traces through the KV manager, with hit-ratio figures.

A trace is JSON lines, one request per line: ``timestamp`` (ms), ``input_length``,
``output_length`` (tokens) and ``hash_ids`` — the prompt as prefix block ids, one per
``block_size`` tokens (512 in the Mooncake release); equal ids at the same position are the same
cached block. Other keys are ignored.

Each request uses its ``hash_ids`` chain, then releases it tail-first (:func:`visit`). Figures:

* **prefix hit** of a request: the leading run of its blocks resident in G1 (active or cached)
  just before its use; over blocks, and over input tokens where a request's hit tokens are
  ``min(hit blocks × block_size, input_length)``;
* **hits anywhere**: blocks of the chain resident in G1 before its use, at any position;
* stored blocks, evictions (G1 ``removed`` blocks), requests that did not fit (their ``Use``
  committed fewer blocks than the chain);
* with G2 (``offload``): the clock follows the arrival timestamps; before its use a request
  swaps in the G2-resident run that continues its G1 prefix and waits for it; a ``Use``
  stopped on an offload waits for the copy (``tick next``) and goes on. G2 figures: blocks
  onboarded (G2 prefix hits), G2 stores and evictions.

:class:`TraceReplay` steps one request at a time (a UI can play it);
:func:`kvtui.lang.trace_script.trace_script` turns a trace into session steps, one ``visit`` per
request.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kvtui.sim.config import OffloadConfig
from kvtui.sim.errors import KvError, ScriptError, brief, shown
from kvtui.sim.events import DEVICE, HOST_PINNED
from kvtui.sim.manager import KvManager, MoveResult
from kvtui.sim.moves import Deref, Use
from kvtui.workload.visit import visit, visit_moves

MAX_ID = 2**64 - 1
DEFAULT_BLOCK_SIZE = 512
MAX_DEPTH = 64  # JSON nesting of one trace line (a request needs 2)
_KEYS = ("timestamp", "input_length", "output_length", "hash_ids")
_KEY_SET = frozenset(_KEYS)
_MAX_WAITS = 10_000  # ticks waited for one request's transfers (a guard, never reached in practice)


@dataclass(frozen=True, slots=True)
class TraceRequest:
    timestamp: float
    input_length: int
    output_length: int
    hash_ids: tuple[int, ...]
    line: int


def load_trace(path: str | Path, limit: int | None = None) -> list[TraceRequest]:
    """Read a trace file; raise ScriptError(FILE:LINE: message) on a bad line."""
    label = str(path)
    try:
        with Path(path).open(encoding="utf-8-sig") as lines:  # a BOM is allowed, as in scripts
            return parse_trace(lines, label, limit)
    except OSError as exc:
        raise ScriptError(label, 0, f"cannot read trace: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        reason = f"not UTF-8 ({exc.reason} at byte {exc.start})"
        raise ScriptError(label, 0, f"cannot read trace: {reason}") from None


def parse_trace(lines: Iterable[str], label: str = "trace", limit: int | None = None) -> list[TraceRequest]:
    """Parse trace lines (blank lines are skipped); stop after ``limit`` requests."""
    out: list[TraceRequest] = []
    for number, text in enumerate(lines, 1):
        if limit is not None and len(out) >= limit:
            break
        if not text.strip():
            continue
        out.append(_record(text, label, number))
    return out


class _BadLine(Exception):
    """What is wrong with a trace line, in words (:func:`_record` adds its file and line)."""


def _record(text: str, label: str, line: int) -> TraceRequest:
    try:
        return _request(text, line)
    except _BadLine as exc:
        raise ScriptError(label, line, str(exc)) from None


def _request(text: str, line: int) -> TraceRequest:
    """The request on one trace line, or _BadLine naming its first problem.

    Written for speed (it runs once per line): a JSON value's type is one of a few exact types,
    so ``type(v) is int`` stands for "an int and not a bool"; the usual line passes each check
    at once, and only a bad one is looked at again to say what is wrong.
    """
    if too_deep(text):
        raise _BadLine(f"not a trace line: JSON nested more than {MAX_DEPTH} levels deep")
    try:
        data = _loads(text)
    except ValueError as exc:  # also an integer literal of more than 4,300 digits
        raise _BadLine(f"not JSON: {shown(str(exc), 200)}") from None
    if type(data) is not dict:
        raise _BadLine("a trace line must be a JSON object")
    if not data.keys() >= _KEY_SET:
        raise _BadLine(f"missing key '{next(key for key in _KEYS if key not in data)}'")
    stamp = data["timestamp"]
    if type(stamp) not in (int, float) or not 0 <= stamp < math.inf:
        raise _BadLine(f"timestamp must be a number >= 0, got {brief(stamp)}")
    for key in ("input_length", "output_length"):
        value = data[key]
        if type(value) is not int or value < 0:
            raise _BadLine(f"{key} must be an integer >= 0, got {brief(value)}")
    ids = data["hash_ids"]
    if type(ids) is not list:
        raise _BadLine(f"hash_ids must be a list of block ids, got {brief(ids)}")
    if not _plain_ids(ids):
        seen: set[int] = set()
        for block in ids:  # name the first bad id
            if type(block) is not int or not 0 <= block <= MAX_ID:
                raise _BadLine(f"hash_ids: {brief(block)} is not an integer in 0..2^64-1")
            if block in seen:
                raise _BadLine(f"hash_ids: block {block} appears twice")
            seen.add(block)
    return TraceRequest(float(stamp), data["input_length"], data["output_length"], tuple(ids), line)


_DECODER = json.JSONDecoder()  # json.loads's own settings


def _loads(text: str) -> Any:
    """``json.loads(text)``, a quarter faster on a trace's many small lines.

    The usual line (one JSON value between JSON whitespace) is decoded in place by
    ``raw_decode``, which skips ``loads``'s layers of Python calls; any other line, including
    every bad one, goes to ``json.loads`` itself, so the value and each error message are its.
    """
    body = text.strip(" \t\n\r")  # JSON's whitespace only, as json.loads skips
    try:
        value, end = _DECODER.raw_decode(body)
    except ValueError:
        return json.loads(text)  # raises json.loads's own error
    return value if end == len(body) else json.loads(text)


def _plain_ids(ids: list[Any]) -> bool:
    """True when every id is a plain int in 0..2^64-1 and none repeats: the usual chain, checked
    by a few whole-list operations at C speed (a trace holds 30 ids a line on average)."""
    if not ids:
        return True
    return set(map(type, ids)) == {int} and min(ids) >= 0 and max(ids) <= MAX_ID and len(set(ids)) == len(ids)


def too_deep(text: str, limit: int | None = None) -> bool:
    """True when JSON ``text`` nests arrays/objects deeper than ``limit`` (json.loads would
    recurse once per level and die of a RecursionError on a 100k-deep line)."""
    limit = MAX_DEPTH if limit is None else limit
    if text.count("[") + text.count("{") <= limit:  # the common case: nothing to scan
        return False
    depth = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if depth > limit:
                return True
        elif ch in "]}":
            depth -= 1
    return False


def distinct_blocks(records: Iterable[TraceRequest]) -> int:
    return len({block for rec in records for block in rec.hash_ids})


def scan(mgr: KvManager, ids: Iterable[int]) -> tuple[int, int]:
    """(prefix run, count anywhere) of ``ids`` resident in G1 now (active or cached).

    One membership test per id, made by ``map`` at C speed (every request of a replay is
    scanned, so this loop is the replay's own largest cost after the manager's).
    """
    resident = list(map(mgr.refs.__contains__, ids))  # registered ids
    anywhere = resident.count(True)
    prefix = resident.index(False) if anywhere < len(resident) else anywhere
    return prefix, anywhere


@dataclass(slots=True)
class TraceFigures:
    """Running totals of a replay; :meth:`to_json` is the `kvtui trace --json` object."""

    requests: int = 0
    blocks: int = 0
    input_tokens: int = 0
    prefix_hit_blocks: int = 0
    prefix_hit_tokens: int = 0
    hit_blocks_anywhere: int = 0
    stored_blocks: int = 0
    evicted_blocks: int = 0
    truncated_requests: int = 0
    g2_hit_blocks: int = 0
    g2_hit_tokens: int = 0  # tokens of the G1 prefix plus its G2 continuation
    g2_stored_blocks: int = 0
    g2_evicted_blocks: int = 0

    def count_events(self, result: MoveResult) -> None:
        for event in result.events:
            if event.tier == DEVICE and event.kind == "removed":
                self.evicted_blocks += len(event.blocks)
            elif event.tier == HOST_PINNED:
                if event.kind == "stored":
                    self.g2_stored_blocks += len(event.blocks)
                else:
                    self.g2_evicted_blocks += len(event.blocks)


def _ratio(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


@dataclass(frozen=True, slots=True)
class RequestOutcome:
    """What one replayed request did (for a player's log)."""

    index: int  # 0-based position in the trace
    record: TraceRequest
    prefix_hit: int
    hits_anywhere: int
    g2_hit: int
    committed: int
    results: tuple[MoveResult, ...]  # every command applied for it, in order


@dataclass(slots=True)
class TraceReplay:
    """Replays trace requests one at a time on its own manager.

    ``capacity=None`` is unbounded: one G1 slot per distinct block of the trace, so nothing is
    ever evicted.
    """

    records: list[TraceRequest]
    capacity: int | None = None
    eviction: str = "lineage"
    block_size: int = DEFAULT_BLOCK_SIZE
    offload: OffloadConfig | None = None
    label: str = "trace"
    record_events: bool = True  # False: the manager keeps no event history (figures are counters)
    manager: KvManager = field(init=False)
    figures: TraceFigures = field(init=False)
    index: int = field(init=False, default=0)
    unique_blocks: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        if self.block_size < 1:
            raise KvError(f"block size must be >= 1, got {self.block_size}")
        self.unique_blocks = distinct_blocks(self.records)
        slots = self.capacity if self.capacity is not None else max(1, self.unique_blocks)
        self.manager = KvManager(slots, self.block_size, self.eviction, 0, self.offload)
        self.manager.record_events = self.record_events
        self.figures = TraceFigures()

    @property
    def done(self) -> bool:
        return self.index >= len(self.records)

    def step(self) -> RequestOutcome:
        """Replay the next request; raise ScriptError(FILE:LINE: …) if the manager rejects it."""
        outcome = self._next(keep=True)
        assert outcome is not None
        return outcome

    def run(self, progress: Callable[[int], None] | None = None, every: int = 64) -> TraceFigures:
        """Replay every remaining request; ``progress(n)`` reports n more requests done.

        The figures are those of stepping through; only no RequestOutcome is built (nobody
        would read it), which saves a seventh of the replay's time.
        """
        pending = 0
        while not self.done:
            self._next(keep=False)
            pending += 1
            if progress is not None and pending >= every:
                progress(pending)
                pending = 0
        if progress is not None and pending:
            progress(pending)
        return self.figures

    def _next(self, keep: bool) -> RequestOutcome | None:
        """Replay the next request (its outcome if ``keep``); KvError becomes FILE:LINE."""
        rec = self.records[self.index]
        try:
            outcome = self._replay(rec, keep)
        except KvError as exc:
            raise ScriptError(self.label, rec.line, str(exc)) from None
        self.index += 1
        return outcome

    def _replay(self, rec: TraceRequest, keep: bool) -> RequestOutcome | None:
        """Apply one request and add it to the figures; its outcome if ``keep`` (then each plain
        ``visit`` is one folded result, as a typed ``visit`` command would give)."""
        mgr, fig, ids = self.manager, self.figures, rec.hash_ids
        results: list[MoveResult] = []
        g2 = mgr.offload_enabled
        if g2 and rec.timestamp > mgr.clock_ms:
            results.append(mgr.tick(rec.timestamp - mgr.clock_ms))
        prefix, anywhere = scan(mgr, ids)
        onboarded = self._swap_in(ids, prefix, results) if g2 and ids else 0
        committed = self._use(ids, results, fold=keep) if ids else 0
        fig.requests += 1
        fig.blocks += len(ids)
        fig.input_tokens += rec.input_length
        fig.prefix_hit_blocks += prefix
        fig.prefix_hit_tokens += min(prefix * self.block_size, rec.input_length)
        fig.hit_blocks_anywhere += anywhere
        fig.g2_hit_blocks += onboarded
        fig.g2_hit_tokens += min((prefix + onboarded) * self.block_size, rec.input_length)
        fig.truncated_requests += committed < len(ids)
        for result in results:
            fig.count_events(result)
            fig.stored_blocks += len(result.stored)
        if not keep:
            return None
        return RequestOutcome(self.index, rec, prefix, anywhere, onboarded, committed, tuple(results))

    def _swap_in(self, ids: tuple[int, ...], prefix: int, results: list[MoveResult]) -> int:
        """Onboard the G2 run that continues the G1 prefix and wait for it; its length.

        A refused swap-in (G1 must first copy victims to G2, or every G1 slot is waiting behind
        such a copy) waits for the next transfer and tries again.
        """
        mgr, engine = self.manager, self.manager.offload_engine
        assert engine is not None
        if not engine.resident_run(ids[prefix:]):
            return 0
        run: list[int] = []
        for _ in range(_MAX_WAITS):
            got = mgr.swapin(ids)
            results.append(got)
            run = got.onboarding
            if run or not self._wait(got.blocked, results):
                break
        for _ in range(_MAX_WAITS):
            if all(block in mgr.refs for block in run) or mgr.earliest_deadline() is None:
                break
            results.append(mgr.tick(None))
        return len(run)

    def _use(self, ids: tuple[int, ...], results: list[MoveResult], fold: bool = True) -> int:
        """``visit`` the chain; with G2, a Use stopped on an offload waits and continues.

        ``fold=False``: the visit's two results as they are, not folded into one (the same
        events and stores in the same order: the figures cannot tell).
        """
        mgr = self.manager
        if not mgr.offload_enabled:  # the loader checked the ids
            if fold:
                result = visit(mgr, ids, checked=True)
                results.append(result)
                return result.returned
            moves = visit_moves(mgr, ids, checked=True)
            results += [got for _, got in moves]
            return moves[0][1].returned
        committed = 0
        for _ in range(_MAX_WAITS):
            got = mgr.apply(Use(ids[committed:], parent=ids[committed - 1] if committed else None))
            results.append(got)
            committed += got.returned
            if committed == len(ids) or not self._wait(got.blocked, results):
                break
        if committed:
            results.append(mgr.apply(Deref(tuple(reversed(ids[:committed])))))
        return committed

    def _wait(self, blocked: bool, results: list[MoveResult]) -> bool:
        """After a G2-era stop: tick to the next transfer when no G1 slot is free; False when
        retrying cannot help (nothing blocked and nothing in flight)."""
        mgr = self.manager
        pending = mgr.earliest_deadline() is not None
        if not blocked and not pending:
            return False
        if pending and not mgr.num_reset:
            results.append(mgr.tick(None))
        return True


def figures_json(replay: TraceReplay) -> dict[str, Any]:
    """The `kvtui trace --json` object: config, counts and ratios (deterministic)."""
    fig = replay.figures
    mgr = replay.manager
    out: dict[str, Any] = {
        "trace": replay.label,
        "config": {
            "capacity": mgr.capacity,
            "unbounded": replay.capacity is None,
            "eviction": replay.eviction,
            "block_size": replay.block_size,
            "g2_blocks": replay.offload.g2_blocks if replay.offload else None,
        },
        "requests": fig.requests,
        "blocks": fig.blocks,
        "unique_blocks": replay.unique_blocks,
        "input_tokens": fig.input_tokens,
        "prefix_hit_blocks": fig.prefix_hit_blocks,
        "prefix_block_hit_ratio": _ratio(fig.prefix_hit_blocks, fig.blocks),
        "prefix_hit_tokens": fig.prefix_hit_tokens,
        "prefix_token_hit_ratio": _ratio(fig.prefix_hit_tokens, fig.input_tokens),
        "hit_blocks_anywhere": fig.hit_blocks_anywhere,
        "block_hit_ratio_anywhere": _ratio(fig.hit_blocks_anywhere, fig.blocks),
        "stored_blocks": fig.stored_blocks,
        "evicted_blocks": fig.evicted_blocks,
        "truncated_requests": fig.truncated_requests,
        "g2": None,
    }
    if replay.offload is not None:
        out["g2"] = {
            "hit_blocks": fig.g2_hit_blocks,
            "prefix_block_hit_ratio": _ratio(fig.prefix_hit_blocks + fig.g2_hit_blocks, fig.blocks),
            "prefix_token_hit_ratio": _ratio(fig.g2_hit_tokens, fig.input_tokens),
            "stored_blocks": fig.g2_stored_blocks,
            "evicted_blocks": fig.g2_evicted_blocks,
            "clock_ms": mgr.clock_ms,
        }
    return out
