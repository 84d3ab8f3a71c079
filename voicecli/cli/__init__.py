"""The `voicecli` command: a thin typer layer over the library, with one error funnel."""

from voicecli.cli.app import app, main

__all__ = ["app", "main"]
