"""The scheduler panel: the last pass (budget use, admissions, preemptions) and the queues in
order, each request with its progress; choosing a request highlights its blocks."""

from __future__ import annotations

from rich.text import Text
from textual.message import Message
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from kvtui.tui.scheduler_view import RequestRow, SchedView

BAR = 8


class RequestSelected(Message):
    """A scheduler request was chosen: the app highlights the blocks it holds."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name


def _bar(done: int, total: int) -> str:
    if total <= 0:
        return "·" * BAR
    filled = min(BAR, round(done / total * BAR))
    return "█" * filled + "·" * (BAR - filled)


def request_text(row: RequestRow) -> Text:
    text = Text()
    text.append(f"{row.name:<7} ", style="bold")
    text.append(f"prefill {_bar(min(row.computed, row.prompt), row.prompt)} ", style="cyan")
    text.append(f"{min(row.computed, row.prompt)}/{row.prompt} ")
    text.append(f"gen {row.generated}/{row.max_output} ", style="green")
    text.append(f"· {row.held} blk · hit {row.cached}", style="dim")
    if row.preemptions:
        text.append(f" · ⟲{row.preemptions}", style="bold red")
    if row.state == "preempted":
        text.append(" preempted", style="red")
    return text


def pass_lines(view: SchedView) -> list[Text]:
    out: list[Text] = []
    report = view.last
    head = Text()
    head.append(f"pass {view.passes}", style="bold")
    if report is not None and not report.idle:
        budget = "∞" if report.budget is None else f"{report.budget:,}"
        head.append(f" · budget {report.scheduled:,}/{budget} tok")
        head.append(f" · prefill {report.prefill_ms:.1f} + decode {report.decode_ms:.1f} ms")
    elif report is not None:
        head.append(f" · idle: clock → {report.end_ms:g} ms", style="dim")
    out.append(head)
    if report is not None:
        events = Text()
        for label, names, style in (
            ("admitted", [f"{n}({c})" for n, c in report.admitted], "green"),
            ("preempted", list(report.preempted), "bold red"),
            ("parked", list(report.parked), "yellow"),
            ("unparked", list(report.unparked), "yellow"),
            ("finished", list(report.finished), "cyan"),
        ):
            if names:
                events.append(f"{label} ", style=style)
                events.append(" ".join(names) + "  ")
        if events.plain:
            out.append(events)
    return out


class SchedulerPanel(OptionList):
    """Running, waiting (preempted ones included, in queue order) and parked requests."""

    DEFAULT_CSS = "SchedulerPanel { height: 1fr; }"

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._view: SchedView | None = None

    def show(self, view: SchedView | None) -> None:
        self.display = view is not None
        if view is None or view == self._view:
            return
        self._view = view
        highlighted = self.highlighted_option.id if self.highlighted_option is not None else None
        self.clear_options()
        options: list[Option] = [Option(line, disabled=True) for line in pass_lines(view)]
        for title, rows, total in (
            (f"running {len(view.running)}/{view.max_seqs}", view.running, len(view.running)),
            ("waiting", view.waiting, len(view.waiting)),
            ("parked on swap-in", view.parked, len(view.parked)),
        ):
            if not rows and title != "waiting" and not title.startswith("running"):
                continue
            options.append(Option(Text(f"{title}", style="bold underline"), disabled=True))
            options += [Option(request_text(r), id=r.name) for r in rows]
            if total > len(rows):
                options.append(Option(Text(f"… {total - len(rows)} more", style="dim"), disabled=True))
        tail = f"{view.pending} to arrive · {view.finished} finished · peak running {view.peak_running}"
        options.append(Option(Text(tail, style="dim"), disabled=True))
        self.add_options(options)
        if highlighted is not None:
            for index, option in enumerate(options):
                if option.id == highlighted:
                    self.highlighted = index

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id is not None:
            self.post_message(RequestSelected(event.option.id))
