"""Simulation config (SPEC §9 `config:`), validated field by field.

Validation returns the field that is wrong so the script loader can point at its line.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kvtui.sim.eviction import BACKENDS

MAX_CAPACITY = 1_000_000
MAX_DP_RANK = 2**32 - 1


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


@dataclass(frozen=True, slots=True)
class Config:
    capacity: int
    block_size: int = 16
    eviction: str = "lineage"
    dp_rank: int = 0
    offload: OffloadConfig | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "capacity": self.capacity,
            "block_size": self.block_size,
            "eviction": self.eviction,
            "dp_rank": self.dp_rank,
            "offload": self.offload.to_json() if self.offload else None,
        }


CONFIG_KEYS = ("capacity", "block_size", "eviction", "dp_rank", "offload")
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
    return f"{type(value).__name__} {value!r}"


def check_block_size(value: Any) -> int:
    size = _int("block_size", value, 1, 1024)
    if size & (size - 1):
        raise ConfigError("block_size", f"block_size must be a power of two, got {size}")
    return size


def check_eviction(value: Any) -> str:
    if value not in BACKENDS:
        raise ConfigError("eviction", f"eviction must be one of {', '.join(BACKENDS)}, got {value!r}")
    return str(value)


def check_capacity(value: Any) -> int:
    return _int("capacity", value, 1, MAX_CAPACITY)


def config_from_mapping(data: dict[str, Any]) -> Config:
    """Build a Config from a parsed YAML mapping; raise ConfigError naming the bad key."""
    for key in data:
        if key not in CONFIG_KEYS:
            raise ConfigError(key, f"unknown config key {key!r} (expected {', '.join(CONFIG_KEYS)})")
    if "capacity" not in data:
        raise ConfigError("", "config.capacity is required")
    offload = data.get("offload")
    return Config(
        capacity=check_capacity(data["capacity"]),
        block_size=check_block_size(data.get("block_size", 16)),
        eviction=check_eviction(data.get("eviction", "lineage")),
        dp_rank=_int("dp_rank", data.get("dp_rank", 0), 0, MAX_DP_RANK),
        offload=None if offload is None else offload_from_mapping(offload),
    )


def offload_from_mapping(data: Any) -> OffloadConfig:
    if not isinstance(data, dict):
        raise ConfigError("offload", f"offload must be a mapping, got {_show(data)}")
    for key in data:
        if key not in OFFLOAD_KEYS:
            raise ConfigError(
                f"offload.{key}", f"unknown offload key {key!r} (expected {', '.join(OFFLOAD_KEYS)})"
            )
    if "g2_blocks" not in data:
        raise ConfigError("offload", "offload.g2_blocks is required")
    return OffloadConfig(
        g2_blocks=_int("offload.g2_blocks", data["g2_blocks"], 1, MAX_CAPACITY),
        block_size_bytes=_int("offload.block_size_bytes", data.get("block_size_bytes", 1_000_000), 1),
        g1_to_g2_gbps=_float("offload.g1_to_g2_gbps", data.get("g1_to_g2_gbps", 14.0)),
        g2_to_g1_gbps=_float("offload.g2_to_g1_gbps", data.get("g2_to_g1_gbps", 14.0)),
        batch_size=_int("offload.batch_size", data.get("batch_size", 32), 1),
    )
