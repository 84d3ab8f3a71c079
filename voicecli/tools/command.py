"""Command tools: an argv template filled from the model's arguments and run without a shell.

Why no shell: the arguments come from the model, which repeats whatever it heard or read. Each
template element becomes exactly one argv string, so ``; rm -rf x``, ``$(…)``, backticks, pipes,
redirections, newlines and globs reach the program as plain text and nothing else runs.

Template rules (``command = ["git", "log", "-n", "{count}"]``):

* ``{name}`` is replaced by the argument's text inside its element; ``{{`` / ``}}`` are literal
  braces. The program (first element) takes no placeholder: the model never picks what runs.
* An element that mentions an absent optional argument is dropped whole (``"{path}"`` or
  ``"--since={since}"`` vanish when the model leaves that argument out).
* An element that mentions an array argument is repeated once per item: ``"{files}"`` gives one
  element per file, ``"--tag={tags}"`` gives ``--tag=a --tag=b``; an empty array drops it. At most
  one array placeholder per element.
* Strings are used as they are, integers and numbers as decimals, booleans as ``true``/``false``.
* A string that fills a whole element may not start with ``-``: the program would read it as an
  option (``rg --pre=sh`` runs a program). Put a literal ``"--"`` element before it, or set
  ``allow_dash = true`` on the parameter, to accept such values.

Running: ``asyncio.create_subprocess_exec`` with stdin from /dev/null, stdout and stderr piped
and capped (the rest is drained and counted, the text marked as truncated), in a new session
(its own process group, no controlling terminal). A timeout or a cancellation kills the whole
group; so does a normal exit of the program (seen by polling its return code, as ``wait()``
also waits for the pipes), so a background child cannot outlive the tool or hold its pipes
open. On Windows only the program itself is killed. The environment is an allow list
(environment.py: PATH, HOME, LANG, LC_*, TZ, TMPDIR, …) plus what the tool declares in ``env``:
no key or token of voicecli's, nor anything else the user exported, reaches the program.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import os
import re
import signal
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from voicecli.tools.environment import subprocess_env
from voicecli.tools.spec import ArgumentError, Param, Response

DEFAULT_TIMEOUT_S = 30.0
DEFAULT_MAX_OUTPUT = 16_000
_TOKEN = re.compile(r"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*)\}|[{}]|[^{}]+")
_CHUNK = 65_536
_POLL_S = 0.02
_REAP_S = 2.0

#: one argv element: ("text", literal) and ("arg", parameter name) segments
Element = tuple[tuple[str, str], ...]


def parse_template(argv: list[str], params: dict[str, Param]) -> tuple[Element, ...]:
    """The template checked against the parameters; a ValueError says what is wrong."""
    if not argv:
        raise ValueError("must name a program")
    elements = tuple(_parse_element(text, params) for text in argv)
    if _names(elements[0]):
        raise ValueError("the program (first element) must not contain a placeholder")
    for element in elements:
        if len([n for n in _names(element) if params[n].type == "array"]) > 1:
            raise ValueError("an element may hold at most one array placeholder")
    unused = sorted(set(params) - {n for e in elements for n in _names(e)})
    if unused:
        raise ValueError(f"parameter(s) {', '.join(unused)} not used in the command")
    return elements


def _parse_element(text: str, params: dict[str, Param]) -> Element:
    segments: list[tuple[str, str]] = []
    for match in _TOKEN.finditer(text):
        token, name = match.group(0), match.group(1)
        if name is not None:
            if name not in params:
                raise ValueError(f"{{{name}}} is not a declared parameter")
            segments.append(("arg", name))
        elif token in ("{", "}"):
            raise ValueError(f"unmatched {token!r} in {text!r} (write {token * 2} for a brace)")
        else:
            segments.append(("text", token[0] if token in ("{{", "}}") else token))
    return tuple(segments)


def _names(element: Element) -> list[str]:
    return [value for kind, value in element if kind == "arg"]


def fill_argv(
    elements: tuple[Element, ...], params: dict[str, Param], args: dict[str, Any]
) -> list[str]:
    """The argv for validated `args` (see the module docstring for the rules)."""
    literal_dashes = [i for i, e in enumerate(elements) if e == (("text", "--"),)]
    guard_until = literal_dashes[0] if literal_dashes else len(elements)
    argv: list[str] = []
    for index, element in enumerate(elements):
        argv.extend(_fill_element(element, params, args, guarded=index > guard_until))
    return argv


def _fill_element(
    element: Element, params: dict[str, Param], args: dict[str, Any], guarded: bool
) -> list[str]:
    names = _names(element)
    if any(name not in args for name in names):
        return []
    array = next((n for n in names if params[n].type == "array"), None)
    if array is None:
        return [_render(element, params, args, guarded)]
    return [_render(element, params, {**args, array: item}, guarded) for item in args[array]]


def _render(element: Element, params: dict[str, Param], args: dict[str, Any], guarded: bool) -> str:
    if len(element) == 1 and element[0][0] == "arg":
        _refuse_option_like(params[element[0][1]], args[element[0][1]], guarded)
    return "".join(value if kind == "text" else _argv_text(args[value]) for kind, value in element)


def _refuse_option_like(param: Param, value: Any, guarded: bool) -> None:
    if isinstance(value, str) and value.startswith("-") and not (guarded or param.allow_dash):
        raise ArgumentError(
            f"{param.name} must not start with '-' (the program would read it as an option)"
        )


def _argv_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else repr(value)


@dataclass(frozen=True, slots=True, eq=False)
class CommandTool:
    """The executor of a command tool (a `ToolDef.execute`)."""

    elements: tuple[Element, ...]
    params: dict[str, Param]
    timeout: float = DEFAULT_TIMEOUT_S
    max_output: int = DEFAULT_MAX_OUTPUT
    cwd: Path | None = None
    env_passed: tuple[str, ...] = ()  # names passed on from voicecli's environment
    env_values: dict[str, str] = field(default_factory=dict)  # values set for the program

    def argv(self, args: dict[str, Any]) -> list[str]:
        return fill_argv(self.elements, self.params, args)

    async def __call__(self, args: dict[str, Any]) -> Response:
        argv = self.argv(args)
        try:
            process = await _spawn(argv, self.cwd, subprocess_env(self.env_passed,
                                                                  self.env_values))
        except OSError as exc:
            return {"error": f"cannot run {argv[0]}: {exc.strerror or exc}"}
        return await self._collect(process)

    async def _collect(self, process: asyncio.subprocess.Process) -> Response:
        stdout, stderr = _Capture(self.max_output), _Capture(self.max_output)
        try:
            async with asyncio.timeout(self.timeout):
                code = await _communicate(process, stdout, stderr)
        except TimeoutError:
            timed_out = f"timed out after {self.timeout:g} s; the command was killed"
            return _response({"error": timed_out}, stdout, stderr)
        finally:
            _kill_group(process)
            await _reap(process)
        return _response({"exit_code": code}, stdout, stderr)


def _response(head: Response, stdout: _Capture, stderr: _Capture) -> Response:
    """``{"output": …, "exit_code" | "error": …, "stderr": …}`` (stderr only when non-empty)."""
    response: Response = {"output": stdout.text(), **head}
    if stderr.total:
        response["stderr"] = stderr.text()
    return response


class _Capture:
    """The first `limit` bytes of a stream, and how many bytes it had in all."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.kept = bytearray()
        self.total = 0

    def feed(self, chunk: bytes) -> None:
        self.total += len(chunk)
        room = self.limit - len(self.kept)
        if room > 0:
            self.kept += chunk[:room]

    def text(self) -> str:
        truncated = self.total > len(self.kept)
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        text = decoder.decode(bytes(self.kept), final=not truncated)  # no half character
        if truncated:
            text += f"\n[truncated: {self.total} bytes in all, the first {len(self.kept)} kept]"
        return text


async def _spawn(
    argv: list[str], cwd: Path | None, env: dict[str, str]
) -> asyncio.subprocess.Process:
    group: dict[str, Any] = (
        {"start_new_session": True}
        if os.name == "posix"
        else {"creationflags": getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0)}
    )
    return await asyncio.create_subprocess_exec(
        *argv,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=cwd,
        env=env,
        **group,
    )


async def _communicate(process: asyncio.subprocess.Process, out: _Capture, err: _Capture) -> int:
    assert process.stdout is not None and process.stderr is not None
    async with asyncio.TaskGroup() as readers:
        readers.create_task(_read_into(process.stdout, out))
        readers.create_task(_read_into(process.stderr, err))
        code = await _exit_code(process)
        _kill_group(process)  # a background child would keep the pipes open
    return code


async def _exit_code(process: asyncio.subprocess.Process) -> int:
    """The exit code once the program exits (``wait()`` also waits for its pipes to close)."""
    while process.returncode is None:  # noqa: ASYNC110 - asyncio offers no other exit signal
        await asyncio.sleep(_POLL_S)
    return process.returncode


async def _reap(process: asyncio.subprocess.Process) -> None:
    """Wait for the killed group, bounded: a child that left the group may hold the pipes."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(_REAP_S):
            await process.wait()


async def _read_into(stream: asyncio.StreamReader, capture: _Capture) -> None:
    while chunk := await stream.read(_CHUNK):
        capture.feed(chunk)


def _kill_group(process: asyncio.subprocess.Process) -> None:
    """SIGKILL the tool's process group (its own session, so never ours)."""
    try:
        if os.name == "posix":
            os.killpg(process.pid, signal.SIGKILL)
        elif process.returncode is None:
            process.kill()
    except (ProcessLookupError, PermissionError):
        pass  # already gone (macOS answers EPERM for a group of zombies)
