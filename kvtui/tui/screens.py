"""Modal screens: help with the command language, jump to a step, open a preset."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Input, Markdown, OptionList, Static
from textual.widgets.option_list import Option

from kvtui.tui.help import help_markdown

T = TypeVar("T")

class HelpScreen(ModalScreen[None]):
    """The help, generated from the parser's tables and the app's bindings; scrolls, fits 80 columns."""

    AUTO_FOCUS = "VerticalScroll"
    BINDINGS = [Binding("escape,q,question_mark,f1", "dismiss", "Close", id="help.close")]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll {
        width: 100%; max-width: 100; height: 100%; max-height: 90%;
        border: thick $accent; background: $surface;
    }
    """

    def __init__(self, bindings: Iterable[Binding]) -> None:
        super().__init__()
        self.bindings = list(bindings)

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Markdown(help_markdown(self.bindings))


class ProblemsScreen(ModalScreen[None]):
    """Every problem of the opened script (line and message), shown before the first step."""

    AUTO_FOCUS = "VerticalScroll"
    BINDINGS = [Binding("escape,enter,q", "dismiss", "Close", id="problems.close")]
    DEFAULT_CSS = """
    ProblemsScreen { align: center middle; }
    ProblemsScreen > VerticalScroll {
        width: 100%; max-width: 110; height: auto; max-height: 80%;
        border: thick $error; background: $surface; padding: 0 1;
    }
    """

    def __init__(self, label: str, problems: list[tuple[int, int | None, str]]) -> None:
        super().__init__()
        self.label = label
        self.problems = problems

    def compose(self) -> ComposeResult:
        count = len(self.problems)
        text = Text(f"{self.label}: {count} problem{'s' if count != 1 else ''}\n", style="bold")
        for step, line, message in self.problems:
            where = f"line {line}" if line is not None else "typed"
            text.append(f"{where} (step {step}): ", style="bold red")
            text.append(f"{message}\n")
        text.append("The timeline marks these steps in red. escape closes this.", style="dim")
        with VerticalScroll():
            yield Static(text)


class Dialog(ModalScreen[T]):
    """A modal that escape cancels (dismissed with None)."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="dialog.cancel")]

    def action_cancel(self) -> None:
        self.dismiss(None)


class JumpScreen(Dialog[int | None]):
    """Ask for a step number; one out of range is refused with a message, never clamped silently."""

    AUTO_FOCUS = "Input"
    DEFAULT_CSS = """
    JumpScreen { align: center middle; }
    JumpScreen > Vertical {
        width: 50; height: auto; border: thick $accent; background: $surface; padding: 1;
    }
    JumpScreen #jump-error { color: $error; height: auto; }
    """

    def __init__(self, total: int) -> None:
        super().__init__()
        self.total = total

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(f"Jump to step (0 – {self.total}):")
            yield Input(placeholder="step number", id="jump-input", type="integer")
            yield Static("", id="jump-error")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        if not text.lstrip("-").isdigit():
            self.dismiss(None)
            return
        step = int(text)
        if not 0 <= step <= self.total:
            self.query_one("#jump-error", Static).update(
                f"step {step} does not exist: this session has steps 0 to {self.total}"
            )
            return
        self.dismiss(step)


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
