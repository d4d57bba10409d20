"""The requests view: every request's state and figures (the names `expect request` uses).

A DataTable keyed by request name; rows are updated in place. The columns come from
:data:`COLUMNS`, so a later panel (the scheduler's) can subclass this view and add its own.
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import DataTable

from kvtui.session.request_rows import RequestRow
from kvtui.tui.model import Snapshot

COLUMNS = ("request", "state", "tokens", "generated", "allocated", "held", "cached", "preempted")
STATE_STYLE = {
    "running": "green3", "waiting": "yellow", "pending": "yellow", "preempted": "dark_orange3",
    "finished": "grey50",
}


def row_cells(row: RequestRow) -> tuple[str | Text, ...]:
    return (
        Text(row.name),  # Text, not markup: a name or state is never read as a style tag
        Text(row.state, style=STATE_STYLE.get(row.state, "")),
        str(row.tokens),
        str(row.generated),
        str(row.allocated),
        f"{row.held} blk",
        f"{row.cached} blk",
        str(row.preemptions),
    )


class RequestsView(DataTable[str]):
    """Requests in creation order; the cursor row (arrows) is kept across steps."""

    DEFAULT_CSS = "RequestsView { height: 1fr; }"
    columns_shown = COLUMNS

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self._rows: tuple[RequestRow, ...] = ()

    def on_mount(self) -> None:
        for name in self.columns_shown:
            self.add_column(name, key=name)

    def show(self, snap: Snapshot) -> None:
        rows = snap.story.requests if snap.story is not None else ()
        if rows == self._rows:
            return
        old = {r.name for r in self._rows}
        new = {r.name for r in rows}
        if old - new or [r.name for r in self._rows] != [r.name for r in rows if r.name in old]:
            self.clear()
            old = set()
        for row in rows:
            cells = self.cells(row)
            if row.name in old:
                for column, value in zip(self.columns_shown, cells, strict=True):
                    self.update_cell(row.name, column, value, update_width=True)
            else:
                self.add_row(*cells, key=row.name)
        self._rows = rows
        self.border_subtitle = f"{len(rows)} request{'s' if len(rows) != 1 else ''}"

    def cells(self, row: RequestRow) -> tuple[str | Text, ...]:
        """One row's cells (override with `columns_shown` to add columns)."""
        return row_cells(row)
