"""What one step did, in words: the text of the TUI's step summary line and timeline marks.

Everything here is derived from the step's command, its ``MoveResult`` and the World right after
the step (read only), so the TUI draws plain sentences without knowing any engine rule:
``use 1 2 3 → 3 · stored 1 2 3 in G1`` or ``swapin refused: G1 must first offload 2 blocks to G2``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from kvtui.lang.commands import Command, MoveCommand, SwapinCommand, TickCommand
from kvtui.session.labels import short
from kvtui.sim.events import RouterEvent
from kvtui.sim.manager import MoveResult
from kvtui.sim.moves import Deref, Partial, Promote, Use
from kvtui.workload.actions import (
    REQUEST_COMMAND_TYPES,
    NewRequest,
    RequestAction,
    RequestCommand,
    VisitCommand,
)
from kvtui.workload.world import World

IDS_SHOWN = 6
TIER = {"device": "G1", "host_pinned": "G2"}


@dataclass(frozen=True, slots=True)
class StepWords:
    """One step's summary: what it returned, what happened, and why it was refused (if so)."""

    returned: int | None
    effect: str  # events and state changes in words ("" when nothing visible happened)
    refusal: str = ""  # a swapin/use that stopped: why, and what to do
    warnings: tuple[str, ...] = ()


def ids(blocks: Sequence[int], limit: int = IDS_SHOWN) -> str:
    """Short labels of the first `limit` blocks, then how many more."""
    text = " ".join(short(b) for b in blocks[:limit])
    return text + (f" …(+{len(blocks) - limit})" if len(blocks) > limit else "")


def brief_command(text: str, limit: int = 8) -> str:
    """A command cut to its verb and first words (a trace `visit` can name hundreds of ids)."""
    words = text.split()
    if len(words) <= limit:
        return text
    return " ".join(words[:limit]) + f" …(+{len(words) - limit} more)"


def events_in_words(events: Sequence[RouterEvent]) -> str:
    """'stored 1 2 3 in G1 · removed 4 from G1': runs of same-kind events in one tier merged."""
    runs: list[tuple[str, str, list[int]]] = []
    for event in events:
        tier = TIER.get(event.tier, event.tier)
        if runs and runs[-1][:2] == (event.kind, tier):
            runs[-1][2].extend(event.blocks)
        else:
            runs.append((event.kind, tier, list(event.blocks)))
    parts = []
    for kind, tier, blocks in runs:
        where = "in" if kind == "stored" else "from"
        parts.append(f"{kind} {ids(blocks)} {where} {tier}")
    return " · ".join(parts)


def describe(command: Command | None, result: MoveResult, world: World) -> StepWords:
    """The words for a step that applied; `world` is the state right after it."""
    if isinstance(command, MoveCommand):
        effect, refusal = _move_words(command, result, world)
    elif isinstance(command, SwapinCommand):
        effect, refusal = _swapin_words(command, result, world)
    elif isinstance(command, TickCommand):
        effect, refusal = f"clock now {world.manager.clock_ms:g} ms", ""
    elif isinstance(command, REQUEST_COMMAND_TYPES):
        effect, refusal = _request_words(command, result, world), ""
    else:
        effect, refusal = "", ""
    published = events_in_words(result.events)
    text = " · ".join(part for part in (effect, published) if part)
    return StepWords(result.returned, text, refusal, tuple(result.warnings))


def _move_words(command: MoveCommand, result: MoveResult, world: World) -> tuple[str, str]:
    move = command.move
    mgr = world.manager
    if isinstance(move, Deref):
        fulls = [b for b in move.blocks if isinstance(b, int)]
        cached = [b for b in dict.fromkeys(fulls) if b in mgr.blocks and not mgr.blocks[b].refs]
        parts = [f"released {' '.join(_ref(b) for b in move.blocks[:IDS_SHOWN])}"]
        if len(move.blocks) > IDS_SHOWN:
            parts[0] += f" …(+{len(move.blocks) - IDS_SHOWN})"
        if cached:
            parts.append(f"now cached (refcount 0): {ids(cached)}")
        return " · ".join(parts), ""
    if isinstance(move, Promote):
        if result.stored:
            return f"~{move.partial} became block {short(move.block)}", ""
        return f"block {short(move.block)} was already registered: ~{move.partial}'s slot is freed", ""
    assert isinstance(move, Use)
    done = move.blocks[: result.returned]
    stored = set(result.stored)
    hits = [b for b in done if isinstance(b, int) and b not in stored]
    partials = [b for b in done if isinstance(b, Partial)]
    parts = []
    if hits:
        parts.append(f"hit {ids(hits)}")
    if partials:
        parts.append(f"partial {' '.join(str(p) for p in partials[:IDS_SHOWN])}")
    refusal = ""
    if result.returned < len(move.blocks):
        missing = len(move.blocks) - result.returned
        if result.blocked:
            refusal = (
                f"use stopped after {result.returned} of {len(move.blocks)}: G1 must first offload "
                f"{_blocks(len(result.evicted))} to G2 ({ids(result.evicted)}); tick, then use again"
            )
        else:
            refusal = f"use stopped after {result.returned} of {len(move.blocks)}: G1 has no free " \
                f"or cached slot for the other {_blocks(missing)}"
    return " · ".join(parts), refusal


def _swapin_words(command: SwapinCommand, result: MoveResult, world: World) -> tuple[str, str]:
    if result.onboarding:
        return f"onboarding {ids(result.onboarding)} from G2 (they land in G1 after a tick)", ""
    if result.blocked:
        return "", (
            f"swapin refused: G1 must first offload {_blocks(len(result.evicted))} to G2 "
            f"({ids(result.evicted)}); tick until the copy lands, then swapin again"
        )
    mgr = world.manager
    skip = 0
    while skip < len(command.blocks) and command.blocks[skip] in mgr.blocks:
        skip += 1
    engine = getattr(mgr, "offload_engine", None)
    run = engine.resident_run(command.blocks[skip:]) if engine is not None else []
    if run:
        return "", f"swapin refused: G1 has no free or cached slot for {_blocks(len(run))} (all in use)"
    if skip == len(command.blocks):
        return "nothing to do: the whole chain is already in G1", ""
    return f"nothing to do: block {short(command.blocks[skip])} is not in G2", ""


def _request_words(command: RequestCommand, result: MoveResult, world: World) -> str:
    moves = len(result.expanded)
    parts = [f"{moves} move{'s' if moves != 1 else ''}"] if moves else []
    if isinstance(command, VisitCommand):
        parts.insert(0, f"{result.returned} of {len(command.blocks)} blocks used then released")
        return " · ".join(parts)
    if not isinstance(command, (NewRequest, RequestAction)):  # pass / drain: the scheduler panel
        return " · ".join(parts)  # tells the pass in detail; here, how many moves it made
    req = world.requests.requests.get(command.name)
    if req is not None:
        seq = req.seq
        parts.insert(
            0,
            f"{req.name} {req.state}: {len(seq)} tokens, {seq.num_allocated_tokens} allocated, "
            f"holds {_blocks(req.held_blocks)}",
        )
    return " · ".join(parts)


def _ref(ref: int | Partial) -> str:
    return str(ref) if isinstance(ref, Partial) else short(ref)


def _blocks(n: int) -> str:
    return f"{n} block{'s' if n != 1 else ''}"
