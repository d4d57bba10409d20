"""The MoveBlock protocol (SPEC §4): Use, Deref, Promote.

Full blocks are plain ``int`` ids; partial blocks are :class:`Partial` labels. Lineage is not
part of a move: the manager derives it (SPEC §8) from the move's order, ``parent`` and the ids it
has already seen.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Partial:
    """A block still filling with tokens (upstream: a UUID); never cached or announced."""

    name: str

    def __str__(self) -> str:
        return f"~{self.name}"


BlockRef = int | Partial


@dataclass(frozen=True, slots=True)
class Use:
    """Allocate or hit ``blocks`` in order; the full ids form a chain (SPEC §4.1)."""

    blocks: tuple[BlockRef, ...]
    parent: int | None = None
    token_hashes: tuple[int, ...] | None = None  # one per full block, default 0
    # True when whoever built the move vouches that every entry is an int id in 0..2^64-1 (the
    # parser's fast path converts plain decimal ids and checks the range): the manager then
    # skips re-checking types and range. Not part of the move's identity.
    plain: bool = field(default=False, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Deref:
    """Release one reference per entry, in list order (SPEC §4.2)."""

    blocks: tuple[BlockRef, ...]
    plain: bool = field(default=False, compare=False, repr=False)  # as Use.plain


@dataclass(frozen=True, slots=True)
class Promote:
    """A held partial becomes full block ``block`` (SPEC §4.3)."""

    partial: str
    block: int
    parent: int | None = None
    token_hash: int = 0


Move = Use | Deref | Promote


def format_move(move: Move, name: Callable[[int], str] = str) -> str:
    """Render a move in the command language (SPEC §8); `name` formats full ids (labels)."""

    def ref(entry: BlockRef) -> str:
        return str(entry) if isinstance(entry, Partial) else name(entry)

    if isinstance(move, Use):
        text = "use " + " ".join(map(ref, move.blocks))
        return text + (f" parent={name(move.parent)}" if move.parent is not None else "")
    if isinstance(move, Deref):
        return "deref " + " ".join(map(ref, move.blocks))
    text = f"promote ~{move.partial} {name(move.block)}"
    return text + (f" parent={name(move.parent)}" if move.parent is not None else "")
