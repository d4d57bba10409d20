"""The command line: Tab completion, history, and a message line (errors, results) below it.

Completion candidates come from a callable (the app builds them from its snapshot): verbs of the
parser's table first, then ids, `#hex` labels, `~partials` and request names for later words.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from os.path import commonprefix

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.suggester import Suggester
from textual.widgets import Input, Static

from kvtui.lang.commands import PARSERS

VERBS = tuple(f"{verb} " for verb in PARSERS) + ("tick next",)
SHOWN = 8

Known = Callable[[list[str]], Iterable[str]]
"""Given the words typed before the one being completed, the words that may come next."""


def candidates(value: str, known: Known) -> tuple[str, list[str]]:
    """(the text before the last word, the completions of the last word), sorted."""
    head, _, word = value.rpartition(" ")
    if not head.strip():
        return head, [v for v in VERBS if v.startswith(word) and v != word]  # the table's order
    found = {c for c in known(head.split()) if c.startswith(word) and c != word}
    return head, sorted(found, key=lambda c: (len(c), c))


class CommandSuggester(Suggester):
    """Shows the first completion greyed out after the cursor (→ accepts it)."""

    def __init__(self, known: Known) -> None:
        super().__init__(use_cache=False, case_sensitive=True)
        self.known = known

    async def get_suggestion(self, value: str) -> str | None:
        if not value or value.endswith(" "):
            return None
        head, found = candidates(value, self.known)
        if not found:
            return None
        return f"{head} {found[0]}" if head else found[0]


class CommandInput(Input):
    """An Input with history on up/down and completion on Tab."""

    BINDINGS = [
        Binding("tab", "complete", "Complete", priority=True, id="command.complete"),
        Binding("up", "history(1)", "History", id="command.history", key_display="↑↓"),
        Binding("down", "history(-1)", "History", show=False, id="command.history_down"),
        Binding("escape", "leave", "Views", id="command.leave"),
    ]

    class Completions(Message):
        """Several words fit: the command line lists them."""

        def __init__(self, words: list[str]) -> None:
            super().__init__()
            self.words = words

    def __init__(self, known: Known, **kwargs: object) -> None:
        super().__init__(suggester=CommandSuggester(known), **kwargs)  # type: ignore[arg-type]
        self.known = known
        self.history: list[str] = []
        self._back = 0

    def remember(self, text: str) -> None:
        if text and (not self.history or self.history[-1] != text):
            self.history.append(text)
        self._back = 0

    def action_history(self, step: int) -> None:
        if not self.history:
            return
        self._back = max(0, min(len(self.history), self._back + step))
        self.value = self.history[-self._back] if self._back else ""
        self.cursor_position = len(self.value)

    def action_complete(self) -> None:
        head, found = candidates(self.value, self.known)
        if not found:
            self.post_message(self.Completions([]))
            return
        word = found[0] if len(found) == 1 else commonprefix(found)
        if len(found) == 1 and not word.endswith(" "):
            word += " "
        self.value = f"{head} {word}" if head else word
        self.cursor_position = len(self.value)
        if len(found) > 1:
            self.post_message(self.Completions(found))

    def action_leave(self) -> None:
        self.screen.set_focus(None)

    async def _on_key(self, event: events.Key) -> None:
        # `:` is the key that focuses this line; pressed again out of habit on an empty line it
        # types nothing (no command starts with `:`, so it could only cause an error).
        if event.character == ":" and not self.value:
            event.stop()
            event.prevent_default()
            return
        await super()._on_key(event)


class CommandLine(Vertical):
    """Input plus a message line below it; the state is untouched when a command fails."""

    DEFAULT_CSS = """
    CommandLine { height: auto; }
    CommandLine CommandInput { width: 1fr; }
    CommandLine #command-error { height: auto; max-height: 3; padding: 0 1; color: $error; }
    CommandLine #command-error.-ok { color: $success; }
    CommandLine #command-error.-info { color: $text-muted; }
    """

    class Submitted(Message):
        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    def __init__(self, known: Known, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.known = known
        self._said_for = ""  # the input text the message is about

    def compose(self) -> ComposeResult:
        yield CommandInput(
            self.known,
            placeholder="type a command: use 1 2 3 · deref 3 · tick 1 · Tab completes · f1 help",
            id="command-input",
        )
        yield Static("", id="command-error")

    @property
    def input(self) -> CommandInput:
        return self.query_one(CommandInput)

    def show_error(self, message: str) -> None:
        self._say(message, "")

    def show_ok(self, message: str) -> None:
        self._say(message, "-ok")

    def _say(self, message: str, kind: str) -> None:
        label = self.query_one("#command-error", Static)
        self._said_for = self.input.value
        label.set_classes(kind)
        label.update(Text(message))
        label.display = bool(message)

    def on_mount(self) -> None:
        self.query_one("#command-error", Static).display = False

    def on_command_input_completions(self, message: CommandInput.Completions) -> None:
        words = message.words
        if not words:
            self._say("no completion", "-info")
            return
        more = f" … ({len(words)} in all)" if len(words) > SHOWN else ""
        self._say("  ".join(w.strip() for w in words[:SHOWN]) + more, "-info")

    def on_input_changed(self, event: Input.Changed) -> None:
        label = self.query_one("#command-error", Static)
        if label.display and event.value != self._said_for:
            self._say("", "")  # an old message never lingers once the text changes

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        text = event.value.strip()
        if text:
            self.input.remember(text)
            self.post_message(self.Submitted(text))
