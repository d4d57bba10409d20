"""Command-line entry points (Typer) and their Rich text output."""
