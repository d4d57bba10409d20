"""Modal screens: help with the command language, jump to a step, open a preset."""

from __future__ import annotations

from typing import TypeVar

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Input, Markdown, OptionList, Static
from textual.widgets.option_list import Option

T = TypeVar("T")

HELP = """\
# kvtui help

**Pools.** Every G1 slot is *empty* (reset), *cached* (inactive: registered, refcount 0,
evictable — **not** empty) or *in use* (active: refcount ≥ 1, a partial, or held back for a G2
copy). The red cell is the **next victim**; numbers on cached cells are eviction ranks,
numbers on active cells (×N) are refcounts. Underlined cells changed in the last step.

## Commands

| command | effect |
|---|---|
| `use ID\\|~NAME ... [parent=ID]` | allocate / hit blocks; the full ids form a chain |
| `deref ID\\|~NAME ...` | release one reference each, in order |
| `promote ~NAME ID [parent=ID]` | a partial becomes full block ID |
| `tick MS` / `tick next` | advance the virtual clock / to the next transfer completion |
| `swapin ID ...` | G2 → G1 onboard of a chain (G2 enabled) |
| `expect …` | check the last result or the state (see the README) |

Lineage: in one `use` each id's parent is the previous id; the first one's parent is
`parent=`, else the recorded one, else none. A bad command changes nothing.

## Keys

| key | action |
|---|---|
| `→` `n` / `←` `p` | step forward / back |
| `home` / `end` | first / last step |
| `space` | play / pause |
| `+` / `-` | faster / slower playback |
| `g` | jump to a step |
| `:` | focus the command line (↑/↓ history, → accepts a completion) |
| `f` | cycle the event-log filter |
| `ctrl+p` | command palette (open preset, switch backend, save, screenshot) |
| `?` `f1` | this help · `escape` closes it |
| `q` | quit |
"""


class HelpScreen(ModalScreen[None]):
    AUTO_FOCUS = "VerticalScroll"
    BINDINGS = [Binding("escape,q,question_mark,f1", "dismiss", "Close", id="help.close")]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll { width: 90; height: 90%; border: thick $accent; background: $surface; }
    """

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Markdown(HELP)


class Dialog(ModalScreen[T]):
    """A modal that escape cancels (dismissed with None)."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="dialog.cancel")]

    def action_cancel(self) -> None:
        self.dismiss(None)


class JumpScreen(Dialog[int | None]):
    AUTO_FOCUS = "Input"
    DEFAULT_CSS = """
    JumpScreen { align: center middle; }
    JumpScreen > Vertical {
        width: 50; height: auto; border: thick $accent; background: $surface; padding: 1;
    }
    """

    def __init__(self, total: int) -> None:
        super().__init__()
        self.total = total

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(f"Jump to step (0 – {self.total}):")
            yield Input(placeholder="step number", id="jump-input", type="integer")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(int(event.value) if event.value.strip().lstrip("-").isdigit() else None)


class PickScreen(Dialog[str | None]):
    """Choose one of several named options (presets, eviction backends)."""

    AUTO_FOCUS = "OptionList"
    DEFAULT_CSS = """
    PickScreen { align: center middle; }
    PickScreen > Vertical {
        width: 100; height: auto; max-height: 80%; border: thick $accent; background: $surface;
    }
    """

    def __init__(self, title: str, choices: list[tuple[str, str]]) -> None:
        super().__init__()
        self.title_text = title
        self.choices = choices

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.title_text)
            yield OptionList(
                *[Option(f"{key}  —  {text}" if text else key, id=key) for key, text in self.choices]
            )

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)
