"""A shared piece of the Line-API widgets (pool map, event log, timeline)."""

from __future__ import annotations

from rich.style import Style


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
