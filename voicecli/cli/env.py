"""What a command may touch of the process, handed to it by the funnel (voicecli.cli.app.main).

    env = Env.from_process(argv)   # the real streams; --debug or VOICECLI_DEBUG=1
    main(argv, env)

A command reads it with `current_env()` (set while the funnel runs it): its streams and whether
they are terminals, the debug flag, and, once it is in JSON mode (`env.json_lines()`), the NDJSON
sink the funnel ends with an `error` record when the command fails. Nothing of weight is imported
here: `voicecli --help` stays light (tests/cli/test_startup.py).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TextIO

from voicecli.cli.output import JsonLines, is_interactive

if TYPE_CHECKING:
    from rich.console import Console

JsonSink = Callable[[dict[str, Any]], None]
DEBUG_VAR = "VOICECLI_DEBUG"  # "1": tracebacks, as with --debug (for a whole shell session)


@dataclass
class Env:
    """The streams (None: the process's own at the time of writing, so a test's replacement of
    sys.stdout is seen), the debug flag, and the NDJSON sink of a command in JSON mode."""

    stdout: TextIO | None = None
    stderr: TextIO | None = None
    debug: bool = False
    json: JsonSink | None = None

    @classmethod
    def from_process(cls, argv: list[str] | None = None) -> Env:
        debug = "--debug" in (argv or []) or os.environ.get(DEBUG_VAR) == "1"
        return cls(debug=debug)

    @property
    def out(self) -> TextIO:
        return self.stdout or sys.stdout

    @property
    def err(self) -> TextIO:
        return self.stderr or sys.stderr

    @property
    def stdout_tty(self) -> bool:
        return is_interactive(self.out)

    @property
    def stderr_tty(self) -> bool:
        return is_interactive(self.err)

    def json_lines(self) -> JsonLines:
        """The command is in JSON mode from now on: its NDJSON sink, which ends with an `error`
        record if the command fails (the funnel writes it)."""
        sink = JsonLines(self.stdout)
        self.json = sink
        return sink

    def console(self) -> Console:
        """A Rich console on stdout (the live screen); Rich loads only when one is made."""
        from rich.console import Console

        return Console(file=self.stdout, highlight=False)


_CURRENT: ContextVar[Env | None] = ContextVar("voicecli_env", default=None)


@contextmanager
def running(env: Env) -> Iterator[Env]:
    """`env` is the current Env while the block runs (the funnel's command)."""
    token = _CURRENT.set(env)
    try:
        yield env
    finally:
        _CURRENT.reset(token)


def current_env() -> Env:
    """The Env of the running command, or a new one for this process when a command function
    runs outside the funnel (typer's CliRunner in tests, Python callers)."""
    found = _CURRENT.get()
    return found if found is not None else Env.from_process()


__all__ = ["Env", "current_env", "running"]
