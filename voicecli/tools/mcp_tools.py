"""MCP servers as tools the model can call (the ``[mcp]`` extra: the official ``mcp`` SDK 2.x).

What: `open_mcp_tools(servers, notify)` starts every configured server at once (a stdio
subprocess, or a streamable HTTP connection), lists each one's tools (``tools/list``) and yields
them as `ToolDef`s of kind ``mcp``; leaving the block stops every server. A call
(``toolCall``, §4.3) becomes ``tools/call`` with the server's timeout; the runner's
cancellation (``toolCallCancellation``, §4.4) cancels the request, and the SDK then sends
MCP's ``notifications/cancelled``; the result (text, structured content, ``isError``) becomes
the FunctionResponse's ``response`` (§3.4). Policy and confirm prompts are the runner's, as for
every tool: nothing runs unless allowed.

Names: Live function names are ``SERVER__TOOL`` with every character Live does not take
(§3.1.4: letters, digits, ``_ . : -``) replaced by ``_``, at most 64 characters (a long name is
cut and given a short hash), unique (``_2``, ``_3``… on a clash). Schemas: mcp_schema.py; a tool
whose schema cannot be converted is skipped, and each server gets at most one line about it.

Failures never end the session. A server that does not start (no such program, it exits, it
does not answer within ``start_timeout``) is one line on stderr, and the session goes on without
its tools. A server that dies mid-session, or does not answer a call within ``timeout``, makes
that call (and, when it died, every later call to it) an ``{"error": ...}`` for the model, and
one line for the user. A server's stderr goes to a temporary file (it would garble the talk
screen); its last line explains a failure.

Environment: a stdio server gets only `environment.BASE_VARS` and ``LC_*`` of voicecli's own,
plus the ``env`` of its configuration: no ``VOICECLI_*`` / ``GEMINI_*`` / ``GOOGLE_*`` key or
token reaches it unless the user puts it in ``env`` on purpose. (The SDK adds ``LOGNAME``.)
Processes: the SDK starts each server in its own session/process group and, on stop, closes its
stdin, waits 2 s, then SIGTERMs and SIGKILLs the whole group. A server that exits politely
leaves that group behind with whatever children it started; voicecli then SIGKILLs what is
left of the group (POSIX), so no process of a server outlives the session.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import hashlib
import logging
import os
import re
import signal
import tempfile
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import IO, Any

from voicecli.errors import ConfigError
from voicecli.tools.environment import subprocess_env
from voicecli.tools.mcp_config import McpServerSpec
from voicecli.tools.mcp_schema import UnsupportedSchema, live_parameters
from voicecli.tools.spec import TOOL_NAME, ArgumentError, Response, ToolDef

log = logging.getLogger("voicecli.tools")

MAX_NAME = 64
MAX_TEXT = 16_000  # characters of a result's text kept for the model
_INVALID = re.compile(r"[^A-Za-z0-9_.:-]")
_STDERR_TAIL = 4096

Notify = Callable[[str], None]


def server_environment(
    spec: McpServerSpec, environ: Mapping[str, str] = os.environ
) -> dict[str, str]:
    """A stdio server's environment: the allow-list every child gets (tools/environment.py),
    then its configured ``env`` as given (what the user put there is passed on purpose)."""
    env = subprocess_env(environ=environ)
    env.update(dict(spec.env))
    return env


def tool_prefix(server: str) -> str:
    """The start of the Live names of `server`'s tools: ``SERVER__``."""
    return _valid_name(server) + "__"


def live_name(server: str, tool: str, taken: set[str]) -> str:
    """``server__tool`` made valid for Live (§3.1.4) and unique among `taken` (added to it)."""
    name = _valid_name(f"{tool_prefix(server)}{tool}")
    if len(name) > MAX_NAME:
        digest = hashlib.sha1(f"{server}\0{tool}".encode()).hexdigest()[:8]
        name = f"{name[:MAX_NAME - 9]}_{digest}"
    unique, n = name, 1
    while unique in taken:
        n += 1
        unique = f"{name[:MAX_NAME - len(str(n)) - 1]}_{n}"
    taken.add(unique)
    return unique


def _valid_name(text: str) -> str:
    name = _INVALID.sub("_", text) or "_"
    return name if TOOL_NAME.fullmatch(name[:MAX_NAME]) else "_" + name


class McpUnavailable(ConfigError):
    """``--mcp-config`` or ``[mcp]`` is used but the ``mcp`` SDK is not installed."""


def _require_sdk() -> None:
    try:
        import mcp  # noqa: F401
    except ImportError:
        raise McpUnavailable(
            "MCP servers need the mcp extra: pip install 'voicecli[mcp]'"
        ) from None


def _quiet_sdk_logs() -> None:
    """The SDK logs a server's failures itself, tracebacks included; voicecli says them in one
    line each, so its logs are shown with --debug only."""
    if not logging.getLogger().isEnabledFor(logging.DEBUG):
        logging.getLogger("mcp").setLevel(logging.CRITICAL + 1)


@dataclass
class McpTools:
    """The started servers' tools, and why the others are not available."""

    tools: list[ToolDef] = field(default_factory=list)
    started: list[str] = field(default_factory=list)  # server names
    failed: dict[str, str] = field(default_factory=dict)  # server name → why
    #: (tool, server, why) of the tools Live cannot declare (mcp_schema.py)
    skipped: list[tuple[str, str, str]] = field(default_factory=list)


@contextlib.asynccontextmanager
async def open_mcp_tools(
    servers: Iterable[McpServerSpec], notify: Notify | None = None,
    reserved: Iterable[str] = (),
) -> AsyncIterator[McpTools]:
    """Start `servers`, yield their tools, stop them all on the way out (see the docstring)."""
    specs = list(servers)
    if not specs:
        yield McpTools()
        return
    _require_sdk()
    _quiet_sdk_logs()
    say = notify or (lambda line: log.warning("%s", line))
    connections = [McpServer(spec, say) for spec in specs]
    try:
        outcomes = await asyncio.gather(*(c.start() for c in connections),
                                        return_exceptions=True)
        found = McpTools()
        taken: set[str] = set(reserved)  # names of the other tools: never reused
        for connection, outcome in zip(connections, outcomes, strict=True):
            if isinstance(outcome, BaseException):
                found.failed[connection.spec.name] = _reason(outcome)
                say(f"voicecli: MCP server {connection.spec.name!r} did not start "
                    f"({found.failed[connection.spec.name]}); going on without its tools")
                continue
            found.started.append(connection.spec.name)
            found.tools.extend(connection.tool_defs(taken, found.skipped))
        yield found
    finally:
        await asyncio.gather(*(c.stop() for c in connections), return_exceptions=True)


class McpServer:
    """One server's connection, owned by a task of its own (the SDK's contexts must be entered
    and left in one task); calls are made from the runner's tasks."""

    def __init__(self, spec: McpServerSpec, notify: Notify) -> None:
        self.spec = spec
        self._notify = notify
        self._session: Any = None
        self._listed: list[Any] = []
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._ready: asyncio.Future[None] | None = None
        self._stderr: IO[str] | None = None
        self.failure: str | None = None  # set when the server stopped answering for good

    async def start(self) -> None:
        """Connect, initialize and list the tools within ``start_timeout``; raise why not."""
        ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        ready.add_done_callback(lambda f: f.cancelled() or f.exception())  # always retrieved
        self._ready = ready
        self._task = asyncio.create_task(self._own(ready), name=f"mcp-{self.spec.name}")
        try:
            async with asyncio.timeout(self.spec.start_timeout):
                await asyncio.shield(ready)
        except TimeoutError:
            raise TimeoutError(f"no answer within {self.spec.start_timeout:g} s") from None
        except BaseException as exc:
            raise _StartFailed(self._explained(exc)) from None

    async def stop(self) -> None:
        """Leave the SDK's contexts (stdio: stdin closed, then the process group killed)."""
        self._stop.set()
        if self._task is not None and self._ready is not None and not self._ready.done():
            self._task.cancel()  # still starting: nothing to wind down politely
        if self._task is not None and not self._task.done():
            try:
                async with asyncio.timeout(10):
                    await asyncio.shield(self._task)
            except (TimeoutError, asyncio.CancelledError):
                self._task.cancel()
                with contextlib.suppress(BaseException):
                    await self._task
        if self._stderr is not None:
            self._stderr.close()

    async def _own(self, ready: asyncio.Future[None]) -> None:
        from mcp import ClientSession
        from mcp.types import Implementation

        from voicecli import __version__

        spawned: list[int] = []
        _SPAWNED.set(spawned)  # this task's context: the pids of the processes it starts
        try:
            async with contextlib.AsyncExitStack() as stack:
                stack.callback(_kill_groups, spawned)  # after the SDK's own shutdown
                read, write = await stack.enter_async_context(self._transport())
                session = await stack.enter_async_context(ClientSession(
                    read, write, client_info=Implementation(name="voicecli", version=__version__)))
                await session.initialize()
                self._listed = await _all_tools(session)
                self._session = session
                ready.set_result(None)
                await self._stop.wait()
        except BaseException as exc:  # noqa: BLE001 - whatever it was, the caller is told
            if not ready.done():
                ready.set_exception(exc if isinstance(exc, Exception) else _StartFailed("stopped"))
            elif not self._stop.is_set():
                log.debug("MCP server %s: its connection ended", self.spec.name, exc_info=True)
            if isinstance(exc, asyncio.CancelledError):
                raise

    def _transport(self) -> contextlib.AbstractAsyncContextManager[Any]:
        if self.spec.command is not None:
            from mcp import StdioServerParameters, stdio_client

            _record_spawns()
            self._stderr = tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace")
            params = StdioServerParameters(
                command=self.spec.command, args=list(self.spec.args),
                env=server_environment(self.spec), cwd=self.spec.cwd)
            return stdio_client(params, errlog=self._stderr)
        return _http_transport(self.spec)

    def tool_defs(self, taken: set[str], skips: list[tuple[str, str, str]]) -> list[ToolDef]:
        """The listed tools as ToolDefs; the ones Live cannot take are added to `skips` and
        said in one line."""
        tools: list[ToolDef] = []
        skipped: list[str] = []
        for listed in self._listed:
            try:
                schema = live_parameters(listed.input_schema)
            except UnsupportedSchema as exc:
                skipped.append(f"{listed.name} ({exc})")
                skips.append((listed.name, self.spec.name, str(exc)))
                continue
            name = live_name(self.spec.name, listed.name, taken)
            call = McpCall(self, listed.name, listed.input_schema)
            description = listed.description or listed.title or (
                f"{listed.name} (a tool of the MCP server {self.spec.name})")
            tools.append(ToolDef(
                name, description, (), call, "mcp", confirm=self.spec.confirm,
                preflight=call.check, json_schema=schema,
                source=f"MCP server {self.spec.name} ({self.spec.transport})"))
        if skipped:
            self._notify(f"voicecli: MCP server {self.spec.name!r}: skipped {len(skipped)} "
                         f"tool(s) Live cannot declare: {'; '.join(skipped)}")
        return tools

    async def call(self, tool: str, args: dict[str, Any]) -> Response:
        """``tools/call``; every failure is an ``{"error": ...}`` for the model."""
        from mcp import MCPError
        from mcp.types import CONNECTION_CLOSED, REQUEST_TIMEOUT

        if self.failure is not None or self._session is None:
            return {"error": f"the MCP server {self.spec.name!r} is not running "
                             f"({self.failure or 'it did not start'})"}
        try:
            result = await self._session.call_tool(
                tool, args, read_timeout_seconds=self.spec.timeout)
        except MCPError as exc:
            if exc.code == REQUEST_TIMEOUT:
                self._notify(f"voicecli: MCP server {self.spec.name!r} did not answer {tool} "
                             f"within {self.spec.timeout:g} s; the call was cancelled")
                return {"error": f"the MCP server {self.spec.name!r} did not answer within "
                                 f"{self.spec.timeout:g} s; the call was cancelled"}
            if exc.code == CONNECTION_CLOSED:
                return self._died()
            return {"error": f"the MCP server {self.spec.name!r} refused the call: {exc.message}"}
        except Exception as exc:  # a transport failure or a result the SDK refuses
            if self._session_closed():
                return self._died()
            log.debug("MCP call %s failed", tool, exc_info=True)
            return {"error": f"the MCP call failed: {_reason(exc)}"}
        return result_response(result)

    def _session_closed(self) -> bool:
        return self._task is None or self._task.done()

    def _died(self) -> Response:
        if self.failure is None:
            lost = "it exited" if self.spec.transport == "stdio" else "the connection was lost"
            self.failure = self._explained(None, lost)
            self._notify(f"voicecli: MCP server {self.spec.name!r} stopped ({self.failure}); "
                         "its tools now answer with an error")
        return {"error": f"the MCP server {self.spec.name!r} is not running ({self.failure})"}

    def _explained(self, exc: BaseException | None, default: str = "") -> str:
        """Why it failed: the exception, and the last line the server wrote on stderr."""
        reason = _reason(exc) if exc is not None else default
        last = self._stderr_tail()
        return f"{reason}: {last}" if last and last not in reason else reason

    def _stderr_tail(self) -> str:
        if self._stderr is None or self._stderr.closed:
            return ""
        try:
            self._stderr.flush()
            size = self._stderr.seek(0, os.SEEK_END)
            self._stderr.seek(max(0, size - _STDERR_TAIL))
            lines = [line.strip() for line in self._stderr.read().splitlines() if line.strip()]
        except (OSError, ValueError):
            return ""
        return lines[-1][:300] if lines else ""


_SPAWNED: contextvars.ContextVar[list[int]] = contextvars.ContextVar("mcp_spawned")


def _record_spawns() -> None:
    """Have the SDK's stdio transport report each server's pid to `_SPAWNED` (once; the SDK
    keeps the process to itself). Without that private hook (another SDK version) the SDK's
    own kill on stop is all there is."""
    import mcp.client.stdio as sdk_stdio

    spawn = getattr(sdk_stdio, "_create_platform_compatible_process", None)
    if spawn is None or getattr(spawn, "voicecli_records", False):
        return

    async def recorded(*args: Any, **kwargs: Any) -> Any:
        process = await spawn(*args, **kwargs)
        pids = _SPAWNED.get(None)
        if pids is not None and getattr(process, "pid", None):
            pids.append(process.pid)
        return process

    recorded.voicecli_records = True  # type: ignore[attr-defined]
    sdk_stdio._create_platform_compatible_process = recorded


def _kill_groups(pids: list[int]) -> None:
    """SIGKILL what is left of each server's process group (its own session, never ours)."""
    if os.name != "posix":
        return
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            if pid != os.getpgid(0):
                os.killpg(pid, signal.SIGKILL)


class _StartFailed(Exception):
    """A server that did not start, with the reason in one line."""


@dataclass(frozen=True, eq=False)
class McpCall:
    """The executor of one MCP tool (a `ToolDef.execute`) and its argument check."""

    server: McpServer
    name: str  # the server's own name for the tool
    input_schema: dict[str, Any]

    async def __call__(self, args: dict[str, Any]) -> Response:
        return await self.server.call(self.name, args)

    def check(self, args: dict[str, Any]) -> None:
        """The model's arguments against the tool's own JSON Schema (an ArgumentError)."""
        validator = _validator(self.input_schema)
        if validator is None:
            return
        from jsonschema.exceptions import best_match

        error = best_match(validator.iter_errors(args))
        if error is not None:
            where = "/".join(str(p) for p in error.absolute_path)
            raise ArgumentError(f"{where}: {error.message}" if where else error.message)


def _validator(schema: dict[str, Any]) -> Any:
    try:
        from jsonschema import validators
        from jsonschema.exceptions import SchemaError
    except ImportError:  # pragma: no cover - jsonschema comes with mcp
        return None
    cls = validators.validator_for(schema)
    try:
        cls.check_schema(schema)
    except SchemaError:
        return None  # the server's schema is broken: let the server judge the arguments
    return cls(schema)


def result_response(result: Any) -> Response:
    """A CallToolResult as a FunctionResponse ``response``: ``{"error": …}`` for isError;
    the structured content when there is some (the text repeats it, by the MCP spec); else
    ``{"output": text}`` (images, audio and resources described in the text)."""
    text = _content_text(getattr(result, "content", None) or [])
    if getattr(result, "is_error", False):
        return {"error": text or "the tool reported an error"}
    structured = getattr(result, "structured_content", None)
    if isinstance(structured, dict):
        return dict(structured)
    return {"output": text}


def _content_text(blocks: list[Any]) -> str:
    parts = [_block_text(block) for block in blocks]
    text = "\n".join(p for p in parts if p)
    if len(text) > MAX_TEXT:
        text = text[:MAX_TEXT] + f"\n[truncated: {len(text)} characters in all]"
    return text


def _block_text(block: Any) -> str:
    kind = getattr(block, "type", "")
    if kind == "text":
        return str(getattr(block, "text", ""))
    if kind in ("image", "audio"):
        size = len(getattr(block, "data", "") or "") * 3 // 4
        return f"[{kind}: {getattr(block, 'mime_type', '?')}, about {size} bytes]"
    if kind == "resource_link":
        return f"[resource: {getattr(block, 'uri', '')}]"
    if kind == "resource":
        inner = getattr(block, "resource", None)
        text = getattr(inner, "text", None)
        return str(text) if text is not None else f"[resource: {getattr(inner, 'uri', '')}]"
    return ""


async def _all_tools(session: Any) -> list[Any]:
    """Every page of ``tools/list``."""
    from mcp.types import PaginatedRequestParams

    listed, cursor = [], None
    for _ in range(100):  # a server that pages forever is cut off
        page = await session.list_tools(
            params=PaginatedRequestParams(cursor=cursor) if cursor else None)
        listed.extend(page.tools)
        cursor = page.next_cursor
        if not cursor:
            break
    return listed


@contextlib.asynccontextmanager
async def _http_transport(spec: McpServerSpec) -> AsyncIterator[Any]:
    from mcp.client.streamable_http import streamable_http_client
    from mcp.shared._httpx_utils import create_mcp_http_client

    async with create_mcp_http_client(headers=dict(spec.headers) or None) as client:
        async with streamable_http_client(spec.url or "", http_client=client) as streams:
            yield streams


def _reason(exc: BaseException) -> str:
    """One line for an exception (an exception group: its first leaf)."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    if isinstance(exc, FileNotFoundError):
        return f"no such program: {exc.filename or exc}"
    if isinstance(exc, PermissionError):
        return f"cannot run {exc.filename or 'it'}: permission denied"
    text = " ".join(str(exc).split())
    name = type(exc).__name__
    if name == "MCPError" and text.startswith("Connection closed"):
        return "it exited"
    if not text:
        return name
    return text if isinstance(exc, _StartFailed | TimeoutError) else f"{name}: {text}"[:300]


def with_sources(tools: Iterable[ToolDef], source: str) -> list[ToolDef]:
    """`tools` with `source` set where it is empty."""
    return [tool if tool.source else replace(tool, source=source) for tool in tools]
