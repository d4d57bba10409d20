"""What the Line-API widgets (pool map, event log, timeline) share."""

from __future__ import annotations

from rich.style import Style
from textual.binding import Binding


class ThemedLines:
    """Mixin: the theme's base style under every line, cached per theme.

    `rich_style` walks the CSS on every call, which is too costly per rendered line.
    """

    _base: tuple[str, Style] | None = None

    @property
    def base_style(self) -> Style:
        theme = self.app.theme  # type: ignore[attr-defined]
        if self._base is None or self._base[0] != theme:
            self._base = (theme, self.rich_style)  # type: ignore[attr-defined]
        return self._base[1]


def cursor_bindings(prefix: str, choose: str) -> list[Binding]:
    """Keyboard cursor keys of a list-like widget: up/down, page up/down, enter to choose."""
    return [
        Binding("up", "move(-1)", "Up", show=False, id=f"{prefix}.up"),
        Binding("down", "move(1)", "Down", show=False, id=f"{prefix}.down"),
        Binding("pageup", "move(-10)", "Page up", show=False, id=f"{prefix}.pageup"),
        Binding("pagedown", "move(10)", "Page down", show=False, id=f"{prefix}.pagedown"),
        Binding("enter", "choose", choose, id=f"{prefix}.choose"),
    ]
