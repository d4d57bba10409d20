"""Router event log: every event with step, id, tier, kind, parent and blocks; filterable.

A Line-API scroll view over pre-rendered rows: a step forward appends its events, a step back
drops rows from the tail, and only the previous and current step's rows are re-rendered, so
the cost of a step does not grow with the history.
"""

from __future__ import annotations

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from kvtui.session.labels import short
from kvtui.sim.events import RouterEvent
from kvtui.tui.messages import BlockSelected
from kvtui.tui.model import Snapshot
from kvtui.tui.widgets.themed import ThemedLines, cursor_bindings

FILTERS = ("all", "device", "host_pinned", "stored", "removed")
FILTER_TITLES = {"all": "all", "device": "G1 only", "host_pinned": "G2 only", "stored": "stored only",
                 "removed": "removed only"}  # the UI says G1/G2 everywhere, not upstream's tier names
TIER = {"device": "G1", "host_pinned": "G2"}
WIDTHS = (5, 6, 5, 8, 10)  # step, id, tier, kind, parent; blocks take the rest
HEADER = ("step", "id", "tier", "kind", "parent", "blocks")
MAX_IDS = 24
Pair = tuple[int, RouterEvent]
HEAD_STYLE = Style(bold=True, color="grey85", bgcolor="grey23")
CURRENT = Style(bold=True, reverse=True)
KIND = {"stored": Style(color="green3"), "removed": Style(color="red1")}
SELECTED = Style(color="yellow", bold=True)
CURSOR = Style(underline=True, bgcolor="grey30")


def _keep(event: RouterEvent, mode: str) -> bool:
    return mode == "all" or event.tier == mode or event.kind == mode


def _common(old: tuple[Pair, ...], new: tuple[Pair, ...]) -> int:
    """Length of the shared prefix when one is a prefix of the other (else 0)."""
    short = min(len(old), len(new))
    if short and old[short - 1] == new[short - 1] and old[0] == new[0]:
        return short
    return 0


def row_strip(step: int, event: RouterEvent, current: bool, selected: int | None = None) -> Strip:
    """One event row; the current step's rows are reversed, the selected block is marked."""
    blocks = " ".join(map(short, event.blocks[:MAX_IDS])) + (" …" if len(event.blocks) > MAX_IDS else "")
    parent = "none" if event.parent_hash is None else short(event.parent_hash)
    if event.kind == "removed":
        parent = ""
    fields = (str(step), str(event.event_id), TIER.get(event.tier, event.tier), event.kind, parent)
    base = CURRENT if current else Style()
    segments = [
        Segment(text[: width - 1].ljust(width), base + KIND[event.kind] if n == 3 else base)
        for n, (text, width) in enumerate(zip(fields, WIDTHS, strict=True))
    ]
    if selected is not None and (selected in event.blocks or selected == event.parent_hash):
        segments[0] = Segment("▶" + segments[0].text[:-1], base + SELECTED)
    segments.append(Segment(blocks, base))
    return Strip(segments)


class EventLog(ThemedLines, ScrollView, can_focus=True):
    """Follows the current step (its rows are the last ones); up/down/enter select by keyboard."""

    DEFAULT_CSS = "EventLog { height: 1fr; overflow-x: hidden; }"
    BINDINGS = cursor_bindings("events", "Select block")

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.mode = "all"
        self._events: tuple[Pair, ...] = ()  # every event the rows were built from
        self._rows: list[tuple[int, Pair]] = []  # (index in _events, pair) per shown row
        self._strips: list[Strip] = []
        self._current: frozenset[int] = frozenset()
        self.selected: int | None = None
        self.cursor = 0  # row index of the keyboard cursor (shown while focused)

    def select_block(self, block: int | None) -> None:
        """Mark the rows that mention `block` (as a stored/removed block or a parent)."""
        if block == self.selected:
            return
        old, self.selected = self.selected, block
        for n, (_, (step, event)) in enumerate(self._rows):
            touched = {old, block} & ({*event.blocks} | {event.parent_hash})
            if touched - {None}:
                self._strips[n] = row_strip(step, event, event.event_id in self._current, block)
        self.refresh()

    def marked_rows(self) -> int:
        """How many rows mention the selected block (for tests)."""
        block = self.selected
        return sum(1 for _, (_, e) in self._rows if block in e.blocks or block == e.parent_hash)

    @property
    def row_count(self) -> int:
        return len(self._rows)

    def cycle_filter(self) -> str:
        self.mode = FILTERS[(FILTERS.index(self.mode) + 1) % len(FILTERS)]
        self._events, self._rows, self._strips, self._current = (), [], [], frozenset()
        return self.mode

    def show(self, snap: Snapshot) -> None:
        new = snap.events
        keep = _common(self._events, new)
        while self._rows and self._rows[-1][0] >= keep:
            self._rows.pop()
            self._strips.pop()
        for index in range(keep, len(new)):
            step, event = new[index]
            if _keep(event, self.mode):
                self._rows.append((index, (step, event)))
                current = event.event_id in snap.step_events
                self._strips.append(row_strip(step, event, current, self.selected))
        self._events = new
        self._restyle(snap.step_events)
        size = Size(self.size.width, len(self._strips) + 1)
        if size != self.virtual_size:
            # Set without the reactive's layout pass (which repaints the whole screen at every
            # step): the log's own region does not change, only its scroll range.
            self.set_reactive(EventLog.virtual_size, size)
            self._refresh_scrollbars()
        self.cursor = max(0, len(self._rows) - 1)
        self.follow()
        self.refresh()

    def follow(self) -> None:
        """Scroll to the newest rows (the current step's), now and again once laid out."""
        self.scroll_end(animate=False, immediate=True, force=True)
        self.call_after_refresh(self.scroll_end, animate=False, immediate=True, force=True)

    def on_show(self) -> None:
        self.follow()

    def action_move(self, delta: int) -> None:
        if not self._rows:
            return
        self.cursor = max(0, min(len(self._rows) - 1, self.cursor + delta))
        height = max(1, self.scrollable_content_region.height - 1)
        top = self.scroll_offset.y
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False, immediate=True)
        elif self.cursor >= top + height:
            self.scroll_to(y=self.cursor - height + 1, animate=False, immediate=True)
        self.refresh()

    def action_choose(self) -> None:
        if 0 <= self.cursor < len(self._rows):
            blocks = self._rows[self.cursor][1][1].blocks
            if blocks:
                self.post_message(BlockSelected(blocks[0]))

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()

    def _restyle(self, current: frozenset[int]) -> None:
        """Un-highlight the previous step's rows and highlight the current step's."""
        changed = current ^ self._current
        if changed:
            for n in range(len(self._rows) - 1, max(-1, len(self._rows) - 257), -1):
                step, event = self._rows[n][1]
                if event.event_id in changed:
                    self._strips[n] = row_strip(step, event, event.event_id in current, self.selected)
        self._current = current

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        if y == 0:
            cells = [text.ljust(w) for text, w in zip(HEADER, WIDTHS, strict=False)] + [HEADER[-1]]
            return Strip([Segment("".join(cells).ljust(width), HEAD_STYLE)])
        index = self.scroll_offset.y + y - 1
        if 0 <= index < len(self._strips):
            strip = self._strips[index].crop(0, width).extend_cell_length(width)
            if index == self.cursor and self.has_focus:
                strip = strip.apply_style(CURSOR)
            return strip.apply_style(self.base_style)  # the theme's colours under the row's own
        return Strip.blank(width, self.base_style)

    def on_click(self, event: events.Click) -> None:
        index = self.scroll_offset.y + event.y - 1
        if 0 <= index < len(self._rows) and event.y > 0:
            self.cursor = index
            blocks = self._rows[index][1][1].blocks
            if blocks:
                self.post_message(BlockSelected(blocks[0]))
