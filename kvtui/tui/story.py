"""What the current step did, the timeline around it and the requests: built with each snapshot.

Built on the engine thread (like the rest of the snapshot) from session-level formatters, so the
widgets only draw words and rows. Cost per step: the timeline window and the requests, never the
whole history (the step texts are rebuilt only when the steps change: an insert or a new session).
"""

from __future__ import annotations

from dataclasses import dataclass

from kvtui.session.request_rows import RequestRow, request_rows
from kvtui.session.session import Session
from kvtui.session.step_words import StepWords, brief_command, describe
from kvtui.session.timeline import TimelineRow, timeline_rows

WINDOW = 40  # timeline rows sent either side of the cursor (a tall timeline shows ~50 rows)


@dataclass(frozen=True, slots=True)
class StepStory:
    command: str  # the current step's command, cut short ("" at the start)
    words: StepWords | None  # what it returned and did (None at the start)
    failure: str  # why the current step failed (a failed expect), "" if it did not
    blocked: str  # why the next step cannot run (a bad or refused command), "" if it can
    key: tuple[int, int]  # (session, number of steps): the timeline texts change with it
    texts: tuple[str, ...]  # every step's command, cut short (index 0 is the start)
    any_notes: bool  # some step has a note (the banner then keeps its place throughout)
    timeline: tuple[TimelineRow, ...]  # rows around the cursor
    requests: tuple[RequestRow, ...]


def build_story(session: Session, previous: StepStory | None = None) -> StepStory:
    cursor = session.cursor
    key = (id(session), session.total)
    if previous is not None and previous.key == key:
        texts, any_notes = previous.texts, previous.any_notes
    else:
        texts = ("(start)", *(brief_command(step.text) for step in session.steps))
        any_notes = any(step.notes for step in (session.intro, *session.steps))
    words = None
    result = session.last_result
    if cursor and result is not None:
        words = describe(session.steps[cursor - 1].command, result, session.world)
    failure = session.failures.get(cursor)
    ahead = session.failures.get(cursor + 1)
    nxt = session.steps[cursor] if cursor < session.total else None
    blocked = ""
    if nxt is not None and nxt.error is not None:
        blocked = nxt.error
    elif ahead is not None and len(session.results) <= cursor:  # it never applied: a bad command
        blocked = ahead.message
    return StepStory(
        command=brief_command(session.steps[cursor - 1].text) if cursor else "",
        words=words,
        failure=failure.message if failure is not None and cursor else "",
        blocked=blocked,
        key=key,
        texts=texts,
        any_notes=any_notes,
        timeline=timeline_rows(session, cursor - WINDOW, cursor + WINDOW + 1),
        requests=request_rows(session.world),
    )
