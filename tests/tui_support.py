"""Builders for TUI tests: fixed sessions, no journal, no cursor blink, deterministic output."""

from __future__ import annotations

from textual.pilot import Pilot

from kvtui.lang.script import Script, Step, load_script, make_step
from kvtui.presets import preset_path
from kvtui.session.session import Session
from kvtui.sim.config import Config
from kvtui.tui.app import KvtuiApp
from kvtui.tui.widgets.command_line import CommandInput

SIZE = (120, 40)


def preset_app(name: str, **config: object) -> KvtuiApp:
    path = preset_path(name)
    assert path is not None, name
    script = load_script(path)
    if config:
        import dataclasses

        script = dataclasses.replace(script, config=dataclasses.replace(script.config, **config))
    return KvtuiApp(Session(script), journal=False)


def lines_app(capacity: int, lines: list[str], name: str = "test", **config: object) -> KvtuiApp:
    steps = [make_step(text, n + 1) for n, text in enumerate(lines)]
    script = Script(f"{name}.yaml", name, "", Config(capacity, **config), steps, Step(""))  # type: ignore[arg-type]
    return KvtuiApp(Session(script), journal=False)


async def ready(pilot: Pilot[None]) -> None:
    """Let the engine thread finish and stop the input cursor from blinking."""
    app = pilot.app
    assert isinstance(app, KvtuiApp)
    app.query_one(CommandInput).cursor_blink = False
    await app.settle()
    await pilot.pause()


async def press(pilot: Pilot[None], *keys: str) -> None:
    app = pilot.app
    assert isinstance(app, KvtuiApp)
    for key in keys:
        await pilot.press(key)
        await app.settle()
    await pilot.pause()


async def type_command(pilot: Pilot[None], text: str) -> None:
    await press(pilot, "colon")
    app = pilot.app
    app.query_one(CommandInput).value = text
    await press(pilot, "enter")
