"""A minimal asyncio HTTP/1.1 client for OpenAI-compatible endpoints (standard library only).

The brain engine (`brain.py`) needs exactly two requests: `POST …/chat/completions` read as a
stream of Server-Sent Events, and `GET …/models`. Both fit in one small client built on
`asyncio.open_connection`, so the server gains no dependency. What it handles: `http://` and
`https://`, a base URL with a path prefix (`http://127.0.0.1:11434/v1`), chunked,
Content-Length and close-delimited bodies, connect and read (idle) timeouts, and non-2xx
statuses (`HttpError` with the status and a short excerpt of the server's error message).

One request per connection (`Connection: close`): nothing is pooled, so closing the stream
generator — `aclose()` on barge-in, or cancelling the task that iterates it — aborts the socket
at once and the endpoint stops generating.

The API key travels only in the `Authorization` header. It never appears in an exception, a log
line or a repr: error excerpts quoted from the server are scrubbed of it too.
"""

from __future__ import annotations

import asyncio
import json
import socket
import ssl
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from voicecli import __version__
from voicecli.errors import ConfigError, NetworkError
from voicecli.numbers import is_digits

MAX_HEAD_BYTES = 64 * 1024
MAX_ERROR_BODY_BYTES = 64 * 1024
MAX_JSON_BODY_BYTES = 8 * 1024 * 1024
EXCERPT_CHARS = 160
READ_SIZE = 64 * 1024


class HttpError(NetworkError):
    """A request failed: no connection, a timeout, a broken response, or a non-2xx `status`."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class BaseUrl:
    """Where the API lives: scheme, host, port and path prefix (no credentials, no query)."""

    scheme: str
    host: str
    port: int
    prefix: str

    @classmethod
    def parse(cls, url: str) -> BaseUrl:
        """`http://host:port/v1` → BaseUrl; raises `ConfigError` for anything else."""
        try:
            parts = urlsplit(url.strip())
            port = parts.port
        except ValueError:
            raise ConfigError("the language model URL is not a valid URL") from None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(
                "the language model URL must start with http:// or https:// and name a host "
                "(e.g. http://127.0.0.1:11434/v1)"
            )
        default = 443 if parts.scheme == "https" else 80
        prefix = quote(unquote(parts.path.rstrip("/")), safe="/:@!$&'()*+,;=-._~")
        return cls(parts.scheme, parts.hostname, port or default, prefix)

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return host if self.port == default else f"{host}:{self.port}"

    def __str__(self) -> str:
        return f"{self.scheme}://{self.host_header}{self.prefix}"


@dataclass(frozen=True)
class Timeouts:
    connect_s: float
    read_s: float  # the longest wait for the next bytes of a response


@dataclass
class Head:
    """A response's status line and headers (names lowercased)."""

    status: int
    reason: str
    headers: dict[str, str]

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip().lower()


async def stream_events(
    base: BaseUrl,
    path: str,
    body: dict[str, Any],
    *,
    api_key: str | None,
    timeouts: Timeouts,
    ssl_context: ssl.SSLContext | None = None,
) -> AsyncGenerator[str, None]:
    """POST `body` as JSON to `base` + `path`; yield each SSE `data:` payload as it arrives.

    A 2xx response that is not `text/event-stream` (a server ignoring `"stream": true`) is
    yielded whole, as one payload. Raises `HttpError`; closing the generator aborts the socket.
    """
    payload = json.dumps(body, ensure_ascii=False).encode()
    request = _request_bytes("POST", base, path, api_key, payload, "text/event-stream")
    connection = await _Connection.open(base, timeouts, ssl_context)
    try:
        head = await connection.exchange(request)
        await _raise_for_status(connection, head, api_key)
        reader = BodyReader(connection, head)
        if head.content_type != "text/event-stream":
            yield (await reader.read_all(MAX_JSON_BODY_BYTES)).decode("utf-8", "replace")
            return
        decoder = SseDecoder()
        while data := await reader.read():
            for event in decoder.feed(data):
                yield event
        for event in decoder.flush():
            yield event
    finally:
        connection.abort()


async def get_json(
    base: BaseUrl,
    path: str,
    *,
    api_key: str | None,
    timeouts: Timeouts,
    ssl_context: ssl.SSLContext | None = None,
) -> Any:
    """GET `base` + `path` and decode the JSON body. Raises `HttpError`."""
    request = _request_bytes("GET", base, path, api_key, None, "application/json")
    connection = await _Connection.open(base, timeouts, ssl_context)
    try:
        head = await connection.exchange(request)
        await _raise_for_status(connection, head, api_key)
        body = await BodyReader(connection, head).read_all(MAX_JSON_BODY_BYTES)
    finally:
        connection.abort()
    try:
        return json.loads(body)
    except ValueError:
        raise HttpError(f"HTTP {head.status}: the response is not JSON", head.status) from None


class SseDecoder:
    """Server-Sent-Events bytes in, `data:` payloads out (multi-line data joined by \\n).

    Sans-I/O. Comments (`: keep-alive`) and other fields (`event:`, `id:`, `retry:`) are
    skipped; lines may end in LF or CRLF and be split anywhere between `feed` calls.
    """

    def __init__(self) -> None:
        self._pending = b""
        self._data: list[str] = []

    def feed(self, chunk: bytes) -> list[str]:
        *lines, self._pending = (self._pending + chunk).split(b"\n")
        return [event for raw in lines if (event := self._line(raw)) is not None]

    def flush(self) -> list[str]:
        """At the end of the body: an event cut before its final blank line, if any."""
        last, self._pending = self._pending, b""
        events = [self._line(last)] if last.strip() else []
        events.append(self._line(b""))
        return [event for event in events if event is not None]

    def _line(self, raw: bytes) -> str | None:
        line = raw.rstrip(b"\r").decode("utf-8", "replace")
        if not line:
            event = "\n".join(self._data) if self._data else None
            self._data = []
            return event
        name, _, value = line.partition(":")
        if name == "data":
            self._data.append(value.removeprefix(" "))
        return None


class BodyReader:
    """A response body's bytes as they arrive: chunked, Content-Length, or until the close."""

    def __init__(self, connection: _Connection, head: Head) -> None:
        self._connection = connection
        self._chunked = "chunked" in head.headers.get("transfer-encoding", "").lower()
        length = head.headers.get("content-length", "").strip()
        self._remaining: int | None = None  # None: until the server closes
        if not self._chunked and is_digits(length):
            self._remaining = int(length)
        self._in_chunk = False  # the CRLF after a chunk's data is still unread
        self._done = False

    async def read(self) -> bytes:
        """The next bytes of the body; b"" at its end."""
        if self._done:
            return b""
        if self._chunked and self._remaining in (None, 0):
            await self._next_chunk()
            if self._done:
                return b""
        if self._remaining is None:
            data = await self._connection.read_some()
            self._done = not data
            return data
        if self._remaining == 0:
            self._done = True
            return b""
        data = await self._connection.read_some(min(self._remaining, READ_SIZE))
        if not data:
            raise HttpError("the server closed the connection mid-response")
        self._remaining -= len(data)
        return data

    async def read_all(self, limit: int) -> bytes:
        body = b""
        while data := await self.read():
            body += data
            if len(body) > limit:
                raise HttpError(f"the response is larger than {limit // 1024} KiB")
        return body

    async def _next_chunk(self) -> None:
        if self._in_chunk:
            await self._connection.read_line()  # the CRLF ending the previous chunk's data
        size_line = (await self._connection.read_line()).split(b";")[0].strip()
        try:
            self._remaining = int(size_line, 16)
        except ValueError:
            raise HttpError("the server sent a broken chunked body") from None
        self._in_chunk = self._remaining > 0
        if not self._in_chunk:
            while (await self._connection.read_line()).strip():  # trailer fields, blank line
                pass
            self._done = True


# ---- the connection ---------------------------------------------------------------------------


class _Connection:
    """One TCP (or TLS) connection with timeouts on every wait and errors made `HttpError`."""

    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, timeouts: Timeouts
    ) -> None:
        self.reader = reader
        self.writer = writer
        self.timeouts = timeouts

    @classmethod
    async def open(
        cls, base: BaseUrl, timeouts: Timeouts, ssl_context: ssl.SSLContext | None
    ) -> _Connection:
        context = (ssl_context or ssl.create_default_context()) if base.scheme == "https" else None
        try:
            async with asyncio.timeout(timeouts.connect_s):
                reader, writer = await asyncio.open_connection(
                    base.host,
                    base.port,
                    ssl=context,
                    server_hostname=base.host if context else None,
                    limit=MAX_HEAD_BYTES,
                )
        except TimeoutError:
            raise HttpError(f"no connection within {timeouts.connect_s:g} s") from None
        except OSError as exc:
            raise HttpError(describe_os_error(exc)) from None
        return cls(reader, writer, timeouts)

    async def exchange(self, request: bytes) -> Head:
        """Send the request; read the response head (skipping 1xx interim responses)."""
        try:
            self.writer.write(request)
            async with asyncio.timeout(self.timeouts.read_s):
                await self.writer.drain()
        except TimeoutError:
            raise HttpError(f"the request was not accepted within {self.timeouts.read_s:g} s") \
                from None
        except OSError as exc:
            raise HttpError(describe_os_error(exc)) from None
        while True:
            head = _parse_head(await self._read(self.reader.readuntil, b"\r\n\r\n"))
            if not 100 <= head.status < 200:
                return head

    async def read_some(self, size: int = READ_SIZE) -> bytes:
        return await self._read(self.reader.read, size)

    async def read_line(self) -> bytes:
        return await self._read(self.reader.readuntil, b"\n")

    async def _read(self, method: Callable[[Any], Awaitable[bytes]], arg: Any) -> bytes:
        try:
            async with asyncio.timeout(self.timeouts.read_s):
                return await method(arg)
        except TimeoutError:
            raise HttpError(f"no response within {self.timeouts.read_s:g} s") from None
        except asyncio.IncompleteReadError:
            raise HttpError("the server closed the connection mid-response") from None
        except asyncio.LimitOverrunError:
            raise HttpError("the response has an oversized header or chunk line") from None
        except OSError as exc:
            raise HttpError(describe_os_error(exc)) from None

    def abort(self) -> None:
        """Close now, without a TLS goodbye: the server sees the disconnect immediately."""
        self.writer.transport.abort()


def describe_os_error(exc: OSError) -> str:
    """A short reason for a socket error, without the errno noise."""
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, ConnectionResetError | BrokenPipeError | ConnectionAbortedError):
        return "the server closed the connection"
    if isinstance(exc, socket.gaierror):
        return "the host name does not resolve"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"TLS certificate not accepted ({exc.verify_message})"
    if isinstance(exc, ssl.SSLError):
        return f"TLS failed ({exc.reason or 'handshake error'})"
    return (exc.strerror or type(exc).__name__).rstrip(".").lower()


# ---- request and response ---------------------------------------------------------------------


def _request_bytes(
    method: str, base: BaseUrl, path: str, api_key: str | None, body: bytes | None, accept: str
) -> bytes:
    lines = [
        f"{method} {base.prefix}{path} HTTP/1.1",
        f"Host: {base.host_header}",
        f"User-Agent: voicecli/{__version__}",
        f"Accept: {accept}",
        "Connection: close",
    ]
    if api_key:
        lines.append(f"Authorization: Bearer {api_key}")
    if body is not None:
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (body or b"")


def _parse_head(raw: bytes) -> Head:
    lines = raw.decode("latin-1").split("\r\n")
    version, _, rest = lines[0].partition(" ")
    code, _, reason = rest.partition(" ")
    if not version.startswith("HTTP/") or not is_digits(code):
        raise HttpError("the server did not answer with HTTP")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            key = name.strip().lower()
            headers[key] = f"{headers[key]}, {value.strip()}" if key in headers else value.strip()
    return Head(int(code), reason.strip(), headers)


async def _raise_for_status(connection: _Connection, head: Head, api_key: str | None) -> None:
    if 200 <= head.status < 300:
        return
    try:
        body = await BodyReader(connection, head).read_all(MAX_ERROR_BODY_BYTES)
    except HttpError:
        body = b""
    excerpt = error_excerpt(body, api_key) or head.reason or "no details"
    raise HttpError(f"HTTP {head.status}: {excerpt}", head.status)


def error_excerpt(body: bytes, api_key: str | None = None) -> str:
    """The server's error message, on one short line, with the key (if echoed) blanked out.

    Understands OpenAI's `{"error": {"message": …}}`, Ollama's `{"error": "…"}`, vLLM's
    `{"message": …}`, FastAPI's `{"detail": …}`, and falls back to the raw text.
    """
    text = body.decode("utf-8", "replace").strip()
    try:
        decoded = json.loads(text)
    except ValueError:
        decoded = None
    if isinstance(decoded, dict):
        error = decoded.get("error", decoded)
        if isinstance(error, dict):
            error = error.get("message") or error.get("detail") or error.get("msg") or error
        text = error if isinstance(error, str) else json.dumps(error, ensure_ascii=False)
    text = " ".join(text.split())
    if api_key:
        text = text.replace(api_key, "***")
    return text if len(text) <= EXCERPT_CHARS else text[: EXCERPT_CHARS - 1] + "…"
