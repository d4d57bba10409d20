"""ActiveSequence signal tests (reference/mocker_protocol.md §2, §7; seed kv_manager.rs tests)."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from kvtui.sim.errors import KvError
from kvtui.sim.moves import Deref, Move, Partial, Promote, Use
from kvtui.workload.hashing import block_hash, hash_token_blocks
from kvtui.workload.sequence import ActiveSequence, SequenceError

# tokens 1..12 in blocks of 4, chain seed 1337 (reference §6.1-6.2)
B0, B1, B2 = 14643705804678351452, 16777012769546811212, 483935686894639516
S0, S1, S2 = B0, 4945711292740353085, 12583592247330656132


def full_ids(seq: ActiveSequence) -> list[int]:
    return [b for b in seq.unique_blocks if isinstance(b, int)]


# --------------------------------------------------------------------------- construction


def test_construction_full_blocks_plus_partial() -> None:
    seq = ActiveSequence(list(range(1, 11)), 3, 4, label="r1")
    assert seq.unique_blocks == (S0, S1, Partial("r1-0"))
    assert seq.token_hashes == (B0, B1)
    assert len(seq) == 10
    assert seq.current_known_blocks() == 3
    assert seq.to_completion_blocks() == 4
    assert seq.extra_tokens() == 2
    assert seq.full_block_ids() == (S0, S1)


def test_exact_multiple_has_no_partial() -> None:
    seq = ActiveSequence(list(range(1, 9)), 3, 4)
    assert seq.unique_blocks == (S0, S1)


def test_default_block_size_is_64() -> None:
    seq = ActiveSequence(list(range(130)), 1, None)
    assert seq.block_size == 64
    assert len(seq.unique_blocks) == 3


@pytest.mark.parametrize(
    "kwargs",
    [
        {"label": "r.1"},
        {"label": ""},
        {"label": "a b"},
        {"block_size": 1},
        {"max_output_tokens": -1},
        {"tokens": [1 << 32]},
        {"output_tokens": [-1]},
    ],
)
def test_bad_construction_raises(kwargs: dict[str, object]) -> None:
    args: dict[str, object] = {"tokens": [1, 2, 3], "max_output_tokens": 2, "block_size": 4}
    args.update(kwargs)
    with pytest.raises(SequenceError):
        ActiveSequence(**args)  # type: ignore[arg-type]
    assert issubclass(SequenceError, KvError)


# --------------------------------------------------------------------------- creation


def test_creation_signal_allocates_everything_once() -> None:
    seq = ActiveSequence(list(range(1, 11)), 3, 4, label="r1")
    signal = seq.take_creation_signal()
    assert signal == Use((S0, S1, Partial("r1-0")), parent=None, token_hashes=(B0, B1))
    assert seq.num_allocated_tokens == 10
    assert seq.take_creation_signal() is None


def test_creation_signal_allocates_the_whole_prompt() -> None:
    seq = ActiveSequence(list(range(1, 9)), 1, 4, label="x")
    assert seq.take_creation_signal() == Use((S0, S1), token_hashes=(B0, B1))
    assert seq.num_allocated_tokens == 8


def test_creation_partial_only_prompt() -> None:
    seq = ActiveSequence(list(range(14)), 5, 16, label="a")
    assert seq.take_creation_signal() == Use((Partial("a-0"),))


def test_empty_prompt_has_nothing_to_create() -> None:
    seq = ActiveSequence([], 2, 4, label="e")
    assert seq.take_creation_signal() is None
    assert seq.generate() == [Use((Partial("e-0"),))]


# --------------------------------------------------------------------------- generate


def test_active_sequence_generate_signals() -> None:
    """Upstream test_active_sequence_generate_signals: bs 16, prompt 14, max_output 5."""
    seq = ActiveSequence(list(range(14)), 5, 16, label="g", output_tokens=[100, 101, 102])
    assert seq.take_creation_signal() == Use((Partial("g-0"),))
    assert seq.generate() == []  # 15 tokens
    assert seq.generate() == []  # 16 tokens: completing a block is silent
    full = hash_token_blocks([*range(14), 100, 101], 16)
    third = seq.generate()  # 17th token: first of a new block
    assert third == [
        Promote("g-0", full.block_ids[0], parent=None, token_hash=full.token_hashes[0]),
        Use((Partial("g-1"),)),
    ]
    assert seq.generate() == []
    last = seq.generate()
    assert last == [Deref((Partial("g-1"), full.block_ids[0]))]
    assert seq.is_finished
    with pytest.raises(SequenceError):
        seq.generate()


def test_end_to_end_trace_reference_section_7() -> None:
    """bs 4, prompt 1..10, max_output 3, outputs 11..13: ids match the hash vectors."""
    seq = ActiveSequence(list(range(1, 11)), 3, 4, label="r", output_tokens=[11, 12, 13])
    assert seq.take_creation_signal() == Use((S0, S1, Partial("r-0")), token_hashes=(B0, B1))
    assert seq.generate_token() == (11, [])
    seq.commit_allocation(len(seq))
    assert seq.generate_token() == (12, [])
    seq.commit_allocation(len(seq))
    token, signals = seq.generate_token()
    assert token == 13
    assert signals == [
        Promote("r-0", S2, parent=S1, token_hash=B2),
        Use((Partial("r-1"),)),
        Deref((Partial("r-1"), S2, S1, S0)),
    ]
    assert seq.unique_blocks == (S0, S1, S2, Partial("r-1"))
    assert seq.token_hashes == (B0, B1, B2)


def test_generate_across_block_boundary_chains_parent() -> None:
    seq = ActiveSequence(list(range(1, 7)), 10, 4, label="b", output_tokens=list(range(7, 17)))
    seq.take_creation_signal()
    signals: list[Move] = []
    for _ in range(7):  # up to 13 tokens: two boundaries (9, 13)
        signals += seq.generate()
    ids = hash_token_blocks(list(range(1, 13)), 4)
    assert signals == [
        Promote("b-0", ids.block_ids[1], parent=ids.block_ids[0], token_hash=ids.token_hashes[1]),
        Use((Partial("b-1"),)),
        Promote("b-1", ids.block_ids[2], parent=ids.block_ids[1], token_hash=ids.token_hashes[2]),
        Use((Partial("b-2"),)),
    ]


def test_exact_multiple_prompt_first_token_only_uses_partial() -> None:
    seq = ActiveSequence(list(range(1, 9)), 2, 4, label="m", output_tokens=[9, 10])
    seq.take_creation_signal()
    assert seq.generate() == [Use((Partial("m-0"),))]
    assert seq.generate() == [Deref((Partial("m-0"), S1, S0))]


def test_last_token_completing_a_block_releases_partial_as_is() -> None:
    seq = ActiveSequence(list(range(1, 11)), 2, 4, label="c", output_tokens=[11, 12])
    seq.take_creation_signal()
    assert seq.generate() == []
    assert seq.generate() == [Deref((Partial("c-0"), S1, S0))]


def test_random_output_tokens_are_deterministic() -> None:
    a = ActiveSequence([1, 2, 3], 6, 4, label="z")
    b = ActiveSequence([1, 2, 3], 6, 4, label="z")
    ta = [a.generate_token()[0] for _ in range(6)]
    tb = [b.generate_token()[0] for _ in range(6)]
    assert ta == tb
    assert all(0 <= t < 1 << 32 for t in ta)


def test_pop_undoes_unallocated_partial_but_not_promote() -> None:
    seq = ActiveSequence(list(range(1, 11)), 5, 4, label="p", output_tokens=[11, 12, 13, 14])
    seq.take_creation_signal()
    seq.generate()
    seq.generate()
    signals = seq.generate()  # 13th token: Promote r-0 -> S2, Use p-1
    assert isinstance(signals[0], Promote)
    seq.pop()
    assert len(seq) == 12 and seq.generated_tokens == 2
    assert seq.unique_blocks == (S0, S1, S2)
    # The retry only needs a new partial: the block stays full.
    assert seq.generate() == [Use((Partial("p-2"),))]


# --------------------------------------------------------------------------- chunked prefill


def test_chunked_prefill_parent_hash() -> None:
    """Seed test_chunked_prefill_parent_hash: bs 64, 512 tokens, two chunks of 4 blocks."""
    tokens = list(range(512))
    seq = ActiveSequence(tokens, 100, 64)
    ids = hash_token_blocks(tokens, 64)
    first = seq.prepare_allocation(256)
    assert first == seq.prepare_allocation(256)  # no state change
    assert first == Use(ids.block_ids[:4], parent=None, token_hashes=ids.token_hashes[:4])
    seq.commit_allocation(256)
    second = seq.prepare_allocation(512)
    assert second == Use(
        ids.block_ids[4:], parent=ids.block_ids[3], token_hashes=ids.token_hashes[4:]
    )
    seq.commit_allocation(512)
    assert seq.prepare_allocation(512) is None


def test_chunk_rounds_up_to_whole_blocks() -> None:
    seq = ActiveSequence(list(range(1, 11)), 3, 4, label="k")
    assert seq.allocate_blocks_for_chunk(5) == Use((S0, S1), token_hashes=(B0, B1))
    assert seq.prepare_allocation(8) is None  # ceil(8/4) == ceil(5/4)
    assert seq.allocate_blocks_for_chunk(10) == Use((Partial("k-0"),), parent=S1)
    assert seq.prepare_allocation(1000) is None  # capped at the known blocks


def test_free_signal_only_releases_committed_blocks() -> None:
    seq = ActiveSequence(list(range(1, 11)), 3, 4, label="d")
    assert seq.free_signal() == []
    seq.allocate_blocks_for_chunk(4)
    assert seq.free_signal() == [Deref((S0,))]
    assert seq.terminal_signals() == [Deref((Partial("d-0"), S1, S0))]


# --------------------------------------------------------------------------- preemption


def test_preemption_releases_tail_first_and_keeps_ids() -> None:
    """Seed test_repreempt_after_partial_recompute_only_frees_reallocated_blocks."""
    seq = ActiveSequence(list(range(6)), 16, 4, label="q")
    f0, f_tail = seq.unique_blocks
    assert seq.take_creation_signal() == Use((f0, f_tail), token_hashes=seq.token_hashes)
    for _ in range(3):
        seq.generate()
        if seq.generated_tokens < seq.max_output_tokens:
            seq.commit_allocation(len(seq))
    f0_, f1, tail = seq.unique_blocks
    assert f0_ == f0 and isinstance(f1, int) and tail == Partial("q-1")

    assert seq.reset_with_signal() == [Deref((tail, f1, f0))]
    assert seq.num_allocated_tokens == 0
    assert seq.generated_tokens == 3 and len(seq) == 9

    prompt_only = seq.prepare_allocation(seq.num_input_tokens)
    assert prompt_only is not None and prompt_only.blocks == (f0, f1)
    seq.commit_allocation(seq.num_input_tokens)
    assert seq.reset_with_signal() == [Deref((f1, f0))]

    # Re-admission re-allocates the whole known sequence with the same ids and partial name.
    assert seq.take_creation_signal() == Use((f0, f1, tail), token_hashes=seq.token_hashes)
    assert seq.unique_blocks == (f0, f1, tail)


def test_random_plh_stable_across_preempt_retry() -> None:
    """Seed test: prefix caching off, 64 tokens, bs 16; re-admission re-uses its own ids."""
    tokens = list(range(64))
    seq = ActiveSequence(tokens, 100, 16, enable_prefix_caching=False, label="n")
    first = seq.take_creation_signal()
    assert first is not None
    ids = first.blocks
    assert len(ids) == 4 and all(isinstance(b, int) for b in ids)
    assert first.token_hashes is None and first.parent is None
    assert set(ids).isdisjoint(hash_token_blocks(tokens, 16).block_ids)
    assert seq.token_hashes == ()

    assert seq.reset_with_signal() == [Deref(tuple(reversed(ids)))]
    assert seq.take_creation_signal() == first


def test_prefix_caching_off_ids_are_seeded_and_per_request() -> None:
    tokens = list(range(32))
    a1 = ActiveSequence(tokens, 1, 16, False, label="a")
    a2 = ActiveSequence(tokens, 1, 16, False, label="a")
    b = ActiveSequence(tokens, 1, 16, False, label="b")
    assert a1.unique_blocks == a2.unique_blocks  # deterministic
    assert set(a1.unique_blocks).isdisjoint(b.unique_blocks)  # identical prompts never share
    shared = random.Random(7)
    c1 = ActiveSequence(tokens, 1, 16, False, label="c", rng=shared)
    c2 = ActiveSequence(tokens, 1, 16, False, label="c", rng=shared)
    assert set(c1.unique_blocks).isdisjoint(c2.unique_blocks)


def test_prefix_caching_off_promote_uses_random_id_and_parent() -> None:
    seq = ActiveSequence(list(range(6)), 4, 4, False, label="o", output_tokens=[6, 7, 8, 9])
    seq.take_creation_signal()
    (f0, _) = seq.unique_blocks
    assert seq.generate() == [] and seq.generate() == []
    promote, use = seq.generate()
    assert isinstance(promote, Promote)
    assert promote.partial == "o-0" and promote.parent == f0 and promote.token_hash == 0
    assert promote.block != hash_token_blocks(list(range(9)), 4).block_ids[1]
    assert use == Use((Partial("o-1"),))
    assert seq.unique_blocks == (f0, promote.block, Partial("o-1"))


# --------------------------------------------------------------------------- whole stream


def _derive_lineage(moves: list[Move], lineage: dict[int, int | None]) -> None:
    """SPEC §8 lineage derivation, asserting that no id's recorded lineage changes."""

    def record(block: int, parent: int | None) -> None:
        assert lineage.setdefault(block, parent) == parent, f"lineage of {block} changed"

    for move in moves:
        if isinstance(move, Use):
            prev = move.parent
            first = True
            for ref in move.blocks:
                if isinstance(ref, Partial):
                    continue
                if first and prev is None and ref in lineage:
                    prev = lineage[ref]
                record(ref, prev)
                prev, first = ref, False
        elif isinstance(move, Promote):
            parent = move.parent
            if parent is None and move.block in lineage:
                parent = lineage[move.block]
            record(move.block, parent)


def _apply_refs(moves: list[Move], held: Counter[object]) -> None:
    for move in moves:
        if isinstance(move, Use):
            for ref in move.blocks:
                if isinstance(ref, Partial) and held[ref]:
                    continue
                held[ref] += 1
        elif isinstance(move, Deref):
            for ref in move.blocks:
                assert held[ref] > 0, f"deref of unheld {ref}"
                held[ref] -= 1
        else:
            partial = Partial(move.partial)
            assert held[partial] == 1
            held[partial] -= 1
            held[move.block] += 1


@pytest.mark.parametrize("caching", [True, False])
def test_full_stream_lineage_and_balance(caching: bool) -> None:
    """Chunked prefill, decode over boundaries, preemption, re-admission, completion."""
    prompt = list(range(1, 12))
    outputs = list(range(100, 110))
    seq = ActiveSequence(prompt, 10, 4, caching, label="w", output_tokens=outputs)
    lineage: dict[int, int | None] = {}
    held: Counter[object] = Counter()
    stream: list[Move] = []

    def run(moves: list[Move]) -> None:
        _derive_lineage(moves, lineage)
        _apply_refs(moves, held)
        stream.extend(moves)

    for chunk in (5, 11):
        signal = seq.prepare_allocation(chunk)
        assert signal is not None
        run([signal])
        seq.commit_allocation(chunk)
    for step in range(10):
        run(seq.generate())
        if not seq.is_finished:
            seq.commit_allocation(len(seq))
        if step == 4:
            run(seq.reset_with_signal())
            assert not +held
            signal = seq.take_creation_signal()
            assert signal is not None
            run([signal])
    assert not +held, "every reference must be released at the end"

    ids = full_ids(seq)
    assert len(ids) == 5  # 21 tokens, bs 4
    for pos, block in enumerate(ids):
        assert lineage[block] == (ids[pos - 1] if pos else None)
    if caching:
        assert tuple(ids) == hash_token_blocks([*prompt, *outputs], 4).block_ids
        promotes = [m for m in stream if isinstance(m, Promote)]
        all_tokens = [*prompt, *outputs]
        for m in promotes:
            pos = ids.index(m.block)
            assert m.token_hash == block_hash(all_tokens[pos * 4 : pos * 4 + 4])
