"""Issue 12 in the live TUI: what each step did, failures, labels, requests, help, layout, keys."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Footer, TabbedContent

from kvtui.lang.script import load_script
from kvtui.session.labels import short
from kvtui.session.session import Session
from kvtui.sim.config import OffloadConfig
from kvtui.tui.app import KvtuiApp
from kvtui.tui.messages import BlockSelected
from kvtui.tui.screens import HelpScreen, JumpScreen, ProblemsScreen
from kvtui.tui.widgets.command_line import CommandInput
from kvtui.tui.widgets.event_log import EventLog
from kvtui.tui.widgets.lineage import LineageTree
from kvtui.tui.widgets.pool_map import LIGHT_RESET, PoolMap
from kvtui.tui.widgets.queue import EvictionQueue
from kvtui.tui.widgets.requests_view import RequestsView
from kvtui.tui.widgets.timeline import Timeline
from tests.tui_support import SIZE, lines_app, preset_app, press, ready, type_command

SMALL = (80, 24)
LARGE = (200, 60)
G2 = OffloadConfig(
    g2_blocks=4, block_size_bytes=1_000_000, g1_to_g2_gbps=1.0, g2_to_g1_gbps=1.0, batch_size=2
)
REFUSED_SWAPIN = ["use 1 2", "deref 2 1", "use 3 4", "tick next", "use 3 4", "deref 4 3", "swapin 1 2"]


def text_of(app: KvtuiApp, selector: str) -> str:
    return str(app.query_one(selector).render())


def footer_keys(app: KvtuiApp) -> list[str]:
    """The footer's key labels that are really on screen (inside the terminal width)."""
    width = app.size.width
    keys = app.query_one(Footer).query("FooterKey")
    return [str(k.render()) for k in keys if k.region.right <= width and k.region.width > 0]


# 1. the applied command and its return value, refusals explained --------------------------


async def test_summary_shows_command_return_and_effect() -> None:
    app = lines_app(8, ["use 1 2 3", "use 1 2 4"])
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await press(pilot, "right", "right")
        await type_command(pilot, "deref 4 2 1")
        summary = text_of(app, "#summary")
        assert "step 3/3 deref 4 2 1 → 1 · released 4 2 1 · now cached (refcount 0): 4" in summary


async def test_refused_swapin_looks_different_from_one_that_worked() -> None:
    app = lines_app(2, REFUSED_SWAPIN, offload=G2)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await press(pilot, "end")
        summary = text_of(app, "#summary")
        assert "swapin 1 2 → 1" in summary
        assert "⚠ swapin refused: G1 must first offload 2 blocks to G2 (4 3)" in summary


# 2. failed expects and invalid steps are visible; problems listed on open -----------------


async def test_failed_expect_is_marked_in_the_timeline_and_summary_after_a_jump() -> None:
    app = lines_app(8, ["use 1 2", "use 3"])
    app.session.steps[0].checks.append(_check("expect stored 9"))
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await press(pilot, "escape")  # the problems dialog lists it first
        await press(pilot, "end")
        timeline = app.query_one(Timeline)
        assert timeline.failed_steps() == [1]
        assert "expect stored 9" in timeline.rows[1].failure
        await press(pilot, "home", "right")
        assert "✗ expect stored 9: " in text_of(app, "#summary")


def _check(text: str):  # type: ignore[no-untyped-def]
    from kvtui.lang.commands import parse
    from kvtui.lang.script import Check

    return Check(2, text, parse(text))  # type: ignore[arg-type]


async def test_opening_a_script_with_an_unknown_verb_lists_its_problems(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("config:\n  capacity: 4\nsteps:\n  - use 1\n  - frob 2\n  - expect stored 7\n")
    app = KvtuiApp(Session(load_script(path)), journal=False)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        screen = app.screen
        assert isinstance(screen, ProblemsScreen)
        assert [(step, line) for step, line, _ in screen.problems] == [(2, 5)]
        assert "unknown command 'frob'" in screen.problems[0][2]
        await press(pilot, "escape", "right")
        assert "the next step cannot run: unknown command 'frob'" in text_of(app, "#summary")


# 3. labels typed as ids, Tab completion ---------------------------------------------------


async def test_a_typed_label_names_its_block_and_tab_completes_it() -> None:
    app = lines_app(8, ["use 5000000 6000000"])
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await press(pilot, "right")
        label = short(6_000_000)
        await press(pilot, "colon")
        field = app.query_one(CommandInput)
        field.value = f"deref {label[:4]}"
        await press(pilot, "tab")
        assert field.value == f"deref {label} "
        assert app.focused is field  # Tab completed instead of moving focus
        await press(pilot, "enter")
        await app.settle()
        assert app.session.steps[-1].text == "deref 6000000"
        assert app.snapshot.blocks[6_000_000].refs == 0


async def test_tab_completes_verbs_request_names_and_lists_choices() -> None:
    app = lines_app(8, ["req alpha tokens 1 2 3", "req beta tokens 4 5"])
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await press(pilot, "right", "right", "colon")
        field = app.query_one(CommandInput)
        field.value = "pref"
        await press(pilot, "tab")
        assert field.value == "prefill "
        field.value = "prefill b"
        await press(pilot, "tab")
        assert field.value == "prefill beta "
        field.value = "dr"
        await press(pilot, "tab")
        assert field.value == "drain "
        field.value = "d"
        await press(pilot, "tab")  # deref, decode, drain: nothing in common past "d"; all listed
        assert field.value == "d" and "deref  decode  drain" in text_of(app, "#command-error")


# 4. requests view --------------------------------------------------------------------------


async def test_requests_view_lists_state_and_figures() -> None:
    app = preset_app("request-preempt-resume")
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await press(pilot, *["right"] * 5)  # req a, req b, prefill a, prefill b, preempt a
        view = app.query_one(RequestsView)
        rows = {r.name: r for r in app.snapshot.story.requests}  # type: ignore[union-attr]
        assert rows["a"].state == "preempted" and rows["a"].held == 0
        assert rows["b"].state == "running" and rows["b"].held == 2
        assert view.row_count == 2
        name, state = view.get_row("b")[:2]
        assert (str(name), str(state), state.style) == ("b", "running", "green3")


# 5. help --------------------------------------------------------------------------------


async def test_help_is_complete_scrollable_and_fits_80_columns() -> None:
    app = lines_app(8, [])
    async with app.run_test(size=SMALL) as pilot:
        await ready(pilot)
        await press(pilot, "f1")
        screen = app.screen
        assert isinstance(screen, HelpScreen)
        scroll = screen.query_one("VerticalScroll")
        assert scroll.region.right <= 80 and scroll.max_scroll_y > 0
        await press(pilot, "end")
        assert scroll.scroll_y > 0


# 6. layout at 80×24 and 200×60 -----------------------------------------------------------------


async def test_small_terminal_tabs_the_views_and_keeps_help_and_quit() -> None:
    app = lines_app(4, ["use 1 2 3 4", "deref 4 3 2 1", "use 5 6"], offload=G2)
    async with app.run_test(size=SMALL) as pilot:
        await ready(pilot)
        assert app.compact
        keys = footer_keys(app)
        assert any("Help" in k for k in keys) and any("Quit" in k for k in keys)
        tabs = app.query_one(TabbedContent)
        assert tabs.active == "tab-pool"
        await press(pilot, "right", "right", "right")
        tabs.active = "tab-g2"
        await pilot.pause()
        g2 = app.query_one("#g2")
        assert g2.region.height >= 8 and g2.region.bottom <= 24 - 4  # whole, above the command line
        await press(pilot, "colon")
        keys = footer_keys(app)
        assert any("Help" in k for k in keys) and any("Quit" in k for k in keys)


async def test_large_terminal_uses_the_width() -> None:
    app = preset_app("tour")
    async with app.run_test(size=LARGE) as pilot:
        await ready(pilot)
        assert not app.compact
        assert app.query_one(CommandInput).region.width >= 190
        assert app.query_one(Timeline).region.width >= 50
        assert app.query_one(EventLog).region.height >= 15


async def test_resizing_switches_layout() -> None:
    app = preset_app("tour")
    async with app.run_test(size=LARGE) as pilot:
        await ready(pilot)
        await press(pilot, "right", "right")
        await pilot.resize_terminal(80, 24)
        await app.settle()
        await pilot.pause()
        assert app.compact and app.query_one(TabbedContent).active == "tab-pool"
        assert app.query_one(PoolMap).snap is not None and app.query_one(PoolMap).snap.step == 2


# 7. the event log follows the cursor ---------------------------------------------------------


@pytest.mark.parametrize("keys", [("end",), ("end", "home", "end"), ("g", "1", "4", "enter")])
async def test_event_log_follows_the_current_step(keys: tuple[str, ...]) -> None:
    lines = [f"use {n}" for n in range(1, 15)]
    app = lines_app(64, lines)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await press(pilot, *keys)
        await pilot.pause()
        log = app.query_one(EventLog)
        assert app.snapshot.step == 14 and log.row_count == 14
        assert log.scroll_offset.y == log.max_scroll_y > 0  # the last rows (step 14's) are shown


# 8. typing: feedback, errors that clear and wrap ----------------------------------------------


async def test_typed_expect_feedback_and_errors_clear_while_browsing_history() -> None:
    app = lines_app(8, ["use 1 2 3"])
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await press(pilot, "right")
        await type_command(pilot, "expect stored 1 2 3")
        assert text_of(app, "#command-error") == "✓ passed: expect stored 1 2 3"
        await type_command(pilot, "deref " + " ".join(["1"] * 40))
        error = app.query_one("#command-error")
        message = "block 1 is active with refcount 1, but the deref lists it 40 times"
        assert message in text_of(app, "#command-error")
        await press(pilot, "up", "up")
        assert app.query_one(CommandInput).value == "expect stored 1 2 3"
        assert not error.display  # the old error went when the text changed


async def test_long_errors_wrap_instead_of_being_cut() -> None:
    app = lines_app(8, [])
    async with app.run_test(size=SMALL) as pilot:
        await ready(pilot)
        await type_command(pilot, "frob")
        error = app.query_one("#command-error")
        assert error.region.height >= 2 and "drain) at column 1" in text_of(app, "#command-error")


# 9. trace playback banner ------------------------------------------------------------------


async def test_a_long_visit_is_summarised_not_dumped() -> None:
    app = lines_app(256, ["visit " + " ".join(map(str, range(200)))])
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await press(pilot, "right")
        summary = text_of(app, "#summary")
        # the verb and 7 ids shown, 193 ids left out; the deref line shows its first 7 too
        assert "visit 0 1 2 3 4 5 6 …(+193 more) → 200" in summary
        assert "deref 199 198 197 196 195 194 193 …(+193 more) → 1" in summary
        assert " 100 " not in summary
        assert len(summary.splitlines()) <= 4


# 10. the remaining items ------------------------------------------------------------------


async def test_enter_on_a_tree_node_selects_without_collapsing_and_leaves_have_no_arrow() -> None:
    app = lines_app(8, ["use 1 2 3"])
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await press(pilot, "right")
        tree = app.query_one(LineageTree)
        tree.focus()
        await press(pilot, "enter")
        root = tree.root.children[0]
        assert root.is_expanded and app.selected[0] == 1
        leaf = root.children[0].children[0]
        assert leaf.data == 3 and not leaf.allow_expand and root.allow_expand


async def test_event_log_works_by_keyboard() -> None:
    app = lines_app(8, ["use 1", "use 2", "use 3"])
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await press(pilot, "end")
        log = app.query_one(EventLog)
        log.focus()
        await press(pilot, "up", "enter")
        assert app.selected[0] == 2


async def test_timeline_enter_jumps_to_the_step() -> None:
    app = lines_app(8, ["use 1", "use 2", "use 3"])
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await press(pilot, "end")
        app.query_one(Timeline).focus()
        await press(pilot, "up", "up", "enter")
        assert app.snapshot.step == 1


async def test_queue_shows_its_state_on_first_paint() -> None:
    app = lines_app(8, ["use 1"])
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        queue = app.query_one(EvictionQueue)
        assert queue.option_count == 1 and "nothing cached" in str(queue.get_option_at_index(0).prompt)


async def test_note_banner_keeps_its_height() -> None:
    app = preset_app("tour")
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        heights = set()
        for _ in range(app.session.total):
            heights.add(app.query_one("#note-box").region.height)
            heights.add(app.query_one("#top").region.y)
            await press(pilot, "right")
        assert len(heights) == 2  # one banner height, one place for the views


async def test_light_theme_lightens_the_pool_and_is_remembered(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("KVTUI_STATE_DIR", str(tmp_path))
    app = lines_app(8, [])
    app.remember_theme = True
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        app.theme = "textual-light"
        await pilot.pause()
        strip = app.query_one(PoolMap).render_line(0)
        assert any(seg.style is not None and seg.style.bgcolor == LIGHT_RESET.bgcolor for seg in strip)
    again = lines_app(8, [])
    again.remember_theme = True
    async with again.run_test(size=SIZE) as pilot:
        await ready(pilot)
        assert again.theme == "textual-light"


async def test_filter_titles_say_g1_and_g2() -> None:
    app = lines_app(8, ["use 1"])
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await press(pilot, "f")
        assert app.query_one("#events").border_title == "Router events (G1 only)"
        await press(pilot, "f")
        assert app.query_one("#events").border_title == "Router events (G2 only)"


async def test_jump_dialog_refuses_a_step_past_the_end() -> None:
    app = lines_app(8, ["use 1", "use 2"])
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await press(pilot, "g", "9", "9", "enter")
        assert isinstance(app.screen, JumpScreen)
        error = str(app.screen.query_one("#jump-error").render())
        assert "step 99 does not exist: this session has steps 0 to 2" in error
        assert app.snapshot.step == 0


async def test_selection_keys_reach_every_view() -> None:
    app = lines_app(8, ["use 1 2", "deref 2 1"])
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await press(pilot, "end")
        app.query_one(EvictionQueue).focus()
        await press(pilot, "down", "down", "enter")
        assert app.selected[0] == 1  # the second victim: the leaf 2 goes first
        app.post_message(BlockSelected(None))
        app.query_one(PoolMap).focus()
        await press(pilot, "enter")
        assert app.selected[0] == 1


async def test_brackets_switch_tabs_and_skip_a_hidden_g2_tab() -> None:
    app = lines_app(8, ["use 1"])
    async with app.run_test(size=SMALL) as pilot:
        await ready(pilot)
        tabs = app.query_one(TabbedContent)
        seen = []
        for _ in range(5):
            await press(pilot, "right_square_bracket")
            seen.append(tabs.active)
        assert seen == ["tab-tree", "tab-steps", "tab-events", "tab-requests", "tab-pool"]
        await press(pilot, "left_square_bracket")
        assert tabs.active == "tab-requests"


async def test_note_banner_has_its_place_before_the_first_note() -> None:
    from kvtui.lang.script import Script, Step, make_step
    from kvtui.sim.config import Config

    steps = [make_step("use 1", 1), make_step("use 2", 2)]
    steps[1].notes.append("a note on step 2")
    app = KvtuiApp(Session(Script("n.yaml", "n", "", Config(8), steps, Step(""))), journal=False)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        top = app.query_one("#top").region.y
        await press(pilot, "right", "right")
        assert "a note on step 2" in text_of(app, "#note")
        assert app.query_one("#top").region.y == top


async def test_a_jump_over_a_failed_expect_says_so() -> None:
    app = lines_app(8, ["use 1 2", "use 3", "use 4"])
    app.session.steps[0].checks.append(_check("expect stored 9"))
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await press(pilot, "escape", "end")
        messages = [n.message for n in app._notifications]
        assert any("step 1 failed on the way" in m for m in messages)


async def test_a_long_note_scrolls_instead_of_being_cut() -> None:
    from kvtui.lang.script import Script, Step, make_step
    from kvtui.sim.config import Config

    steps = [make_step("use 1", 1)]
    steps[0].notes.append("\n".join(f"line {n} of a long note" for n in range(1, 9)))
    app = KvtuiApp(Session(Script("n.yaml", "n", "", Config(8), steps, Step(""))), journal=False)
    async with app.run_test(size=SMALL) as pilot:
        await ready(pilot)
        await press(pilot, "right")
        note = app.query_one("#note-box")
        assert note.max_scroll_y > 0
        note.focus()
        await press(pilot, "down", "down", "down")
        assert note.scroll_y == 3
