"""Pilot tests of the live TUI: every interaction drives the real app and checks what it shows."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kvtui.session.journal import Journal
from kvtui.session.resume import resume
from kvtui.tui.app import KvtuiApp
from kvtui.tui.messages import BlockSelected
from kvtui.tui.model import ACTIVE, INACTIVE, RESET
from kvtui.tui.screens import ProblemsScreen
from kvtui.tui.widgets.command_line import CommandInput
from kvtui.tui.widgets.event_log import EventLog
from kvtui.tui.widgets.lineage import LineageTree
from kvtui.tui.widgets.panels import DetailPanel
from kvtui.tui.widgets.pool_map import PoolMap
from kvtui.tui.widgets.queue import EvictionQueue
from tests.tui_support import SIZE, lines_app, preset_app, press, ready, type_command


def static_text(app: KvtuiApp, selector: str) -> str:
    widget = app.query_one(selector)
    return str(widget.render())


async def test_step_forward_and_back_restore_state() -> None:
    app = preset_app("lineage-leaf-first")
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        start = app.session.manager.dump()
        await press(pilot, "right", "right", "n")
        assert app.snapshot.step == 3
        assert app.snapshot.counts["inactive"] == 3
        assert "step 3/7" in static_text(app, "#status")
        await press(pilot, "left", "p", "left")
        assert app.snapshot.step == 0
        assert app.session.manager.dump() == start
        await press(pilot, "end")
        assert app.snapshot.step == 7
        await press(pilot, "home")
        assert app.snapshot.step == 0


async def test_pool_map_colours_pools_and_marks_the_next_victim() -> None:
    app = preset_app("lineage-leaf-first")
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await press(pilot, *["right"] * 5)
        snap = app.snapshot
        assert snap.order[0] == 4
        slot4 = snap.slot_of(4)
        assert slot4 is not None and snap.slots[slot4] == INACTIVE
        assert snap.slots[snap.slot_of(9)] == ACTIVE  # type: ignore[index]
        assert "stored" in snap.changed.values()  # 7 8 9 are new this step
        assert "reactivated" in snap.changed.values()  # 0 1 2 were cached
        legend = static_text(app, "#legend")
        assert "cached 4" in legend and "active 6" in legend and "next victim" in legend


async def test_note_banner_shows_the_step_note() -> None:
    app = preset_app("tour")
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        assert "Eight empty G1 slots" in static_text(app, "#note")
        await press(pilot, "right")
        assert "three KV blocks" in static_text(app, "#note")


async def test_typed_valid_command_applies_and_is_kept() -> None:
    app = lines_app(8, ["use 1 2 3"])
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await type_command(pilot, "use 5 6")
        assert app.snapshot.step == 1
        assert app.session.steps[0].text == "use 5 6" and app.session.steps[0].typed
        assert app.snapshot.counts["active"] == 2
        assert app.query_one(CommandInput).value == ""
        assert static_text(app, "#command-error") == "✓ applied as step 1: use 5 6 → 2"


async def test_typed_invalid_command_shows_error_inline_and_changes_nothing() -> None:
    app = lines_app(8, ["use 1 2 3"])
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await press(pilot, "right")
        before = app.session.manager.dump()
        await type_command(pilot, "deref 9")
        error = static_text(app, "#command-error")
        assert "deref 9" in error and "block 9 is not in G1" in error
        assert app.session.manager.dump() == before
        assert app.query_one(CommandInput).value == "deref 9"  # kept for fixing
        await type_command(pilot, "usee 1")
        assert "unknown command 'usee'" in static_text(app, "#command-error")


async def test_colon_again_in_the_command_line_types_nothing() -> None:
    """`:` focuses the command line; pressed again there (a habit, before each command) it must
    not turn the next command into an unknown `:verb`. Elsewhere in the text it is typed."""
    app = lines_app(8, [])
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        field = app.query_one(CommandInput)
        await press(pilot, "colon")
        assert field.has_focus and field.value == ""
        await press(pilot, "colon", "u", "s", "e", "space", "4", "colon")
        assert field.value == "use 4:"
        field.value = ""
        await press(pilot, "colon", "u", "s", "e", "space", "4", "enter")
        assert app.snapshot.step == 1 and app.session.steps[0].text == "use 4"


async def test_command_history_up_down() -> None:
    app = lines_app(8, [])
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await type_command(pilot, "use 1")
        await type_command(pilot, "use 2")
        field = app.query_one(CommandInput)
        await press(pilot, "up")
        assert field.value == "use 2"
        await press(pilot, "up")
        assert field.value == "use 1"
        await press(pilot, "down")
        assert field.value == "use 2"


async def test_completion_suggests_verbs_and_known_ids() -> None:
    app = lines_app(8, ["use 12345 777"])
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await press(pilot, "right")
        suggester = app.query_one(CommandInput).suggester
        assert suggester is not None
        assert await suggester.get_suggestion("de") == "deref "
        assert await suggester.get_suggestion("deref 123") == "deref 12345"


async def test_selection_propagates_to_every_view() -> None:
    app = preset_app("lineage-leaf-first")
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await press(pilot, *["right"] * 5)
        app.post_message(BlockSelected(3))
        await pilot.pause()
        slot3 = app.snapshot.slot_of(3)
        assert app.query_one(PoolMap).selected_slot == slot3
        detail = app.query_one(DetailPanel).render()
        text = str(detail) if not hasattr(detail, "columns") else ""
        assert app.selected == (3, slot3)
        tree = app.query_one(LineageTree)
        assert tree.cursor_node is not None and tree.cursor_node.data == 3
        assert app.query_one(EvictionQueue).highlighted == 1  # 3 is the second victim
        log = app.query_one(EventLog)
        assert log.selected == 3 and log.marked_rows() == 1  # stored [0 1 2 3 4]
        del text


async def test_clicking_a_pool_cell_selects_its_block() -> None:
    app = lines_app(8, ["use 1 2 3"])
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await press(pilot, "right")
        pool = app.query_one(PoolMap)
        await pilot.click(PoolMap, offset=(10, 0))  # second 9-wide cell: slot 1
        await pilot.pause()
        assert app.selected == (2, 1)
        assert pool.selected_slot == 1


async def test_event_log_highlights_current_step_and_filters() -> None:
    app = preset_app("lineage-leaf-first")
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await press(pilot, *["right"] * 6)
        log = app.query_one(EventLog)
        assert log.row_count == 5
        assert app.snapshot.step_events == {3, 4}
        await press(pilot, "f")  # device
        assert log.mode == "device" and log.row_count == 5
        await press(pilot, "f", "f")  # host_pinned -> stored
        assert log.mode == "stored" and log.row_count == 4
        await press(pilot, "f")
        assert log.mode == "removed" and log.row_count == 1
        await press(pilot, "left")
        assert log.row_count == 0


async def test_play_pause_runs_to_the_end() -> None:
    app = preset_app("shared-prefix")
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        app.speed = 16.0
        await press(pilot, "space")  # may already have played to the end on a slow machine
        for _ in range(1000):  # generous: a loaded CI machine plays slower than 16 steps/s
            await pilot.pause(0.02)
            if not app.playing:
                break
        await app.settle()
        assert app.snapshot.step == app.session.total
        assert not app.playing
        app.speed = 0.25  # slow enough that no tick fires before the next key
        await press(pilot, "space")
        assert app.playing and app.snapshot.step == 0  # replays from the start
        await press(pilot, "space")
        assert not app.playing


async def test_speed_keys_change_playback_speed() -> None:
    app = lines_app(8, [])
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await press(pilot, "plus")
        assert app.speed == 2.0
        await press(pilot, "minus", "minus")
        assert app.speed == 0.5


async def test_jump_screen() -> None:
    app = preset_app("lineage-leaf-first")
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await press(pilot, "g")
        app.screen.query_one("#jump-input").value = "4"  # type: ignore[attr-defined]
        await press(pilot, "enter")
        assert app.snapshot.step == 4


async def test_help_screen_opens_and_closes() -> None:
    app = lines_app(8, [])
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await press(pilot, "question_mark")
        assert type(app.screen).__name__ == "HelpScreen"
        await press(pilot, "escape")
        assert type(app.screen).__name__ == "Screen"


@pytest.mark.parametrize("title", ["Open preset", "Restart with eviction backend", "Save session as script"])
async def test_palette_lists_the_actions(title: str) -> None:
    app = lines_app(8, [])
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert title in titles
        for other in (
            "Step forward",
            "Step back",
            "Play / pause",
            "Jump to step",
            "Save screenshot (SVG)",
            "Help",
        ):
            assert other in titles


async def test_palette_restart_with_another_backend_replays_steps() -> None:
    app = preset_app("lineage-root-last")
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await press(pilot, "right", "right")
        assert app.snapshot.order == (4, 3, 2, 1, 0)
        app.action_switch_backend()
        await pilot.pause()
        app.screen.dismiss("lru")  # type: ignore[attr-defined]
        await app.settle()
        await pilot.pause()
        assert app.session.config.eviction == "lru"
        assert app.snapshot.step == 2
        assert app.snapshot.order == (0, 1, 2, 3, 4)


async def test_palette_open_preset_switches_session() -> None:
    app = lines_app(8, [])
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        app.action_open_preset()
        await pilot.pause()
        app.screen.dismiss("shared-prefix")  # type: ignore[attr-defined]
        await app.settle()
        await pilot.pause()
        assert app.snapshot.name == "Shared prefixes and refcounts"
        assert app.snapshot.step == 0


async def test_typed_commands_are_journaled_and_resume(tmp_path: Path) -> None:
    app = lines_app(8, ["use 1 2 3", "deref 3 2 1"])
    app.session.journal = Journal(tmp_path / "j.jsonl")
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await press(pilot, "right")
        await type_command(pilot, "use 7")
        await type_command(pilot, "deref 99")  # rejected: not journaled
        dump = app.session.manager.dump()
    rows = [json.loads(line) for line in (tmp_path / "j.jsonl").read_text().splitlines()]
    assert [r.get("command") for r in rows[1:] if "command" in r] == ["use 7"]
    assert rows[-1] == {"cursor": 2}  # where the user was when the app closed
    again = resume(tmp_path / "j.jsonl")
    assert again.cursor == 2 and again.manager.dump() == dump
    reopened = KvtuiApp(again, journal=False)
    async with reopened.run_test(size=SIZE) as pilot:
        await ready(pilot)
        assert reopened.snapshot.step == 2
        assert [s.text for s in reopened.session.steps] == ["use 1 2 3", "use 7", "deref 3 2 1"]


async def test_failed_step_is_reported_and_stops_playback() -> None:
    app = lines_app(4, ["use 1", "deref 5"])
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        assert isinstance(app.screen, ProblemsScreen)  # listed before the first step
        await press(pilot, "escape", "right", "right")
        assert app.snapshot.step == 1
        assert not app.playing


async def test_hundred_thousand_slots_stay_legible() -> None:
    app = lines_app(
        100_000, ["use " + " ".join(map(str, range(30_000))), "deref " + " ".join(map(str, range(10_000)))]
    )
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await press(pilot, "right", "right")
        pool = app.query_one(PoolMap)
        assert pool.slots_per_cell > 1
        assert app.snapshot.counts["reset"] == 70_000
        assert pool.border_subtitle == f"1 cell = {pool.slots_per_cell:,} slots"
        assert "cached 10000" in static_text(app, "#legend")
        assert RESET in app.snapshot.slots


async def test_trace_playback_one_step_per_request(tmp_path: Path) -> None:
    from kvtui.lang.trace_script import trace_script
    from kvtui.session.session import Session
    from kvtui.workload.trace import load_trace

    lines = [
        '{"timestamp": 0, "input_length": 1024, "output_length": 1, "hash_ids": [1, 2]}',
        '{"timestamp": 5, "input_length": 1500, "output_length": 1, "hash_ids": [1, 2, 3]}',
    ]
    path = tmp_path / "t.jsonl"
    path.write_text("\n".join(lines) + "\n")
    app = KvtuiApp(Session(trace_script(load_trace(path), 8)), journal=False)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await press(pilot, "right", "right")
        snap = app.snapshot
        assert snap.step == 2 and snap.total == 2
        assert snap.order == (3, 2, 1)  # released tail-first after each request
        assert snap.expansion and snap.expansion[0].startswith("use 1 2 3")
        summary = static_text(app, "#summary")
        assert "↳ use 1 2 3 → 3 · deref 3 2 1 → 1" in summary


async def test_clicking_an_event_selects_its_first_block() -> None:
    app = preset_app("lineage-leaf-first")
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await press(pilot, "right", "right")
        await pilot.click(EventLog, offset=(2, 2))  # header, then row 1 (stored 0 1 2 3 4), row 2
        await pilot.pause()
        assert app.selected[0] == 5  # row 2: stored [5 6]
        assert app.query_one(EventLog).marked_rows() == 1


async def test_escape_cancels_the_jump_dialog() -> None:
    app = preset_app("lineage-leaf-first")
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await press(pilot, "g")
        assert type(app.screen).__name__ == "JumpScreen"
        await press(pilot, "escape")
        assert type(app.screen).__name__ == "Screen"
        assert app.snapshot.step == 0
