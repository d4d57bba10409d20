"""The headless JSON report (SPEC §10) and the error object (SPEC §11)."""

from __future__ import annotations

from typing import Any

from kvtui.lang.script import Step
from kvtui.session.jsontext import dumps as dumps  # the report's text; here too for the callers
from kvtui.session.session import Session, StepError
from kvtui.sim.manager import KvManager, MoveResult
from kvtui.workload.scheduler.report import pass_json, scheduler_json
from kvtui.workload.scheduler.state import PassResult
from kvtui.workload.world import World


def g1_summary(session: Session) -> dict[str, Any]:
    return g1_json(session.manager)


def g1_json(mgr: KvManager) -> dict[str, Any]:
    return {
        "capacity": mgr.capacity,
        "reset": mgr.num_reset,
        "num_active_blocks": mgr.num_active_blocks,
        "num_active_block_refs": mgr.num_active_block_refs,
        "num_inactive_blocks": mgr.num_inactive_blocks,
        "active": {str(b): refs for b, refs in sorted(mgr.active().items())},
        "partials": sorted(mgr.partials),
        "quarantined": sum(1 for kind in mgr.pool.held.values() if kind == "quarantined"),
        "inactive": mgr.eviction_order(),
    }


def build_report(session: Session, error: StepError | None = None) -> dict[str, Any]:
    results = []
    events = []
    for number, (step, result) in enumerate(zip(session.steps, session.records, strict=False), 1):
        results.append(result_entry(number, step, result))
        events += event_entries(number, result)
    mgr = session.manager
    report: dict[str, Any] = {
        "name": session.name,
        "steps": len(session.records),
        "clock_ms": mgr.clock_ms,
        "config": session.config.to_json(),
        "results": results,
        "events": events,
        "g1": g1_summary(session),
        "g2": mgr.g2_json() if hasattr(mgr, "g2_json") and session.config.offload else None,
    }
    add_tail(report, session.world, error)
    return report


def result_entry(number: int, step: Step, result: MoveResult) -> dict[str, Any]:
    """One step's entry of ``results``."""
    entry: dict[str, Any] = {"step": number, "command": step.text, "returned": result.returned}
    if result.warnings:
        entry["warnings"] = list(result.warnings)
    if isinstance(result, PassResult):  # scheduler mode only
        entry["passes"] = [pass_json(report) for report in result.passes]
    return entry


def event_entries(number: int, result: MoveResult) -> list[dict[str, Any]]:
    """One step's entries of ``events``."""
    return [{"step": number, **event.to_json()} for event in result.events]


def add_tail(report: dict[str, Any], world: World, error: StepError | None) -> None:
    """The keys after ``g2``: the scheduler (in scheduler mode only) and the error."""
    if world.scheduler is not None:
        report["scheduler"] = scheduler_json(world.scheduler, world.requests)
    if error is not None:
        report["error"] = {"step": error.step, "line": error.line, "message": error.message}

