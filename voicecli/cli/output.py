"""Where output goes: answers and NDJSON on stdout, notices and errors on stderr."""

from __future__ import annotations

import sys
from typing import Any, TextIO

from voicecli.client.ndjson import dumps


def one_line(text: str) -> str:
    return " ".join(str(text).split())


def error_line(message: str) -> None:
    print(f"voicecli: error: {one_line(message)}", file=sys.stderr, flush=True)


def notice(message: str) -> None:
    print(one_line(message), file=sys.stderr, flush=True)


def is_interactive(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


class JsonLines:
    """NDJSON writer: one object per line, flushed at once so pipes see events as they happen."""

    def __init__(self, stream: TextIO = sys.stdout) -> None:
        self.stream = stream

    def __call__(self, obj: dict[str, Any]) -> None:
        self.stream.write(dumps(obj) + "\n")
        self.stream.flush()
