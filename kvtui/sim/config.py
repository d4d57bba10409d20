"""Simulation config (SPEC §9 `config:`), validated field by field.

Validation returns the field that is wrong so the script loader can point at its line.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kvtui.sim.errors import brief
from kvtui.sim.eviction import BACKENDS

MAX_CAPACITY = 1_000_000
MAX_DP_RANK = 2**32 - 1
MAX_BLOCK_BYTES = 2**50  # 1 PiB: byte counts stay exact as floats and transfer times finite
MAX_BLOCK_MS = 1e12  # longest transfer of one block (~32 years), so clock values stay finite


class ConfigError(ValueError):
    """A config value that is wrong; `key` names the offending field (dotted)."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key


@dataclass(frozen=True, slots=True)
class OffloadConfig:
    """G2 host tier (SPEC §6): present means enabled."""

    g2_blocks: int
    block_size_bytes: int = 1_000_000
    g1_to_g2_gbps: float = 14.0
    g2_to_g1_gbps: float = 14.0
    batch_size: int = 32

    def to_json(self) -> dict[str, Any]:
        return {
            "g2_blocks": self.g2_blocks,
            "block_size_bytes": self.block_size_bytes,
            "g1_to_g2_gbps": self.g1_to_g2_gbps,
            "g2_to_g1_gbps": self.g2_to_g1_gbps,
            "batch_size": self.batch_size,
        }


PREEMPTION_MODES = ("lifo", "fifo")


@dataclass(frozen=True, slots=True)
class SchedulerConfig:
    """The mocker's vLLM-v1 scheduler (SPEC §13): present means scheduler mode.

    Defaults are upstream ``MockEngineArgs`` (mocker_protocol.md §3.D).
    ``max_num_batched_tokens=None`` is an unbounded token budget.
    """

    max_num_batched_tokens: int | None = 8192
    max_num_seqs: int = 256
    chunked_prefill: bool = True
    prefix_caching: bool = True
    preemption: str = "lifo"
    speedup_ratio: float = 1.0

    def to_json(self) -> dict[str, Any]:
        return {
            "max_num_batched_tokens": self.max_num_batched_tokens,
            "max_num_seqs": self.max_num_seqs,
            "chunked_prefill": self.chunked_prefill,
            "prefix_caching": self.prefix_caching,
            "preemption": self.preemption,
            "speedup_ratio": self.speedup_ratio,
        }


@dataclass(frozen=True, slots=True)
class Config:
    capacity: int
    block_size: int = 16
    eviction: str = "lineage"
    dp_rank: int = 0
    offload: OffloadConfig | None = None
    scheduler: SchedulerConfig | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "capacity": self.capacity,
            "block_size": self.block_size,
            "eviction": self.eviction,
            "dp_rank": self.dp_rank,
            "offload": self.offload.to_json() if self.offload else None,
        }
        if self.scheduler is not None:  # absent otherwise: reports without it stay unchanged
            out["scheduler"] = self.scheduler.to_json()
        return out


CONFIG_KEYS = ("capacity", "block_size", "eviction", "dp_rank", "offload", "scheduler")
SCHEDULER_KEYS = (
    "max_num_batched_tokens", "max_num_seqs", "chunked_prefill", "prefix_caching", "preemption",
    "speedup_ratio",
)
OFFLOAD_KEYS = ("g2_blocks", "block_size_bytes", "g1_to_g2_gbps", "g2_to_g1_gbps", "batch_size")


def _int(key: str, value: Any, low: int, high: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(key, f"{key} must be an integer, got {_show(value)}")
    if value < low or (high is not None and value > high):
        bound = f"{low} .. {high:_}" if high is not None else f">= {low}"
        raise ConfigError(key, f"{key} must be in {bound}, got {value}")
    return value


def _float(key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(key, f"{key} must be a number, got {_show(value)}")
    if value != value or value in (float("inf"), float("-inf")):
        raise ConfigError(key, f"{key} must be a finite number, got {value}")
    return float(value)


def _show(value: Any) -> str:
    return f"{type(value).__name__} {brief(value)}"  # bounded: never the repr of a huge value


def check_block_size(value: Any) -> int:
    size = _int("block_size", value, 1, 1024)
    if size & (size - 1):
        raise ConfigError("block_size", f"block_size must be a power of two, got {size}")
    return size


def check_eviction(value: Any) -> str:
    if value not in BACKENDS:
        raise ConfigError("eviction", f"eviction must be one of {', '.join(BACKENDS)}, got {brief(value)}")
    return str(value)


def check_capacity(value: Any) -> int:
    return _int("capacity", value, 1, MAX_CAPACITY)


def config_from_mapping(data: dict[str, Any]) -> Config:
    """Build a Config from a parsed YAML mapping; raise ConfigError naming the bad key."""
    for key in data:
        if key not in CONFIG_KEYS:
            raise ConfigError(key, f"unknown config key {brief(key)} (expected {', '.join(CONFIG_KEYS)})")
    if "capacity" not in data:
        raise ConfigError("", "config.capacity is required")
    offload = data.get("offload")
    scheduler = data.get("scheduler")
    block_size = check_block_size(data.get("block_size", 16))
    config = Config(
        capacity=check_capacity(data["capacity"]),
        block_size=block_size,
        eviction=check_eviction(data.get("eviction", "lineage")),
        dp_rank=_int("dp_rank", data.get("dp_rank", 0), 0, MAX_DP_RANK),
        offload=None if offload is None else offload_from_mapping(offload),
        scheduler=None if "scheduler" not in data else scheduler_from_mapping(scheduler),
    )
    if config.scheduler is not None and block_size < 2:
        # Upstream's ActiveSequence validator: block_size >= 2 (mocker_protocol.md §2.1).
        raise ConfigError("block_size", "block_size must be >= 2 with a scheduler, got 1")
    return config


def scheduler_from_mapping(data: Any) -> SchedulerConfig:
    """``config.scheduler``: a mapping (empty or null = every upstream default)."""
    if data is None:
        return SchedulerConfig()
    if not isinstance(data, dict):
        raise ConfigError("scheduler", f"scheduler must be a mapping, got {_show(data)}")
    for key in data:
        if key not in SCHEDULER_KEYS:
            raise ConfigError(
                f"scheduler.{key}",
                f"unknown scheduler key {key!r} (expected {', '.join(SCHEDULER_KEYS)})",
            )
    budget = data.get("max_num_batched_tokens", 8192)
    preemption = data.get("preemption", "lifo")
    if preemption not in PREEMPTION_MODES:
        raise ConfigError(
            "scheduler.preemption", f"scheduler.preemption must be lifo or fifo, got {preemption!r}"
        )
    return SchedulerConfig(
        max_num_batched_tokens=(
            None if budget is None else _int("scheduler.max_num_batched_tokens", budget, 1)
        ),
        max_num_seqs=_int("scheduler.max_num_seqs", data.get("max_num_seqs", 256), 1),
        chunked_prefill=_bool("scheduler.chunked_prefill", data.get("chunked_prefill", True)),
        prefix_caching=_bool("scheduler.prefix_caching", data.get("prefix_caching", True)),
        preemption=str(preemption),
        speedup_ratio=_float("scheduler.speedup_ratio", data.get("speedup_ratio", 1.0)),
    )


def _bool(key: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(key, f"{key} must be true or false, got {_show(value)}")
    return value


def offload_from_mapping(data: Any) -> OffloadConfig:
    if not isinstance(data, dict):
        raise ConfigError("offload", f"offload must be a mapping, got {_show(data)}")
    for key in data:
        if key not in OFFLOAD_KEYS:
            raise ConfigError(
                f"offload.{key}", f"unknown offload key {brief(key)} (expected {', '.join(OFFLOAD_KEYS)})"
            )
    if "g2_blocks" not in data:
        raise ConfigError("offload", "offload.g2_blocks is required")
    size = _int("offload.block_size_bytes", data.get("block_size_bytes", 1_000_000), 1, MAX_BLOCK_BYTES)
    return OffloadConfig(
        g2_blocks=_int("offload.g2_blocks", data["g2_blocks"], 1, MAX_CAPACITY),
        block_size_bytes=size,
        g1_to_g2_gbps=_gbps("offload.g1_to_g2_gbps", data.get("g1_to_g2_gbps", 14.0), size),
        g2_to_g1_gbps=_gbps("offload.g2_to_g1_gbps", data.get("g2_to_g1_gbps", 14.0), size),
        batch_size=_int("offload.batch_size", data.get("batch_size", 32), 1),
    )


def _gbps(key: str, value: Any, block_bytes: int) -> float:
    """A link speed (<= 0: instantaneous) at which one block moves in at most MAX_BLOCK_MS.

    A positive speed so small that a transfer would take forever (`5e-324`) puts infinite
    times on the clock; it is refused here rather than failing at the first `tick next`.
    """
    gbps = _float(key, value)
    if gbps > 0 and block_bytes / (gbps * 1e6) > MAX_BLOCK_MS:
        raise ConfigError(
            key, f"{key} {gbps:g} is too slow: one block of {block_bytes:,} bytes would take more "
            f"than {MAX_BLOCK_MS:.0e} ms (use 0 for instantaneous)"
        )
    return gbps
