"""Router event log: every event with step, id, tier, kind, parent and blocks; filterable."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import DataTable

from kvtui.engine.events import RouterEvent
from kvtui.tui.messages import BlockSelected
from kvtui.tui.model import Snapshot

FILTERS = ("all", "device", "host_pinned", "stored", "removed")
TIER = {"device": "G1", "host_pinned": "G2"}
MAX_IDS = 12


def _keep(event: RouterEvent, mode: str) -> bool:
    return mode == "all" or event.tier == mode or event.kind == mode


class EventLog(DataTable[Text]):
    """Rows are appended as steps add events and dropped from the tail when stepping back."""

    DEFAULT_CSS = "EventLog { height: 1fr; }"

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self.mode = "all"
        self._log_rows: list[tuple[int, RouterEvent]] = []
        self._current: frozenset[int] = frozenset()

    def on_mount(self) -> None:
        for label, width in (
            ("step", 5),
            ("id", 5),
            ("tier", 4),
            ("kind", 8),
            ("parent", 8),
            ("blocks", None),
        ):
            self.add_column(label, key=label, width=width)

    def cycle_filter(self) -> str:
        self.mode = FILTERS[(FILTERS.index(self.mode) + 1) % len(FILTERS)]
        self._log_rows = []
        self.clear()
        return self.mode

    def show(self, snap: Snapshot) -> None:
        wanted = [pair for pair in snap.events if _keep(pair[1], self.mode)]
        keep = 0
        while keep < min(len(wanted), len(self._log_rows)) and wanted[keep] == self._log_rows[keep]:
            keep += 1
        restyle = self._current != snap.step_events
        if keep < len(self._log_rows) or restyle:
            self.clear()
            self._log_rows = []
            keep = 0
        self._current = snap.step_events
        for step, event in wanted[keep:]:
            self.add_row(*self._cells(step, event, event.event_id in self._current), key=str(event.event_id))
            self._log_rows.append((step, event))
        if self._log_rows:
            self.move_cursor(row=len(self._log_rows) - 1, animate=False)

    def _cells(self, step: int, event: RouterEvent, current: bool) -> list[Text]:
        style = "bold reverse" if current else ""
        kind_style = "green" if event.kind == "stored" else "red"
        blocks = " ".join(map(str, event.blocks[:MAX_IDS])) + (" …" if len(event.blocks) > MAX_IDS else "")
        parent = (
            ""
            if event.kind == "removed"
            else ("none" if event.parent_hash is None else str(event.parent_hash))
        )
        return [
            Text(str(step), style=style),
            Text(str(event.event_id), style=style),
            Text(TIER.get(event.tier, event.tier), style=style),
            Text(event.kind, style=f"{style} {kind_style}"),
            Text(parent, style=style),
            Text(blocks, style=style),
        ]

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        row = event.cursor_row
        if 0 <= row < len(self._log_rows) and self._log_rows[row][1].blocks:
            self.post_message(BlockSelected(self._log_rows[row][1].blocks[0]))
