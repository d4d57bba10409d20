"""Plain-data views of the scheduler for the JSON report (SPEC §10 plus §13's additions)."""

from __future__ import annotations

from typing import Any

from kvtui.workload.requests import RequestTable
from kvtui.workload.scheduler.state import PassReport, SchedulerState


def pass_json(report: PassReport) -> dict[str, Any]:
    return {
        "pass": report.number,
        "start_ms": report.start_ms,
        "end_ms": report.end_ms,
        "idle": report.idle,
        "scheduled_tokens": report.scheduled,
        "prefill_ms": report.prefill_ms,
        "decode_ms": report.decode_ms,
        "admitted": [{"request": name, "cached_tokens": cached} for name, cached in report.admitted],
        "preempted": list(report.preempted),
        "parked": list(report.parked),
        "unparked": list(report.unparked),
        "emitted": list(report.emitted),
        "finished": list(report.finished),
    }


def scheduler_json(state: SchedulerState, table: RequestTable) -> dict[str, Any]:
    """Queues now and every scheduler request's progress and timings."""
    requests: dict[str, Any] = {}
    for name, req in table.requests.items():
        info = req.sched
        if info is None:
            continue
        requests[name] = {
            "state": req.state,
            "prompt_tokens": req.seq.num_input_tokens,
            "generated": req.seq.generated_tokens,
            "max_output": req.seq.max_output_tokens,
            "computed": info.computed,
            "arrival_ms": info.arrival_ms,
            "admitted_ms": info.admitted_ms,
            "cached_tokens": info.cached_at_admission,
            "reused_tokens": info.reused,
            "first_token_ms": info.first_token_ms,
            "ttft_ms": info.ttft_ms,
            # upstream's mean TPOT: (last token − first token) / (tokens − 1)
            "mean_itl_ms": (
                (info.last_token_ms - info.first_token_ms) / (req.seq.generated_tokens - 1)
                if info.first_token_ms is not None and info.last_token_ms is not None
                and req.seq.generated_tokens > 1 else None
            ),
            "finish_ms": info.finish_ms,
            "preemptions": req.preemptions,
        }
    return {
        "passes": state.passes,
        "running": list(state.running),
        "waiting": list(state.waiting),
        "parked": [p.name for p in state.parked],
        "pending": [name for _, _, name in sorted(state.arrivals)],
        "peak_running": state.peak_running,
        "requests": requests,
    }
