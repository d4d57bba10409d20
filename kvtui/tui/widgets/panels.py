"""Small read-only panels: header line, note banner, detail of the selected block, G2 state."""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

from kvtui.session.labels import short
from kvtui.tui.model import KIND_NAMES, Snapshot

BAR = 12


def update_text(widget: Static, text: Text, shape: object = None) -> None:
    """Show `text` unless it is already shown; re-lay out only when `shape` (what decides the
    widget's height) changed. A layout pass repaints the whole screen, so per-step updates
    that keep a panel's height skip it."""
    if getattr(widget, "_kvtui_text", None) == text:
        return
    layout = getattr(widget, "_kvtui_shape", object()) != shape
    widget._kvtui_text, widget._kvtui_shape = text, shape  # type: ignore[attr-defined]
    widget.update(text, layout=layout)


def full_label(block: int) -> str:
    """The full id, followed by its short label when the UI elsewhere shows a label."""
    label = short(block)
    return str(block) if label == str(block) else f"{block} ({label})"


class StatusLine(Static):
    def show(self, snap: Snapshot, playing: bool, speed: float) -> None:
        text = Text()
        text.append(" kvtui ", style="bold black on dark_cyan")
        text.append(f" {snap.name} ", style="bold")
        text.append(f"· step {snap.step}/{snap.total} ")
        clock = f"{snap.clock_ms:,.1f}" if snap.scheduler is not None else f"{snap.clock_ms:g}"
        text.append(f"· clock {clock} ms ")
        if snap.scheduler is not None:
            text.append(f"· pass {snap.scheduler.passes} ", style="bold")
        text.append(f"· {snap.eviction} · capacity {snap.capacity:,} ")
        if snap.offload and snap.g2 is not None:
            text.append(f"· G2 {len(snap.g2.evictable) + snap.g2.active}/{snap.g2.capacity} ")
        text.append(
            f"· {'▶ playing' if playing else '⏸ paused'} ×{speed:g}", style="bold" if playing else "dim"
        )
        update_text(self, text, "one line")  # height: 1


class NoteBanner(Static):
    """The current step's notes, inside a scroll box of fixed height (``#note-box``): a long note
    scrolls (wheel, or tab to it and use the arrows) instead of being cut. The box is shown
    whenever the session has notes at all, so the views below never jump as notes change."""

    notes: tuple[str, ...] | None = None

    def show(self, snap: Snapshot) -> None:
        shown = bool(snap.notes) or (snap.story is not None and snap.story.any_notes)
        box = self.parent if isinstance(self.parent, VerticalScroll) else self
        if box.display != shown:
            box.display = shown
        if snap.notes != self.notes:  # an update re-lays the screen out: only when they change
            self.notes = snap.notes
            self.update(Text("\n".join(snap.notes)))


class DetailPanel(Static):
    """What the selection is: id, slot, parent, position, state, refcount, tier, rank, reason."""

    def show(self, snap: Snapshot, block: int | None, slot: int | None) -> None:
        if block is None and slot is None:
            hint = Text("Select a block: click a slot, a tree node, a queue entry or an event.", style="dim")
            update_text(self, hint, "hint")
            return
        self._kvtui_text = None  # a table follows: the next hint is new again
        table = Table.grid(padding=(0, 1))
        table.add_column(style="bold")
        table.add_column()
        view = snap.blocks.get(block) if block is not None else None
        if view is None:
            kind = KIND_NAMES[snap.slots[slot]] if slot is not None and slot < len(snap.slots) else "unknown"
            owner = snap.owner.get(slot) if slot is not None else None
            table.add_row("slot", str(slot))
            table.add_row("state", kind)
            if isinstance(owner, str):
                table.add_row("partial", f"~{owner}")
            elif block is not None:
                table.add_row("block", f"{block} (not resident)")
            self.update(table)
            return
        rows = [
            ("block", full_label(view.block)),
            ("slot", "—" if view.slot is None else str(view.slot)),
            ("parent", "none (root)" if view.parent is None else full_label(view.parent)),
            ("position", str(view.position)),
            ("state", view.state),
            ("refcount", str(view.refs)),
            ("tier", view.tier),
            ("eviction rank", "—" if view.rank is None else f"#{view.rank}"),
            ("why", view.reason or "—"),
        ]
        for key, value in rows:
            table.add_row(key, value)
        self.update(table)


def progress_bar(fraction: float) -> Text:
    filled = round(max(0.0, min(1.0, fraction)) * BAR)
    return Text("█" * filled, style="dark_orange3") + Text("░" * (BAR - filled), style="grey35")


class G2Panel(Static):
    """G2 residents in eviction order (pinned marked) and each link's transfers with ETA."""

    def show(self, snap: Snapshot) -> None:
        g2: Any = snap.g2
        self.display = snap.offload
        if g2 is None:
            return
        head = Text()
        used = len(g2.evictable) + g2.active
        head.append(f"G2 {used}/{g2.capacity} slots", style="bold")
        head.append(f" · {len(g2.evictable)} cached · {len(g2.pinned)} pinned · {len(g2.in_flight)} arriving")
        if g2.evictable:
            head.append("\nnext G2 victims: ", style="dim")
            head.append(
                " ".join(map(str, g2.evictable[:16])) + (" …" if len(g2.evictable) > 16 else ""),
                style="medium_purple3",
            )
        if g2.pinned:
            head.append("\npinned (onboarding): ", style="dim")
            head.append(" ".join(map(short, g2.pinned[:16])), style="bold")
        parts: list[Any] = [head]
        for link in ("offload", "onboard"):
            transfers = [t for t in g2.transfers if t.link == link]
            arrow = "G1→G2" if link == "offload" else "G2→G1"
            parts.append(Text(f"{link} {arrow}: {len(transfers)} in flight", style="bold"))
            for t in transfers:
                line = Text(f" [{' '.join(map(short, t.blocks[:6]))}{' …' if len(t.blocks) > 6 else ''}] ")
                line += progress_bar(t.fraction)
                line.append(f" {t.fraction:4.0%} eta {t.eta_ms:g} ms")
                parts.append(line)
        self.update(Group(*parts))
