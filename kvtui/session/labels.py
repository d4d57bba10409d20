"""Short readable labels for long block ids (human output and the UI; JSON keeps full integers).

Request block ids are 64-bit hashes (SPEC §7) such as ``14643705804678351452``: unreadable in a
table or a log line. :func:`short` keeps ids below :data:`SHORT_LIMIT` as they are (the ids people
type, and trace ids) and renders larger ones as ``#`` plus six hex digits: the top 24 bits of
``xxh3_64(id as 8 little-endian bytes, seed=0)``. The label is stable (same id, same label, on
every run and platform) and spread evenly even for ids that differ only in low bits. Two ids
share a label with probability about n²/2^25 among n ids (≈3% for 1,000 distinct long ids), so a
label is a readable handle, never a key: wherever exactness matters (JSON, `expect`), full ids
are used.
"""

from __future__ import annotations

import struct

import xxhash

from kvtui.sim.moves import BlockRef, Move, Partial, format_move

SHORT_LIMIT = 1_000_000
"""Ids below this are shown in full."""


def short(block: int) -> str:
    """``block`` itself when below 1,000,000, else ``#xxxxxx`` (see the module docstring)."""
    if 0 <= block < SHORT_LIMIT:
        return str(block)
    digest = xxhash.xxh3_64_intdigest(struct.pack("<Q", block & (2**64 - 1)), seed=0)
    return f"#{digest >> 40:06x}"


def short_ref(ref: BlockRef) -> str:
    """A block reference: a short id, or ``~NAME`` for a partial."""
    return str(ref) if isinstance(ref, Partial) else short(ref)


def short_ids(blocks: list[int] | tuple[int, ...]) -> str:
    """Space-separated short labels."""
    return " ".join(map(short, blocks))


def short_move(move: Move) -> str:
    """A move in the command language with short labels (display only: it does not re-parse)."""
    return format_move(move, short)
