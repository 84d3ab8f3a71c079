"""Where output goes: answers and NDJSON on stdout, notices and errors on stderr."""

from __future__ import annotations

import sys
from typing import Any, TextIO


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
        from voicecli.client.ndjson import dumps  # not at import: `voicecli --help` stays light

        self.stream = stream
        self._dumps = dumps

    def __call__(self, obj: dict[str, Any]) -> None:
        self.stream.write(self._dumps(obj) + "\n")
        self.stream.flush()


def print_code(code: list[dict[str, Any]], stream: TextIO | None = None) -> None:
    """Code the model ran on the service and its result (§4.2 executableCode /
    codeExecutionResult events), indented, on stderr: stdout stays the answer."""
    out = stream or sys.stderr
    for item in code:
        if item.get("type") == "executable_code":
            head, body = f"code ({item.get('language') or '?'}):", item.get("code") or ""
        else:
            head, body = f"code result ({item.get('outcome') or '?'}):", item.get("output") or ""
        lines = str(body).rstrip("\n").splitlines() or [""]
        print(head, *("    " + line for line in lines), sep="\n", file=out)
    out.flush()


def print_thoughts(text: str, stream: TextIO | None = None) -> None:
    """Thought summaries (--show-thoughts, §4.2) on stderr, dimmed on a terminal: stdout stays
    the answer."""
    body = text.strip()
    if not body:
        return
    from rich.console import Console
    from rich.text import Text

    console = Console(file=stream or sys.stderr, highlight=False, soft_wrap=True)
    console.print(Text.assemble(("thinking: ", "dim bold"), (body, "dim italic")))
