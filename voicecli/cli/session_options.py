"""Flags about the session itself: history, resumption, video, token usage.

`--camera [INDEX]` and `--screen [MONITOR]` take an optional value, which typer cannot express;
`fill_optional_values` (called by `cli.app.main`) gives a bare one its default first.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from voicecli.client.usage import TokenTally
from voicecli.numbers import whole_number
from voicecli.protocol.messages import Content

SESSION = "Session"
VIDEO = "Video"
OPTIONAL_VALUE_DEFAULTS = {"--camera": "0", "--screen": "1"}

ContextFile = Annotated[Path | None, typer.Option(
    "--context", help="Start from earlier turns: JSON, JSONL or a `User:`/`Model:` transcript "
    "(a --transcript file works).", rich_help_panel=SESSION)]
Resume = Annotated[str | None, typer.Option(
    "--resume", help="Continue a session: the handle printed when it ended (valid 2 h).",
    rich_help_panel=SESSION)]
Camera = Annotated[int | None, typer.Option(
    "--camera", help="Send camera INDEX (default 0) at 1 frame/s (video extra).",
    rich_help_panel=VIDEO, show_default=False)]
Screen = Annotated[int | None, typer.Option(
    "--screen", help="Send monitor MONITOR (default 1; 0 = all) at 1 frame/s "
    "(video extra).", rich_help_panel=VIDEO, show_default=False)]
ImageFile = Annotated[Path | None, typer.Option(
    "--image", help="Ask about a JPEG or PNG image (fitted within 1024×1024; video extra).",
    rich_help_panel=VIDEO)]
ShowUsage = Annotated[bool, typer.Option(
    "--usage", help="Print token usage on stderr (always when stderr is a terminal).")]


def fill_optional_values(args: list[str]) -> list[str]:
    """`talk --camera --json` → `talk --camera 0 --json`: a bare flag gets its default value."""
    out: list[str] = []
    for index, arg in enumerate(args):
        out.append(arg)
        default = OPTIONAL_VALUE_DEFAULTS.get(arg)
        following = args[index + 1] if index + 1 < len(args) else None
        if default is not None and (following is None or not _is_number(following)):
            out.append(default)
    return out


def _is_number(text: str) -> bool:
    return whole_number(text, signed=True) is not None and not text.startswith("--")


def load_context_file(path: Path | None) -> list[Content] | None:
    if path is None:
        return None
    from voicecli.client.context import load_context

    return load_context(path)


def usage_line(usage: TokenTally) -> str:
    return f"voicecli: tokens: {usage.summary()}"
