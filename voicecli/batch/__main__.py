"""`python -m voicecli.batch JOBS --out DIR …`: the batch command on its own (same options),
through the same funnel as `voicecli` (voicecli.cli.app.run): same lines, same exit codes."""

from __future__ import annotations

import sys

import typer

from voicecli.cli.app import command_function, run
from voicecli.cli.env import Env


def main(argv: list[str] | None = None, env: Env | None = None) -> None:
    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    app.command()(command_function("batch"))
    args = sys.argv[1:] if argv is None else argv
    run(typer.main.get_command(app), args, env or Env.from_process(args), "voicecli batch")


if __name__ == "__main__":
    main()
