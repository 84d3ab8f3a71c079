"""A scripted stand-in for an OpenAI-compatible chat-completions server (stdlib asyncio only).

No model weights can be fetched here, so the brain engine's tests talk to this over real loopback
TCP instead of a real LLM. It speaks the documented wire format of OpenAI's API (and Ollama's
`/v1` compatibility layer):

* `POST /v1/chat/completions` with `"stream": true` answers `200`, `text/event-stream`, chunked;
  one `data: {"object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {…},
  "finish_reason": null}]}` event per piece: a first `{"role": "assistant", "content": ""}`
  delta, content pieces (a word with its leading space, like a tokenizer's), a final chunk with
  `finish_reason` `"stop"` or `"tool_calls"`, then `data: [DONE]`. Tool calls stream as a first
  `delta.tool_calls = [{"index", "id": "call_…", "type": "function", "function": {"name",
  "arguments": ""}}]` followed by `arguments` fragments. Without `stream` it answers one
  `chat.completion` object.
* `GET /v1/models` answers `{"object": "list", "data": [{"id", "object": "model", …}]}`.
* Errors are `{"error": {"message", "type", "param", "code"}}` with the HTTP status; a wrong key
  gets 401 (its message quotes the key it received, unmasked — stricter than OpenAI, which masks
  it — so the client's redaction is tested).

The test scripts it: `replies` is a queue of `Text`, `ToolCalls`, `Failure` or `Broken` (one per
chat request); when it is empty `default(body)` decides (`call_tool_first` is the usual rule). It
records every request (`requests` holds the chat bodies) and every client that disconnected
before its response was complete (`disconnects`, with the time).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import re
import ssl
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

# ---- what the stub can be told to answer ------------------------------------------------------


@dataclass
class Text:
    """Stream `text` in word pieces, `delay_s` apart (None: the stub's `token_delay_s`)."""

    text: str
    delay_s: float | None = None


@dataclass
class ToolCalls:
    """Stream `text` (may be empty), then calls to `(name, arguments)`; `raw_arguments` (if set)
    replaces the JSON of the arguments verbatim (to send broken JSON)."""

    calls: list[tuple[str, dict[str, Any]]]
    text: str = ""
    raw_arguments: str | None = None


@dataclass
class Failure:
    """Answer `status` with an OpenAI-style error body."""

    status: int
    message: str
    kind: str = "server_error"


@dataclass
class Broken:
    """A 200 event stream with this raw body, then the connection closes."""

    body: bytes


Reply = Text | ToolCalls | Failure | Broken
Rule = Callable[[dict[str, Any]], Reply]


def call_tool_first(name: str, args: dict[str, Any], then: str = "Done.") -> Rule:
    """When `name` is offered and no tool result is in the messages yet: call it. Otherwise
    answer `then`, formatted with `{result}` = the content of the last tool message."""

    def rule(body: dict[str, Any]) -> Reply:
        offered = [t["function"]["name"] for t in body.get("tools") or []]
        results = [m for m in body["messages"] if m["role"] == "tool"]
        if name in offered and not results:
            return ToolCalls([(name, args)])
        return Text(then.format(result=results[-1]["content"] if results else ""))

    return rule


def say(text: str) -> Rule:
    return lambda body: Text(text)


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any] | None


@dataclass
class Disconnect:
    """A client closed its connection before the response to chat request `index` was done."""

    index: int
    at: float  # time.monotonic()


# ---- the server -------------------------------------------------------------------------------


@dataclass
class OpenAIStub:
    """`async with OpenAIStub(...) as stub:` then point the engine at `stub.base_url`."""

    replies: deque[Reply] = field(default_factory=deque)
    default: Rule = field(default_factory=lambda: say("OK."))
    token_delay_s: float = 0.0
    api_key: str | None = None
    models: tuple[str, ...] = ("stub-model",)
    framing: str = "chunked"  # "chunked" | "length" | "close": how bodies are delimited
    keep_open: bool = False  # leave the socket open after a complete response
    ignore_stream: bool = False  # answer one `chat.completion` even when asked to stream
    ssl_context: ssl.SSLContext | None = None
    log: list[Request] = field(default_factory=list)
    disconnects: list[Disconnect] = field(default_factory=list)
    disconnected: asyncio.Event = field(default_factory=asyncio.Event)
    port: int = 0
    _server: asyncio.Server | None = None
    _ids: itertools.count[int] = field(default_factory=itertools.count)
    _open: set[asyncio.StreamWriter] = field(default_factory=set)
    _handlers: set[asyncio.Task[Any]] = field(default_factory=set)

    @property
    def base_url(self) -> str:
        scheme = "https" if self.ssl_context else "http"
        return f"{scheme}://127.0.0.1:{self.port}/v1"

    @property
    def requests(self) -> list[dict[str, Any]]:
        """The bodies of the chat-completions requests, in order."""
        return [r.body for r in self.log if r.path.endswith("/chat/completions") and r.body]

    def script(self, *replies: Reply) -> None:
        self.replies.extend(replies)

    async def start(self) -> OpenAIStub:
        self._server = await asyncio.start_server(
            self._serve, "127.0.0.1", 0, ssl=self.ssl_context
        )
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            for writer in list(self._open):
                writer.transport.abort()
            if self._handlers:  # they end at once on the aborted sockets
                await asyncio.wait(self._handlers, timeout=2.0)
            await self._server.wait_closed()

    async def __aenter__(self) -> OpenAIStub:
        return await self.start()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def wait_disconnect(self, limit_s: float = 2.0) -> Disconnect:
        await asyncio.wait_for(self.disconnected.wait(), limit_s)
        return self.disconnects[-1]

    # ---- one connection -----------------------------------------------------------------------

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._open.add(writer)
        handler = asyncio.current_task()
        if handler is not None:
            self._handlers.add(handler)
            handler.add_done_callback(self._handlers.discard)
        try:
            request = await _read_request(reader)
            self.log.append(request)
            await self._answer(request, reader, writer)
            if self.keep_open:
                await reader.read()  # until the client goes away
            writer.close()
            async with asyncio.timeout(1.0):
                await writer.wait_closed()
        except (OSError, TimeoutError, asyncio.IncompleteReadError):
            pass  # the client went away (ssl.SSLError is an OSError)
        finally:
            self._open.discard(writer)
            writer.transport.abort()

    async def _answer(
        self, request: Request, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        if self.api_key is not None and request.headers.get("authorization") != (
            f"Bearer {self.api_key}"
        ):
            received = request.headers.get("authorization", "").removeprefix("Bearer ")
            message = f"Incorrect API key provided: {received}. You can find your API key at …"
            await self._send_json(writer, 401, _error(message, "invalid_request_error"))
        elif request.method == "GET" and request.path == "/v1/models":
            await self._send_json(writer, 200, self._model_list())
        elif request.method == "POST" and request.path == "/v1/chat/completions":
            await self._chat(request, reader, writer)
        else:
            await self._send_json(writer, 404, _error(f"Unknown path {request.path}", "not_found"))

    async def _chat(
        self, request: Request, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        body = request.body or {}
        index = len(self.requests) - 1
        reply = self.replies.popleft() if self.replies else self.default(body)
        if isinstance(reply, Failure):
            await self._send_json(writer, reply.status, _error(reply.message, reply.kind))
        elif isinstance(reply, Broken):
            await self._send_head(writer, 200, "text/event-stream", None)
            writer.write(self._framed(reply.body))
            await writer.drain()
        elif not body.get("stream") or self.ignore_stream:
            await self._send_json(writer, 200, _completion(body, reply))
        else:
            await self._stream(body, reply, index, reader, writer)

    async def _stream(
        self, body: dict[str, Any], reply: Text | ToolCalls, index: int,
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
    ) -> None:
        events = [f"data: {json.dumps(chunk)}\n\n".encode() for chunk in _chunks(body, reply)]
        events.append(b"data: [DONE]\n\n")
        delay = reply.delay_s if isinstance(reply, Text) and reply.delay_s is not None \
            else self.token_delay_s
        if self.framing == "length":
            await self._send_head(writer, 200, "text/event-stream", len(b"".join(events)))
            events = [b"".join(events)]
        else:
            await self._send_head(writer, 200, "text/event-stream", None)
        sent: list[bytes] = []
        sending = asyncio.create_task(self._send_events(writer, events, delay, sent))
        watching = asyncio.create_task(reader.read(1))  # b"" or an error: the client left
        await asyncio.wait({sending, watching}, return_when=asyncio.FIRST_COMPLETED)
        if len(sent) < len(events):  # the client left before [DONE]
            self.disconnects.append(Disconnect(index, time.monotonic()))
            self.disconnected.set()
        for task in (sending, watching):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, ConnectionError):
                await task

    async def _send_events(
        self, writer: asyncio.StreamWriter, events: list[bytes], delay: float, sent: list[bytes]
    ) -> None:
        for number, event in enumerate(events):
            if number and delay:
                await asyncio.sleep(delay)
            writer.write(self._framed(event))
            await writer.drain()
            sent.append(event)
        if self.framing == "chunked":
            writer.write(b"0\r\n\r\n")
            await writer.drain()

    def _framed(self, data: bytes) -> bytes:
        return b"%x\r\n%s\r\n" % (len(data), data) if self.framing == "chunked" else data

    async def _send_head(
        self, writer: asyncio.StreamWriter, status: int, content_type: str, length: int | None
    ) -> None:
        lines = [
            f"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}",
            f"Content-Type: {content_type}; charset=utf-8",
            "Cache-Control: no-cache",
            "Connection: close",
        ]
        if length is not None:
            lines.append(f"Content-Length: {length}")
        elif self.framing == "chunked":
            lines.append("Transfer-Encoding: chunked")
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        await writer.drain()

    async def _send_json(self, writer: asyncio.StreamWriter, status: int, obj: Any) -> None:
        data = json.dumps(obj).encode()
        if self.framing == "length":
            await self._send_head(writer, status, "application/json", len(data))
            writer.write(data)
        else:
            await self._send_head(writer, status, "application/json", None)
            writer.write(self._framed(data) + (b"0\r\n\r\n" if self.framing == "chunked" else b""))
        await writer.drain()

    def _model_list(self) -> dict[str, Any]:
        return {"object": "list", "data": [
            {"id": m, "object": "model", "created": 1_700_000_000, "owned_by": "stub"}
            for m in self.models]}


_REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found",
            429: "Too Many Requests", 500: "Internal Server Error", 503: "Service Unavailable"}


async def _read_request(reader: asyncio.StreamReader) -> Request:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    method, path, _version = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    raw = await reader.readexactly(length) if length else b""
    return Request(method, path, headers, json.loads(raw) if raw else None)


# ---- the OpenAI wire format -------------------------------------------------------------------


def word_pieces(text: str) -> list[str]:
    """Pieces as a tokenizer streams them: each word with its leading whitespace."""
    return re.findall(r"\s*\S+", text)


def _chunks(body: dict[str, Any], reply: Text | ToolCalls) -> list[dict[str, Any]]:
    envelope = {"id": f"chatcmpl-stub{len(body['messages'])}", "object": "chat.completion.chunk",
                "created": int(time.time()), "model": body.get("model", ""),
                "system_fingerprint": "fp_stub"}

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {**envelope, "choices": [
            {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]}

    out = [chunk({"role": "assistant", "content": ""})]
    out += [chunk({"content": piece}) for piece in word_pieces(reply.text)]
    if isinstance(reply, Text):
        return [*out, chunk({}, "stop")]
    for i, (name, args) in enumerate(reply.calls):
        call_id = f"call_stub{len(body['messages'])}x{i}"
        out.append(chunk({"tool_calls": [{"index": i, "id": call_id, "type": "function",
                                          "function": {"name": name, "arguments": ""}}]}))
        arguments = reply.raw_arguments if reply.raw_arguments is not None else json.dumps(args)
        for at in range(0, len(arguments), 7):  # fragments, as models stream them
            out.append(chunk({"tool_calls": [
                {"index": i, "function": {"arguments": arguments[at : at + 7]}}]}))
    return [*out, chunk({}, "tool_calls")]


def _completion(body: dict[str, Any], reply: Reply) -> dict[str, Any]:
    """A non-streamed `chat.completion` (for `"stream": false`)."""
    assert isinstance(reply, Text | ToolCalls)
    message: dict[str, Any] = {"role": "assistant", "content": reply.text or None}
    finish = "stop"
    if isinstance(reply, ToolCalls):
        finish = "tool_calls"
        message["tool_calls"] = [
            {"id": f"call_stub{i}", "type": "function",
             "function": {"name": name, "arguments": json.dumps(args)}}
            for i, (name, args) in enumerate(reply.calls)]
    return {"id": "chatcmpl-stub", "object": "chat.completion", "created": int(time.time()),
            "model": body.get("model", ""),
            "choices": [{"index": 0, "message": message, "finish_reason": finish}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}


def _error(message: str, kind: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": None, "code": None}}
