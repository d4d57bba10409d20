"""Values of kvtui's arguments and options are parsed by kvtui, without Pydantic.

Typer (0.2x) coerces every value, defaults and absent ones included, through a Pydantic
TypeAdapter that it builds on first use: before any command runs, that imports Pydantic and
builds one schema per parameter, some 50 ms of `kvtui trace`'s start-up. kvtui's values need
none of it: each one is parsed by its `parser=` (kvtui.cli.options, in kvtui's words), or
arrives with its declared type (a string, a flag's bool, an absent None). Any other value (a
`--speedup` number, given as text) still goes through Typer's own adapter, built only then, so
the behaviour is Typer's.

Only Typer versions that coerce with Pydantic call this (kvtui.cli.conventions imports it from
`get_runtime_param`, which older versions do not have).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from typer._coercion import RuntimeParam, TypeDescriptor, build_runtime_param


@dataclass(frozen=True)
class ParsedByKvtui(RuntimeParam):
    """A value through its kvtui parser, or as it is when it already has the declared type
    (None never gets here: RuntimeParam.coerce returns it as it is)."""

    def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
        parser = self.parameter_info.parser
        if parser is not None:
            return parser(value)  # kvtui's parsers raise typer.BadParameter, as Typer's path does
        if type(value) is self.annotation:
            return value
        return build_runtime_param(param.type_descriptor)._coerce_value(value, param, ctx)


def runtime_param(descriptor: TypeDescriptor) -> RuntimeParam | None:
    """kvtui's coercion for a parameter of one plain value; None (Typer's) for files and lists."""
    if descriptor.is_file or descriptor.is_list or descriptor.is_tuple:
        return None
    return ParsedByKvtui(parameter_info=descriptor.parameter_info, annotation=descriptor.annotation)
