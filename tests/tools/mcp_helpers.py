"""Real MCP servers for the tests (tests/tools/mcp_notes_server.py): stdio specs, and a
streamable HTTP server on loopback as a subprocess."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from voicecli.tools.mcp_config import McpServerSpec

SERVER = Path(__file__).with_name("mcp_notes_server.py")
#: the SDK's server imports take seconds on a loaded machine
START_S = 60.0


def notes_spec(name: str = "notes", *, events: Path | None = None, timeout: float = 30.0,
               **env: str) -> McpServerSpec:
    variables = dict(env, **({"NOTES_EVENTS": str(events)} if events else {}))
    return McpServerSpec(name, "test", command=sys.executable, args=(str(SERVER),),
                         env=tuple(variables.items()), timeout=timeout, start_timeout=START_S)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def http_notes_server(events: Path | None = None) -> Iterator[str]:
    """The notes server on streamable HTTP; yields its URL."""
    port = free_port()
    env = {"PATH": "/usr/bin:/bin", **({"NOTES_EVENTS": str(events)} if events else {})}
    proc = subprocess.Popen([sys.executable, str(SERVER), "http", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + START_S
        while True:
            assert proc.poll() is None, "the HTTP MCP server exited"
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "the HTTP MCP server never listened"
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        proc.kill()
        proc.wait(10)
