"""Starting and stopping the local Live server (`voicecli serve`, and the embedded local engine)."""

from __future__ import annotations

import asyncio
import functools
import logging
import re
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.http11 import Request, Response
from websockets.typing import Origin

from voicecli.errors import ConfigError
from voicecli.server.engines.interface import Engine
from voicecli.server.session.handles import HandleStore
from voicecli.server.session.speech_io import check_speech, run_in, warm_up
from voicecli.server.transport.assembly import find_brain, loaded_parts, make_engine
from voicecli.server.transport.config import ServerConfig
from voicecli.server.transport.connection import BUSY, Connection, Shared
from voicecli.server.transport.front import FrontConnection
from voicecli.server.transport.rest import HttpReply, HttpRequest
from voicecli.server.transport.rest import error as rest_error
from voicecli.server.transport.rest import handle as handle_rest
from voicecli.server.transport.routing import parse_route, safe_path
from voicecli.speech.whisper import BUNDLED

log = logging.getLogger("voicecli.server")

_warmed = False


class _QuietLogger(logging.LoggerAdapter):
    """websockets' own messages (handshake failures, …) at debug level: never a traceback on
    the user's terminal. Its wire traces ("< GET /…?key=…", "< x-goog-api-key: …") are dropped:
    they carry credentials."""

    def log(self, level: int, msg: object, *args: Any, **kwargs: Any) -> None:
        if isinstance(msg, str) and msg[:2] in ("< ", "> ", "= ", "! ", "% ", "x ", "- "):
            return
        kwargs.pop("exc_info", None)
        kwargs.pop("stack_info", None)
        super().log(logging.DEBUG, msg, *args, **kwargs)


class RunningServer:
    """A started server. Use `await close()` or `async with` to stop it."""

    def __init__(self, server: Server, shared: Shared, config: ServerConfig) -> None:
        self._server = server
        self.shared = shared
        self.config = config
        self.port: int = server.sockets[0].getsockname()[1] if server.sockets else config.port
        host = config.host if config.host not in ("", "0.0.0.0", "::") else "127.0.0.1"
        self.host = f"[{host}]" if ":" in host else host
        scheme = "wss" if config.tls is not None else "ws"
        self.url = f"{scheme}://{self.host}:{self.port}"

    @property
    def sessions_active(self) -> int:
        return self.shared.active

    @property
    def store(self) -> HandleStore:
        return self.shared.store

    @property
    def engine(self) -> Engine:
        return self.shared.engine

    def describe(self) -> str:
        return self.config.describe()

    def loaded(self) -> list[tuple[str, str]]:
        """(part, what it is): VAD, recogniser, brain, voice."""
        return loaded_parts(self.config, self.shared.engine)

    async def close(self) -> None:
        """Stop accepting, close open sessions (1001 going away), wait for them to end."""
        self._server.close()
        await self._server.wait_closed()

    async def __aenter__(self) -> RunningServer:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


async def start_server(config: ServerConfig, engine: Engine | None = None) -> RunningServer:
    """Listen on `config.host:config.port` (port 0 = any free port) and return at once.

    A missing speech package is one ConfigError now rather than a failure in every session, and
    so is a Whisper model other than the bundled one that cannot be loaded (it is loaded first).
    The bundled models load in the background.
    """
    check_speech(config)
    if config.asr == "whisper" and config.asr_model not in (None, "", BUNDLED):
        from voicecli.speech.asr_process import probe

        await run_in("asr", probe, config.asr, config.asr_model)
    if engine is None:
        await find_brain(config)
    shared = Shared(config, HandleStore(config.handle_ttl_s), engine or make_engine(config))

    async def handler(ws: ServerConnection) -> None:
        await Connection(ws, shared).run()

    def process_request(connection: ServerConnection, request: Request) -> Response | None:
        return _check_request(connection, request, shared)

    def rest(request: HttpRequest) -> HttpReply:  # §1.5 auth_tokens, on the same port
        if not origin_allowed(request.headers.get("origin"), config.allowed_origins):
            return rest_error(403, FOREIGN_ORIGIN)
        return handle_rest(request, require_key=config.require_key, tokens=shared.tokens)

    try:
        server = await serve(
            handler,
            config.host,
            config.port,
            process_request=process_request,
            create_connection=functools.partial(FrontConnection, rest=rest),  # type: ignore[arg-type]
            origins=_origins(config.allowed_origins),  # a web page's socket: HTTP 403
            open_timeout=config.setup_timeout_s,  # an unfinished HTTP request is dropped
            max_size=config.max_frame_bytes,  # bigger frames: close 1009
            max_queue=32,
            compression=None,
            close_timeout=5,
            backlog=BACKLOG,  # a burst of connections waits in the kernel, not in SYN retries
            logger=_QuietLogger(log, {}),
            server_header="voicecli",
            ssl=config.tls.server_context() if config.tls is not None else None,
        )
    except OSError as exc:  # in use, not an address of this machine, not allowed
        raise ConfigError(
            f"cannot listen on {config.host}:{config.port}: {exc.strerror or exc}") from None
    running = RunningServer(server, shared, config)
    log.debug("listening on %s (%s)", running.url, config.describe())
    _warm_up(config)
    return running


#: Connections the kernel queues before accept (asyncio's default is 100): beyond it a client's
#: SYN is dropped and retried after 1, 3, 7 s, so a flood would delay good clients by seconds.
BACKLOG = 1024

FOREIGN_ORIGIN = ("Requests from web pages are refused: this Origin is not allowed "
                  "(voicecli serve --allow-origin ORIGIN).")


def origin_allowed(origin: str | None, allowed: tuple[str, ...]) -> bool:
    """No `Origin` (a program, not a browser) is always fine; a web page's only when allowed."""
    return origin is None or "*" in allowed or origin in allowed


def _origins(allowed: tuple[str, ...]) -> list[Origin | re.Pattern[str] | None] | None:
    """websockets' `origins`: None = no check ("*"), else no header or one of `allowed`."""
    return None if "*" in allowed else [None, *map(Origin, allowed)]


def _check_request(
    connection: ServerConnection, request: Request, shared: Shared
) -> Response | None:
    """HTTP-level refusals: 404 for anything but a Live path (§11), 503 when too many sockets
    are still waiting for their setup (the session cap itself is a close frame, connection.py)."""
    if parse_route(request.path) is None:
        log.debug("404 for %s", safe_path(request.path))
        return _respond(connection, 404, "Not Found")
    if shared.pending >= shared.config.max_pending:
        log.debug("503: %d sockets waiting for their setup", shared.pending)
        return _respond(connection, 503, BUSY)
    return None


def _respond(connection: ServerConnection, status: int, text: str) -> Response:
    response = connection.respond(status, text + "\n")
    response.headers = Headers(
        [(k, v) for k, v in response.headers.raw_items() if k.lower() != "server"]
    )
    return response


def _warm_up(config: ServerConfig) -> None:
    """Load the speech models in the background, once per process."""
    global _warmed
    if _warmed:
        return
    _warmed = True

    async def warm() -> None:
        try:
            await run_in("asr", warm_up, config.asr, config.asr_model, config.tts)
        except Exception:  # noqa: BLE001 - the first session will report a real failure
            log.debug("speech warm-up failed", exc_info=True)

    task = asyncio.get_running_loop().create_task(warm())
    _background.add(task)
    task.add_done_callback(_background.discard)


_background: set[asyncio.Task[None]] = set()


async def serve_forever(
    config: ServerConfig, on_ready: Callable[[RunningServer], Awaitable[None]] | None = None
) -> None:
    """Run until cancelled (Ctrl-C in `voicecli serve`)."""
    server = await start_server(config)
    try:
        if on_ready is not None:
            await on_ready(server)
        await asyncio.Event().wait()
    finally:
        await server.close()
