"""The command line: completion of verbs and known ids, history, inline errors."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from textual import events
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.message import Message
from textual.suggester import Suggester
from textual.widgets import Input, Static

from kvtui.lang.request_parse import REQUEST_VERBS

VERBS = ("use ", "deref ", "promote ", "tick ", "tick next", "swapin ", "expect ") + tuple(
    f"{verb} " for verb in REQUEST_VERBS
)


class CommandSuggester(Suggester):
    """Completes the verb, then the last word from the ids and partials the session knows."""

    def __init__(self, known: Callable[[], Iterable[str]]) -> None:
        super().__init__(use_cache=False, case_sensitive=True)
        self.known = known

    async def get_suggestion(self, value: str) -> str | None:
        if not value or value.endswith(" "):
            return None
        head, _, word = value.rpartition(" ")
        if not head:
            return next((v for v in VERBS if v.startswith(word) and v != word), None)
        for candidate in self.known():
            if candidate.startswith(word) and candidate != word:
                return f"{head} {candidate}"
        return None


class CommandInput(Input):
    """An Input with history on up/down."""

    def __init__(self, known: Callable[[], Iterable[str]], **kwargs: object) -> None:
        super().__init__(suggester=CommandSuggester(known), **kwargs)  # type: ignore[arg-type]
        self.history: list[str] = []
        self._back = 0

    def remember(self, text: str) -> None:
        if text and (not self.history or self.history[-1] != text):
            self.history.append(text)
        self._back = 0

    def _on_key(self, event: events.Key) -> None:
        if event.key in ("up", "down") and self.history:
            event.stop()
            event.prevent_default()
            step = 1 if event.key == "up" else -1
            self._back = max(0, min(len(self.history), self._back + step))
            self.value = self.history[-self._back] if self._back else ""
            self.cursor_position = len(self.value)


class CommandLine(Horizontal):
    """Input plus an error label beside it; the state is untouched when a command fails."""

    DEFAULT_CSS = """
    CommandLine { height: 3; }
    CommandLine CommandInput { width: 1fr; }
    CommandLine #command-error { width: 2fr; height: 3; color: $error; padding: 1 1 0 1; }
    """

    class Submitted(Message):
        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    def __init__(self, known: Callable[[], Iterable[str]], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.known = known

    def compose(self) -> ComposeResult:
        yield CommandInput(
            self.known,
            placeholder="type a command: use 1 2 3 · deref 3 · tick 1 · ? for help",
            id="command-input",
        )
        yield Static("", id="command-error")

    @property
    def input(self) -> CommandInput:
        return self.query_one(CommandInput)

    def show_error(self, message: str) -> None:
        self.query_one("#command-error", Static).update(message)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        text = event.value.strip()
        if text:
            self.input.remember(text)
            self.post_message(self.Submitted(text))
