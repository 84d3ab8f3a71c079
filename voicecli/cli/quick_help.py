"""`voicecli --help` without typer or rich: the same screen, drawn from plain strings.

Importing typer and rendering its help with rich takes 0.2-0.3 s of CPU; the top-level help is a
fixed text (the global options and voicecli.cli.app.COMMANDS), so it is laid out here the way
typer lays it out. tests/cli/test_startup.py checks that the plain output is byte-identical to
typer's at many widths; on a terminal the same layout gets typer's colours. Anything unusual (a
narrow terminal, TERMINAL_WIDTH) goes to typer instead: `render` returns None.
"""

from __future__ import annotations

import os
import sys
import textwrap
from typing import TextIO

from voicecli.numbers import is_digits

USAGE = "voicecli [OPTIONS] COMMAND [ARGS]..."
SUMMARY = "Talk to the Gemini Live API from the terminal (or to the built-in local engine)."
# (long flag, short flag, help): the callback's options in voicecli.cli.app, typer's completion
# options, then --help. Flags carry no type tag (voicecli.cli.help_format).
OPTIONS = (
    ("--debug", "", "Show tracebacks and debug logs (never keys)."),
    ("--version", "", "Show the version."),
    ("--install-completion", "", "Install completion for the current shell."),
    ("--show-completion", "", "Show completion for the current shell, to copy it or customize the "
                              "installation."),
    ("--help", "-h", "Show this message and exit."),
)
SHORT_AT, HELP_AT = 22, 32  # where rich puts the short flag and the help in a row of the panel
MIN_WIDTH = 60  # below this rich starts shrinking columns: typer draws it

_SGR = {"bold": "1", "dim": "2", "yellow": "33", "cyan": "1;36", "green": "1;32"}


def wanted(args: list[str]) -> bool:
    """True for the top-level help: `voicecli`, `voicecli --help`, `voicecli -h` (but not when
    the shell's completion script runs `voicecli` with no arguments to ask for completions)."""
    return args in ([], ["--help"], ["-h"]) and "_VOICECLI_COMPLETE" not in os.environ


def render(commands: list[tuple[str, str]], stream: TextIO | None = None) -> str | None:
    """The top-level help for `commands` [(name, first help paragraph)], or None when typer
    should draw it (a width or setting this layout does not reproduce)."""
    out = stream or sys.stdout
    if os.environ.get("TERMINAL_WIDTH"):
        return None
    width = _width(out)
    if width < MIN_WIDTH:
        return None
    style = _styler(out)
    lines = [style(" " * width, "bold"),
             style(" ", "bold") + style("Usage: ", "yellow") + style(USAGE, "bold")
             + style(" " * (width - 9 - len(USAGE)), "bold") + style(" ", "bold"),
             style(" " * width, "bold")]
    lines += [f" {line.ljust(width - 2)} " for line in _wrap(SUMMARY, width - 2)]
    lines.append(" " * width)
    lines += _options_panel(width, style)
    lines += _commands_panel(commands, width, style)
    return "\n".join(lines) + "\n\n"  # typer ends the help with an empty line


def _options_panel(width: int, style: _Style) -> list[str]:
    text_width = width - 4 - HELP_AT  # the panel's borders and padding take 4
    rows = []
    for long, short, help_text in OPTIONS:
        wrapped = _wrap(help_text, text_width)
        gap = " " * (HELP_AT - SHORT_AT - len(short))
        head = (style(long, "cyan") + " " * (SHORT_AT - len(long))
                + (style(short, "green") if short else "") + gap)
        for i, line in enumerate(wrapped):
            lead = head if i == 0 else " " * HELP_AT
            rows.append(lead + line.ljust(text_width))
    return _panel("Options", rows, width, style)


def _commands_panel(commands: list[tuple[str, str]], width: int, style: _Style) -> list[str]:
    name_width = max(len(name) for name, _ in commands)
    text_width = width - 4 - name_width - 2
    rows = []
    for name, help_text in commands:
        wrapped = _wrap(help_text, text_width)
        for i, line in enumerate(wrapped):
            lead = (style(name.ljust(name_width), "cyan") + style(" ", "cyan") if i == 0
                    else " " * (name_width + 1))
            rows.append(lead + " " + line.ljust(text_width))
    return _panel("Commands", rows, width, style)


def _panel(title: str, rows: list[str], width: int, style: _Style) -> list[str]:
    top = (style("╭─", "dim") + style(f" {title} ", "dim")
           + style("─" * (width - 5 - len(title)) + "╮", "dim"))
    side = style("│", "dim")
    return [top, *(f"{side} {row} {side}" for row in rows), style("╰" + "─" * (width - 2) + "╯",
                                                                  "dim")]


def _wrap(text: str, width: int) -> list[str]:
    return textwrap.wrap(text, width, break_on_hyphens=False) or [""]


class _Style:
    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    def __call__(self, text: str, name: str) -> str:
        return f"\x1b[{_SGR[name]}m{text}\x1b[0m" if self.enabled and text else text


def _styler(out: TextIO) -> _Style:
    env = os.environ
    if env.get("NO_COLOR") or env.get("TERM") == "dumb":
        return _Style(False)
    try:
        tty = out.isatty()
    except (AttributeError, ValueError):
        tty = False
    return _Style(tty or bool(env.get("FORCE_COLOR")))


def _width(out: TextIO) -> int:
    """The width rich would use: COLUMNS, else the terminal of stdin/stdout/stderr, else 80."""
    columns = os.environ.get("COLUMNS", "")
    if is_digits(columns):
        return int(columns)
    for fd in (0, 1, 2):
        try:
            return os.get_terminal_size(fd).columns
        except OSError:
            continue
    return 80
