"""The step timeline: every step's command, return value and marks; the current step highlighted.

A Line-API scroll view over all steps. Each snapshot brings the rows around the cursor (return
values, event/warning/note counts, failures), which are cached by step; a step never seen yet
shows its command only. Failed expects and steps that cannot run are drawn in the error colour
with their message. Up/down move the row cursor, enter (or a click) jumps to that step.
"""

from __future__ import annotations

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from kvtui.session.timeline import TimelineRow
from kvtui.tui.model import Snapshot
from kvtui.tui.widgets.themed import ThemedLines, cursor_bindings

CURRENT = Style(bold=True, reverse=True)
CURSOR = Style(underline=True)
FAILED = Style(color="red1", bold=True)
DIM = Style(dim=True)
RETURNED = 5  # "→123 "
MARKS = 8  # "●12 ✎ ✓" (wider marks run into the border only on unusual steps)
MARK = {"warning": Style(color="yellow"), "note": Style(color="cyan"), "events": Style(color="green3")}


def row_text(
    number: int, text: str, row: TimelineRow | None, width: int, digits: int = 5
) -> list[tuple[str, Style]]:
    """The cells of one timeline line: number, command, → returned, marks; or the failure."""
    parts: list[tuple[str, Style]] = [(f"{number:>{digits}} ", DIM)]
    if row is not None and row.failure:
        parts.append(("✗ ", FAILED))
        parts.append((f"{text}: {row.failure}", FAILED))
        return parts
    room = max(8, width - digits - 3 - RETURNED - MARKS)
    parts.append(("  ", Style()))
    parts.append((text[: room - 1].ljust(room), Style()))
    returned = row.returned if row is not None and number else None
    parts.append(((f"→{returned}" if returned is not None else "").ljust(RETURNED), Style(bold=True)))
    if row is not None:
        marks = [
            (f"●{row.events} " if row.events else "", MARK["events"]),
            (f"⚠{row.warnings} " if row.warnings else "", MARK["warning"]),
            ("✎ " if row.notes else "", MARK["note"]),
            ("✓" if row.checks else "", DIM),
        ]
        parts += [(t, style) for t, style in marks if t]
    return parts


class Timeline(ThemedLines, ScrollView, can_focus=True):
    """All steps of the session, one line each."""

    DEFAULT_CSS = "Timeline { height: 1fr; overflow-x: hidden; }"
    BINDINGS = cursor_bindings("timeline", "Go to step")

    class Chosen(Message):
        """The user picked a step to go to."""

        def __init__(self, step: int) -> None:
            super().__init__()
            self.step = step

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.texts: tuple[str, ...] = ("(start)",)
        self.rows: dict[int, TimelineRow] = {}
        self.key: tuple[int, int] | None = None
        self.current = 0
        self.cursor = 0

    def show(self, snap: Snapshot) -> None:
        story = snap.story
        if story is None:
            return
        new_key = story.key != self.key
        if new_key:
            self.key, self.texts, self.rows = story.key, story.texts, {}
        changed = {self.current, self.cursor, snap.step}
        for row in story.timeline:
            if self.rows.get(row.step) != row:
                self.rows[row.step] = row
                changed.add(row.step)
        self.current = self.cursor = snap.step
        self.virtual_size = Size(self.size.width, len(self.texts))
        top = self.scroll_offset.y
        self._follow()
        if new_key or self.scroll_offset.y != top:
            self.refresh()
        else:  # a step forward redraws two or three lines, not the whole list
            for number in changed:
                self.refresh_line(number)

    def _follow(self) -> None:
        """Keep the cursor row in view, a few rows from the edge."""
        height = max(1, self.scrollable_content_region.height)
        top = self.scroll_offset.y
        margin = min(3, height // 3)
        if self.cursor < top + margin or self.cursor >= top + height - margin:
            self.scroll_to(y=max(0, self.cursor - height // 2), animate=False, immediate=True)

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        number = self.scroll_offset.y + y
        if not 0 <= number < len(self.texts):
            return Strip.blank(width, self.base_style)
        base = CURRENT if number == self.current else Style()
        if number == self.cursor and self.has_focus and number != self.current:
            base += CURSOR
        digits = len(str(len(self.texts) - 1))
        cells = row_text(number, self.texts[number], self.rows.get(number), width, digits)
        strip = Strip([Segment(text, base + style) for text, style in cells])
        return strip.crop(0, width).extend_cell_length(width, base).apply_style(self.base_style)

    def failed_steps(self) -> list[int]:
        """Steps known to have failed (for tests and the problems list)."""
        return sorted(n for n, row in self.rows.items() if row.failure)

    def action_move(self, delta: int) -> None:
        self.cursor = max(0, min(len(self.texts) - 1, self.cursor + delta))
        self._follow()
        self.refresh()

    def action_choose(self) -> None:
        self.post_message(self.Chosen(self.cursor))

    def on_click(self, event: events.Click) -> None:
        number = self.scroll_offset.y + event.y
        if 0 <= number < len(self.texts):
            self.cursor = number
            self.post_message(self.Chosen(number))

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()
