"""The `voicecli` command: a thin typer layer over the library, with one error funnel.

Importing this package is free: `main` answers `voicecli --version` and the top-level help by
itself and loads the typer app (voicecli.cli.app) for everything else.
"""

from __future__ import annotations

import sys

from voicecli import __version__


def main(argv: list[str] | None = None) -> None:
    """The `voicecli` entry point (voicecli.cli.app.main does the work)."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args == ["--version"]:  # the one answer that needs neither typer nor any command
        print(f"voicecli {__version__}")
        sys.exit(0)
    if _quick_help(args):
        sys.exit(0)
    from voicecli.cli.app import main as run

    run(args)


def _quick_help(args: list[str]) -> bool:
    from voicecli.cli import quick_help

    if not quick_help.wanted(args):
        return False
    from voicecli.cli.commands import COMMANDS

    text = quick_help.render([(name, line) for name, (_, _, line) in COMMANDS.items()])
    if text is None:
        return False
    sys.stdout.write(text)
    sys.stdout.flush()
    return True


__all__ = ["main"]
