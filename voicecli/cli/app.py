"""The typer app, its global options, and `main()` / `run()`: the one place errors become exit
codes (`python -m voicecli.batch` goes through `run` too).

Start-up is lazy: `import voicecli.cli` loads typer and nothing else of weight. A command's module
(and with it numpy, websockets, sounddevice, the server...) is imported only when that command
runs or shows its own help; the group lists the commands from voicecli.cli.commands.COMMANDS.
`voicecli --version` and `voicecli --help` are answered before typer is even imported
(voicecli.cli.main, voicecli.cli.quick_help; tests/cli/test_startup.py).
"""

from __future__ import annotations

import importlib
import sys
import traceback
from collections.abc import Iterator, MutableMapping
from typing import Annotated, Any, NoReturn

import typer
from typer.core import TyperCommand, TyperGroup

from voicecli import __version__
from voicecli.cli import plain_values
from voicecli.cli.commands import COMMANDS
from voicecli.cli.env import Env, current_env, running
from voicecli.cli.help_format import install as mend_help
from voicecli.cli.output import error_line
from voicecli.errors import ExitCode, Several, VoicecliError, exit_code_of


def command_function(name: str) -> Any:
    """What COMMANDS[name] names (a command function or a typer group), importing its module
    now: the one way to a command's module (tests/test_import_graph.py)."""
    module, attribute, _ = COMMANDS[name]
    return getattr(importlib.import_module(module), attribute)


def load_command(name: str) -> Any:
    """The click command for COMMANDS[name], importing its module now."""
    target = command_function(name)
    command: Any
    if isinstance(target, typer.Typer):  # a command group (`voicecli token ...`)
        command = typer.main.get_group(target)
    else:
        single = typer.Typer()
        single.command(name)(target)
        command = typer.main.get_command(single)
    command.name = name
    for each in (command, *getattr(command, "commands", {}).values()):
        plain_values.install(each)  # no pydantic for plain option values
    return command


class _Commands(MutableMapping[str, Any]):
    """The subcommands by name; each is imported the first time it is looked up."""

    def __init__(self, registered: MutableMapping[str, Any]) -> None:
        self._loaded = dict(registered)

    def __getitem__(self, name: str) -> Any:
        if name not in self._loaded:
            if name not in COMMANDS:
                raise KeyError(name)
            self._loaded[name] = load_command(name)
        return self._loaded[name]

    def __setitem__(self, name: str, command: Any) -> None:
        self._loaded[name] = command

    def __delitem__(self, name: str) -> None:
        del self._loaded[name]

    def __iter__(self) -> Iterator[str]:
        return iter(dict.fromkeys([*COMMANDS, *self._loaded]))

    def __len__(self) -> int:
        return len(dict.fromkeys([*COMMANDS, *self._loaded]))

    def __contains__(self, name: object) -> bool:
        return name in COMMANDS or name in self._loaded


class LazyGroup(TyperGroup):
    """The top-level group: its help lists COMMANDS without importing any of them."""

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self.commands = _Commands(self.commands)
        self._listing = False

    def list_commands(self, ctx: Any) -> list[str]:
        return list(self.commands)  # the names only: looking a command up imports it

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if self._listing and cmd_name in COMMANDS:
            return TyperCommand(name=cmd_name, callback=None, help=COMMANDS[cmd_name][2])
        return self.commands.get(cmd_name)

    def format_help(self, ctx: Any, formatter: Any) -> None:
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False


app = typer.Typer(
    name="voicecli",
    cls=LazyGroup,
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
        current_env().debug = True
    from voicecli.logs import configure_logging

    configure_logging(debug)


def main(argv: list[str] | None = None, env: Env | None = None) -> NoReturn:
    """Run the CLI; every failure ends here as one stderr line and a documented exit code.
    `env`: the streams and debug flag (by default this process's: --debug, VOICECLI_DEBUG)."""
    args = list(sys.argv[1:] if argv is None else argv)
    if "--debug" in args[1:]:  # accepted anywhere on the line, not only before the command
        args = ["--debug", *[a for a in args if a != "--debug"]]
    if "--camera" in args or "--screen" in args:  # talk --camera [INDEX], --screen [MONITOR]
        from voicecli.cli.session_options import fill_optional_values

        args = fill_optional_values(args)
    group = typer.main.get_command(app)
    plain_values.install(group)
    run(group, args, env or Env.from_process(args), "voicecli")


def run(command: Any, args: list[str] | None, env: Env, prog_name: str) -> NoReturn:
    """The funnel: run the click `command` with `env` as the current Env; whatever it raises ends
    as one stderr line per error (and, in JSON mode, an NDJSON `error` record) and an exit code."""
    try:
        with running(env):
            # Not standalone: typer returns the code of an Exit (130 for Ctrl-C), not exiting.
            code = command.main(args=args, prog_name=prog_name, standalone_mode=False)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.TyperException as exc:  # usage errors from the option parser
        if type(exc).__name__ == "NoArgsIsHelpError":
            print(exc.format_message(), file=env.out)
            sys.exit(ExitCode.OK)
        error_line(exc.format_message(), env.err)
        sys.exit(ExitCode.USAGE)
    except (KeyboardInterrupt, typer.Abort):
        error_line("interrupted", env.err)
        sys.exit(ExitCode.INTERRUPTED)
    except Exception as exc:  # noqa: BLE001 - the funnel: a bug too is said in one line
        sys.exit(report(exc, env))
    if code == ExitCode.INTERRUPTED:
        error_line("interrupted", env.err)
    sys.exit(code if isinstance(code, int) else ExitCode.OK)


def report(error: Exception, env: Env) -> ExitCode:
    """Say `error` (each of a `Several`): NDJSON `error` records first in JSON mode, then, with
    debug, the tracebacks, then one line each on stderr. Returns the exit code."""
    errors = error.errors if isinstance(error, Several) else (error,)
    if env.json is not None:  # the stream ends with its `error` events; stderr still gets lines
        from voicecli.client.ndjson import error_json

        for each in errors:
            if isinstance(each, VoicecliError):
                env.json(error_json(each))
    if env.debug:
        for each in errors:
            traceback.print_exception(each, file=env.err)
        env.err.flush()
    for each in errors:
        error_line(_line(each, env.debug), env.err)
    return exit_code_of(error)


def _line(error: BaseException, debug: bool) -> str:
    if isinstance(error, VoicecliError):
        return str(error)
    hint = "" if debug else " (run with --debug for details)"
    return f"unexpected {error.__class__.__name__}: {error}{hint}"
