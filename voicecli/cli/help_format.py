"""`--help` that reads well at any width: paragraphs flow, and flags carry no type tag.

typer's rich help (0.29) keeps the single line breaks of a help text past its first paragraph, and
all of them in a group's list of commands, so a sentence wrapped in the source breaks in the middle
at every other terminal width; and it prints `<bool>` after each flag, which takes no value.
Both are mended where help is drawn (`format_help`), so a command that is not asked for help
pays nothing (no walk of the commands, no rich import).

A paragraph whose first line is `\\b` (click's convention) is kept line by line: formats, examples.
"""

from __future__ import annotations

import inspect
from typing import Any

from typer import core

VERBATIM = "\b"


def reflow(text: str) -> str:
    """Each paragraph of `text` on one line (paragraphs apart by a blank line), but `\\b` ones."""
    paragraphs = inspect.cleandoc(text).split("\n\n")
    return "\n\n".join(_paragraph(p) for p in paragraphs)


def _paragraph(paragraph: str) -> str:
    lines = paragraph.splitlines()
    if lines and lines[0].strip() == VERBATIM:
        return "\n".join(lines[1:])
    return " ".join(line.strip() for line in lines if line.strip())


def mend(command: Any, ctx: Any) -> None:
    """Reflow the help of `command`, of its options and arguments, and of its subcommands."""
    _mend_help(command)
    for param in command.get_params(ctx):
        _mend_help(param)
    if isinstance(command, core.TyperGroup):
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            if sub is not None:
                _mend_help(sub)


def _mend_help(obj: Any) -> None:
    for attr in ("help", "short_help"):
        text = getattr(obj, attr, None)
        if isinstance(text, str) and text:
            setattr(obj, attr, reflow(text))


def install() -> None:
    """Mend every typer command's help as it is drawn; drop the type tag of flags (idempotent)."""
    if getattr(core, "_voicecli_help_mended", False):
        return
    for cls in (core.TyperCommand, core.TyperGroup):
        cls.format_help = _mending(cls.format_help)  # type: ignore[method-assign]
    core.TyperOption.display_type_rich = _flag_untyped(  # type: ignore[method-assign]
        core.TyperOption.display_type_rich)
    core._voicecli_help_mended = True  # type: ignore[attr-defined]


def _mending(format_help: Any) -> Any:
    def format_mended(self: Any, ctx: Any, formatter: Any) -> Any:
        mend(self, ctx)
        return format_help(self, ctx, formatter)

    return format_mended


def _flag_untyped(display_type_rich: Any) -> Any:
    def display(self: Any, ctx: Any) -> str | None:
        if self.is_flag and self.metavar is None:
            return None
        return display_type_rich(self, ctx)

    return display
