"""The local server's one REST method: `POST /{v1alpha|v1beta}/auth_tokens` (live-protocol.md
§1.3, §1.5), answered like the service: JSON bodies, Google's error shape
`{"error": {"code", "message", "status"}}`.

Sans-I/O: `handle(request, …)` maps a parsed request to a reply; `front.py` does the bytes. The
key travels in `x-goog-api-key` or `?key=`; with `--require-key` only that key may mint tokens,
and a token never mints another. Nothing here logs the query string or a header value.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from voicecli.server.transport.ephemeral import API_KEY_INVALID, BadRequest, TokenStore, is_token
from voicecli.server.transport.routing import credential_accepted, safe_path

_AUTH_TOKENS = re.compile(r"/(v1alpha|v1beta)/auth_tokens")  # §1.3: both versions (sources split)
UNREGISTERED = ("Method doesn't allow unregistered callers (callers without established "
                "identity). Please use API Key or other form of API consumer identity to call "
                "this API.")
_STATUS = {400: "INVALID_ARGUMENT", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
           411: "INVALID_ARGUMENT", 413: "INVALID_ARGUMENT", 431: "INVALID_ARGUMENT"}
REASONS = {200: "OK", 400: "Bad Request", 403: "Forbidden", 404: "Not Found",
           411: "Length Required", 413: "Content Too Large", 431: "Request Header Fields Too Large"}


@dataclass(frozen=True)
class HttpRequest:
    method: str
    target: str  # path and query, as sent
    headers: Mapping[str, str] = field(default_factory=dict)  # names in lower case
    body: bytes = b""


@dataclass(frozen=True)
class HttpReply:
    status: int
    body: dict[str, Any]

    def to_bytes(self) -> bytes:
        payload = json.dumps(self.body, indent=2).encode() + b"\n"
        head = (f"HTTP/1.1 {self.status} {REASONS.get(self.status, 'Error')}\r\n"
                "Content-Type: application/json; charset=UTF-8\r\n"
                f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n")
        return head.encode("ascii") + payload


def error(status: int, message: str, reason: str | None = None) -> HttpReply:
    """Google's error body; `reason` adds the ErrorInfo detail the service attaches to key
    failures (e.g. API_KEY_INVALID)."""
    body: dict[str, Any] = {"code": status, "message": message,
                            "status": _STATUS.get(status, "UNKNOWN")}
    if reason:
        body["details"] = [{"@type": "type.googleapis.com/google.rpc.ErrorInfo",
                            "reason": reason, "domain": "googleapis.com"}]
    return HttpReply(status, {"error": body})


def is_rest_path(target: str) -> bool:
    return _AUTH_TOKENS.fullmatch("/" + safe_path(target).lstrip("/")) is not None


def handle(request: HttpRequest, *, require_key: str | None, tokens: TokenStore) -> HttpReply:
    """Answer one REST request (never raises for bad input)."""
    if request.method != "POST" or not is_rest_path(request.target):
        return error(404, "Method not found.")
    key = _presented_key(request)
    if key is not None and is_token(key):
        return error(400, API_KEY_INVALID, "API_KEY_INVALID")
    if require_key is not None and key is None:
        return error(403, UNREGISTERED)
    if not credential_accepted(require_key, key):
        return error(400, API_KEY_INVALID, "API_KEY_INVALID")
    try:
        body = json.loads(request.body.decode("utf-8")) if request.body.strip() else {}
    except (UnicodeDecodeError, ValueError):
        return error(400, "Invalid JSON payload received. Unexpected token.")
    try:
        return HttpReply(200, tokens.create(body))
    except BadRequest as exc:
        return error(400, str(exc))


def _presented_key(request: HttpRequest) -> str | None:
    """§1.5: `x-goog-api-key`, or `?key=`."""
    header = (request.headers.get("x-goog-api-key") or "").strip()
    if header:
        return header
    values = [v for v in parse_qs(request.target.partition("?")[2]).get("key", []) if v]
    return values[0] if values else None
