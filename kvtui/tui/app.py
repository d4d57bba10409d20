"""The live TUI: renders engine snapshots and sends commands to the shared step session.

Every engine operation (step, jump, typed command, restart) runs on one engine thread, in the
order it was asked for; the thread builds a :class:`Snapshot` and hands it to the UI thread,
which renders it in one go. The UI never reads the engine directly.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import events
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static, TabbedContent, TabPane

from kvtui.lang.script import Script, dump_script, load_script
from kvtui.session.journal import Journal, new_journal_path
from kvtui.session.session import Session, restart_with
from kvtui.sim.errors import KvError
from kvtui.sim.eviction import BACKENDS
from kvtui.tui import crash_log
from kvtui.tui.completion import completion_words
from kvtui.tui.messages import BlockSelected
from kvtui.tui.model import Snapshot, build_snapshot
from kvtui.tui.screens import HelpScreen, JumpScreen, PickScreen, ProblemsScreen
from kvtui.tui.settings import load_theme, save_theme
from kvtui.tui.widgets.command_line import CommandInput, CommandLine
from kvtui.tui.widgets.event_log import FILTER_TITLES, EventLog
from kvtui.tui.widgets.lineage import LineageTree
from kvtui.tui.widgets.panels import DetailPanel, G2Panel, NoteBanner, StatusLine, update_text
from kvtui.tui.widgets.pool_map import PoolMap, legend
from kvtui.tui.widgets.queue import EvictionQueue
from kvtui.tui.widgets.requests_view import RequestsView
from kvtui.tui.widgets.scheduler import RequestSelected, SchedulerPanel
from kvtui.tui.widgets.step_summary import StepSummary
from kvtui.tui.widgets.timeline import Timeline

SPEEDS = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0)
COMPACT_WIDTH, COMPACT_HEIGHT = 110, 32  # below either, the views share one set of tabs

Op = Callable[[Session], Any]


class EngineRunner:
    """A single thread that applies engine operations in order and reports snapshots."""

    def __init__(self, app: KvtuiApp) -> None:
        self.app = app
        self.jobs: queue.Queue[tuple[Op, bool] | None] = queue.Queue()
        self.idle = threading.Event()
        self.idle.set()
        self.thread = threading.Thread(target=self._loop, name="kvtui-engine", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def submit(self, op: Op, typed: bool = False) -> None:
        self.idle.clear()
        self.jobs.put((op, typed))

    def stop(self) -> None:
        self.jobs.put(None)

    def _loop(self) -> None:
        while True:
            job = self.jobs.get()
            if job is None:
                return
            try:
                snap, error, typed = run_job(self.app, *job)
                self.app.call_from_thread(self.app.deliver, snap, error, typed)
            except Exception as exc:  # noqa: BLE001 - the app is gone (or going): nothing to show
                crash_log.report(exc, "delivering a snapshot")
            finally:
                if self.jobs.empty():
                    self.idle.set()


def run_job(app: KvtuiApp, op: Op, typed: bool) -> tuple[Snapshot | None, str | None, bool]:
    """Apply one engine operation and build the snapshot to show; never raises.

    kvtui's own errors are messages; anything else is a bug: logged, shown, and the session
    rebuilt at its cursor so what is shown stays consistent with what is journaled.
    """
    error: str | None = None
    try:
        op(app.session)
    except KvError as exc:
        error = str(exc)
    except Exception as exc:  # noqa: BLE001 - see the docstring
        error = crash_log.report(exc, "applying a command")
        app.session.recover()
    try:
        return build_snapshot(app.session, app.snapshot), error, typed
    except Exception as exc:  # noqa: BLE001
        return None, crash_log.report(exc, "building the view"), typed


class KvtuiApp(App[None]):
    CSS_PATH = "app.tcss"
    TITLE = "kvtui"
    AUTO_FOCUS = None  # arrows step the session until a view is clicked or tabbed to
    # Help and Quit come early so the footer keeps them at 80 columns.
    BINDINGS = [
        Binding("right,n", "step_forward", "Step", id="step.forward", tooltip="step forward"),
        Binding("left,p", "step_back", "Back", id="step.back", tooltip="step back (state restored exactly)"),
        Binding("question_mark,f1", "help", "Help", id="app.help", tooltip="this help"),
        Binding("q", "quit", "Quit", id="app.quit", tooltip="quit (ctrl+q works while typing)"),
        Binding("home", "first", "First", id="step.first", show=False, tooltip="first step"),
        Binding("end", "last", "Last", id="step.last", show=False, tooltip="last step"),
        Binding("space", "play_pause", "Play", id="play.toggle", tooltip="play / pause"),
        Binding("plus,equals_sign", "faster", "Faster", id="play.faster", show=False, tooltip="faster"),
        Binding("minus", "slower", "Slower", id="play.slower", show=False, tooltip="slower"),
        Binding("g", "jump", "Jump", id="step.jump", tooltip="jump to a step"),
        Binding("colon", "focus_command", "Command", id="command.focus", tooltip="type a command"),
        Binding(
            "f", "cycle_filter", "Filter", id="log.filter", show=False, tooltip="cycle the event-log filter"
        ),
        Binding("escape", "unfocus", "Unfocus", id="app.unfocus", show=False, tooltip="leave a view"),
        Binding("right_square_bracket", "switch_tab(1)", "Next tab", id="tabs.next", show=False,
                tooltip="next tab of views"),
        Binding("left_square_bracket", "switch_tab(-1)", "Previous tab", id="tabs.previous", show=False,
                tooltip="previous tab of views"),
        Binding("ctrl+q", "quit_typing", "Quit", id="app.quit_typing", priority=True),
        Binding("ctrl+q", "quit", "Quit", id="app.quit_anywhere", priority=True, show=False),
    ]

    def __init__(
        self, session: Session, *, journal: bool = True, threaded: bool = True, notices: Iterable[str] = ()
    ) -> None:
        super().__init__()
        self.session = session
        self.notices = list(notices)  # e.g. what resuming a journal dropped, shown on start
        if journal and session.journal is None:
            session.journal = Journal(new_journal_path(session.name))
        self.snapshot: Snapshot = build_snapshot(session)
        self.runner = EngineRunner(self)
        self.threaded = threaded
        self.playing = False
        self.speed = 1.0
        self.selected: tuple[int | None, int | None] = (None, None)
        self._play_timer: Any = None
        self.compact = False  # the tabbed layout for small terminals (set from the size)
        self._layout_for: bool | None = None
        self._completion: tuple[int, dict[str, list[str]]] = (0, {})
        self.problems_shown = False
        self.last_typed = ""
        self.remember_theme = journal  # tests (journal=False) leave the user's settings alone

    # -- layout ---------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        if self._layout_for is None:
            self.compact = self._is_compact(self.size.width, self.size.height)
        else:
            self.compact, self._layout_for = self._layout_for, None
        yield StatusLine(id="status")
        yield StepSummary(id="summary")
        with VerticalScroll(id="note-box"):
            yield NoteBanner(id="note")
        if self.compact:
            yield from self._compose_compact()
        else:
            yield from self._compose_wide()
        yield CommandLine(self._known_words, id="command")
        yield Footer()

    @staticmethod
    def _is_compact(width: int, height: int) -> bool:
        return 0 < width < COMPACT_WIDTH or 0 < height < COMPACT_HEIGHT

    def _pool_and_queue(self) -> ComposeResult:
        with Vertical(id="pool-column", classes="panel"):
            yield PoolMap(id="pool")
            yield Static(id="legend")
        yield LineageTree(id="tree")
        with Vertical(id="right-column"):
            yield EvictionQueue(id="queue")
            yield DetailPanel(id="detail", classes="panel")

    def _compose_wide(self) -> ComposeResult:
        with Horizontal(id="main"):
            with Vertical(id="views"):
                with Horizontal(id="top"):
                    yield from self._pool_and_queue()
                with Horizontal(id="bottom"):
                    with TabbedContent(id="tabs"):
                        with TabPane("Router events", id="tab-events"):
                            yield EventLog(id="events")
                        with TabPane("Requests", id="tab-requests"):
                            yield RequestsView(id="requests")
                    yield SchedulerPanel(id="sched")
                    yield G2Panel(id="g2", classes="panel")
            yield Timeline(id="timeline")

    def _compose_compact(self) -> ComposeResult:
        with TabbedContent(id="tabs"):
            with TabPane("Pool", id="tab-pool"), Horizontal(id="top"):
                with Vertical(id="pool-column", classes="panel"):
                    yield PoolMap(id="pool")
                    yield Static(id="legend")
                with Vertical(id="right-column"):
                    yield EvictionQueue(id="queue")
                    yield DetailPanel(id="detail", classes="panel")
            with TabPane("Tree", id="tab-tree"):
                yield LineageTree(id="tree")
            with TabPane("Steps", id="tab-steps"):
                yield Timeline(id="timeline")
            with TabPane("Events", id="tab-events"):
                yield EventLog(id="events")
            with TabPane("Requests", id="tab-requests"):
                yield RequestsView(id="requests")
            with TabPane("Scheduler", id="tab-sched"):
                yield SchedulerPanel(id="sched")
            with TabPane("G2", id="tab-g2"):
                yield G2Panel(id="g2", classes="panel")

    def on_mount(self) -> None:
        theme = load_theme() if self.remember_theme else None
        if theme is not None and theme in self.available_themes:
            self.theme = theme
        self._title_panels()
        if self.threaded:
            self.runner.start()
        self.apply_snapshot(self.snapshot, None, False)
        for notice in self.notices:
            self.notify(notice, title="Journal", severity="warning", timeout=20, markup=False)
        self.submit(self._preflight)

    def _title_panels(self) -> None:
        self.screen.set_class(self.compact, "-compact")
        self.query_one("#pool").border_title = "G1 pool"
        self.query_one("#tree").border_title = "Lineage tree"
        self.query_one("#queue").border_title = "Eviction queue (next victim first)"
        self.query_one("#detail").border_title = "Selection"
        self.query_one("#events").border_title = "Router events"
        self.query_one("#requests").border_title = "Requests"
        self.query_one("#g2").border_title = "G2 host tier"
        self.query_one("#sched").border_title = "Scheduler"
        self.query_one("#timeline").border_title = "Steps"

    async def on_resize(self, event: events.Resize) -> None:
        compact = self._is_compact(event.size.width, event.size.height)
        if compact != self.compact:
            self._layout_for = compact  # the app's own size is updated only after this event
            await self.recompose()
            self._title_panels()
            self.apply_snapshot(self.snapshot, None, False)

    def _preflight(self, session: Session) -> None:
        """Check the whole script before the first step; its problems open in a dialog."""
        from kvtui.session.problems import preflight

        problems = preflight(session)
        if problems and not self.problems_shown:
            self.problems_shown = True
            lines = [(p.step, p.line, p.message) for p in problems]
            if self.threaded:
                self.call_from_thread(self._show_problems, session.label, lines)
            else:
                self._show_problems(session.label, lines)

    def _show_problems(self, label: str, lines: list[tuple[int, int | None, str]]) -> None:
        self.push_screen(ProblemsScreen(label, lines))

    def watch_theme(self, theme: str) -> None:
        if self.remember_theme:
            save_theme(theme)
        if self.is_running and self.screen_stack:
            self.apply_snapshot(self.snapshot, None, False)  # redraw cells whose colours follow it

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """While typing, the footer offers ctrl+q to quit (q types a letter); elsewhere q."""
        if action == "quit_typing":
            return isinstance(self.focused, CommandInput)
        return True

    def action_switch_tab(self, delta: int) -> None:
        tabs = self.query_one(TabbedContent)
        panes = [p.id for p in tabs.query(TabPane) if p.id]
        visible = [p for p in panes if tabs.get_tab(p).display]  # the G2 tab hides without G2
        if tabs.active in visible:
            tabs.active = visible[(visible.index(tabs.active) + delta) % len(visible)]

    def action_quit_typing(self) -> None:
        self.exit()

    def on_unmount(self) -> None:
        self.runner.stop()
        journal = self.session.journal
        if journal is not None:
            journal.mark_cursor(self.snapshot.step)  # resume reopens where the user was

    # -- engine round trip ----------------------------------------------------------------

    def submit(self, op: Op, typed: bool = False) -> None:
        if self.threaded:
            self.runner.submit(op, typed)
            return
        self.deliver(*run_job(self, op, typed))

    def deliver(self, snap: Snapshot | None, error: str | None, typed: bool) -> None:
        """Show an engine result; a failure to render is shown as an error, never raised."""
        try:
            if snap is not None:
                self.apply_snapshot(snap, error, typed)
                return
        except Exception as exc:  # noqa: BLE001 - keep the app alive and say what happened
            error = crash_log.report(exc, "showing a step")
        self.show_error(error or "", typed)

    def show_error(self, error: str, typed: bool) -> None:
        """An error as plain text (never markup: it may quote what the user typed)."""
        if typed:
            self.query_one(CommandLine).show_error(error)
        elif error:
            self.playing = False
            self.notify(error, title="Step failed", severity="error", timeout=8, markup=False)

    async def settle(self) -> None:
        """Wait until every submitted engine operation has been rendered (tests, scripts)."""
        while not self.runner.idle.is_set():
            await self._wait(0.005)
        await self._wait(0)

    async def _wait(self, seconds: float) -> None:
        import asyncio

        await asyncio.sleep(seconds)

    def apply_snapshot(self, snap: Snapshot, error: str | None, typed: bool) -> None:
        self.snapshot = snap
        status = self.query_one(StatusLine)
        status.show(snap, self.playing, self.speed)
        self.query_one(NoteBanner).show(snap)
        self.query_one(PoolMap).show(snap)
        legend_text = self._legend(snap)  # re-laid out only when a part's width changes
        update_text(self.query_one("#legend", Static), legend_text, tuple(map(len, legend_text.split(" "))))
        self.query_one(LineageTree).show(snap)
        self.query_one(EvictionQueue).show(snap)
        self.query_one(EventLog).show(snap)
        self.query_one(G2Panel).show(snap)
        self.query_one(SchedulerPanel).show(snap.scheduler)
        self.query_one(StepSummary).show(snap)
        self.query_one(Timeline).show(snap)
        self.query_one(RequestsView).show(snap)
        if self.compact:
            tabs = self.query_one(TabbedContent)
            (tabs.show_tab if snap.offload else tabs.hide_tab)("tab-g2")
            (tabs.show_tab if snap.scheduler is not None else tabs.hide_tab)("tab-sched")
        self._show_selection()
        command = self.query_one(CommandLine)
        if typed:
            if error is not None:
                command.show_error(error)
            else:
                command.input.value = ""
                command.show_ok(self._typed_feedback(snap))
        elif error is not None:
            self.show_error(error, False)

    def _typed_feedback(self, snap: Snapshot) -> str:
        text = self.last_typed
        if text.split()[:1] == ["expect"]:
            return f"✓ passed: {text}"
        story = snap.story
        returned = story.words.returned if story is not None and story.words is not None else None
        return f"✓ applied as step {snap.step}: {text} → {returned}"

    def _legend(self, snap: Snapshot) -> Text:
        text = Text()
        for part, style in legend(snap):
            text.append(part, style=style)
            text.append(" ")
        return text

    def _known_words(self, typed: list[str]) -> Iterable[str]:
        """Completions from the current snapshot (computed once per snapshot)."""
        if self._completion[0] != id(self.snapshot):
            self._completion = (id(self.snapshot), completion_words(self.snapshot))
        words = self._completion[1]
        if typed[0] == "expect":
            return words["expect"] if len(typed) == 1 else words["blocks"]
        if typed[0] in ("prefill", "decode", "preempt", "resume", "finish"):
            return words["requests"] if len(typed) == 1 else []
        if typed[0] == "req" and len(typed) == 3 and typed[2] == "share":
            return words["requests"]
        return words["blocks"]

    # -- selection ------------------------------------------------------------------------

    def on_block_selected(self, message: BlockSelected) -> None:
        block, slot = message.block, message.slot
        if slot is None and block is not None:
            slot = self.snapshot.slot_of(block)
        self.selected = (block, slot)
        self._show_selection(follow=True)

    def on_request_selected(self, message: RequestSelected) -> None:
        """Highlight the request's blocks in the pool; select its last block in tree and queue."""
        view = self.snapshot.scheduler
        row = view.row(message.name) if view is not None else None
        self.query_one(PoolMap).highlight_slots(frozenset(row.slots) if row else frozenset())
        if row is not None and row.last_block is not None:
            self.on_block_selected(BlockSelected(row.last_block))

    def _show_selection(self, follow: bool = False) -> None:
        block, slot = self.selected
        if block is not None:
            slot = self.snapshot.slot_of(block) if block in self.snapshot.blocks else slot
        pool = self.query_one(PoolMap)
        if pool.selected_slot != slot:
            pool.select_slot(slot)
        self.query_one(DetailPanel).show(self.snapshot, block, slot)
        self.query_one(EventLog).select_block(block)
        if follow:
            self.query_one(LineageTree).select_block(block)
            self.query_one(EvictionQueue).select_block(block)

    # -- actions --------------------------------------------------------------------------

    def action_step_forward(self) -> None:
        self.submit(lambda s: s.forward() if s.cursor < s.total else None)

    def action_step_back(self) -> None:
        self.submit(lambda s: s.back())

    def action_first(self) -> None:
        self.submit(lambda s: s.jump(0))

    def action_last(self) -> None:
        self.submit(lambda s: self._jump(s, s.total))

    def _jump(self, session: Session, target: int) -> None:
        """Jump (engine thread); expects that failed on the way are reported, not passed silently."""
        start = session.cursor
        try:
            session.jump(target)
        finally:
            failed = sorted(n for n in session.failures if start < n < session.cursor)
            if failed:
                shown = ", ".join(map(str, failed[:6])) + (" …" if len(failed) > 6 else "")
                message = f"step {shown} failed on the way (red in the timeline)"
                if self.threaded:
                    self.call_from_thread(self.notify, message, title="Failed expects", severity="warning")
                else:
                    self.notify(message, title="Failed expects", severity="warning")

    def action_play_pause(self) -> None:
        self.playing = not self.playing
        if self.playing and self.snapshot.step >= self.snapshot.total:
            self.action_first()  # playing from the end replays from the start
        self._restart_timer()
        self.query_one(StatusLine).show(self.snapshot, self.playing, self.speed)

    def action_faster(self) -> None:
        self._set_speed(1)

    def action_slower(self) -> None:
        self._set_speed(-1)

    def _set_speed(self, delta: int) -> None:
        index = SPEEDS.index(self.speed) if self.speed in SPEEDS else 2
        self.speed = SPEEDS[max(0, min(len(SPEEDS) - 1, index + delta))]
        self._restart_timer()
        self.query_one(StatusLine).show(self.snapshot, self.playing, self.speed)

    def _restart_timer(self) -> None:
        if self._play_timer is not None:
            self._play_timer.stop()
            self._play_timer = None
        if self.playing:
            self._play_timer = self.set_interval(1.0 / self.speed, self._tick_playback)

    def _tick_playback(self) -> None:
        if not self.runner.idle.is_set() and self.threaded:
            return  # the engine is still busy with the previous step
        if self.snapshot.step >= self.snapshot.total:
            self.playing = False
            self._restart_timer()
            self.query_one(StatusLine).show(self.snapshot, self.playing, self.speed)
            return
        self.action_step_forward()

    def action_jump(self) -> None:
        def done(target: int | None) -> None:
            if target is not None:
                self.submit(lambda s: self._jump(s, target))

        self.push_screen(JumpScreen(self.snapshot.total), done)

    def action_focus_command(self) -> None:
        self.query_one(CommandLine).input.focus()

    def action_unfocus(self) -> None:
        self.set_focus(None)

    def action_cycle_filter(self) -> None:
        mode = self.query_one(EventLog).cycle_filter()
        self.query_one(EventLog).show(self.snapshot)
        self.query_one("#events").border_title = f"Router events ({FILTER_TITLES[mode]})"

    def action_help(self) -> None:
        self.push_screen(HelpScreen(b for b in self.BINDINGS if isinstance(b, Binding)))

    def on_command_line_submitted(self, message: CommandLine.Submitted) -> None:
        text = message.text
        self.last_typed = text
        self.submit(lambda s: s.insert(text), typed=True)

    def on_timeline_chosen(self, message: Timeline.Chosen) -> None:
        target = message.step
        self.submit(lambda s: self._jump(s, target))

    def action_open_preset(self) -> None:
        from kvtui.presets import describe, preset_names, preset_path

        def done(name: str | None) -> None:
            path = preset_path(name) if name else None
            if path is not None:
                self.load(Session(load_script(path), Journal(new_journal_path(name or "preset"))))

        self.push_screen(PickScreen("Open preset", [(n, describe(n)) for n in preset_names()]), done)

    def action_switch_backend(self) -> None:
        def done(name: str | None) -> None:
            if name is not None:
                self.submit(lambda s: self._restart_with(s, name))

        choices = [(b, "current" if b == self.session.config.eviction else "") for b in BACKENDS]
        self.push_screen(PickScreen("Restart with eviction backend", choices), done)

    def _restart_with(self, old: Session, eviction: str) -> None:
        self.session = restart_with(old, eviction)

    def load(self, session: Session) -> None:
        """Switch to another session (open preset)."""
        self.playing = False
        self._restart_timer()
        self.selected = (None, None)

        def swap(_: Session) -> None:
            self.session = session
            self.problems_shown = False
            self._preflight(session)  # the new script's problems, before its first step

        self.submit(swap)

    def action_save_script(self) -> None:
        s = self.session
        text = dump_script(Script(s.label, s.name, s.description, s.config, s.steps, s.intro))
        name = f"{Path(s.label).stem or 'session'}-session.yaml"
        self._save("Save session as script", name, text, "Session saved as script")

    def action_save_svg(self) -> None:
        from datetime import datetime

        text = self.export_screenshot()  # the screen now, before the dialog covers it
        name = f"kvtui-{datetime.now():%Y%m%d-%H%M%S}.svg"
        self._save("Save screenshot (SVG)", name, text, "Screenshot saved")

    def _save(self, title: str, name: str, text: str, done_title: str) -> None:
        """Ask where (default: the state dir's saved/), confirm an overwrite, report in one line."""
        from kvtui.tui.saving import save_with_dialogs, saved_folder

        def done(path: str | None, error: str | None) -> None:
            if error is not None:
                self.notify(error, title="Not saved", severity="error", timeout=8, markup=False)
            elif path is not None:
                self.notify(f"saved {path}", title=done_title, markup=False)

        save_with_dialogs(self, title, saved_folder() / name, text, done)

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        # Textual's own "Screenshot" entry would save to the working directory: ours asks where
        yield from (c for c in super().get_system_commands(screen) if c.title != "Screenshot")
        commands = [
            ("Step forward", "Apply the next step", self.action_step_forward),
            ("Step back", "Undo the last step (state restored exactly)", self.action_step_back),
            ("First step", "Jump to the start", self.action_first),
            ("Last step", "Jump to the end", self.action_last),
            ("Play / pause", "Play the script step by step", self.action_play_pause),
            ("Jump to step", "Go to any step", self.action_jump),
            ("Open preset", "Load one of the bundled scripts", self.action_open_preset),
            (
                "Restart with eviction backend",
                "Replay these steps under lineage, lru or multi_lru",
                self.action_switch_backend,
            ),
            (
                "Save session as script",
                "Write the steps (typed ones included) as YAML",
                self.action_save_script,
            ),
            ("Save screenshot (SVG)", "Write an SVG of the screen", self.action_save_svg),
            ("Help", "The command language and key bindings", self.action_help),
        ]
        for title, help_text, callback in commands:
            yield SystemCommand(title, help_text, callback)
