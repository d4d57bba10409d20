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
        self._more = False
        self._prompts: list[Text] = []

    def show(self, snap: Snapshot) -> None:
        shown = tuple((b, snap.reasons.get(b, "")) for b in snap.order[:SHOWN])
        if shown == self._shown:
            return
        more = len(snap.order) > SHOWN
        prompts: list[Text] = [_prompt(rank, block, reason) for rank, (block, reason) in enumerate(shown, 1)]
        if more:
            prompts.append(Text(f"… {snap.counts['inactive'] - SHOWN} more", style="dim"))
        if shown and self._shown and len(shown) == len(self._shown) and more == self._more:
            # Same rows: new prompts in place. Clearing and refilling the list would resize it
            # and re-lay out (repaint) the whole screen at every step.
            old = self._prompts
            for index, prompt in enumerate(prompts):
                if prompt != old[index]:
                    self.replace_option_prompt_at_index(index, prompt)
        else:
            self.clear_options()
            if not shown:
                self.add_option(Option(Text("nothing cached: no victim", style="dim"), disabled=True))
            else:
                options = [Option(prompt) for prompt in prompts[: len(shown)]]
                if more:
                    options.append(Option(prompts[-1], disabled=True))
                self.add_options(options)
        self._shown, self._more, self._prompts = shown, more, prompts

    def select_block(self, block: int | None) -> None:
        for index, (shown, _) in enumerate(self._shown or ()):
            if shown == block:
                self.highlighted = index
                return

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        shown = self._shown or ()
        if event.option_index < len(shown):
            self.post_message(BlockSelected(shown[event.option_index][0]))


def _prompt(rank: int, block: int, reason: str) -> Text:
    text = Text()
    text.append(f"{rank:>3}. ", style="bold red" if rank == 1 else "dim")
    text.append(short(block), style="bold white on red3" if rank == 1 else "bold")
    why = reason.replace(", released at tick", " · tick")
    text.append(f"  {why}", style="italic" if rank == 1 else "")
    return text
