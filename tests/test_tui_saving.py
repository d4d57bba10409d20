"""Saving from the TUI: a chosen path (the state dir by default), no silent overwrite, no symlink
followed, one-line errors, one screenshot entry in the palette."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from kvtui.tui import saving
from kvtui.tui.saving import ConfirmScreen, PathScreen
from tests.tui_support import SIZE, lines_app, press, ready, type_command


async def save_as(pilot: Pilot[None], path: Path) -> None:
    """Answer the save dialog with `path`."""
    app = pilot.app
    assert isinstance(app.screen, PathScreen)
    app.screen.query_one(Input).value = str(path)
    await pilot.press("enter")
    await pilot.pause()


async def test_save_script_and_screenshot_default_to_the_state_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KVTUI_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.chdir(tmp_path)
    app = lines_app(8, ["use 1 2"], name="demo")
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await press(pilot, "right")
        await type_command(pilot, "deref 2 1")
        app.action_save_script()
        await pilot.pause()
        assert isinstance(app.screen, PathScreen)
        assert app.screen.query_one(Input).value == str(tmp_path / "state" / "saved" / "demo-session.yaml")
        await pilot.press("enter")
        await pilot.pause()
        app.action_save_svg()
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        messages = [n.message for n in app._notifications]
    saved = (tmp_path / "state" / "saved" / "demo-session.yaml").read_text()
    assert "- use 1 2" in saved and "- deref 2 1" in saved
    svgs = list((tmp_path / "state" / "saved").glob("*.svg"))
    assert len(svgs) == 1 and svgs[0].read_text().startswith("<svg")
    assert f"saved {tmp_path / 'state' / 'saved' / 'demo-session.yaml'}" in messages
    assert f"saved {svgs[0]}" in messages
    assert not list(tmp_path.glob("*.yaml")) and not list(tmp_path.glob("*.svg"))  # nothing in the cwd


async def test_save_never_overwrites_without_a_yes(tmp_path: Path) -> None:
    target = tmp_path / "out.yaml"
    target.write_text("precious\n")
    app = lines_app(8, ["use 1 2"], name="demo")
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        app.action_save_script()
        await pilot.pause()
        await save_as(pilot, target)
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")
        await pilot.pause()
        assert target.read_text() == "precious\n"
        app.action_save_script()
        await pilot.pause()
        await save_as(pilot, target)
        await pilot.press("escape")
        await pilot.pause()
        assert target.read_text() == "precious\n"
        app.action_save_script()
        await pilot.pause()
        await save_as(pilot, target)
        await pilot.press("y")
        await pilot.pause()
    assert "- use 1 2" in target.read_text()


async def test_save_refuses_a_symlink_and_reports_failures_in_one_line(tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me\n")
    link = tmp_path / "link.yaml"
    link.symlink_to(victim)
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    app = lines_app(8, ["use 1 2"], name="demo")
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        app.action_save_script()
        await pilot.pause()
        await save_as(pilot, link)
        assert not isinstance(app.screen, ConfirmScreen)
        app.action_save_svg()
        await pilot.pause()
        await save_as(pilot, blocker / "shot.svg")  # its folder is a file: cannot be created
        errors = [n.message for n in app._notifications if n.severity == "error"]
        assert app.is_running
    assert victim.read_text() == "keep me\n" and link.is_symlink()
    assert errors == [
        f"{link} is a symbolic link: not followed, choose another name",
        f"cannot save {blocker / 'shot.svg'}: {blocker} is not a folder",
    ]


@pytest.mark.parametrize("as_root", [False, True])
async def test_save_into_a_read_only_folder_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, as_root: bool
) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    if os.geteuid() == 0:  # root writes anyway: make the write fail as it would for a user
        if not as_root:
            pytest.skip("root writes into read-only folders")

        def refuse(*args: object) -> int:
            raise PermissionError(13, "Permission denied")

        monkeypatch.setattr(saving.os, "open", refuse)
    elif as_root:
        pytest.skip("only needed when running as root")
    app = lines_app(8, ["use 1 2"], name="demo")
    try:
        async with app.run_test(size=SIZE) as pilot:
            await ready(pilot)
            app.action_save_script()
            await pilot.pause()
            await save_as(pilot, folder / "s.yaml")
            errors = [n.message for n in app._notifications if n.severity == "error"]
    finally:
        folder.chmod(0o700)
    assert errors == [f"cannot save {folder / 's.yaml'}: Permission denied"]


async def test_one_screenshot_entry_in_the_palette() -> None:
    app = lines_app(8, [])
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        titles = [c.title for c in app.get_system_commands(app.screen)]
    assert [t for t in titles if "creenshot" in t] == ["Save screenshot (SVG)"]
