"""`python -m voicecli.batch JOBS --out DIR …`: the batch command on its own (same options)."""

from __future__ import annotations

import sys

import typer

from voicecli.cli.batch_cmd import batch
from voicecli.cli.output import error_line
from voicecli.errors import ExitCode, VoicecliError


def main(argv: list[str] | None = None) -> None:
    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    app.command()(batch)
    command = typer.main.get_command(app)
    try:
        code = command.main(args=argv, prog_name="voicecli batch", standalone_mode=False)
    except typer.TyperException as exc:
        error_line(exc.format_message())
        sys.exit(ExitCode.USAGE)
    except KeyboardInterrupt:
        error_line("interrupted")
        sys.exit(ExitCode.INTERRUPTED)
    except VoicecliError as exc:
        error_line(str(exc))
        sys.exit(exc.exit_code)
    sys.exit(code if isinstance(code, int) else ExitCode.OK)


if __name__ == "__main__":
    main()
