"""One bandwidth-limited link under processor sharing (SPEC §6.1, reference/offload.md §2).

Why this module exists: the G2 tier moves blocks over two independent links (offload G1→G2,
onboard G2→G1). Upstream (``bandwidth_sharing_model.rs``) models each link as processor
sharing: with bandwidth B and N transfers in flight, every transfer progresses at B/N, and the
survivors speed up when one finishes. kvtui needs the same *exact* completion instants, because
completions are what release quarantined G1 slots, publish ``host_pinned`` events and finish
swap-ins, and a visualiser wants each transfer's progress in between.

How: instead of subtracting bytes from every transfer on each step (which drifts), the link
keeps one *virtual service* counter ``V``: the bytes each in-flight transfer has received so
far. ``V`` grows at ``B/N`` per ms. A transfer started when the counter read ``v0`` finishes
when ``V`` reaches its tag ``v0 + nbytes``, so identical transfers started together have
bit-identical tags and tie exactly. The simulation is event-driven: :meth:`Link.advance` jumps
from one completion to the next, snapping ``V`` onto the finishing tag (remaining bytes become
exactly 0), and the tolerance ``_REL_EPS`` lets a transfer that finishes exactly at the target
time count as done despite rounding.

Completions found while :meth:`Link.start` brings the link up to its start time are kept and
returned by the next :meth:`Link.advance`, so callers never lose one. Everything is plain
data; :meth:`Link.clone` is a shallow copy of two small dicts (records are immutable), cheap
enough for undo checkpoints.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

__all__ = ["Link", "TransferView"]

_REL_EPS = 1e-12
"""Relative tolerance for times (ms) and byte counts. Float error in a computed deadline is a
few ulps of the clock (~1e-16 relative), so 1e-12 absorbs it with a wide margin while staying
far below the duration of any real transfer (1e-12 of 1000 s is 1 ns, 1 byte at 1 GB/s)."""


def _time_tol(t: float) -> float:
    return _REL_EPS * max(1.0, abs(t))


@dataclass(frozen=True, slots=True)
class TransferView:
    """A read-only snapshot of one in-flight transfer, as of the link's current time."""

    transfer_id: int
    nbytes: int
    started_ms: float
    bytes_done: float

    @property
    def fraction(self) -> float:
        """Share of the transfer already copied, in ``[0, 1]`` (1 for an empty transfer)."""
        return 1.0 if self.nbytes == 0 else self.bytes_done / self.nbytes


@dataclass(frozen=True, slots=True)
class _Active:
    nbytes: int
    started_ms: float
    v_start: float  # virtual service counter when the transfer started
    tag: float  # v_start + nbytes: the counter value at which it completes


@dataclass(frozen=True, slots=True)
class _Done:
    nbytes: int
    started_ms: float
    finished_ms: float


@dataclass(slots=True)
class Link:
    """A processor-sharing link of ``gbps`` GB/s (``gbps * 1e6`` bytes/ms; ``<= 0`` = infinite).

    The link has its own clock (``now_ms``, starting at 0.0) that only moves forward through
    :meth:`start` and :meth:`advance`. Transfer ids are chosen by the caller and must be unique
    among the transfers the link still knows (in flight or completed but not yet reported).
    """

    name: str
    gbps: float
    _now: float = field(default=0.0, init=False, repr=False)
    _v: float = field(default=0.0, init=False, repr=False)
    _active: dict[int, _Active] = field(default_factory=dict, init=False, repr=False)
    _done: dict[int, _Done] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        if math.isnan(self.gbps):
            raise ValueError(f"link {self.name}: bandwidth must be a number, not NaN")

    # ----------------------------------------------------------------- read-only properties

    @property
    def now_ms(self) -> float:
        """The link's clock: the last time it was advanced to."""
        return self._now

    @property
    def infinite(self) -> bool:
        """True when transfers are instantaneous (``gbps <= 0`` or infinite)."""
        return self.gbps <= 0 or math.isinf(self.gbps)

    @property
    def bytes_per_ms(self) -> float:
        """Bandwidth B in bytes per millisecond (``math.inf`` for an infinite link)."""
        return math.inf if self.infinite else self.gbps * 1e6

    @property
    def active_count(self) -> int:
        """Number of transfers in flight (sharing the bandwidth)."""
        return len(self._active)

    @property
    def is_idle(self) -> bool:
        """True when nothing is in flight and no completion is waiting to be reported."""
        return not self._active and not self._done

    @property
    def in_flight(self) -> tuple[TransferView, ...]:
        """The transfers in flight, in start order, with their progress at ``now_ms``."""
        return tuple(
            TransferView(tid, a.nbytes, a.started_ms, self._bytes_done(a))
            for tid, a in self._active.items()
        )

    def __contains__(self, transfer_id: object) -> bool:
        """True for a transfer in flight or completed but not yet returned by :meth:`advance`."""
        return transfer_id in self._active or transfer_id in self._done

    # ---------------------------------------------------------------------------- commands

    def start(self, transfer_id: int, nbytes: int, now_ms: float) -> None:
        """Advance the link to ``now_ms``, then start a transfer of ``nbytes`` bytes.

        Completions found while advancing are reported by the next :meth:`advance`. An empty
        transfer, or any transfer on an infinite link, completes at ``now_ms``.
        """
        if isinstance(nbytes, bool) or not isinstance(nbytes, int) or nbytes < 0:
            raise ValueError(f"link {self.name}: transfer size must be an int >= 0, got {nbytes!r}")
        if transfer_id in self:
            raise ValueError(f"link {self.name}: transfer {transfer_id} already exists")
        self._run_to(now_ms)
        if nbytes == 0 or self.infinite:
            self._done[transfer_id] = _Done(nbytes, self._now, self._now)
            return
        self._active[transfer_id] = _Active(nbytes, self._now, self._v, self._v + nbytes)

    def advance(self, now_ms: float) -> list[int]:
        """Move the link's clock to ``now_ms``; return the ids completed by then.

        Ids come in completion order; transfers completing at the same instant come in start
        order. Each id is returned once. A transfer finishing exactly at ``now_ms`` (up to a
        relative 1e-12, i.e. float rounding) is included.
        """
        self._run_to(now_ms)
        completed = list(self._done)
        self._done.clear()
        return completed

    def clone(self) -> Link:
        """An independent copy (for undo checkpoints): O(in-flight) shallow copy."""
        other = Link(self.name, self.gbps)
        other._now = self._now
        other._v = self._v
        other._active = dict(self._active)
        other._done = dict(self._done)
        return other

    # ------------------------------------------------------------------------------ queries

    def next_deadline(self) -> float | None:
        """Earliest time at which :meth:`advance` would report a completion, assuming no new
        arrivals; ``None`` when idle. Never earlier than ``now_ms`` (a completion already found
        but not yet reported gives ``now_ms``). Does not change the link."""
        if self._done:
            return self._now
        if not self._active:
            return None
        return self._now + len(self._active) * self._min_remaining() / self.bytes_per_ms

    def eta(self, transfer_id: int) -> float:
        """Projected completion time of a transfer assuming no new arrivals.

        Exact under processor sharing: ``now + Σ_i min(r_i, r_k) / B`` over the transfers in
        flight. For a completed transfer not yet reported, its actual completion time. Does not
        change the link. Raises KeyError for an unknown id.
        """
        done = self._done.get(transfer_id)
        if done is not None:
            return done.finished_ms
        mine = self._active.get(transfer_id)
        if mine is None:
            raise KeyError(transfer_id)
        r_k = self._remaining(mine)
        shared = sum(min(self._remaining(a), r_k) for a in self._active.values())
        return self._now + shared / self.bytes_per_ms

    def progress(self, transfer_id: int) -> tuple[float, int]:
        """``(bytes_done, nbytes)`` at ``now_ms``; ``bytes_done == nbytes`` once completed but
        not yet reported. Raises KeyError for an unknown id."""
        done = self._done.get(transfer_id)
        if done is not None:
            return float(done.nbytes), done.nbytes
        active = self._active.get(transfer_id)
        if active is None:
            raise KeyError(transfer_id)
        return self._bytes_done(active), active.nbytes

    # ----------------------------------------------------------------------------- internals

    def _remaining(self, a: _Active) -> float:
        return max(0.0, a.tag - self._v)

    def _bytes_done(self, a: _Active) -> float:
        return min(float(a.nbytes), max(0.0, self._v - a.v_start))

    def _min_remaining(self) -> float:
        return max(0.0, min(a.tag for a in self._active.values()) - self._v)

    def _run_to(self, target: float) -> None:
        """Event-driven PS simulation from ``_now`` to ``target``; completions go to ``_done``."""
        if math.isnan(target) or math.isinf(target):
            raise ValueError(f"link {self.name}: time must be finite, got {target!r}")
        if target < self._now:
            if self._now - target > _time_tol(self._now):
                raise ValueError(
                    f"link {self.name}: time {target} ms is before the link clock {self._now} ms"
                )
            target = self._now  # rounding noise: treat as "now"
        rate_total = self.bytes_per_ms
        tol = _time_tol(target)
        while self._active:
            n = len(self._active)
            tag_min = min(a.tag for a in self._active.values())
            r_min = max(0.0, tag_min - self._v)
            finish = self._now + n * r_min / rate_total  # same expression as next_deadline
            if finish > target + tol:
                self._v += (target - self._now) * rate_total / n
                break
            # One completion instant: snap V onto the finishing tag (its remaining bytes are
            # exactly 0) and complete, in start order, every transfer whose tag ties with it.
            self._now = min(finish, target)
            self._v = tag_min
            byte_tol = _REL_EPS * max(1.0, r_min) + 8 * math.ulp(tag_min)
            for tid in [t for t, a in self._active.items() if a.tag - tag_min <= byte_tol]:
                a = self._active.pop(tid)
                self._done[tid] = _Done(a.nbytes, a.started_ms, self._now)
        if not self._active:
            self._v = 0.0  # idle: rebase the counter so tags stay small and precise
        self._now = target
