"""REST and WebSocket on one port: route each connection by its request method.

websockets' server parses only GET requests (anything else is "did not receive a valid HTTP
request"), but the service takes `POST …/auth_tokens` on the same host as the Live socket
(live-protocol.md §1.5). `FrontConnection` is the `ServerConnection` websockets creates for every
accepted socket (its documented `create_connection` hook): it looks at the first bytes, hands a
GET to websockets untouched, and answers any other method itself with `rest.handle`, then
closes. The WebSocket path pays one attribute check per received chunk. TLS is below this
layer, so `--tls` serves both.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

from websockets.asyncio.server import ServerConnection

from voicecli.server.transport.rest import HttpReply, HttpRequest, error
from voicecli.server.transport.routing import safe_path

log = logging.getLogger("voicecli.server")

MAX_HEAD_BYTES = 16 * 1024
MAX_BODY_BYTES = 1024 * 1024
_METHOD_SNIFF_BYTES = 16  # "OPTIONS " is the longest method plus its space
_METHOD = re.compile(rb"[A-Z]{1,15}")  # RFC 9110 §9: a token; every method in use is this
_LENGTH = re.compile(r"[0-9]{1,10}")  # ASCII digits only: str.isdigit() takes "²" and "٣"

RestHandler = Callable[[HttpRequest], HttpReply]


class FrontConnection(ServerConnection):
    def __init__(self, *args: Any, rest: RestHandler, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._rest = rest
        self._head: bytearray | None = bytearray()  # None once handed to websockets
        self._http = False
        self._continued = False

    def data_received(self, data: bytes) -> None:
        if self._head is None:
            super().data_received(data)  # the WebSocket path
            return
        self._head += data
        if not self._http:
            method = _method(self._head)
            if method is None:
                return  # not enough bytes yet to tell
            if method == b"GET":
                buffered, self._head = bytes(self._head), None
                super().data_received(buffered)
                return
            if not _METHOD.fullmatch(method):  # not HTTP at all: answered now, not held open
                self._reply(error(400, "Malformed HTTP request."))
                return
            self._http = True
        try:
            self._serve_http()
        except Exception:  # noqa: BLE001 - whatever the bytes, an answer and not a traceback
            log.debug("malformed HTTP request", exc_info=True)
            self._reply(error(400, "Malformed HTTP request."))

    def _serve_http(self) -> None:
        """Reply once the whole request is here (or it is too big), then close."""
        assert self._head is not None
        end = self._head.find(b"\r\n\r\n")
        if end < 0:
            if len(self._head) > MAX_HEAD_BYTES:
                self._reply(error(431, "Request header fields too large."))
            return
        head = bytes(self._head[:end]).decode("latin-1")
        request_line, *header_lines = head.split("\r\n")
        headers = _headers(header_lines)
        if "chunked" in headers.get("transfer-encoding", "").lower():
            self._reply(error(411, "Length required."))
            return
        length = _content_length(headers)
        if length is None or length > MAX_BODY_BYTES:
            self._reply(error(413 if length else 400, "Request body too large or malformed."))
            return
        body = bytes(self._head[end + 4 :])
        if len(body) < length:
            if headers.get("expect", "").lower() == "100-continue" and not self._continued:
                self._continued = True  # curl waits for this before sending a body > 1 KiB
                self.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            return
        method, target, version = (request_line.split(" ") + ["", ""])[:3]
        if not (method and target and version.startswith("HTTP/")) or request_line.count(" ") != 2:
            self._reply(error(400, "Malformed HTTP request line."))
            return
        reply = self._rest(HttpRequest(method, target, headers, body[:length]))
        log.debug("%s %s -> %d", method, safe_path(target), reply.status)
        self._reply(reply)

    def _reply(self, reply: HttpReply) -> None:
        self._head = bytearray()  # ignore whatever else arrives; the connection is ending
        self.transport.write(reply.to_bytes())
        self.transport.close()


def _method(head: bytearray) -> bytes | None:
    """The request method, once the first space has arrived, or None while too few bytes have
    come to tell. A line that ends before any space, or 16 bytes without one, is b"" (not HTTP:
    answered 400 at once instead of waiting out the handshake timeout with a socket held)."""
    space = head.find(b" ", 0, _METHOD_SNIFF_BYTES)
    newline = head.find(b"\n", 0, _METHOD_SNIFF_BYTES)
    if newline >= 0 and (space < 0 or newline < space):
        return b""
    if space >= 0:
        return bytes(head[:space])
    if len(head) >= _METHOD_SNIFF_BYTES or not _METHOD.fullmatch(bytes(head)):
        return b""
    return None


def _headers(lines: list[str]) -> dict[str, str]:
    headers: dict[str, str] = {}
    for line in lines:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    return headers


def _content_length(headers: dict[str, str]) -> int | None:
    """The declared body length, or None when it is not a plain decimal number (RFC 9110
    §8.6: 1*DIGIT, and DIGIT is ASCII)."""
    text = headers.get("content-length", "0").strip()
    return int(text) if _LENGTH.fullmatch(text) else None
