"""Token-block hashing exactly as the upstream mocker does it (SPEC §7, mocker_protocol.md §6).

Block ids must match a real Dynamo deployment so that kvtui's router events name the same
blocks a real router would. Three values exist per full block of ``block_size`` tokens:

* **token hash** (upstream ``BlockHash`` / router ``LocalBlockHash``): ``xxh3_64`` of the block's
  tokens as little-endian u32 bytes, seeded with the salt (the mocker passes 1337);
* **block id** (upstream ``SequenceHash``, the mocker's ``FullBlock`` id): position 0 is its token
  hash; position p > 0 is ``xxh3_64(le_u64(parent_id) + le_u64(token_hash))`` seeded with the
  *chain seed*. The chain seed was the salt (1337) in the long-standing 2025 code and the
  constant 0 in one 2026 commit; it is a parameter here, defaulting to 1337;
* **positional lineage hash** (PLH, u128): only kvbm-logical's internal key. kvtui's manager
  uses ``(id, parent, position)`` instead, so it is provided for reference and parity tests.

It also holds a small deterministic text tokenizer, so a request can be typed as text.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence
from typing import Literal, NamedTuple

import xxhash

SALT_HASH = 1337
"""The mocker's salt (``MOCKER_SALT_HASH``), used directly as the xxh3 seed of token hashes."""

CHAIN_SEED = 1337
"""Default seed of the block-id chain (2025 lib/tokens and the router; 2026 @05039e48 used 0)."""

U32_MAX = (1 << 32) - 1
U64_MASK = (1 << 64) - 1
_U32 = struct.Struct("<I")

PlhLayout = Literal["A", "B"]
"""PLH bit layouts: ``A`` = 2025 (@9acecc75, fragments), ``B`` = 2026 (@05039e48, full current)."""


class BlockHashes(NamedTuple):
    """Per full block of a token list: the token-only hash and the chained block id."""

    token_hashes: tuple[int, ...]
    block_ids: tuple[int, ...]


def token_bytes(tokens: Sequence[int]) -> bytes:
    """Tokens as concatenated little-endian u32 (what upstream feeds to xxh3)."""
    try:  # struct checks the range itself; the tokens are scanned only to name a bad one
        return struct.pack(f"<{len(tokens)}I", *tokens)
    except struct.error:
        for token in tokens:
            if not 0 <= token <= U32_MAX:
                raise ValueError(f"token {token} is not a u32") from None
        raise


def runs_hash(runs: Iterable[tuple[int, int]], salt: int = SALT_HASH) -> int:
    """:func:`block_hash` of a block given as (u32 token, count) runs: a trace prompt's block
    is a few runs of one repeated token, packed here without expanding it token by token."""
    data = b"".join(_U32.pack(token) * count for token, count in runs)
    return xxhash.xxh3_64_intdigest(data, seed=salt)


def block_hash(tokens: Sequence[int], salt: int = SALT_HASH) -> int:
    """Token hash of one block: ``xxh3_64(le_u32 tokens, seed=salt)``, not chained."""
    return xxhash.xxh3_64_intdigest(token_bytes(tokens), seed=salt)


def sequence_hash(parent_id: int, token_hash: int, chain_seed: int = CHAIN_SEED) -> int:
    """Block id of a non-root block: ``xxh3_64(le_u64(parent) + le_u64(token_hash))``."""
    data = struct.pack("<QQ", parent_id & U64_MASK, token_hash & U64_MASK)
    return xxhash.xxh3_64_intdigest(data, seed=chain_seed)


def block_id(parent_id: int | None, token_hash: int, chain_seed: int = CHAIN_SEED) -> int:
    """Block id at any position: the token hash at the root, else the chained hash."""
    if parent_id is None:
        return token_hash
    return sequence_hash(parent_id, token_hash, chain_seed)


def hash_token_blocks(
    tokens: Sequence[int],
    block_size: int,
    *,
    salt: int = SALT_HASH,
    chain_seed: int = CHAIN_SEED,
) -> BlockHashes:
    """Hash the ``len(tokens) // block_size`` full blocks; a trailing remainder is ignored."""
    if block_size < 1:
        raise ValueError(f"block size must be >= 1, got {block_size}")
    token_hashes: list[int] = []
    block_ids: list[int] = []
    parent: int | None = None
    for start in range(0, len(tokens) - block_size + 1, block_size):
        th = block_hash(tokens[start : start + block_size], salt)
        bid = block_id(parent, th, chain_seed)
        token_hashes.append(th)
        block_ids.append(bid)
        parent = bid
    return BlockHashes(tuple(token_hashes), tuple(block_ids))


def _plh_mode(position: int) -> int:
    if position < 0 or position >= 1 << 24:
        raise ValueError(f"PLH position {position} out of range 0..2^24-1")
    if position < 1 << 8:
        return 0
    return 1 if position < 1 << 16 else 2


def positional_lineage_hash(
    current_id: int, parent_id: int | None, position: int, layout: PlhLayout = "A"
) -> int:
    """Upstream ``PositionalLineageHash::new`` as a u128, in either bit layout.

    Layout A: ``[mode:2][pos:P][parent_frag:M][current_frag:N]``, (P, M=N) = (8, 59), (16, 55),
    (24, 51), the current hash masked to the M of position+1's mode. Layout B:
    ``[mode:2][pos:P][current:64][parent_frag:R]``, (P, R) = (8, 54), (16, 46), (24, 38).
    """
    mode = _plh_mode(position)
    pos_bits = (8, 16, 24)[mode]
    parent = (parent_id or 0) & U64_MASK
    current = current_id & U64_MASK
    if layout == "A":
        frag_bits = (59, 55, 51)
        m = frag_bits[mode]
        next_mode = 2 if position + 1 >= 1 << 16 else (1 if position + 1 >= 1 << 8 else 0)
        cur_bits = min(m, frag_bits[next_mode])
        value = (
            (mode << 126)
            | (position << (2 * m))
            | ((parent & ((1 << m) - 1)) << m)
            | (current & ((1 << cur_bits) - 1))
        )
    else:
        r = 126 - pos_bits - 64
        value = (mode << 126) | (position << (64 + r)) | (current << r) | (parent & ((1 << r) - 1))
    return value


def tokenize_text(text: str, salt: int = SALT_HASH) -> list[int]:
    """Deterministic toy tokenizer: one token per whitespace-separated word.

    Token = low 32 bits of ``xxh3_64(word as UTF-8, seed=salt)``. It is stable across runs,
    processes and platforms (no Python ``hash``), case- and punctuation-sensitive
    (``"Hi"``, ``"hi"`` and ``"hi,"`` differ), and identical text prefixes give identical token
    prefixes, which is all prefix caching needs. It is not a real model vocabulary.
    """
    return [
        xxhash.xxh3_64_intdigest(word.encode("utf-8"), seed=salt) & U32_MAX for word in text.split()
    ]
