"""The compare screen: two or three sessions side by side, stepping in lockstep.

Each side shows its pool map (slots whose block another session holds differently are marked
``≠``), its next victims (ranks that differ elsewhere marked) and its hit ratio so far. A banner
says what the current step did differently, in words. Keys jump to the first, next and previous
divergence; selecting a block shows its state and eviction rank in every session.

Like the main app, the UI holds no engine logic: jumps run on one engine thread (in order) and
come back as a :class:`CompareView`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from rich.console import RenderableType
from rich.segment import Segment
from rich.style import Style
from rich.table import Table
from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Footer, Static

from kvtui.session.compare import Comparison
from kvtui.session.labels import short
from kvtui.tui.compare_model import CompareView, build_compare_view, queue_lines
from kvtui.tui.messages import BlockSelected
from kvtui.tui.model import Snapshot
from kvtui.tui.widgets.pool_map import PoolMap, legend

DIFFERS = Style(color="bright_magenta", bold=True)


class ComparePoolMap(PoolMap):
    """A pool map that marks the slots listed in ``differing`` with ``≠``; when cells aggregate
    many slots, a cell holding any of them shows ``≠`` instead of its fill glyph.

    After one step only the rows of the slots the step changed, or whose mark may have changed,
    are rendered again, and the per-cell counts of marked slots are adjusted for those slots
    alone: a step costs O(what changed), never O(differing slots).
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.differing: frozenset[int] = frozenset()
        self._diff_cells: tuple[int, dict[int, int]] = (0, {})  # (slots per cell, cell -> marked)

    def show_with(self, snap: Snapshot, differing: frozenset[int], changed: frozenset[int] | None) -> None:
        """Show ``snap`` with ``differing`` marked; ``changed``: the slots whose mark may differ
        from the last call (None: any)."""
        old, self.differing = self.differing, differing
        per_cell, counts = self._diff_cells
        if changed is None:
            self._diff_cells = (0, {})  # counted again when a cell is next drawn
        elif per_cell:
            for slot in changed:
                was, now = slot in old, slot in differing
                if was != now:
                    cell = slot // per_cell
                    counts[cell] = counts.get(cell, 0) + (1 if now else -1)
                    if not counts[cell]:
                        del counts[cell]
        self.show(snap, also=changed if changed is not None else frozenset(differing ^ old))

    def _slot_segment(self, snap: Snapshot, slot: int, width: int) -> Segment:
        segment = super()._slot_segment(snap, slot, width)
        if slot not in self.differing:
            return segment
        text = segment.text[:-1] + "≠" if width > 1 else "≠"
        return Segment(text, (segment.style or Style()) + DIFFERS)

    def _cell(self, index: int, width: int, per_cell: int) -> Segment:
        segment = super()._cell(index, width, per_cell)
        if per_cell == 1 or index not in self._cells_with_differences(per_cell):
            return segment
        return Segment("≠", (segment.style or Style()) + DIFFERS)

    def _cells_with_differences(self, per_cell: int) -> dict[int, int]:
        if self._diff_cells[0] != per_cell:
            counts: dict[int, int] = {}
            for slot in self.differing:
                cell = slot // per_cell
                counts[cell] = counts.get(cell, 0) + 1
            self._diff_cells = (per_cell, counts)
        return self._diff_cells[1]


def show_sized(widget: Static, content: RenderableType) -> None:
    """Show ``content``; lay the screen out again only when the widget's height changes.

    Why: a layout pass repaints the whole screen, and when it resizes the pool maps they redraw
    every row (three 32k-slot sessions at 200×60, measured: a step forward costs about 70 ms
    CPU when the banner's height changes, 18 ms when it does not). Many steps keep every
    panel's height. It is measured as the layout measures it (the widget's content height at
    its width) after the update. Content equal to what is shown is not shown again.
    """
    if getattr(widget, "_kvtui_text", None) == content:  # Text compares by value; a table never
        return
    widget._kvtui_text = content  # type: ignore[attr-defined]
    width = widget.content_size.width
    widget.update(content, layout=False)
    height = widget.get_content_height(widget.size, widget.app.size, width) if width else None
    if height is None or getattr(widget, "_kvtui_height", None) != (width, height):
        widget._kvtui_height = (width, height)  # type: ignore[attr-defined]
        widget.refresh(layout=True)


class SideHead(Static):
    def show(self, view: CompareView, side: int) -> None:
        snap, tally = view.sides[side], view.tallies[side]
        text = Text()
        text.append(f"{snap.eviction} · capacity {snap.capacity:,} · ")
        text.append(f"hit ratio so far {tally.block_hit_ratio:.1%} ", style="bold")
        text.append(f"({tally.prefix_hit_blocks}/{tally.lookups} blocks, {tally.token_hit_ratio:.1%} tokens)")
        text.append(f" · evicted {tally.evicted}")
        if snap.offload:
            text.append(f" · G2 +{tally.g2_stored} -{tally.g2_removed}")
        show_sized(self, text)


class SideQueue(Static):
    def show(self, view: CompareView, side: int) -> None:
        text = Text("eviction queue (next victim first)\n", style="bold")
        for line in queue_lines(view, side):
            for piece, style in line:
                text.append(piece, style=style)
            text.append("\n")
        text.rstrip()
        if getattr(self, "_kvtui_text", None) != text:
            self._kvtui_text = text
            self.update(text, layout=False)  # height 1fr: its text never changes the layout


class CompareApp(App[None]):
    CSS_PATH = "compare.tcss"
    TITLE = "kvtui compare"
    AUTO_FOCUS = None
    BINDINGS = [
        Binding("right,n", "step(1)", "Step", id="compare.forward"),
        Binding("left,p", "step(-1)", "Back", id="compare.back"),
        Binding("home", "go_to(0)", "Start", show=False, id="compare.first_step"),
        Binding("end", "last", "End", show=False, id="compare.last_step"),
        Binding("d", "first_divergence", "First divergence", id="compare.first"),
        Binding("right_square_bracket", "next_divergence", "Next ≠", id="compare.next"),
        Binding("left_square_bracket", "previous_divergence", "Prev ≠", id="compare.previous"),
        Binding("escape", "clear_selection", "Clear selection", show=False, id="compare.clear"),
        Binding("q", "quit", "Quit", id="compare.quit"),
    ]

    def __init__(self, comparison: Comparison, *, threaded: bool = True) -> None:
        super().__init__()
        self.comparison = comparison
        self.threaded = threaded
        self.view = build_compare_view(comparison)
        self._built = self.view  # the engine thread's last view: the next one advances from it
        self._engine = ThreadPoolExecutor(1, thread_name_prefix="kvtui-compare")
        self._pending = 0
        self._lock = threading.Lock()
        self.selected: int | None = None

    # -- layout ---------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Static(id="status")
        yield Static(id="difference")
        with Horizontal(id="sides"):
            for index, label in enumerate(self.comparison.labels):
                with Vertical(classes="side", id=f"side-{index}") as column:
                    column.border_title = label
                    yield SideHead(classes="side-head")
                    yield ComparePoolMap(id=f"pool-{index}")
                    yield Static(classes="side-legend")
                    yield SideQueue(classes="side-queue")
        yield Static(id="selection")
        yield Footer()

    def on_mount(self) -> None:
        self.render_view(self.view)

    def on_unmount(self) -> None:
        self._engine.shutdown(wait=False, cancel_futures=True)

    # -- engine ---------------------------------------------------------------------------

    def submit(self, op: Callable[[Comparison], object]) -> None:
        """Run ``op`` on the engine thread (in order), then render the new view."""
        if not self.threaded:
            op(self.comparison)
            self.render_view(self._build())
            return
        with self._lock:
            self._pending += 1
        self._engine.submit(self._job, op)

    def _job(self, op: Callable[[Comparison], object]) -> None:
        op(self.comparison)
        view = self._build()
        self.call_from_thread(self._done, view)

    def _build(self) -> CompareView:
        view = build_compare_view(self.comparison, self._built)
        self._built = view
        return view

    def _done(self, view: CompareView) -> None:
        with self._lock:
            self._pending -= 1
        self.render_view(view)

    async def settle(self) -> None:
        """Wait until every submitted jump has been rendered (tests)."""
        import asyncio

        while self._pending:
            await asyncio.sleep(0.005)
        await asyncio.sleep(0)

    # -- rendering ------------------------------------------------------------------------

    def render_view(self, view: CompareView) -> None:
        self.view = view
        self.query_one("#status", Static).update(self._status(view), layout=False)  # height 1
        banner = self.query_one("#difference", Static)
        show_sized(banner, Text(view.difference_text()))
        banner.set_class(view.divergence is not None, "diverged")
        for index in range(len(view.sides)):
            self.query_one(f"#side-{index} SideHead", SideHead).show(view, index)
            self.query_one(f"#pool-{index}", ComparePoolMap).show_with(
                view.sides[index], view.differing[index], view.differing_changed[index]
            )
            legend_text = Text()
            for text, style in legend(view.sides[index]):
                legend_text.append(text, style=style)
            legend_text.append(" ≠ differs ", style=DIFFERS)
            show_sized(self.query_one(f"#side-{index} .side-legend", Static), legend_text)
            self.query_one(f"#side-{index} SideQueue", SideQueue).show(view, index)
        self._show_selection()

    def _status(self, view: CompareView) -> Text:
        text = Text()
        text.append(" kvtui compare ", style="bold black on dark_cyan")
        text.append(f" {view.name} ", style="bold")
        text.append(f"· step {view.step}/{view.total} ")
        text.append(f"· divergence {view.passed}/{view.count}")
        if view.first is not None:
            text.append(f" (first at step {view.first})")
        if view.error:
            text.append(f" · stopped: {view.error}", style="bold red")
        return text

    def _show_selection(self) -> None:
        view, block = self.view, self.selected
        panel = self.query_one("#selection", Static)
        for index, snap in enumerate(view.sides):
            pool = self.query_one(f"#pool-{index}", ComparePoolMap)
            slot = snap.slot_of(block) if block is not None else None
            if pool.selected_slot != slot:
                pool.select_slot(slot)
        if block is None:
            show_sized(
                panel,
                Text(
                    "Select a block (click a slot, or focus a map and press enter) to see it in "
                    "every session.",
                    style="dim",
                )
            )
            return
        table = Table.grid(padding=(0, 1))
        table.add_column(style="bold")
        table.add_column()
        table.add_row("block", short(block))
        for index, label in enumerate(view.labels):
            table.add_row(label, view.state_of(index, block))
        show_sized(panel, table)

    # -- actions --------------------------------------------------------------------------

    def on_block_selected(self, message: BlockSelected) -> None:
        self.selected = message.block
        self._show_selection()

    def action_clear_selection(self) -> None:
        self.selected = None
        self._show_selection()

    def action_step(self, delta: int) -> None:
        self.submit(lambda c: c.jump(c.cursor + delta))

    def action_go_to(self, step: int) -> None:
        self.submit(lambda c: c.jump(step))

    def action_last(self) -> None:
        self.submit(lambda c: c.jump(c.total))

    def action_first_divergence(self) -> None:
        self.submit(lambda c: _jump_if(c, c.first_divergence()))

    def action_next_divergence(self) -> None:
        self.submit(lambda c: _jump_if(c, c.next_divergence(c.cursor)))

    def action_previous_divergence(self) -> None:
        self.submit(lambda c: _jump_if(c, c.previous_divergence(c.cursor)))


def _jump_if(comparison: Comparison, step: int | None) -> None:
    if step is not None:
        comparison.jump(step)
