"""The CLI as a real process: `voicecli serve` on a free port, and runs under a pseudo-terminal."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
import termios
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CSI = "\x1b["  # every cursor move, colour and erase of a progress display starts with this


@contextmanager
def serve(*flags: str, env: dict[str, str]) -> Iterator[str]:
    """`voicecli serve --port 0 --pace 0 FLAGS…`; yields its ws:// URL."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "voicecli", "serve", "--port", "0", "--pace", "0", *flags],
        stderr=subprocess.PIPE, text=True, cwd=ROOT, env=env,
    )
    try:
        assert proc.stderr is not None
        for line in proc.stderr:
            if "listening on ws://" in line:
                break
        else:
            raise RuntimeError(f"voicecli serve did not start (exit {proc.wait()})")
        yield "ws://" + line.split("ws://", 1)[1].split()[0]
    finally:
        proc.terminate()
        proc.wait(timeout=15)


@dataclass(frozen=True)
class Run:
    code: int
    stdout: str
    stderr: str  # for a run under a pty: everything the terminal received


def python(*args: str, env: dict[str, str], timeout: float = 120) -> Run:
    """`python ARGS…` with stdout and stderr on pipes (not terminals)."""
    done = subprocess.run([sys.executable, *args], env=env, cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout, check=False)
    return Run(done.returncode, done.stdout, done.stderr)


def voicecli(*args: str, env: dict[str, str], timeout: float = 120) -> Run:
    return python("-m", "voicecli", *args, env=env, timeout=timeout)


def voicecli_on_terminal(*args: str, env: dict[str, str], columns: int = 120) -> Run:
    """`python -m voicecli ARGS…` with stderr on a pseudo-terminal (stdout on a pipe)."""
    leader, follower = pty.openpty()
    termios.tcsetwinsize(follower, (30, columns))
    proc = subprocess.Popen([sys.executable, "-m", "voicecli", *args], env=env, cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=follower, stdin=subprocess.DEVNULL)
    os.close(follower)
    received = _drain(leader)  # until every holder of the terminal has exited
    stdout = proc.stdout.read() if proc.stdout else b""
    code = proc.wait(timeout=30)
    return Run(code, stdout.decode(), received.decode(errors="replace"))


def _drain(fd: int) -> bytes:
    chunks: list[bytes] = []
    try:
        while True:
            try:
                data = os.read(fd, 65536)
            except OSError:  # EIO: the last process with the terminal open has closed it
                break
            if not data:
                break
            chunks.append(data)
    finally:
        os.close(fd)
    return b"".join(chunks)
