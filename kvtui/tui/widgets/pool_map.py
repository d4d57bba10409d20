"""The G1 pool map: one cell per slot, coloured by pool, aggregated when slots outnumber cells.

Rows are rendered into Strips; `render_line` only indexes. After a plain step only the rows
holding a slot the step changed (or the next victim, before and after) are rendered again, so a
step costs O(changed slots × slots per cell), not O(capacity); a jump, a resize or a map small
enough to show one slot per cell renders every row.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding
from textual.geometry import Region, Size
from textual.strip import Strip
from textual.widget import Widget

from kvtui.session.labels import short
from kvtui.tui.messages import BlockSelected
from kvtui.tui.model import ACTIVE, INACTIVE, KIND_NAMES, PARTIAL, QUARANTINED, RESERVED, RESET, Snapshot
from kvtui.tui.widgets.themed import ThemedLines

# Background colours per slot kind: empty vs cached vs in use must differ at a glance.
KIND_STYLE = {
    RESET: Style(color="grey50", bgcolor="grey15"),
    INACTIVE: Style(color="black", bgcolor="dark_cyan"),
    ACTIVE: Style(color="black", bgcolor="green3"),
    PARTIAL: Style(color="black", bgcolor="gold1"),
    QUARANTINED: Style(color="white", bgcolor="dark_orange3"),
    RESERVED: Style(color="white", bgcolor="medium_purple3"),
}
LIGHT_RESET = Style(color="grey42", bgcolor="grey82")  # empty slots on a light theme


def kind_style(kind: int, dark: bool = True) -> Style:
    """A slot kind's style; empty slots follow the theme (near-black only on dark themes)."""
    return KIND_STYLE[kind] if dark or kind != RESET else LIGHT_RESET


@cache
def _fill_style(kind: int, dark: bool) -> Style:
    """A partly used cell: its majority kind's colour on the empty background (built once)."""
    return Style(color=KIND_STYLE[kind].bgcolor, bgcolor=kind_style(RESET, dark).bgcolor)


VICTIM = Style(color="white", bgcolor="red3", bold=True)
CHANGED = {
    "stored": Style(underline=True, bold=True),
    "reactivated": Style(underline=True, bold=True),
    "evicted": Style(color="red1", bold=True, underline=True),
}
SELECTED = Style(reverse=True)
HIGHLIGHT = Style(underline=True, bold=True, color="bright_yellow")  # a selected request's blocks
GLYPHS = " ▁▂▃▄▅▆▇█"
IMPORTANCE = (QUARANTINED, RESERVED, PARTIAL, ACTIVE, INACTIVE)


WIDE = 9  # wide cells also name the block they hold


def cell_text(snap: Snapshot, slot: int, width: int) -> str:
    """Short text for one slot: eviction rank or refcount (and the block id in wide cells)."""
    kind = snap.slots[slot]
    ref = snap.owner.get(slot)
    view = snap.blocks.get(ref) if isinstance(ref, int) else None
    if kind == INACTIVE:
        mark = f"#{view.rank}" if view and view.rank else "c"
    elif kind == ACTIVE:
        mark = f"×{view.refs}" if view else "a"
    else:
        mark = {RESET: "·", PARTIAL: "~", QUARANTINED: "⇢", RESERVED: "⇠"}.get(kind, "?")
    if width >= WIDE and isinstance(ref, int) and kind in (INACTIVE, ACTIVE):
        text = f"{short(ref)} {mark}"
    elif width >= WIDE and isinstance(ref, str):
        text = f"~{ref}"
    else:
        text = mark
    return text[: width - 1].center(width - 1) + " "


class PoolMap(ThemedLines, Widget, can_focus=True):
    """Slots in rows; click or move the cursor (arrows, enter) to select a slot's block."""

    DEFAULT_CSS = """
    PoolMap { height: 1fr; min-height: 3; }
    """
    BINDINGS = [
        Binding("left", "move(-1)", "Prev slot", show=False, id="pool.left"),
        Binding("right", "move(1)", "Next slot", show=False, id="pool.right"),
        Binding("up", "move_row(-1)", "Up", show=False, id="pool.up"),
        Binding("down", "move_row(1)", "Down", show=False, id="pool.down"),
        Binding("enter", "choose", "Select slot", id="pool.select"),
    ]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.snap: Snapshot | None = None
        self.selected_slot: int | None = None
        self.highlighted: frozenset[int] = frozenset()  # slots of the selected request
        self.cursor = 0
        self._victim_slot: int | None = None
        self._strips: list[Strip] = []
        self._grid: tuple[int, int, int] = (1, 1, 1)  # cell width, cells per row, slots per cell
        self._dark = True

    # -- data -----------------------------------------------------------------------------

    def show(self, snap: Snapshot, also: Iterable[int] = ()) -> None:
        """Show ``snap``; after a plain step, re-render only the rows of the slots it changed
        (``snap.dirty``), the next victim's before and after, and the slots in ``also``."""
        old, self.snap = self.snap, snap
        cell, per_row, per_cell = self._grid
        if (
            old is None
            or snap.dirty is None
            or old.capacity != snap.capacity
            or per_cell == 1  # one slot per cell: ranks and changes show in cells; few cells
            or len(self._strips) * per_row * per_cell < snap.capacity
        ):
            self._rebuild()
            return
        victim = snap.next_victim
        new_victim = snap.slot_of(victim) if victim is not None else None
        slots = set(snap.dirty) | {self._victim_slot, new_victim}
        slots.update(also)
        self._victim_slot = new_victim
        cells = -(-snap.capacity // per_cell)
        rows = {slot // per_cell // per_row for slot in slots if slot is not None}
        for row in rows:
            start = row * per_row
            self._strips[row] = self._row(start, min(start + per_row, cells))
        self.refresh(*(Region(0, row, self.size.width, 1) for row in rows))  # those lines only

    def highlight_slots(self, slots: frozenset[int]) -> None:
        """Mark a set of slots (a request's blocks) beside the single selection."""
        if slots != self.highlighted:
            self.highlighted = slots
            self.refresh()

    def select_slot(self, slot: int | None) -> None:
        self.selected_slot = slot
        if slot is not None:
            self.cursor = slot // self._grid[2]
        self._rebuild()

    @property
    def slots_per_cell(self) -> int:
        return self._grid[2]

    # -- layout ---------------------------------------------------------------------------

    def _plan(self, width: int, height: int) -> tuple[int, int, int]:
        capacity = self.snap.capacity if self.snap else 1
        width = max(width, 4)
        height = max(height, 1)
        for cell in (WIDE, 4, 3, 2):
            per_row = width // cell
            if per_row * height >= capacity:
                return cell, per_row, 1
        per_row = width
        per_cell = -(-capacity // (per_row * height))
        return 1, per_row, per_cell

    def _rebuild(self) -> None:
        if self.snap is None or not self.size.width:
            self._strips = []
            self.refresh()
            return
        self._grid = self._plan(self.size.width, self.size.height)
        self._dark = self.app.current_theme.dark  # read once per rebuild, not per cell
        victim = self.snap.next_victim
        self._victim_slot = self.snap.slot_of(victim) if victim is not None else None
        cell, per_row, per_cell = self._grid
        cells = -(-self.snap.capacity // per_cell)
        self._strips = [self._row(start, min(start + per_row, cells)) for start in range(0, cells, per_row)]
        self.border_subtitle = (
            f"1 cell = {per_cell:,} slots" if per_cell > 1 else f"{self.snap.capacity:,} slots"
        )
        self.refresh()

    def _row(self, first: int, last: int) -> Strip:
        cell, _, per_cell = self._grid
        segments = [self._cell(index, cell, per_cell) for index in range(first, last)]
        return Strip(segments)

    def _cell(self, index: int, width: int, per_cell: int) -> Segment:
        snap = self.snap
        assert snap is not None
        if per_cell == 1:
            return self._slot_segment(snap, index, width)
        start = index * per_cell
        chunk = snap.slots[start : start + per_cell]
        kind = chunk[0]
        if chunk.count(kind) == len(chunk):  # one kind throughout: most cells of a full pool
            used = 0 if kind == RESET else len(chunk)
        else:
            used = len(chunk) - chunk.count(RESET)
            counts = {k: chunk.count(k) for k in IMPORTANCE}
            kind = max(IMPORTANCE, key=lambda k: (counts[k], -IMPORTANCE.index(k)))
        if used == len(chunk):  # a full cell is a solid block of its majority colour
            style = kind_style(kind, self.dark)
            glyph = " "
        else:  # a partly used cell shows how full it is in its majority colour
            style = _fill_style(kind, self.dark) if used else kind_style(RESET, self.dark)
            glyph = GLYPHS[max(1, round(used / len(chunk) * (len(GLYPHS) - 1)))] if used else "·"
        victim = self._victim_slot
        if victim is not None and start <= victim < start + per_cell:
            style = VICTIM
        sel = self.selected_slot
        if self.highlighted and any(s in self.highlighted for s in range(start, start + per_cell)):
            style += HIGHLIGHT
        if sel is not None and start <= sel < start + per_cell or index == self.cursor and self.has_focus:
            style += SELECTED
        return Segment(glyph, style)

    def _slot_segment(self, snap: Snapshot, slot: int, width: int) -> Segment:
        kind = snap.slots[slot]
        style = kind_style(kind, self.dark)
        ref = snap.owner.get(slot)
        if kind == INACTIVE and ref == snap.next_victim:
            style = VICTIM
        change = snap.changed.get(slot)
        if change:
            style += CHANGED[change]
        if slot in self.highlighted:
            style += HIGHLIGHT
        if slot == self.selected_slot or (slot == self.cursor and self.has_focus):
            style += SELECTED
        return Segment(cell_text(snap, slot, width), style)

    # -- rendering ------------------------------------------------------------------------

    def on_resize(self, event: events.Resize) -> None:
        self._rebuild()

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return max(len(self._strips), 1)

    @property
    def dark(self) -> bool:
        return self._dark

    def render_line(self, y: int) -> Strip:
        if y < len(self._strips):
            return self._strips[y].apply_style(self.base_style)
        return Strip.blank(self.size.width, self.base_style)

    # -- interaction ----------------------------------------------------------------------

    def _slot_at(self, x: int, y: int) -> int | None:
        cell, per_row, per_cell = self._grid
        column = x // cell
        if column >= per_row:
            return None
        index = y * per_row + column
        return self._first_used_slot(index) if self.snap and index * per_cell < self.snap.capacity else None

    def _first_used_slot(self, index: int) -> int:
        per_cell = self._grid[2]
        start = index * per_cell
        if self.snap is None or per_cell == 1:
            return start
        chunk = self.snap.slots[start : start + per_cell]
        for offset, code in enumerate(chunk):
            if code != RESET:
                return start + offset
        return start

    def on_click(self, event: events.Click) -> None:
        slot = self._slot_at(event.x, event.y)
        if slot is not None:
            self.cursor = slot // self._grid[2]
            self._post(slot)

    def _post(self, slot: int) -> None:
        ref = self.snap.owner.get(slot) if self.snap else None
        self.post_message(BlockSelected(ref if isinstance(ref, int) else None, slot))

    def action_move(self, delta: int) -> None:
        if self.snap is None:
            return
        cells = -(-self.snap.capacity // self._grid[2])
        self.cursor = max(0, min(cells - 1, self.cursor + delta))
        self._rebuild()

    def action_move_row(self, delta: int) -> None:
        self.action_move(delta * self._grid[1])

    def action_choose(self) -> None:
        if self.snap is not None:
            self._post(self._first_used_slot(self.cursor))

    def on_focus(self) -> None:
        self._rebuild()

    def on_blur(self) -> None:
        self._rebuild()


def legend(snap: Snapshot) -> list[tuple[str, Style]]:
    """(text, style) pairs: a swatch and count per pool (the aggregation factor is on the border)."""
    parts = []
    for kind, name in enumerate(KIND_NAMES):
        if kind in (QUARANTINED, RESERVED) and not snap.offload:
            continue  # only G2 copies hold slots back
        label = {"inactive": "cached", "reset": "empty"}.get(name, name)
        parts.append((f" {label} {snap.counts[name]} ", KIND_STYLE[kind]))
    parts.append((" next victim ", VICTIM))
    return parts
