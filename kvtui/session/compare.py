"""Lockstep comparison: the same steps on two or three sessions that differ only in config.

Why: "would another policy have kept this block?" is answered by running the same workload
under each backend (or capacity) side by side and finding the steps where they part ways.

A :class:`Comparison` builds one :class:`Session` per :class:`Variant`, scans every step once
(all sessions stepping together) and records, per step and session, what the step did
(:class:`StepFacts`), running hit figures (:class:`Tally`) and, where the sessions differ, a
:class:`Divergence` with the difference in words ("lru evicted 0 1, lineage evicted 4 3").
Afterwards the sessions jump together, so a viewer can show them at any step.

A step *diverges* when the sessions' results differ — blocks evicted, stored or announced as
removed, G2 traffic, the step's prefix hit or return value — or when the head of their eviction
queues (the next :data:`ORDER_HEAD` victims) goes from equal to different: the step where the
eviction order parts. While the heads stay different no new order divergence is recorded (on a
long run they rarely agree again; the differing evictions are recorded as they happen).

Expects are not checked: a script's expects are written for one backend.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from kvtui.lang.commands import Command, MoveCommand
from kvtui.lang.script import Script
from kvtui.session.labels import short_ids
from kvtui.session.report import g1_summary
from kvtui.session.session import FIRST_INTERVAL, Session, StepError
from kvtui.sim.errors import KvError
from kvtui.sim.events import DEVICE, HOST_PINNED
from kvtui.sim.manager import MoveResult
from kvtui.sim.moves import Partial, Use
from kvtui.workload.actions import VisitCommand
from kvtui.workload.requests import prefix_hit

ORDER_HEAD = 8  # next victims compared after every step: O(ORDER_HEAD log n), never O(capacity)
MIN_SESSIONS, MAX_SESSIONS = 2, 3
CHECKPOINTS = 32  # per session in a scan (a jump replays at most steps / CHECKPOINTS steps)


@dataclass(frozen=True, slots=True)
class Variant:
    """One side of a comparison: its label and the config it overrides (None keeps the script's)."""

    label: str
    eviction: str | None = None
    capacity: int | None = None


def make_variants(evictions: Sequence[str], capacities: Sequence[int]) -> list[Variant]:
    """Every eviction × capacity pair, labelled by what varies; 2 or 3 of them, else KvError.

    No evictions means the script's backend; no capacities means the script's capacity.
    """
    if len(set(evictions)) != len(evictions) or len(set(capacities)) != len(capacities):
        raise KvError("compare: each backend and capacity may be given once")
    backends: list[str | None] = list(evictions) or [None]
    sizes: list[int | None] = list(capacities) or [None]
    pairs = list(itertools.product(backends, sizes))
    if not MIN_SESSIONS <= len(pairs) <= MAX_SESSIONS:
        raise KvError(
            f"compare needs {MIN_SESSIONS} or {MAX_SESSIONS} sessions (backends × capacities), "
            f"got {len(pairs)}"
        )
    out = []
    for eviction, capacity in pairs:
        parts = []
        if len(evictions) > 1:
            parts.append(str(eviction))
        if len(capacities) > 1:
            parts.append(f"cap {capacity}")
        out.append(Variant(" ".join(parts) or str(eviction or capacity), eviction, capacity))
    return out


@dataclass(frozen=True, slots=True)
class StepFacts:
    """What one step did in one session, plus the head of its eviction queue afterwards."""

    returned: int
    evicted: tuple[int, ...]
    stored: tuple[int, ...]
    removed: tuple[int, ...]  # G1 `removed` events' blocks (with G2: when the copy lands)
    g2_stored: int
    g2_removed: int
    g2_onboarded: int
    lookups: int  # full blocks the step's Uses looked up
    prefix_hit: int  # leading blocks of those Uses already resident
    tokens: int
    hit_tokens: int
    head: tuple[int, ...]  # the next ORDER_HEAD victims after the step


@dataclass(frozen=True, slots=True)
class Tally:
    """Running figures of one session: prefix hits in blocks and tokens, evictions, G2 traffic."""

    steps: int = 0
    lookups: int = 0
    prefix_hit_blocks: int = 0
    tokens: int = 0
    prefix_hit_tokens: int = 0
    stored: int = 0
    evicted: int = 0
    g2_stored: int = 0
    g2_removed: int = 0
    g2_onboarded: int = 0

    def plus(self, f: StepFacts) -> Tally:
        return Tally(
            self.steps + 1,
            self.lookups + f.lookups,
            self.prefix_hit_blocks + f.prefix_hit,
            self.tokens + f.tokens,
            self.prefix_hit_tokens + f.hit_tokens,
            self.stored + len(f.stored),
            self.evicted + len(f.evicted),
            self.g2_stored + f.g2_stored,
            self.g2_removed + f.g2_removed,
            self.g2_onboarded + f.g2_onboarded,
        )

    @property
    def block_hit_ratio(self) -> float:
        return self.prefix_hit_blocks / self.lookups if self.lookups else 0.0

    @property
    def token_hit_ratio(self) -> float:
        return self.prefix_hit_tokens / self.tokens if self.tokens else 0.0

    def to_json(self, offload: bool) -> dict[str, Any]:
        out: dict[str, Any] = {
            "lookup_blocks": self.lookups,
            "prefix_hit_blocks": self.prefix_hit_blocks,
            "prefix_block_hit_ratio": self.block_hit_ratio,
            "lookup_tokens": self.tokens,
            "prefix_hit_tokens": self.prefix_hit_tokens,
            "prefix_token_hit_ratio": self.token_hit_ratio,
            "stored_blocks": self.stored,
            "evicted_blocks": self.evicted,
            "g2": None,
        }
        if offload:
            out["g2"] = {
                "stored_blocks": self.g2_stored,
                "evicted_blocks": self.g2_removed,
                "onboarded_blocks": self.g2_onboarded,
            }
        return out


def _uses(command: Command | None, result: MoveResult) -> list[tuple[Use, MoveResult]]:
    if isinstance(command, MoveCommand) and isinstance(command.move, Use):
        return [(command.move, result)]
    return [(move, got) for move, got in result.expanded if isinstance(move, Use)]


def step_facts(session: Session, command: Command | None, result: MoveResult) -> StepFacts:
    """The facts of the step just applied (``result``), read from its result and events.

    Token figures follow `kvtui trace`: a ``visit`` with ``input=N`` looks up N tokens and hits
    ``min(hit blocks × block size, N)``; any other Use counts block size tokens per full block.
    """
    removed: list[int] = []
    g2_stored = g2_removed = 0
    for event in result.events:
        if event.tier == DEVICE and event.kind == "removed":
            removed += event.blocks
        elif event.tier == HOST_PINNED:
            if event.kind == "stored":
                g2_stored += len(event.blocks)
            else:
                g2_removed += len(event.blocks)
    lookups = hits = 0
    for move, got in _uses(command, result):
        lookups += sum(1 for entry in move.blocks if not isinstance(entry, Partial))
        hits += prefix_hit(move, got)
    size = session.config.block_size
    tokens, hit_tokens = lookups * size, hits * size
    if isinstance(command, VisitCommand) and command.input_tokens is not None:
        tokens, hit_tokens = command.input_tokens, min(hit_tokens, command.input_tokens)
    return StepFacts(
        result.returned,
        tuple(result.evicted),
        tuple(result.stored),
        tuple(removed),
        g2_stored,
        g2_removed,
        len(result.onboarding),
        lookups,
        hits,
        tokens,
        hit_tokens,
        tuple(session.manager.eviction_order(ORDER_HEAD)),
    )


@dataclass(frozen=True, slots=True)
class Divergence:
    """A step where the sessions differ: which facts differed and the difference in words."""

    step: int
    command: str
    kinds: tuple[str, ...]  # evicted, stored, removed, g2, hits, returned, order
    text: str
    facts: tuple[StepFacts, ...]

    def to_json(self, labels: Sequence[str]) -> dict[str, Any]:
        return {
            "step": self.step,
            "command": self.command,
            "kinds": list(self.kinds),
            "text": self.text,
            "sessions": {
                label: {
                    "returned": f.returned,
                    "evicted": list(f.evicted),
                    "stored": list(f.stored),
                    "removed": list(f.removed),
                    "prefix_hit_blocks": f.prefix_hit,
                    "next_victims": list(f.head),
                }
                for label, f in zip(labels, self.facts, strict=True)
            },
        }


def _grouped(labels: Sequence[str], values: Sequence[Any], say: Callable[[Any], str]) -> str:
    """'lru evicted 0 1, lineage and multi_lru evicted 4 3': sessions with equal values share words."""
    groups: dict[Any, list[str]] = {}
    for label, value in zip(labels, values, strict=True):
        groups.setdefault(value, []).append(label)
    return ", ".join(f"{' and '.join(names)} {say(value)}" for value, names in groups.items())


def _ids(blocks: tuple[int, ...]) -> str:
    return short_ids(blocks) if blocks else "nothing"


def describe(
    labels: Sequence[str], facts: Sequence[StepFacts], order_parts: bool
) -> tuple[tuple[str, ...], str]:
    """(kinds, words) for one step's facts across sessions; no kinds when nothing differs."""
    kinds: list[str] = []
    words: list[str] = []

    def differ(kind: str, values: list[Any], say: Callable[[Any], str]) -> None:
        if len(set(values)) > 1:
            kinds.append(kind)
            words.append(_grouped(labels, values, say))

    differ("evicted", [f.evicted for f in facts], lambda v: f"evicted {_ids(v)}")
    if any(f.removed != f.evicted for f in facts):
        differ("removed", [f.removed for f in facts], lambda v: f"announced removed {_ids(v)}")
    elif len({f.removed for f in facts}) > 1:
        kinds.append("removed")  # the same words as the evictions: said once
    differ("stored", [f.stored for f in facts], lambda v: f"stored {_ids(v)}")
    differ("hits", [(f.prefix_hit, f.lookups) for f in facts], lambda v: f"hit {v[0]} of {v[1]} blocks")
    differ("returned", [f.returned for f in facts], lambda v: f"returned {v}")
    differ(
        "g2",
        [(f.g2_stored, f.g2_removed, f.g2_onboarded) for f in facts],
        lambda v: f"moved G2 +{v[0]} -{v[1]} onboard {v[2]}",
    )
    if order_parts:
        kinds.append("order")
        words.append(
            "eviction order parts: " + _grouped(labels, [f.head for f in facts], lambda v: f"next {_ids(v)}")
        )
    return tuple(kinds), "; ".join(words)


class Comparison:
    """Sessions on the same steps stepping in lockstep; scanned once for divergences."""

    def __init__(self, script: Script, variants: Sequence[Variant], checkpoints: bool = True) -> None:
        if not MIN_SESSIONS <= len(variants) <= MAX_SESSIONS:
            raise KvError(f"compare needs {MIN_SESSIONS} or {MAX_SESSIONS} sessions, got {len(variants)}")
        self.name = script.name
        self.variants = list(variants)
        self.labels = [v.label for v in variants]
        self.sessions = [Session.from_script(script, v.eviction, v.capacity, checkpoints) for v in variants]
        if checkpoints:  # a few checkpoints per session: clones of big worlds dominate a long scan
            interval = FIRST_INTERVAL
            while len(script.steps) > interval * CHECKPOINTS:
                interval *= 2
            for session in self.sessions:
                session.interval = interval
        self.facts: list[tuple[StepFacts, ...]] = []  # facts[n-1]: step n in every session
        self.tallies: list[tuple[Tally, ...]] = [tuple(Tally() for _ in variants)]  # after n steps
        self.divergences: list[Divergence] = []
        self.steps: list[int] = []  # divergence step numbers, ascending
        self.error: StepError | None = None
        self.error_label: str | None = None

    # -- the scan ---------------------------------------------------------------------------

    @property
    def total(self) -> int:
        """Steps every session applied (fewer than the script's when one of them failed)."""
        return len(self.facts)

    def scan(self, progress: Callable[[int], None] | None = None, every: int = 64) -> None:
        """Apply every step to every session, recording facts, tallies and divergences."""
        steps = self.sessions[0].steps
        heads_equal = True
        while len(self.facts) < len(steps):
            number = len(self.facts) + 1
            facts = self._step_all(number)
            if facts is None:
                return
            heads_differ = len({f.head for f in facts}) > 1
            kinds, text = describe(self.labels, facts, heads_equal and heads_differ)
            heads_equal = not heads_differ
            self.facts.append(facts)
            self.tallies.append(tuple(t.plus(f) for t, f in zip(self.tallies[-1], facts, strict=True)))
            if kinds:
                self.divergences.append(Divergence(number, steps[number - 1].text, kinds, text, facts))
                self.steps.append(number)
            if progress is not None and number % every == 0:
                progress(every)

    def _step_all(self, number: int) -> tuple[StepFacts, ...] | None:
        facts = []
        for index, session in enumerate(self.sessions):
            command = session.steps[number - 1].command
            try:
                result = session.forward(check_expects=False)
            except StepError as exc:
                self.error, self.error_label = exc, self.labels[index]
                for done in self.sessions[:index]:  # keep every session on the same step
                    done.jump(number - 1)
                return None
            facts.append(step_facts(session, command, result))
        return tuple(facts)

    # -- moving together --------------------------------------------------------------------

    @property
    def cursor(self) -> int:
        return self.sessions[0].cursor

    def jump(self, step: int) -> None:
        """Move every session to ``step`` (clamped to the scanned steps)."""
        target = max(0, min(step, self.total))
        for session in self.sessions:
            session.jump(target)

    def first_divergence(self) -> int | None:
        return self.steps[0] if self.steps else None

    def next_divergence(self, after: int) -> int | None:
        at = bisect.bisect_right(self.steps, after)
        return self.steps[at] if at < len(self.steps) else None

    def previous_divergence(self, before: int) -> int | None:
        at = bisect.bisect_left(self.steps, before)
        return self.steps[at - 1] if at else None

    def divergence_at(self, step: int) -> Divergence | None:
        at = bisect.bisect_left(self.steps, step)
        return self.divergences[at] if at < len(self.steps) and self.steps[at] == step else None

    def tally(self, step: int | None = None) -> tuple[Tally, ...]:
        """Every session's running figures after ``step`` (default: the cursor)."""
        return self.tallies[self.cursor if step is None else step]

    # -- the headless report ----------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        """Per session the config, final state (SPEC §10 g1/g2) and figures; the divergences."""
        sessions = []
        for label, session, tally in zip(self.labels, self.sessions, self.tally(), strict=True):
            offload = session.config.offload is not None
            sessions.append(
                {
                    "label": label,
                    "config": session.config.to_json(),
                    "steps": session.cursor,
                    "figures": tally.to_json(offload),
                    "g1": g1_summary(session),
                    "g2": session.manager.g2_json() if offload else None,
                }
            )
        out: dict[str, Any] = {
            "name": self.name,
            "steps": self.total,
            "sessions": sessions,
            "first_divergence": self.first_divergence(),
            "divergences": [d.to_json(self.labels) for d in self.divergences],
        }
        if self.error is not None:
            out["error"] = {
                "session": self.error_label,
                "step": self.error.step,
                "line": self.error.line,
                "message": self.error.message,
            }
        return out
