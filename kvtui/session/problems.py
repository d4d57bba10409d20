"""Every problem of a script before its first step: bad commands, bad expects, failed expects.

A scratch copy of the session runs to its end once (expects are checked but do not stop it; a
command that fails stops it, since the steps after it depend on it). The problems found are also
recorded in the real session's `failures`, so the timeline marks them before the user gets there.
Long sessions (traces) are only checked for what can be known without running them.
"""

from __future__ import annotations

import contextlib

from kvtui.session.session import Session, StepError

DRY_RUN_LIMIT = 1_000  # steps (a replay at open); beyond this only parse errors are listed


def static_problems(session: Session) -> list[StepError]:
    """Commands and expects that do not parse (known without running anything)."""
    found = []
    for number, step in enumerate([session.intro, *session.steps]):
        if number and step.error is not None:
            found.append(StepError(session.label, number, step.line, step.error))
        for check in step.checks:
            if check.error is not None:
                found.append(StepError(session.label, number, check.line, f"{check.text}: {check.error}"))
    return found


def preflight(session: Session) -> list[StepError]:
    """Every problem, in step order; also recorded in `session.failures`."""
    problems = {(p.step, p.line): p for p in static_problems(session)}
    if session.total <= DRY_RUN_LIMIT:
        scratch = Session(session.as_script(), checkpoints=False)
        with contextlib.suppress(StepError):
            scratch.check_intro()
        while scratch.cursor < scratch.total:
            try:
                scratch.forward(check_expects=False)
            except StepError:
                break  # a command failed: the steps after it cannot be checked
        for number, error in scratch.failures.items():
            problems.setdefault((number, error.line), error)
            session.failures.setdefault(number, error)
    return sorted(problems.values(), key=lambda p: (p.step, p.line or 0))
