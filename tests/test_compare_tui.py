"""The compare screen: lockstep keys, divergence keys, cross-session selection, and SVG snapshots
at 120×40 and 200×60 (pytest-textual-snapshot; update with --snapshot-update)."""

from __future__ import annotations

import io

from rich.console import Console
from textual.pilot import Pilot
from textual.widgets import Static

from kvtui.lang.script import load_script
from kvtui.presets import preset_path
from kvtui.session.compare import Comparison, make_variants
from kvtui.session.session import Session
from kvtui.tui.compare_app import CompareApp
from kvtui.tui.compare_model import build_compare_view, differing_slots
from kvtui.tui.messages import BlockSelected


def comparison(name: str, evictions: list[str]) -> Comparison:
    path = preset_path(name)
    assert path is not None
    made = Comparison(load_script(path), make_variants(evictions, []))
    made.scan()
    made.jump(0)
    return made


def order_parts_at(name: str, a: str, b: str) -> int:
    """Independently of the comparison: the first step after which the full eviction orders differ."""
    path = preset_path(name)
    assert path is not None
    script = load_script(path)
    left, right = Session.from_script(script, a), Session.from_script(script, b)
    while left.cursor < left.total:
        left.forward(check_expects=False)
        right.forward(check_expects=False)
        if left.manager.eviction_order() != right.manager.eviction_order():
            return left.cursor
    raise AssertionError("never")


async def press(pilot: Pilot[None], *keys: str) -> None:
    app = pilot.app
    assert isinstance(app, CompareApp)
    for key in keys:
        await pilot.press(key)
        await app.settle()
    await pilot.pause()


def text_of(app: CompareApp, selector: str) -> str:
    """The plain text a Static shows (a Text or a Rich table)."""
    console = Console(width=120, record=True, file=io.StringIO())
    console.print(app.query_one(selector, Static).content)
    return console.export_text()


async def test_first_divergence_lands_where_the_eviction_order_first_differs() -> None:
    app = CompareApp(comparison("lineage-root-last", ["lineage", "lru"]))
    async with app.run_test(size=(120, 40)) as pilot:
        assert app.comparison.cursor == 0
        assert len(app.query("ComparePoolMap")) == 2  # opens with both sessions
        await press(pilot, "d")
        assert app.comparison.cursor == order_parts_at("lineage-root-last", "lineage", "lru") == 2
        assert [s.cursor for s in app.comparison.sessions] == [2, 2]
        assert "eviction order parts: lineage next 4 3 2 1 0, lru next 0 1 2 3 4" in text_of(
            app, "#difference"
        )
        await press(pilot, "right_square_bracket")
        assert app.comparison.cursor == 4
        assert "lineage evicted 4 3, lru evicted 0 1" in text_of(app, "#difference")
        await press(pilot, "right")
        assert app.comparison.cursor == 5
        assert "the same in every session" in text_of(app, "#difference")
        await press(pilot, "left_square_bracket")
        assert app.comparison.cursor == 4
        await press(pilot, "left", "left")
        assert [s.cursor for s in app.comparison.sessions] == [2, 2]


async def test_selecting_a_block_shows_it_in_every_session() -> None:
    app = CompareApp(comparison("lineage-root-last", ["lineage", "lru"]))
    async with app.run_test(size=(120, 40)) as pilot:
        await press(pilot, "d", "right_square_bracket")  # step 4: lineage evicted 4 3, lru 0 1
        app.post_message(BlockSelected(4))
        await pilot.pause()
        text = text_of(app, "#selection")
        assert "lineage not resident" in text
        assert "lru     inactive in slot 4, eviction rank #3" in text  # lru queues 2 3 4
        lru_pool = app.query_one("#pool-1")
        assert lru_pool.selected_slot == 4  # type: ignore[attr-defined]


def test_differing_slots_are_blocks_held_differently() -> None:
    made = comparison("lineage-root-last", ["lineage", "lru"])
    made.jump(4)
    view = build_compare_view(made)
    lineage, lru = view.sides
    # lineage caches 0 1 2, lru caches 2 3 4; everything else is active in both
    assert {lineage.owner[s] for s in differing_slots(view.sides)[0]} == {0, 1}
    assert {lru.owner[s] for s in differing_slots(view.sides)[1]} == {3, 4}
    # queue ranks: lineage 2 1 0, lru 2 3 4 -> only the shared head 2 has the same rank
    assert view.queue_differs == (frozenset({1, 0}), frozenset({3, 4}))


# -- snapshots --------------------------------------------------------------------------------


def test_snapshot_first_divergence_120x40(snap_compare) -> None:  # type: ignore[no-untyped-def]
    async def run_before(pilot: Pilot[None]) -> None:
        await press(pilot, "d", "right_square_bracket")

    app = CompareApp(comparison("lineage-root-last", ["lineage", "lru"]))
    assert snap_compare(app, terminal_size=(120, 40), run_before=run_before)


def test_snapshot_three_backends_with_selection_200x60(snap_compare) -> None:  # type: ignore[no-untyped-def]
    async def run_before(pilot: Pilot[None]) -> None:
        await press(pilot, "d", "right_square_bracket")
        pilot.app.post_message(BlockSelected(2))
        await pilot.pause()

    app = CompareApp(comparison("compare-hot-prefix", ["multi_lru", "lru", "lineage"]))
    assert snap_compare(app, terminal_size=(200, 60), run_before=run_before)


async def test_aggregated_cells_mark_differences() -> None:
    """At 4,000 slots per map a cell covers several slots; only cells with a differing slot show ≠."""
    from kvtui.lang.script import Script, Step, make_step
    from kvtui.sim.config import Config

    lines = ["use " + " ".join(map(str, range(3000))), "deref " + " ".join(map(str, range(3000)))]
    lines.append("use " + " ".join(map(str, range(5000, 5100))))  # 1000 free: no eviction yet
    lines.append("use " + " ".join(map(str, range(6000, 7000))))  # 900 free: 100 evictions
    steps = [make_step(text, n + 1) for n, text in enumerate(lines)]
    script = Script("t", "t", "", Config(4000), steps, Step(""))
    made = Comparison(script, make_variants(["lineage", "lru"], []))
    made.scan()
    app = CompareApp(made)
    async with app.run_test(size=(120, 40)) as pilot:
        await press(pilot, "end")
        pool = app.query_one("#pool-1")
        per_cell = pool.slots_per_cell  # type: ignore[attr-defined]
        assert per_cell > 1
        lru_view = app.view.sides[1]
        differing = app.view.differing[1]
        # the chain 0..2999 was released root-first: lru evicted its root end 0..99, lineage its
        # tail 2999..2900; so lru alone still holds 2900..2999
        assert {lru_view.owner[s] for s in differing} == set(range(2900, 3000))
        cells = range(-(-4000 // per_cell))
        marked = {x for x in cells if "≠" in pool._cell(x, 1, per_cell).text}  # type: ignore[attr-defined]
        assert marked == {slot // per_cell for slot in differing}
