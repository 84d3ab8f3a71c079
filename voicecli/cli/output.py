"""Where output goes: answers and NDJSON on stdout, notices and errors on stderr."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path
from typing import Any, TextIO

from voicecli.errors import UsageError


def one_line(text: str) -> str:
    return " ".join(str(text).split())


def error_line(message: str, stream: TextIO | None = None) -> None:
    print(f"voicecli: error: {one_line(message)}", file=stream or sys.stderr, flush=True)


def notice(message: str) -> None:
    print(one_line(message), file=sys.stderr, flush=True)


def is_interactive(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


class JsonLines:
    """NDJSON writer: one object per line, flushed at once so pipes see events as they happen."""

    def __init__(self, stream: TextIO | None = None) -> None:
        from voicecli.client.ndjson import dumps  # not at import: `voicecli --help` stays light

        self._stream = stream
        self._dumps = dumps

    @property
    def stream(self) -> TextIO:
        return self._stream or sys.stdout  # the stdout of when it writes (tests replace it)

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


def check_output_file(path: Path, flag: str) -> None:
    """Refuse, before anything connects, an output file voicecli could not write or must not
    replace: a directory, a device, pipe or socket (the `.part` file is renamed onto the
    target, which would replace /dev/null itself), a missing or non-directory parent, or a
    `.part` name taken by something that is not a file."""
    _refuse_non_file(path, flag)
    _refuse_non_file(path.with_name(path.name + ".part"), flag)
    parent = path.parent
    if not parent.is_dir():
        problem = "is not a directory" if parent.exists() else "does not exist"
        raise UsageError(f"{flag} {path}: the folder {parent} {problem}")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise UsageError(f"{flag} {path}: cannot write in {parent} (permission denied)")


def _refuse_non_file(path: Path, flag: str) -> None:
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return
    except OSError as exc:
        raise UsageError(f"{flag} {path}: {exc.strerror or exc}") from None
    if stat.S_ISDIR(mode):
        raise UsageError(f"{flag} {path}: is a directory; give a file name")
    if not stat.S_ISREG(mode):
        raise UsageError(f"{flag} {path}: is a device, pipe or socket, not a regular file")


def check_output_dir(path: Path, flag: str) -> None:
    """Refuse an output folder that exists as something else, or cannot be made or written."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        existing = next((p for p in path.parents if p.exists()), None)
        if existing is not None and not existing.is_dir():
            raise UsageError(f"{flag} {path}: {existing} is a file, not a folder") from None
        return
    except OSError as exc:
        raise UsageError(f"{flag} {path}: {exc.strerror or exc}") from None
    if not stat.S_ISDIR(mode):
        raise UsageError(f"{flag} {path}: is a file, not a folder")
    if not os.access(path, os.W_OK | os.X_OK):
        raise UsageError(f"{flag} {path}: cannot write in it (permission denied)")
