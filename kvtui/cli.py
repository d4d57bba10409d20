"""Command-line entry point (Typer). Textual is imported only on the TUI path."""

from __future__ import annotations

import typer

app = typer.Typer(add_completion=False, no_args_is_help=False, help=__doc__)


@app.callback(invoke_without_command=True)
def main_callback(ctx: typer.Context) -> None:
    """kvtui: see how an LLM serving engine manages its KV cache."""
    if ctx.invoked_subcommand is None:
        typer.echo("kvtui: the live TUI is not built yet; try `kvtui --help`.")


def main() -> None:
    app()
