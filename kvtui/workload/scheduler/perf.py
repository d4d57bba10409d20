"""The mocker's polynomial performance model (mocker_protocol.md §3.C, ``perf_model.rs``).

Times are milliseconds. kvtui follows the fork's commit 9c0587910: the prefill polynomial has
no zero-token shortcut, so its constant term (16.5 ms) is paid by any pass whose batch holds a
request with uncached prompt tokens, even when the integer means round its new tokens to 0.
"""

from __future__ import annotations


def prefill_ms(batch: int, isl: int, prefix: int) -> float:
    """Prefill time of ``batch`` requests of mean input ``isl`` and mean cached ``prefix``."""
    if batch == 0:
        return 0.0
    tokens = float(batch * max(0, isl - prefix))
    return max(0.0, 4.209989e-07 * tokens * tokens + 1.518344e-02 * tokens + 1.650142e01)


def decode_ms(batch: int, active_kv_tokens: int, total_kv_tokens: int) -> float:
    """Decode time of one token for ``batch`` requests at this KV utilisation (floor 1 ms)."""
    if batch == 0:
        return 0.0
    used = active_kv_tokens / total_kv_tokens if total_kv_tokens > 0 else 1.0
    return max(1.0, -25.74 * used * used + 54.01 * used + 5.74)


def scaled(ms: float, speedup_ratio: float) -> float:
    """``ms / speedup_ratio``; a ratio <= 0 means no scaling (upstream)."""
    return ms / speedup_ratio if speedup_ratio > 0 and ms > 0 else ms


def pass_prefill_ms(count: int, total_isl: int, total_prefix: int, speedup_ratio: float) -> float:
    """Upstream ``predict_prefill_duration``: one call on the pass's integer batch means."""
    if count == 0:
        return 0.0
    return scaled(prefill_ms(count, total_isl // count, total_prefix // count), speedup_ratio)
