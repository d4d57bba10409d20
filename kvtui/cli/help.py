"""`kvtui -h`: help pages drawn in plain text, in the panels of Typer's Rich help.

Why not Typer's own Rich help: its module (typer.rich_utils) imports Rich's Markdown, Traceback,
Syntax and Pygments before it draws anything, which cost more than the rest of `kvtui --help`
together (see the README's Performance section). This module imports nothing but the standard
library and shows the same things: usage, description, the arguments and options (long and short
names, metavar, help, default, required), the commands and the examples, in panels as wide as
the terminal. Names and metavars are coloured with ANSI codes, which Click strips when the output
is not a terminal (NO_COLOR turns them off everywhere).
"""

from __future__ import annotations

import inspect
import os
import re
import shutil
import textwrap
from collections.abc import Callable
from typing import Any

# ANSI styles, in the colours of Typer's Rich help.
BOLD, DIM, CYAN = "1", "2", "36"
OPTION, SWITCH, NEGATIVE, METAVAR = "1;36", "1;32", "1;35", "1;33"
REQUIRED = "31"
MARKUP = {"bold": BOLD, "dim": DIM, "cyan": CYAN}  # the tags an epilog may use (conventions.examples)
MIN_HELP_WIDTH = 20  # narrower than this, each help goes below its names instead of beside them
GAP = "  "  # between table columns, as in Typer's tables

Cell = tuple[str, str]  # (text, ANSI style) of one table cell
Paint = Callable[[str, str], str]  # (text, ANSI style) -> the text as drawn


def format_help(command: Any, ctx: Any, formatter: Any) -> None:
    """Click's `format_help` for every kvtui command and the `kvtui` group."""
    formatter.write(render(command, ctx, shutil.get_terminal_size().columns, "NO_COLOR" not in os.environ))


def render(command: Any, ctx: Any, width: int, color: bool = True) -> str:
    """The help page of `command` (a Click command or group), `width` columns wide."""
    paint = _painter(color)
    out = ["", *(" " + paint(line, BOLD) for line in command.get_usage(ctx).splitlines()), ""]
    out += _description(command.help or "", width, paint)
    params = [p for p in command.get_params(ctx) if not getattr(p, "hidden", False)]
    arguments = [p for p in params if p.param_type_name == "argument"]
    options = [p for p in params if p.param_type_name == "option"]
    out += _panel("Arguments", [_param_row(p, ctx) for p in arguments], width, paint)
    out += _panel("Options", [_param_row(p, ctx) for p in options], width, paint)
    if hasattr(command, "list_commands"):
        out += _panel("Commands", _command_rows(command, ctx), width, paint)
    out += _epilog(command.epilog or "", paint)
    return "\n".join(out) + "\n"


def _painter(color: bool) -> Paint:
    def paint(text: str, style: str) -> str:
        return f"\x1b[{style}m{text}\x1b[0m" if color and style and text else text

    return paint


def _description(help_text: str, width: int, paint: Paint) -> list[str]:
    """The first paragraph as is, later ones dim; text after a lone \\f is not shown (Click)."""
    text = inspect.cleandoc(help_text).partition("\f")[0].strip()
    if not text:
        return []
    out: list[str] = []
    for number, paragraph in enumerate(text.split("\n\n")):
        for line in _wrap(" ".join(paragraph.split()), max(width - 2, MIN_HELP_WIDTH)):
            out.append(" " + paint(line, DIM if number else ""))
        out.append("")
    return out


def _param_row(param: Any, ctx: Any) -> list[Cell]:
    """[required mark, long names, short names, negative long, negative short, metavar], help."""
    if param.param_type_name == "argument":
        long: list[str] = []
        short = [param.metavar or param.name.upper()]
    else:
        long = [o for o in param.opts if o.startswith("--")]
        short = [o for o in param.opts if not o.startswith("--")]
    negative = param.secondary_opts
    record = param.get_help_record(ctx)  # its help with Click's "[default: …; required]" suffix
    metavar = (param.display_type_rich(ctx) or "") if hasattr(param, "display_type_rich") else ""
    return [
        ("*" if param.required else "", REQUIRED),
        (",".join(long), OPTION),
        (",".join(short), SWITCH if param.param_type_name == "option" else OPTION),
        (",".join(o for o in negative if o.startswith("--")), NEGATIVE),
        (",".join(o for o in negative if not o.startswith("--")), NEGATIVE),
        (metavar, METAVAR),
        (record[1] if record else "", ""),
    ]


def _command_rows(group: Any, ctx: Any) -> list[list[Cell]]:
    rows = []
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        if command is None or command.hidden:
            continue
        text = inspect.cleandoc(command.short_help or command.help or "").split("\n\n")[0]
        rows.append([(name, OPTION), (" ".join(text.split()), "")])
    return rows


def _panel(title: str, rows: list[list[Cell]], width: int, paint: Paint) -> list[str]:
    """A titled box around a table whose last column (help) wraps; empty columns are dropped.

    When the terminal leaves the help column fewer than MIN_HELP_WIDTH cells, each row's help goes
    below its names instead, indented.
    """
    if not rows:
        return []
    shown = [i for i in range(len(rows[0]) - 1) if any(row[i][0] for row in rows)]
    columns = [(i, max(len(row[i][0]) for row in rows)) for i in shown]  # (index, width) of name columns
    names_width = sum(w for _, w in columns) + len(GAP) * (len(columns) - 1)
    inner = max(width - 4, names_width)  # the cells inside "│ " and " │"
    help_at = names_width + len(GAP)
    if inner - help_at < MIN_HELP_WIDTH:
        help_at = len(GAP) * 2
    help_width = max(inner - help_at, MIN_HELP_WIDTH // 2)
    lines: list[str] = []
    for row in rows:
        names = GAP.join(_cell(row[i], w, paint) for i, w in columns)
        text, style = row[-1]
        helps = [_cell((line, style), help_width, paint) for line in _wrap(text, help_width)]
        if help_at > names_width:  # side by side
            lines += [names + GAP + helps[0], *(" " * help_at + line for line in helps[1:])]
        else:
            lines.append(names + " " * (inner - names_width))
            lines += [" " * help_at + line for line in helps] if text else []
    return [
        paint(f"╭─ {title} " + "─" * (inner - len(title) - 1) + "╮", DIM),
        *(paint("│", DIM) + " " + line + " " + paint("│", DIM) for line in lines),
        paint("╰" + "─" * (inner + 2) + "╯", DIM),
    ]


def _cell(cell: Cell, width: int, paint: Paint) -> str:
    """The cell's text in its style, then spaces (unstyled) up to `width`."""
    text, style = cell
    return paint(text, style) + " " * (width - len(text))


def _wrap(text: str, width: int) -> list[str]:
    """Lines of at most `width` cells, broken at spaces (a hyphenated word stays whole)."""
    return textwrap.wrap(text, width, break_on_hyphens=False) or [""]


def _epilog(epilog: str, paint: Paint) -> list[str]:
    """The epilog line by line, its `[bold]…[/]`-style tags drawn as ANSI styles."""
    if not epilog:
        return []
    return ["", *(" " + _markup(line, paint) for line in epilog.splitlines()), ""]


def _markup(line: str, paint: Paint) -> str:
    return re.sub(
        r"\[(\w+)\](.*?)\[/\]",
        lambda m: paint(m[2], MARKUP[m[1]]) if m[1] in MARKUP else m[0],
        line,
    )
