"""Option and argument definitions shared by the kvtui commands.

Each value is parsed here, in kvtui's words (`0 is not in 1..1,000,000`), with the offending
token shortened; Typer only shows the message with the option's name. A command that lists an
option from here must honour it or reject it with a one-line reason (`reject`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import typer

from kvtui.sim.errors import bounded, shorten

# The engine's limits and names, repeated here so that defining the commands (all `kvtui --help`
# does) loads no engine module; tests/test_cli_conventions.py checks they match kvtui.sim's.
MAX_CAPACITY = 1_000_000
BACKENDS = ("lineage", "lru", "multi_lru")
PREEMPTION_MODES = ("lifo", "fifo")

WHOLE = re.compile(r"[+-]?\d{1,30}\Z", re.ASCII)


def integer(low: int, high: int) -> Callable[[Any], int]:
    """A parser for a whole number in low..high."""

    def parse(value: Any) -> int:
        if isinstance(value, int):
            number = value
        else:
            text = str(value).strip()
            if not WHOLE.match(text):
                raise typer.BadParameter(f"{shorten(text)!r} is not a whole number")
            number = int(text)
        if not low <= number <= high:
            raise typer.BadParameter(f"{shorten(str(number))} is not in {low:,}..{high:,}")
        return number

    return parse


def port(value: Any) -> int:
    """A TCP port 1..65535, or 0 for any free one."""
    text = str(value).strip()
    if not WHOLE.match(text) or not 0 <= int(text) <= 65535:
        raise typer.BadParameter(f"{shorten(text)!r} is not a port (1..65535, or 0 for any free one)")
    return int(text)


def choice(values: tuple[str, ...], what: str) -> Callable[[Any], str]:
    """A parser for one of `values` (exact spelling)."""

    def parse(value: Any) -> str:
        text = str(value)
        if text not in values:
            raise typer.BadParameter(f"{shorten(text)!r} is not {what} ({', '.join(values)})")
        return text

    return parse


def _complete(values: tuple[str, ...]) -> Callable[[str], list[str]]:
    return lambda incomplete: [v for v in values if v.startswith(incomplete)]


def eviction_option(help_text: str = "Eviction backend (overrides the script).", default: Any = None) -> Any:
    return typer.Option(
        default, "--eviction", "-e", parser=choice(BACKENDS, "an eviction backend"),
        metavar=f"[{'|'.join(BACKENDS)}]", autocompletion=_complete(BACKENDS), help=help_text,
    )


def capacity_option(help_text: str = "G1 slots, 1..1,000,000 (overrides the script).") -> Any:
    return typer.Option(
        None, "--capacity", "-c", parser=integer(1, MAX_CAPACITY), metavar="INTEGER", help=help_text
    )


def limit_option(help_text: str) -> Any:
    return typer.Option(None, "--limit", parser=integer(1, 10**12), metavar="INTEGER", help=help_text)


def block_size_option(default: int | None = 512) -> Any:
    return typer.Option(
        default, "--block-size", parser=integer(1, 1 << 20), metavar="INTEGER",
        help="Tokens per trace hash id (default 512).", show_default=False,
    )


def g2_blocks_option() -> Any:
    return typer.Option(
        None, "--g2-blocks", parser=integer(1, MAX_CAPACITY), metavar="INTEGER",
        help="Add a G2 host tier of this many blocks (other offload settings at their defaults).",
    )


def json_option(help_text: str) -> Any:
    return typer.Option(False, "--json", help=help_text)


def script_argument(help_text: str = "A script file or a preset name (see 'kvtui presets').",
                    required: bool = True) -> Any:
    return typer.Argument(... if required else None, metavar="SCRIPT", help=help_text, show_default=False)


def reject(reason: str) -> typer.Exit:
    """A one-line usage error (exit 2) for an option that does not apply: `raise reject(...)`."""
    typer.echo(bounded(f"kvtui: {reason}"), err=True)
    return typer.Exit(2)
