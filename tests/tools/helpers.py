"""Shared helpers of the tools tests: TOML → tools, little scripts, process checks."""

from __future__ import annotations

import asyncio
import os
import sys
import textwrap
import time
import tomllib
from pathlib import Path
from typing import Any

from voicecli.protocol.messages import FunctionCall
from voicecli.tools import AllowPolicy, ToolDef, ToolRunner, tools_from_config

PYTHON = sys.executable

#: prints its arguments (without the program) as JSON: what the program really received
ARGV_SCRIPT = "import json, sys\nprint(json.dumps(sys.argv[1:]))\n"

#: starts a sleeping child, writes its own and the child's pid, then sleeps itself
SPAWN_SCRIPT = textwrap.dedent("""\
    import subprocess, sys, time
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    with open(sys.argv[1] + ".tmp", "w") as f:
        f.write(f"{child.pid} {__import__('os').getpid()}")
    __import__('os').replace(sys.argv[1] + ".tmp", sys.argv[1])
    print("started", flush=True)
    time.sleep(60)
""")


def tools_from(text: str, base: Path | None = None) -> list[ToolDef]:
    return tools_from_config(tomllib.loads(textwrap.dedent(text)), origin="test.toml",
                             base_dir=base)


def tool_named(text: str, name: str, base: Path | None = None) -> ToolDef:
    return {tool.name: tool for tool in tools_from(text, base)}[name]


def runner_for(tools: list[ToolDef], **options: Any) -> ToolRunner:
    options.setdefault("policy", AllowPolicy(all=True))
    return ToolRunner(tools, **options)


def call(name: str, call_id: str = "call-1", **args: Any) -> FunctionCall:
    return FunctionCall(name=name, args=args, id=call_id)


def write_script(folder: Path, name: str, source: str) -> Path:
    path = folder / name
    path.write_text(source, encoding="utf-8")
    return path


def toml_str(value: object) -> str:
    """A Python str/Path as a TOML basic string (backslashes and quotes escaped)."""
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def alive(pid: int) -> bool:
    """Is `pid` a running process (a zombie nobody reaped counts as gone)?"""
    if not Path("/proc").is_dir():
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state != "Z"


def read_if_there(path: Path) -> str | None:
    return path.read_text() if path.exists() else None


def names_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


async def wait_for_file(path: Path, limit_s: float = 10.0) -> str:
    deadline = time.monotonic() + limit_s
    while (text := read_if_there(path)) is None:
        assert time.monotonic() < deadline, f"{path} never appeared"
        await asyncio.sleep(0.02)
    return text


async def wait_gone(pid: int, limit_s: float = 5.0) -> bool:
    deadline = time.monotonic() + limit_s
    while alive(pid):
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.02)
    return True
