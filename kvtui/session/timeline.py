"""The step timeline: one row per step (command, return value, marks), for any range of steps.

Rows are built for a window of steps only (the TUI asks for the ones around the cursor), so the
cost of a step never grows with the length of the session. A row's figures come from the step's
stored result (known for every step applied on some pass) and the session's record of failures.
"""

from __future__ import annotations

from dataclasses import dataclass

from kvtui.session.session import Session
from kvtui.session.step_words import brief_command


@dataclass(frozen=True, slots=True)
class TimelineRow:
    step: int  # 0 is the start (its notes and checks)
    text: str  # the command, cut short
    returned: int | None  # None: not applied on any pass yet
    events: int
    warnings: int
    notes: int
    checks: int
    failure: str  # why the step failed (bad command, refused, failed expect); "" if it did not
    line: int | None
    typed: bool


def timeline_rows(session: Session, start: int, stop: int) -> tuple[TimelineRow, ...]:
    """Rows for steps start..stop-1 (clamped to 0..total)."""
    rows = []
    results = session.results
    for number in range(max(0, start), min(stop, session.total + 1)):
        step = session.steps[number - 1] if number else session.intro
        result = results[number - 1] if 0 < number <= len(results) else None
        failure = session.failures.get(number)
        message = failure.message if failure is not None else ""
        if not message and step.error is not None:
            message = step.error
        if not message:
            bad = next((c for c in step.checks if c.error is not None), None)
            message = f"{bad.text}: {bad.error}" if bad is not None else ""
        rows.append(
            TimelineRow(
                number,
                brief_command(step.text) if number else "(start)",
                result.returned if result is not None else None,
                len(result.events) if result is not None else 0,
                len(result.warnings) if result is not None else 0,
                len(step.notes),
                len(step.checks),
                message,
                failure.line if failure is not None and failure.line is not None else step.line,
                step.typed,
            )
        )
    return tuple(rows)
