"""Hash vectors from reference/mocker_protocol.md §6 and kvbm_logical.md §7 (SPEC §7)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kvtui.workload.hashing import (
    CHAIN_SEED,
    SALT_HASH,
    BlockHashes,
    block_hash,
    block_id,
    hash_token_blocks,
    positional_lineage_hash,
    runs_hash,
    sequence_hash,
    token_bytes,
    tokenize_text,
)

B0 = 14643705804678351452  # [1, 2, 3, 4]
B1 = 16777012769546811212  # [5, 6, 7, 8]
B2 = 483935686894639516  # [9, 10, 11, 12]
# 2025 lib/tokens, chain seed = salt 1337 (the mocker/router default).
S1_1337 = 4945711292740353085
S2_1337 = 12583592247330656132
# 2026 lib/tokens @05039e48, chain seed 0.
S1_0 = 13257339816715102022
S2_0 = 18362646011897812054


def test_constants() -> None:
    assert SALT_HASH == 1337
    assert CHAIN_SEED == 1337


def test_token_bytes_little_endian_u32() -> None:
    assert token_bytes([1, 0x01020304]) == b"\x01\x00\x00\x00\x04\x03\x02\x01"
    with pytest.raises(ValueError):
        token_bytes([1 << 32])
    with pytest.raises(ValueError, match="token -1 is not a u32"):
        token_bytes([7, -1])


def test_runs_hash_vectors() -> None:
    assert runs_hash([(1, 1), (2, 1), (3, 1), (4, 1)]) == B0
    assert runs_hash([(9, 1), (10, 1), (11, 1), (12, 1)], SALT_HASH) == B2


@given(st.lists(st.tuples(st.integers(0, 2**32 - 1), st.integers(1, 600)), min_size=1, max_size=4))
def test_runs_hash_is_the_block_hash_of_the_expanded_tokens(runs: list[tuple[int, int]]) -> None:
    assert runs_hash(runs) == block_hash([token for token, n in runs for _ in range(n)])


@pytest.mark.parametrize(
    ("tokens", "expected"),
    [([1, 2, 3, 4], B0), ([5, 6, 7, 8], B1), ([9, 10, 11, 12], B2)],
)
def test_block_hash_vectors(tokens: list[int], expected: int) -> None:
    assert block_hash(tokens) == expected


def test_sequence_hash_chain_seed_1337() -> None:
    assert sequence_hash(B0, B1) == S1_1337
    assert sequence_hash(S1_1337, B2) == S2_1337
    assert sequence_hash(B0, B1, chain_seed=1337) == S1_1337


def test_sequence_hash_chain_seed_0() -> None:
    assert sequence_hash(B0, B1, chain_seed=0) == S1_0
    assert sequence_hash(S1_0, B2, chain_seed=0) == S2_0


def test_block_id_root_is_token_hash() -> None:
    assert block_id(None, B0) == B0
    assert block_id(B0, B1) == S1_1337


def test_hash_token_blocks_vectors() -> None:
    tokens = list(range(1, 13))
    assert hash_token_blocks(tokens, 4) == BlockHashes((B0, B1, B2), (B0, S1_1337, S2_1337))
    assert hash_token_blocks(tokens, 4, chain_seed=0).block_ids == (B0, S1_0, S2_0)


def test_hash_token_blocks_ignores_remainder() -> None:
    with_tail = hash_token_blocks(list(range(1, 15)), 4)
    assert with_tail.block_ids == (B0, S1_1337, S2_1337)
    assert hash_token_blocks([1, 2, 3], 4) == BlockHashes((), ())
    assert hash_token_blocks([], 4) == BlockHashes((), ())
    with pytest.raises(ValueError):
        hash_token_blocks([1], 0)


def test_salt_changes_token_hash() -> None:
    assert block_hash([1, 2, 3, 4], salt=0) != B0


# Derived PLH examples (tokens 1..12, bs 4, salt 1337), reference §6.3.
PLH_A = (
    0x00000000000000000338E4D7FB2DCA5C,
    0x0059C726BFD96E52E4A2B2379D6D3C3D,
    0x00A51591BCEB69E1EEA1E67A6C80CF84,
)
PLH_B = (
    0x0032CE3935FECB729700000000000000,
    0x006DFEE214AA7C89D1B8E4D7FB2DCA5C,
    0x00BFB54E5088DA6515BB8852A9F22746,
)


def test_plh_layout_a_vectors() -> None:
    ids = (B0, S1_1337, S2_1337)
    for pos, expected in enumerate(PLH_A):
        parent = ids[pos - 1] if pos else None
        assert positional_lineage_hash(ids[pos], parent, pos, "A") == expected


def test_plh_layout_b_vectors() -> None:
    ids = (B0, S1_0, S2_0)
    for pos, expected in enumerate(PLH_B):
        parent = ids[pos - 1] if pos else None
        assert positional_lineage_hash(ids[pos], parent, pos, "B") == expected


def test_plh_modes_and_bounds() -> None:
    full = (1 << 64) - 1
    # Layout A at position 255: current masked to the 55 bits of position 256's mode.
    assert positional_lineage_hash(full, None, 255, "A") == (255 << 118) | ((1 << 55) - 1)
    assert positional_lineage_hash(0, None, 256, "A") >> 126 == 1
    assert positional_lineage_hash(0, None, 1 << 16, "B") >> 126 == 2
    assert positional_lineage_hash(full, full, (1 << 24) - 1, "B").bit_length() == 128
    with pytest.raises(ValueError):
        positional_lineage_hash(0, None, 1 << 24)


def test_tokenize_text_is_stable_and_prefix_preserving() -> None:
    assert tokenize_text("hello world") == [544891816, 193295344]
    assert tokenize_text("  hello\n\tworld ") == tokenize_text("hello world")
    a = tokenize_text("the quick brown fox jumps")
    b = tokenize_text("the quick brown fox sleeps")
    assert a[:4] == b[:4] and a[4] != b[4]
    assert tokenize_text("") == []
    assert all(0 <= t < 1 << 32 for t in tokenize_text("ünïcödé ✓ text"))
