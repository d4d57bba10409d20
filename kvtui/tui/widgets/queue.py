"""The eviction queue: the next G1 victims in order, each with why it sits there."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from kvtui.session.labels import short
from kvtui.tui.messages import BlockSelected
from kvtui.tui.model import Snapshot

SHOWN = 60


class EvictionQueue(OptionList):
    DEFAULT_CSS = "EvictionQueue { height: 1fr; }"

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._shown: tuple[tuple[int, str], ...] | None = None  # None: nothing drawn yet

    def show(self, snap: Snapshot) -> None:
        shown = tuple((b, snap.reasons.get(b, "")) for b in snap.order[:SHOWN])
        if shown == self._shown:
            return
        self._shown = shown
        self.clear_options()
        if not shown:
            self.add_option(Option(Text("nothing cached: no victim", style="dim"), disabled=True))
            return
        options = []
        for rank, (block, reason) in enumerate(shown, 1):
            text = Text()
            text.append(f"{rank:>3}. ", style="bold red" if rank == 1 else "dim")
            text.append(short(block), style="bold white on red3" if rank == 1 else "bold")
            why = reason.replace(", released at tick", " · tick")
            text.append(f"  {why}", style="italic" if rank == 1 else "")
            options.append(Option(text, id=str(block)))
        if len(snap.order) > SHOWN:
            options.append(
                Option(Text(f"… {snap.counts['inactive'] - SHOWN} more", style="dim"), disabled=True)
            )
        self.add_options(options)

    def select_block(self, block: int | None) -> None:
        for index, (shown, _) in enumerate(self._shown or ()):
            if shown == block:
                self.highlighted = index
                return

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id is not None:
            self.post_message(BlockSelected(int(event.option.id)))
