"""Single keys from the terminal, without Enter, with the terminal restored on every exit path.

cbreak mode keeps ISIG, so Ctrl-C still raises SIGINT (handled by the conversation as a graceful
quit). Keys arrive through ``loop.add_reader``: no thread, no polling.
"""

from __future__ import annotations

import asyncio
import os
import sys
from types import TracebackType
from typing import Any, TextIO

ESCAPE = "escape"
ENTER = "enter"
BACKSPACE = "backspace"
_NAMED = {"\r": ENTER, "\n": ENTER, "\x7f": BACKSPACE, "\x08": BACKSPACE}


def decode_keys(data: bytes) -> list[str]:
    """Bytes read from a cbreak terminal → keys. An escape sequence (arrows, F-keys) is one
    ESCAPE (a lone ESC too); control characters other than Enter and Backspace are dropped."""
    text = data.decode("utf-8", errors="ignore")
    if text.startswith("\x1b"):
        return [ESCAPE]
    keys = []
    for char in text:
        if char in _NAMED:
            keys.append(_NAMED[char])
        elif char.isprintable():
            keys.append(char)
    return keys


class KeyReader:
    """`with KeyReader() as keys: key = await keys.get()`; inert when stdin is not a terminal."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stdin
        self.active = False
        self._queue: asyncio.Queue[str] = asyncio.Queue()
        self._saved: list[Any] | None = None  # termios attributes
        self._fd = -1

    def __enter__(self) -> KeyReader:
        try:
            self._fd = self.stream.fileno()
            interactive = os.isatty(self._fd)
        except (AttributeError, ValueError, OSError):
            return self
        if not interactive:
            return self
        import termios
        import tty

        self._saved = termios.tcgetattr(self._fd)
        try:
            tty.setcbreak(self._fd)
            asyncio.get_running_loop().add_reader(self._fd, self._on_readable)
        except BaseException:
            self._restore()
            raise
        self.active = True
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self.active:
            asyncio.get_running_loop().remove_reader(self._fd)
            self.active = False
        self._restore()

    def _restore(self) -> None:
        if self._saved is not None:
            import termios

            termios.tcsetattr(self._fd, termios.TCSADRAIN, self._saved)
            self._saved = None

    def _on_readable(self) -> None:
        try:
            data = os.read(self._fd, 64)
        except OSError:
            data = b""
        if not data:  # the terminal went away: stop listening rather than spin
            asyncio.get_running_loop().remove_reader(self._fd)
            self.active = False
            return
        for key in decode_keys(data):
            self._queue.put_nowait(key)

    async def get(self) -> str:
        """The next key; waits forever when stdin is not a terminal."""
        return await self._queue.get()
