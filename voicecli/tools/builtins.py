"""Built-in tools, opt-in by name (``builtins = ["current_time", "read_file"]``).

What: two small, read-only helpers that voice conversations often need.

* ``current_time(timezone?)``: the date and time now, in an IANA zone (zoneinfo) or the local one.
* ``read_file(path)``: a UTF-8 text file under ``read_file_root``. Why so strict: the path comes
  from the model, so it is resolved (symlinks followed) and refused unless the real file lies
  inside the root; absolute paths, ``..`` escapes and symlinks pointing out are all refused. The
  last component is opened with O_NOFOLLOW|O_NONBLOCK and must be a regular file; the first
  ``read_file_max_bytes`` are returned (marked when truncated); binary files are refused.

Both are Python functions with docstrings, declared like any Python tool (python.py).
"""

from __future__ import annotations

import codecs
import os
import stat
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from voicecli.tools.python import function_tool
from voicecli.tools.spec import ToolDef, ToolError

NAMES = ("current_time", "read_file")
DEFAULT_MAX_BYTES = 64_000


def current_time(timezone: str | None = None) -> dict[str, Any]:
    """Get the current date and time.

    Args:
        timezone: An IANA time zone such as "Europe/Paris" or "America/New_York". Leave it out
            for the user's local time.
    """
    try:
        zone = ZoneInfo(timezone) if timezone else None
    except (ZoneInfoNotFoundError, ValueError):
        raise ToolError(
            f"unknown time zone {timezone!r}; use an IANA name like Europe/Paris"
        ) from None
    now = datetime.now(zone).astimezone(zone)
    return {
        "time": now.isoformat(timespec="seconds"),
        "timezone": timezone or f"local ({now.tzname()})",
        "weekday": now.strftime("%A"),
    }


def make_read_file(root: Path, max_bytes: int = DEFAULT_MAX_BYTES) -> Callable[[str], Any]:
    """The ``read_file`` tool confined to `root` (which must exist)."""
    real_root = root.resolve(strict=True)

    def read_file(path: str) -> dict[str, Any]:
        """Read a text file from the folder the user shared.

        Args:
            path: The file's path relative to the shared folder, like "todo.md" or
                "projects/plan.txt".
        """
        target = resolve_inside(real_root, path)
        data, size = _read_capped(target, max_bytes)
        result: dict[str, Any] = {"path": path, "content": _text_of(data, size > len(data))}
        if size > len(data):
            result["truncated"] = f"the file has {size} bytes; the first {len(data)} are shown"
        return result

    return read_file


def resolve_inside(root: Path, relative: str) -> Path:
    """`relative` resolved under the real path `root`; a ToolError if it ends up outside."""
    if not relative.strip():
        raise ToolError("path is empty")
    if Path(relative).is_absolute():
        raise ToolError("path must be relative to the shared folder")
    target = (root / relative).resolve()
    if not target.is_relative_to(root):
        raise ToolError("path is outside the shared folder")
    return target


def _read_capped(path: Path, max_bytes: int) -> tuple[bytes, int]:
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise ToolError("no such file") from None
    except OSError as exc:
        raise ToolError(f"cannot open the file: {exc.strerror}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ToolError("not a regular file")
        with open(fd, "rb", closefd=False) as file:
            return file.read(max_bytes), info.st_size
    finally:
        os.close(fd)


def _text_of(data: bytes, truncated: bool) -> str:
    if b"\x00" in data:
        raise ToolError("not a text file")
    try:
        return codecs.getincrementaldecoder("utf-8")().decode(data, final=not truncated)
    except UnicodeDecodeError:
        raise ToolError("not a UTF-8 text file") from None


def builtin_tools(
    names: list[str], read_file_root: Path | None, read_file_max_bytes: int = DEFAULT_MAX_BYTES
) -> list[ToolDef]:
    """The chosen built-ins; load.py has checked the names and the root."""
    functions: dict[str, Callable[..., Any]] = {"current_time": current_time}
    if read_file_root is not None:
        functions["read_file"] = make_read_file(read_file_root, read_file_max_bytes)
    return [function_tool(functions[name], name=name, kind="builtin") for name in names]
