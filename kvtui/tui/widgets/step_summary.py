"""The step summary: the current step's command, what it returned and did, and what went wrong."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from kvtui.session.step_words import brief_command
from kvtui.tui.model import Snapshot
from kvtui.tui.widgets.panels import update_text

MAX_MOVES = 4
MOVE_WORDS = 8  # a trace visit's use/deref name hundreds of ids: show the first few


class StepSummary(Static):
    """Line one: command → returned · effect. Then refusals, warnings and failures, coloured."""

    DEFAULT_CSS = "StepSummary { height: 3; overflow-y: auto; padding: 0 1; }"  # fixed: no relayout per step

    def show(self, snap: Snapshot) -> None:
        text = summary_text(snap)  # a layout pass (full repaint) only when the line count changes
        update_text(self, text, text.plain.count("\n"))


def summary_text(snap: Snapshot) -> Text:
    story = snap.story
    text = Text()
    text.append(f"step {snap.step}/{snap.total} ", style="bold")
    if story is None:
        return text
    words = story.words
    if words is None:
        text.append("start", style="dim")
        nxt = story.texts[1] if len(story.texts) > 1 else ""
        text.append(f" · next: {nxt}" if nxt else " · type a command (: then e.g. use 1 2 3)", style="dim")
    else:
        text.append(story.command, style="bold cyan")
        text.append(f" → {words.returned}", style="bold")
        if words.effect:
            text.append(f" · {words.effect}")
    for line, style in _problems(snap):  # before the moves: the box is 3 lines, problems first
        text.append("\n")
        text.append(line, style=style)
    if words is not None and snap.expansion:  # a request command: the MoveBlocks it expanded to
        moves = [_brief_move(m) for m in snap.expansion[:MAX_MOVES]]
        more = f" · …(+{len(snap.expansion) - MAX_MOVES})" if len(snap.expansion) > MAX_MOVES else ""
        text.append("\n↳ " + " · ".join(moves) + more, style="dim")
    return text


def _problems(snap: Snapshot) -> list[tuple[str, str]]:
    story = snap.story
    assert story is not None
    lines: list[tuple[str, str]] = []
    if story.words is not None:
        if story.words.refusal:
            lines.append((f"⚠ {story.words.refusal}", "bold yellow"))
        lines += [(f"⚠ warning: {w}", "yellow") for w in story.words.warnings]
    if story.failure:
        lines.append((f"✗ {story.failure}", "bold red"))
    if story.blocked:
        lines.append((f"✗ the next step cannot run: {story.blocked}", "bold red"))
    return lines


def _brief_move(move: str) -> str:
    """'use 1 2 … → 3': the move's words cut short, its return value kept."""
    text, arrow, returned = move.rpartition(" → ")
    return f"{brief_command(text, MOVE_WORDS)} → {returned}" if arrow else brief_command(move, MOVE_WORDS)
