"""The typer app, its global options, and `main()`: the one place errors become exit codes."""

from __future__ import annotations

import os
import sys
import traceback
from typing import Annotated

import typer

from voicecli import __version__
from voicecli.cli import (
    ask_cmd,
    batch_cmd,
    devices_cmd,
    doctor_cmd,
    models_cmd,
    serve_cmd,
    talk_cmd,
    token_cmd,
    tools_cmd,
    transcribe_cmd,
    translate_cmd,
    voices_cmd,
)
from voicecli.cli.help_format import install as mend_help
from voicecli.cli.output import error_line
from voicecli.cli.session_options import fill_optional_values
from voicecli.errors import ExitCode, VoicecliError
from voicecli.logs import configure_logging

app = typer.Typer(
    name="voicecli",
    help="Talk to the Gemini Live API from the terminal (or to the built-in local engine).",
    no_args_is_help=True,
    add_completion=True,  # --install-completion / --show-completion (bash, zsh, fish, PowerShell)
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
mend_help()  # paragraphs that flow at any width, no <bool> after flags (cli/help_format.py)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"voicecli {__version__}")
        raise typer.Exit()


@app.callback()
def _global_options(
    debug: Annotated[
        bool, typer.Option("--debug", help="Show tracebacks and debug logs (never keys).")
    ] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    if debug:
        os.environ["VOICECLI_DEBUG"] = "1"
    configure_logging(debug)


app.command("talk")(talk_cmd.talk)
app.command("ask")(ask_cmd.ask)
app.command("serve")(serve_cmd.serve)
app.command("models")(models_cmd.models)
app.command("voices")(voices_cmd.voices)
app.command("transcribe")(transcribe_cmd.transcribe)
app.command("translate")(translate_cmd.translate)
app.command("batch")(batch_cmd.batch)
app.command("devices")(devices_cmd.devices)
app.command("doctor")(doctor_cmd.doctor)
app.command("tools")(tools_cmd.tools)
app.add_typer(token_cmd.token_app, name="token")


def _debug_enabled(argv: list[str]) -> bool:
    return "--debug" in argv or os.environ.get("VOICECLI_DEBUG") == "1"


def _traceback_if_debug(args: list[str]) -> None:
    """--debug adds the traceback of the error being handled; the line and exit code stay."""
    if _debug_enabled(args):
        traceback.print_exc(file=sys.stderr)
        sys.stderr.flush()


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; every failure ends here as one stderr line and a documented exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    if "--debug" in args[1:]:  # accepted anywhere on the line, not only before the command
        args = ["--debug", *[a for a in args if a != "--debug"]]
    args = fill_optional_values(args)  # talk --camera [INDEX], --screen [MONITOR]
    command = typer.main.get_command(app)
    try:
        # Not standalone: typer returns the code of an Exit (130 for Ctrl-C) instead of exiting.
        code = command.main(args=args, prog_name="voicecli", standalone_mode=False)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.TyperException as exc:  # usage errors from the option parser
        if type(exc).__name__ == "NoArgsIsHelpError":
            print(exc.format_message())
            sys.exit(ExitCode.OK)
        error_line(exc.format_message())
        sys.exit(ExitCode.USAGE)
    except (KeyboardInterrupt, typer.Abort):
        error_line("interrupted")
        sys.exit(ExitCode.INTERRUPTED)
    except VoicecliError as exc:
        _traceback_if_debug(args)
        error_line(str(exc))
        sys.exit(exc.exit_code)
    except Exception as exc:  # noqa: BLE001 - the funnel: anything else is a bug, said in one line
        _traceback_if_debug(args)
        hint = "" if _debug_enabled(args) else " (run with --debug for details)"
        error_line(f"unexpected {exc.__class__.__name__}: {exc}{hint}")
        sys.exit(ExitCode.UNEXPECTED)
    if code == ExitCode.INTERRUPTED:
        error_line("interrupted")
    sys.exit(code if isinstance(code, int) else ExitCode.OK)
