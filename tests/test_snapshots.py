"""SVG snapshots of the TUI at 120×40, 80×24 and 200×60 (pytest-textual-snapshot; update with
--snapshot-update).

Every app here is built from a fixed script with no journal; the input cursor does not blink
and nothing shows a wall clock, so the pictures only change when the UI does.
"""

from __future__ import annotations

from textual.pilot import Pilot

from kvtui.sim.config import OffloadConfig
from kvtui.tui.messages import BlockSelected
from tests.tui_support import SIZE, lines_app, preset_app, press, ready, type_command

OFFLOAD = OffloadConfig(
    g2_blocks=4, block_size_bytes=1_000_000, g1_to_g2_gbps=1.0, g2_to_g1_gbps=1.0, batch_size=2
)


def test_tour_at_start(snap_compare) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(preset_app("tour"), terminal_size=SIZE, run_before=ready)


def test_lineage_preset_mid_way(snap_compare) -> None:  # type: ignore[no-untyped-def]
    async def run_before(pilot: Pilot[None]) -> None:
        await ready(pilot)
        await press(pilot, *["right"] * 5)

    assert snap_compare(preset_app("lineage-leaf-first"), terminal_size=SIZE, run_before=run_before)


def test_eviction_queue_with_next_victim(snap_compare) -> None:  # type: ignore[no-untyped-def]
    async def run_before(pilot: Pilot[None]) -> None:
        await ready(pilot)
        await press(pilot, *["right"] * 5)
        pilot.app.query_one("#queue").focus()
        await pilot.pause()

    lines = ["use 1 2 3", "use 1 2 4", "deref 3 2 1", "deref 4 2 1", "use 10 11", "deref 11 10"]
    assert snap_compare(lines_app(8, lines, name="queue"), terminal_size=SIZE, run_before=run_before)


def test_g2_transfers_in_flight(snap_compare) -> None:  # type: ignore[no-untyped-def]
    async def run_before(pilot: Pilot[None]) -> None:
        await ready(pilot)
        await press(pilot, *["right"] * 4)

    lines = ["use 1 2 3 4", "deref 4 3 2 1", "use 5 6 7", "tick 0.5"]
    app = lines_app(4, lines, name="offload", offload=OFFLOAD)
    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_inline_error(snap_compare) -> None:  # type: ignore[no-untyped-def]
    async def run_before(pilot: Pilot[None]) -> None:
        await ready(pilot)
        await press(pilot, "right")
        await type_command(pilot, "deref 2 2")

    assert snap_compare(lines_app(8, ["use 1 2 3"], name="error"), terminal_size=SIZE, run_before=run_before)


def test_hundred_thousand_slot_map(snap_compare) -> None:  # type: ignore[no-untyped-def]
    async def run_before(pilot: Pilot[None]) -> None:
        await ready(pilot)
        await press(pilot, "right", "right", "right")

    lines = [
        "use " + " ".join(map(str, range(40_000))),
        "deref " + " ".join(map(str, reversed(range(20_000, 40_000)))),
        "use ~a ~b " + " ".join(map(str, range(50_000, 60_000))),
    ]
    app = lines_app(100_000, lines, name="big")
    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_detail_panel(snap_compare) -> None:  # type: ignore[no-untyped-def]
    async def run_before(pilot: Pilot[None]) -> None:
        await ready(pilot)
        await press(pilot, *["right"] * 5)
        pilot.app.post_message(BlockSelected(3))
        await pilot.pause()

    assert snap_compare(preset_app("lineage-leaf-first"), terminal_size=SIZE, run_before=run_before)


def test_help_screen(snap_compare) -> None:  # type: ignore[no-untyped-def]
    async def run_before(pilot: Pilot[None]) -> None:
        await ready(pilot)
        await press(pilot, "question_mark")

    assert snap_compare(preset_app("tour"), terminal_size=SIZE, run_before=run_before)


def test_scheduler_pass_with_a_preemption(snap_compare) -> None:  # type: ignore[no-untyped-def]
    """SPEC §13's worked example after pass 2: r2 preempted by r3's admission."""

    async def run_before(pilot: Pilot[None]) -> None:
        await ready(pilot)
        await press(pilot, *["right"] * 5)

    assert snap_compare(preset_app("scheduler-lifo-preemption"), terminal_size=SIZE, run_before=run_before)


def test_scheduler_request_selected(snap_compare) -> None:  # type: ignore[no-untyped-def]
    """Choosing a request in the scheduler panel highlights its blocks."""
    from kvtui.tui.widgets.scheduler import RequestSelected

    async def run_before(pilot: Pilot[None]) -> None:
        await ready(pilot)
        await press(pilot, *["right"] * 4)
        pilot.app.post_message(RequestSelected("r2"))
        await pilot.pause()

    assert snap_compare(preset_app("scheduler-lifo-preemption"), terminal_size=SIZE, run_before=run_before)


# -- issue 12: what each step did, at 80×24 (compact, tabbed) and 200×60 (wide) ----------------

SMALL = (80, 24)
LARGE = (200, 60)
G2_SMALL = OffloadConfig(
    g2_blocks=4, block_size_bytes=1_000_000, g1_to_g2_gbps=1.0, g2_to_g1_gbps=1.0, batch_size=2
)
REFUSED_SWAPIN = ["use 1 2", "deref 2 1", "use 3 4", "tick next", "use 3 4", "deref 4 3", "swapin 1 2"]


def failed_expect_app():  # type: ignore[no-untyped-def]
    from kvtui.lang.commands import parse
    from kvtui.lang.script import Check

    app = lines_app(8, ["use 1 2 3", "deref 3 2 1", "use 4"], name="expect")
    text = "expect inactive 1 2 3"
    app.session.steps[1].checks.append(Check(3, text, parse(text)))  # type: ignore[arg-type]
    return app


async def _to_failed_expect(pilot: Pilot[None]) -> None:
    await ready(pilot)
    await press(pilot, "escape", "right", "right")  # close the problems list, step onto the failure


def test_failed_expect_small(snap_compare) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(failed_expect_app(), terminal_size=SMALL, run_before=_to_failed_expect)


def test_failed_expect_large(snap_compare) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(failed_expect_app(), terminal_size=LARGE, run_before=_to_failed_expect)


def test_problems_listed_on_open_small(snap_compare) -> None:  # type: ignore[no-untyped-def]
    app = lines_app(8, ["use 1", "frob 2", "deref 9"], name="problems")
    assert snap_compare(app, terminal_size=SMALL, run_before=ready)


async def _to_end(pilot: Pilot[None]) -> None:
    await ready(pilot)
    await press(pilot, "end")


def test_refused_swapin_small(snap_compare) -> None:  # type: ignore[no-untyped-def]
    app = lines_app(2, REFUSED_SWAPIN, name="swapin", offload=G2_SMALL)
    assert snap_compare(app, terminal_size=SMALL, run_before=_to_end)


def test_refused_swapin_large(snap_compare) -> None:  # type: ignore[no-untyped-def]
    app = lines_app(2, REFUSED_SWAPIN, name="swapin", offload=G2_SMALL)
    assert snap_compare(app, terminal_size=LARGE, run_before=_to_end)


async def _request_step(pilot: Pilot[None]) -> None:
    await ready(pilot)
    await press(pilot, *["right"] * 7)  # decode b 3: two moves, a store and an eviction


def test_request_step_small_with_requests_tab(snap_compare) -> None:  # type: ignore[no-untyped-def]
    async def run_before(pilot: Pilot[None]) -> None:
        await _request_step(pilot)
        pilot.app.query_one("#tabs").active = "tab-requests"  # type: ignore[attr-defined]
        await pilot.pause()

    assert snap_compare(preset_app("request-preempt-resume"), terminal_size=SMALL, run_before=run_before)


def test_request_step_large(snap_compare) -> None:  # type: ignore[no-untyped-def]
    async def run_before(pilot: Pilot[None]) -> None:
        await _request_step(pilot)
        pilot.app.query_one("#tabs").active = "tab-requests"  # type: ignore[attr-defined]
        await pilot.pause()

    assert snap_compare(preset_app("request-preempt-resume"), terminal_size=LARGE, run_before=run_before)


def test_help_small(snap_compare) -> None:  # type: ignore[no-untyped-def]
    async def run_before(pilot: Pilot[None]) -> None:
        await ready(pilot)
        await press(pilot, "f1")

    assert snap_compare(preset_app("tour"), terminal_size=SMALL, run_before=run_before)


def test_tour_small_and_large(snap_compare) -> None:  # type: ignore[no-untyped-def]
    async def run_before(pilot: Pilot[None]) -> None:
        await ready(pilot)
        await press(pilot, "right", "right", "right")

    assert snap_compare(preset_app("tour"), terminal_size=SMALL, run_before=run_before)
    assert snap_compare(preset_app("tour"), terminal_size=LARGE, run_before=run_before)
