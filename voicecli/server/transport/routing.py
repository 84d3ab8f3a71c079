"""Which paths are Live endpoints, and where the credential is (live-protocol.md §1.1–1.4, §11).

Sans-I/O: these functions take the request path and headers and never log them (a query string
may carry `?key=`).
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import parse_qs

# §1.1: /ws/google.ai.generativelanguage.{VERSION}.GenerativeService.{METHOD}
_GEMINI = re.compile(
    r"/ws/google\.ai\.generativelanguage\.(v1alpha|v1beta|v1)\.GenerativeService\."
    r"(BidiGenerateContent|BidiGenerateContentConstrained)"
)
# §1.4: /ws/google.cloud.aiplatform.{VERSION}.LlmBidiService/BidiGenerateContent
_VERTEX = re.compile(
    r"/ws/google\.cloud\.aiplatform\.(v1|v1beta1)\.LlmBidiService/(BidiGenerateContent)"
)


@dataclass(frozen=True)
class Route:
    """A recognised Live endpoint."""

    backend: str  # "gemini" | "vertex"
    api_version: str  # as written in the path: v1beta, v1alpha, v1, v1beta1
    method: str  # BidiGenerateContent | BidiGenerateContentConstrained


def parse_route(raw_path: str) -> Route | None:
    """The route of a request path (query ignored), or None for anything that is not Live.

    §1.2: the Python SDK's URL has a double slash (`//ws/…`), so leading slashes collapse.
    """
    path = "/" + safe_path(raw_path).lstrip("/")
    if path.endswith("/") and len(path) > 1:
        path = path.rstrip("/")
    match = _GEMINI.fullmatch(path)
    if match:
        return Route("gemini", match.group(1), match.group(2))
    match = _VERTEX.fullmatch(path)
    if match:
        return Route("vertex", match.group(1), match.group(2))
    return None


def find_credential(raw_path: str, headers: Mapping[str, str]) -> str | None:
    """The key or token the client presented, from any of the places §1.1/§1.4 allow.

    Order: `x-goog-api-key` header, `Authorization: Token …` / `Bearer …`, then the `key` and
    `access_token` query parameters. An empty value counts as absent.
    """
    header = (headers.get("x-goog-api-key") or "").strip()
    if header:
        return header
    scheme, _, value = (headers.get("Authorization") or "").strip().partition(" ")
    if scheme.lower() in ("token", "bearer") and value.strip():
        return value.strip()
    query = parse_qs(raw_path.partition("?")[2])
    for name in ("key", "access_token"):
        values = [v for v in query.get(name, []) if v]
        if values:
            return values[0]
    return None


def find_token(raw_path: str, headers: Mapping[str, str]) -> str | None:
    """The ephemeral token of a Constrained request: `Authorization: Token …` or
    `?access_token=` (§1.1). `x-goog-api-key` is not a token transport (the Python SDK sends the
    token there too, beside the Authorization header; it is ignored)."""
    scheme, _, value = (headers.get("Authorization") or "").strip().partition(" ")
    if scheme.lower() == "token" and value.strip():
        return value.strip()
    values = [v for v in parse_qs(raw_path.partition("?")[2]).get("access_token", []) if v]
    return values[0] if values else None


def credential_accepted(required: str | None, presented: str | None) -> bool:
    """Any credential (or none) passes unless the server requires one; compare in constant time."""
    if required is None:
        return True
    if presented is None:
        return False
    return hmac.compare_digest(required.encode(), presented.encode())


def safe_path(raw_path: str) -> str:
    """The path without its query string or fragment, for logs.

    (Not `urlsplit`: it would read the SDK's `//ws/…` as a host name.)"""
    return raw_path.partition("?")[0].partition("#")[0]
