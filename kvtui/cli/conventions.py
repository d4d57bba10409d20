"""How every kvtui command looks and fails: plain metavars, `-h`, one-line usage errors.

Typer's defaults print `<str>`/`<bool>` type columns, `{script}` usage pieces and a multi-line
Rich error box. kvtui's commands instead show `SCRIPT`/`INTEGER`, take `-h` as well as `--help`,
and report any usage error as one line on stderr (exit 2), like every other kvtui error.

A new command gets all of this by being declared with ``@app.command(**COMMAND)``; its
options come from :mod:`kvtui.cli.options` so their values are checked in kvtui's own words.
Help pages are drawn by :mod:`kvtui.cli.help` and values parsed without Pydantic
(:mod:`kvtui.cli.coercion`): both keep `kvtui --help` and a command's start-up quick.
"""

from __future__ import annotations

import sys
from typing import Any

import typer
from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption

try:  # recent Typer vendors Click as typer._click; older releases use Click itself
    from typer import _click as click
except ImportError:  # pragma: no cover
    import click  # type: ignore[no-redef]

from kvtui.sim.errors import bounded

CONTEXT: dict[str, Any] = {"help_option_names": ["-h", "--help"]}


def _parsed_by_kvtui(param: Any) -> Any:
    """The param's coercion without Typer's Pydantic adapter if kvtui can parse its values
    (kvtui.cli.coercion says why), else None. Called by Typer 0.2x only."""
    if param._runtime_param is None:
        from kvtui.cli.coercion import runtime_param

        param._runtime_param = runtime_param(param.type_descriptor)
    return param._runtime_param


class _PlainArgument(TyperArgument):
    """An argument whose help row shows its metavar alone (no `<str>` type column)."""

    def display_type_rich(self, ctx: Any) -> str | None:
        return None

    def get_runtime_param(self) -> Any:
        return _parsed_by_kvtui(self) or super().get_runtime_param()


class _KvtuiOption(TyperOption):
    """An option of a kvtui command: its values parsed by kvtui where it can."""

    def get_runtime_param(self) -> Any:
        return _parsed_by_kvtui(self) or super().get_runtime_param()


def _plain(params: list[Any]) -> list[Any]:
    """Flags show no metavar; arguments show only theirs; values are parsed by kvtui."""
    for param in params:
        if getattr(param, "is_flag", False) and param.metavar is None:
            param.metavar = ""
        if isinstance(param, TyperArgument) and not isinstance(param, _PlainArgument):
            param.__class__ = _PlainArgument
        elif isinstance(param, TyperOption) and not isinstance(param, _KvtuiOption):
            param.__class__ = _KvtuiOption
    return params


def _format_help(command: Any, ctx: Any, formatter: Any) -> None:
    from kvtui.cli.help import format_help

    format_help(command, ctx, formatter)


class KvtuiCommand(TyperCommand):
    """A subcommand: usage `kvtui run [OPTIONS] SCRIPT`, no type noise in the help."""

    def get_params(self, ctx: Any) -> list[Any]:
        return _plain(super().get_params(ctx))

    def format_help(self, ctx: Any, formatter: Any) -> None:
        _format_help(self, ctx, formatter)

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        pieces = [self.options_metavar] if self.options_metavar else []
        for param in self.get_params(ctx):
            if param.param_type_name == "argument":
                name = param.metavar or param.name.upper()
                pieces.append(name if param.required else f"[{name}]")
        return pieces


class KvtuiGroup(TyperGroup):
    """The `kvtui` group: every usage error of any subcommand becomes one line (exit 2)."""

    def get_params(self, ctx: Any) -> list[Any]:
        return _plain(super().get_params(ctx))

    def format_help(self, ctx: Any, formatter: Any) -> None:
        _format_help(self, ctx, formatter)

    def main(  # type: ignore[override]
        self,
        args: Any = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        try:
            code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.exceptions.ClickException as exc:
            sys.stderr.write(one_line(exc) + "\n")
            code = exc.exit_code
        except typer.Abort:
            sys.stderr.write("kvtui: aborted\n")
            code = 1
        if not standalone_mode:
            return code
        sys.exit(code if isinstance(code, int) else 0)


def one_line(exc: Any) -> str:
    """`kvtui run: Invalid value for '--capacity' / '-c': 0 is not in 1..1,000,000 (see …)`."""
    ctx = getattr(exc, "ctx", None)
    path = _command_path(ctx)
    message = " ".join(str(exc.format_message()).split())
    hint = f" (see '{path} -h')" if ctx is not None else ""
    return bounded(f"{path}: {message}{hint}")


def _command_path(ctx: Any) -> str:
    names: list[str] = []
    while ctx is not None:
        if ctx.parent is not None and ctx.info_name:
            names.append(ctx.info_name)
        ctx = ctx.parent
    return " ".join(["kvtui", *reversed(names)])


def version_callback(value: bool) -> None:
    """`kvtui --version`: the installed package's version."""
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            typer.echo(f"kvtui {version('kvtui')}")
        except PackageNotFoundError:  # pragma: no cover - running from a bare checkout
            typer.echo("kvtui (not installed)")
        raise typer.Exit()


COMMAND: dict[str, Any] = {"cls": KvtuiCommand}


def examples(*lines: str) -> str:
    """A help epilog listing example command lines, one a line (markup drawn by kvtui.cli.help)."""
    body = "\n".join(f"  [cyan]{line}[/]" for line in lines)
    return f"[bold]Examples[/]\n{body}"
