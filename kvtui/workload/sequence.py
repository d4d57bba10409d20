"""One request's view of its KV blocks: a port of the mocker's ``ActiveSequence`` (G-kvbm).

The sequence never touches the KV manager. It only *emits* MoveBlocks (SPEC §4) that a
scheduler forwards, so the manager sees exactly the signal stream the upstream mocker produces
(mocker_protocol.md §2):

* **creation / chunked prefill**: :meth:`ActiveSequence.prepare_allocation` returns the ``Use``
  for the blocks a cumulative token count newly covers (rounded *up* to whole blocks);
  :meth:`~ActiveSequence.commit_allocation` records it. :meth:`~ActiveSequence.take_creation_signal`
  does both for the whole known sequence;
* **decode**: :meth:`~ActiveSequence.generate` is silent until the first token of a new block,
  which emits ``Promote`` of the filled partial then ``Use`` of a new partial;
* **release**: the last token, a drop (:meth:`~ActiveSequence.free_signal`) and a preemption
  (:meth:`~ActiveSequence.reset_with_signal`) emit one ``Deref`` listing the blocks tail-first
  (the newest upstream form; @162b60be emitted one ``Deref`` per block, same effect).

Ids and partial names are kept across preemption so a re-admitted request re-finds its own
cached blocks, also with prefix caching off (random ids drawn once from a seeded RNG).

``parent=`` is set on every ``Use``/``Promote`` whose first full block is not at position 0, so
the manager's lineage derivation (SPEC §8) reproduces the request's chain.
"""

from __future__ import annotations

import copy
import random
import re
from collections.abc import Sequence

from kvtui.sim.errors import KvError
from kvtui.sim.moves import BlockRef, Deref, Move, Partial, Promote, Use
from kvtui.workload.hashing import (
    CHAIN_SEED,
    SALT_HASH,
    U32_MAX,
    block_hash,
    block_id,
    hash_token_blocks,
)

DEFAULT_BLOCK_SIZE = 64
"""Upstream default when ``block_size`` is ``None``."""

_LABEL_RE = re.compile(r"[A-Za-z0-9_-]+")


class SequenceError(KvError):
    """A request that cannot be built, or a sequence driven past its end."""


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


class ActiveSequence:
    """Blocks, hashes and allocation cursor of one request (upstream ``ActiveSequence``).

    ``unique_blocks`` holds one entry per complete token block (a full id) plus, when the token
    count is not a multiple of ``block_size``, a trailing :class:`Partial`. Partials are named
    ``f"{label}-{n}"`` (``n`` = 0, 1, … per sequence) so names are deterministic and valid in
    the command language (SPEC §8).
    """

    def __init__(
        self,
        tokens: Sequence[int],
        max_output_tokens: int,
        block_size: int | None = DEFAULT_BLOCK_SIZE,
        enable_prefix_caching: bool = True,
        *,
        label: str = "req",
        output_tokens: Sequence[int] | None = None,
        rng: random.Random | None = None,
        salt: int = SALT_HASH,
        chain_seed: int = CHAIN_SEED,
        hashes: tuple[tuple[int, ...], tuple[int, ...]] | None = None,
    ) -> None:
        """Split the prompt into blocks and derive their ids.

        ``output_tokens`` plays upstream's ``planned_output_ids``; beyond it, generated tokens
        are random u32. ``rng`` supplies those tokens and, with prefix caching off, the random
        block ids. It defaults to ``random.Random(f"kvtui:{label}")``, so a run is reproducible;
        a scheduler should pass one shared seeded RNG so two requests with the same label and
        caching off still get distinct ids (as upstream's fresh randoms would). ``hashes``
        (token hashes, block ids) may be given when the caller already computed them for these
        tokens (a trace replay memoises shared prefixes).
        """
        bs = DEFAULT_BLOCK_SIZE if block_size is None else block_size
        if bs < 2:
            raise SequenceError(f"block size must be >= 2, got {bs}")
        if max_output_tokens < 0:
            raise SequenceError(f"max output tokens must be >= 0, got {max_output_tokens}")
        if not _LABEL_RE.fullmatch(label):
            raise SequenceError(f"request label {label!r} must be letters, digits, '_' or '-'")
        for values in (tokens, output_tokens or ()):
            if values and (min(values) < 0 or max(values) > U32_MAX):  # C-speed for long prompts
                bad = next(t for t in values if not 0 <= t <= U32_MAX)
                raise SequenceError(f"token {bad} is not a u32")

        self.label = label
        self.block_size = bs
        self.max_output_tokens = max_output_tokens
        self.enable_prefix_caching = enable_prefix_caching
        self.num_input_tokens = len(tokens)
        self.generated_tokens = 0
        self.num_allocated_tokens = 0
        self._tokens: list[int] = list(tokens)
        self._planned: tuple[int, ...] = tuple(output_tokens or ())
        self._rng = rng if rng is not None else random.Random(f"kvtui:{label}")
        self._salt = salt
        self._chain_seed = chain_seed
        self._next_partial = 0
        self._shared = False  # copy-on-write: lists and rng shared with a clone until mutated

        self._blocks: list[BlockRef]
        self._token_hashes: list[int]  # one per full block; empty with caching off
        if enable_prefix_caching:
            if hashes is None:
                hashes = hash_token_blocks(tokens, bs, salt=salt, chain_seed=chain_seed)
            self._token_hashes = list(hashes[0])
            self._blocks = list(hashes[1])
        else:
            self._blocks = [self._random_id() for _ in range(len(tokens) // bs)]
            self._token_hashes = []
        if len(tokens) % bs:
            self._blocks.append(self._new_partial())

    def clone(self) -> ActiveSequence:
        """An independent copy in O(1): the token, block and hash lists (and the rng) are shared
        until either copy mutates them (World snapshots clone every live request)."""
        twin = copy.copy(self)
        self._shared = twin._shared = True
        return twin

    def _unshare(self) -> None:
        if self._shared:
            self._tokens = list(self._tokens)
            self._blocks = list(self._blocks)
            self._token_hashes = list(self._token_hashes)
            rng = random.Random()
            rng.setstate(self._rng.getstate())  # C speed (deepcopy walks the 625-word state)
            self._rng = rng
            self._shared = False

    # ----------------------------------------------------------------- inspection

    def __len__(self) -> int:
        """Total tokens: prompt plus generated."""
        return len(self._tokens)

    @property
    def tokens(self) -> tuple[int, ...]:
        return tuple(self._tokens)

    @property
    def unique_blocks(self) -> tuple[BlockRef, ...]:
        return tuple(self._blocks)

    @property
    def token_hashes(self) -> tuple[int, ...]:
        """Token-only hash per full block (empty with prefix caching off, as upstream)."""
        return tuple(self._token_hashes)

    def full_block_ids(self) -> tuple[int, ...]:
        """The leading full ids, e.g. for a prefill-cost query (a partial stops the run)."""
        out: list[int] = []
        for ref in self._blocks:
            if isinstance(ref, Partial):
                break
            out.append(ref)
        return tuple(out)

    def current_known_blocks(self) -> int:
        return _ceil_div(len(self), self.block_size)

    def to_completion_blocks(self) -> int:
        """Blocks the request holds at its end: ``ceil((input + max_output) / bs)``."""
        return _ceil_div(self.num_input_tokens + self.max_output_tokens, self.block_size)

    def extra_tokens(self) -> int:
        """Tokens in the trailing, not yet full, block."""
        return len(self) % self.block_size

    @property
    def is_finished(self) -> bool:
        return self.generated_tokens >= self.max_output_tokens

    # ----------------------------------------------------------------- allocation

    def prepare_allocation(self, cumulative_tokens: int) -> Use | None:
        """The ``Use`` for blocks ``[prev, target)`` newly covered; no state change.

        ``prev``/``target`` are the allocated and requested token counts rounded up to blocks
        (capped at the known blocks); ``parent`` is the block before the slice, if any.
        """
        n = len(self._blocks)
        prev = min(_ceil_div(self.num_allocated_tokens, self.block_size), n)
        target = min(_ceil_div(cumulative_tokens, self.block_size), n)
        if target <= prev:
            return None
        blocks = tuple(self._blocks[prev:target])
        h = len(self._token_hashes)
        hashes = tuple(self._token_hashes[min(prev, h) : min(target, h)])
        parent: int | None = None
        if prev > 0:
            before = self._blocks[prev - 1]
            # Only the last block can be partial, and prev < n here, so this is a full id.
            assert not isinstance(before, Partial)
            parent = before
        return Use(blocks, parent=parent, token_hashes=hashes or None)

    def commit_allocation(self, cumulative_tokens: int) -> None:
        """Record that the manager accepted the allocation up to ``cumulative_tokens``."""
        self.num_allocated_tokens = cumulative_tokens

    def allocate_blocks_for_chunk(self, cumulative_tokens: int) -> Use | None:
        """Prepare then commit unconditionally (upstream helper)."""
        signal = self.prepare_allocation(cumulative_tokens)
        self.commit_allocation(cumulative_tokens)
        return signal

    def take_creation_signal(self) -> Use | None:
        """Allocate every remaining known block (prompt and, after preemption, generated)."""
        return self.allocate_blocks_for_chunk(len(self))

    # ----------------------------------------------------------------- decoding

    def push(self, token: int) -> list[Move]:
        """Append one token; signals only on the first token of a new block.

        Completing a block is silent: upstream promotes lazily, when the next token needs a
        slot. Then the filled partial (if any) is promoted and a new partial is used.
        """
        if not 0 <= token <= U32_MAX:
            raise SequenceError(f"token {token} is not a u32")
        self._unshare()
        self._tokens.append(token)
        self.generated_tokens += 1
        if len(self._tokens) % self.block_size != 1:
            return []
        signals: list[Move] = []
        last = self._blocks[-1] if self._blocks else None
        if isinstance(last, Partial):
            signals.append(self._promote_tail(last))
        new = self._new_partial()
        self._blocks.append(new)
        signals.append(Use((new,)))
        return signals

    def generate_token(self) -> tuple[int, list[Move]]:
        """Produce the next output token and its signals, plus the terminal release if last."""
        if self.is_finished:
            raise SequenceError(
                f"request {self.label} already generated {self.max_output_tokens} tokens"
            )
        self._unshare()
        if self.generated_tokens < len(self._planned):
            token = self._planned[self.generated_tokens]
        else:
            token = self._rng.getrandbits(32)
        signals = self.push(token)
        if self.is_finished:
            signals.extend(self.terminal_signals())
        return token, signals

    def generate(self) -> list[Move]:
        """Like :meth:`generate_token`, signals only."""
        return self.generate_token()[1]

    def pop(self) -> None:
        """Undo a freshly generated token whose new partial could not be allocated.

        A Promote already sent is not undone: the previous block stays full.
        """
        if self.generated_tokens == 0:
            raise SequenceError(f"request {self.label} has no generated token to pop")
        self._unshare()
        self._tokens.pop()
        self.generated_tokens -= 1
        if len(self._tokens) % self.block_size == 0 and isinstance(self._blocks[-1], Partial):
            self._blocks.pop()

    # ----------------------------------------------------------------- release

    def free_signal_for_tokens(self, active_tokens: int) -> list[Move]:
        """Deref the first ``ceil(active_tokens / bs)`` blocks, tail first."""
        count = min(_ceil_div(active_tokens, self.block_size), len(self._blocks))
        if count <= 0:
            return []
        return [Deref(tuple(reversed(self._blocks[:count])))]

    def terminal_signals(self) -> list[Move]:
        """Release every known block, including a partial just used by the last token."""
        return self.free_signal_for_tokens(len(self))

    def free_signal(self) -> list[Move]:
        """Release only what was committed (drop / cancel)."""
        return self.free_signal_for_tokens(self.num_allocated_tokens)

    def reset_with_signal(self) -> list[Move]:
        """Preempt: release the committed blocks and rewind allocation to 0.

        Tokens, ids, token hashes and partial names are kept, so re-admission re-uses the same
        ids and hits the request's own inactive blocks.
        """
        signals = self.free_signal()
        self.num_allocated_tokens = 0
        return signals

    # ----------------------------------------------------------------- internals

    def _new_partial(self) -> Partial:
        partial = Partial(f"{self.label}-{self._next_partial}")
        self._next_partial += 1
        return partial

    def _random_id(self) -> int:
        return self._rng.getrandbits(64)

    def _promote_tail(self, partial: Partial) -> Promote:
        """Turn the trailing partial, whose block just completed, into a full block."""
        self._blocks.pop()
        parent: int | None = None
        if self._blocks:
            before = self._blocks[-1]
            assert not isinstance(before, Partial)
            parent = before
        if self.enable_prefix_caching:
            index = len(self._blocks)
            start = index * self.block_size
            th = block_hash(self._tokens[start : start + self.block_size], self._salt)
            new_id = block_id(parent, th, self._chain_seed)
            self._token_hashes.append(th)
        else:
            th = 0
            new_id = self._random_id()
        self._blocks.append(new_id)
        return Promote(partial.name, new_id, parent=parent, token_hash=th)
