"""A real MCP server for the tests, built with the SDK (`mcp.server.mcpserver.MCPServer`, what
mcp 1.x called FastMCP): ``python mcp_notes_server.py`` speaks stdio,
``python mcp_notes_server.py http PORT`` streamable HTTP on 127.0.0.1:PORT.

Its tools: notes (add_note / list_notes), a slow one that records a cancellation, one that
kills its own server, one that reports which environment variables it got, structured and
error results, and tools whose schemas Live cannot take. ``NOTES_PID_FILE`` (if set): the
server writes its pid and that of a child it keeps (a process tree to check for orphans).
``NOTES_DIE_AT_START=1``: it writes one line on stderr and exits before answering.
``NOTES_EVENTS``: a file where the slow tools write when they start, finish or are cancelled;
``NOTES_SLOW_S``: how long they take by default.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp.types import CallToolResult, ImageContent, TextContent
from pydantic import BaseModel

app = MCPServer("notes")
NOTES: list[str] = []
EVENTS = os.environ.get("NOTES_EVENTS")  # a file: one line per started / cancelled slow call


def _event(line: str) -> None:
    if EVENTS:
        with open(EVENTS, "a", encoding="utf-8") as f:
            f.write(line + "\n")


@app.tool()
def add_note(text: str) -> str:
    """Add a note to the user's notes."""
    NOTES.append(text)
    return f"noted: {text}"


@app.tool()
def list_notes() -> list[str]:
    """The user's notes, oldest first."""
    return list(NOTES)


async def _slowly(kind: str, text: str, seconds: float) -> None:
    _event(f"started {kind}")
    try:
        await asyncio.sleep(seconds)
    except asyncio.CancelledError:
        _event(f"cancelled {kind}")
        raise
    _event(f"finished {kind}")


def _seconds(given: float | None) -> float:
    return float(os.environ.get("NOTES_SLOW_S", "1")) if given is None else given


@app.tool()
async def slow_echo(text: str, seconds: float | None = None) -> str:
    """Say `text` back after `seconds` (default: NOTES_SLOW_S, or 1)."""
    await _slowly("echo", text, _seconds(seconds))
    return f"echo: {text}"


@app.tool()
async def slow_upper(text: str, seconds: float | None = None) -> str:
    """Say `text` back in capitals after `seconds` (default: NOTES_SLOW_S, or 1)."""
    await _slowly("upper", text, _seconds(seconds))
    return text.upper()


@app.tool()
def crash_server() -> str:
    """Stop the whole server at once (a crash)."""
    print("notes server: crashing on purpose", file=sys.stderr, flush=True)
    os._exit(3)


@app.tool()
def environment_names() -> list[str]:
    """The names of the environment variables this server was started with."""
    return sorted(os.environ)


@app.tool()
def weather_report(city: str, unit: str = "celsius") -> dict[str, Any]:
    """The weather in a city, as structured content."""
    return {"city": city, "temperature": 21, "unit": unit}


@app.tool()
def failing_lookup(key: str) -> CallToolResult:
    """A lookup that always reports an error (isError)."""
    return CallToolResult(content=[TextContent(type="text", text=f"no entry for {key}")],
                          is_error=True)


@app.tool()
def tiny_picture() -> CallToolResult:
    """A picture and a caption."""
    return CallToolResult(content=[
        TextContent(type="text", text="a red dot"),
        ImageContent(type="image", data="iVBORw0KGgo=", mime_type="image/png")])


class Node(BaseModel):
    """A tree node: its input schema refers to itself, which Live cannot declare."""

    name: str = ""
    children: list[Node] = []


@app.tool()
def walk_tree(root: Node) -> str:
    """Walk a tree of nodes."""
    return "walked"


def _keep_a_child(pid_file: str) -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    tmp = pid_file + ".tmp"
    Path(tmp).write_text(f"{os.getpid()} {child.pid}")
    os.replace(tmp, pid_file)


if __name__ == "__main__":
    if os.environ.get("NOTES_DIE_AT_START") == "1":
        print("notes server: cannot open the notes database", file=sys.stderr, flush=True)
        sys.exit(1)
    if os.environ.get("NOTES_PID_FILE"):
        _keep_a_child(os.environ["NOTES_PID_FILE"])
    if sys.argv[1:2] == ["http"]:
        app.run("streamable-http", host="127.0.0.1", port=int(sys.argv[2]))
    else:
        app.run()
