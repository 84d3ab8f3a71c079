"""Minting ephemeral tokens: `POST {base}/{v1alpha|v1beta}/auth_tokens` (live-protocol.md §1.5).

`token_body` builds the flat `AuthToken` request body (`uses`, `expireTime`,
`newSessionExpireTime`, and for a locked token `bidiGenerateContentSetup` with the `fieldMask`
google-genai sends for `lock_additional_fields=[]`: the fields the setup sets are locked, the rest
stay the client's). `create_token` sends it with the standard library; the API key goes in the
`x-goog-api-key` header, never the URL, and no error message carries it. The version is the
settings' `api_version`: the SDKs use v1alpha, many 2026 clients v1beta (§1.3).
"""

from __future__ import annotations

import http.client
import json
import logging
import socket
import ssl
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from voicecli import __version__
from voicecli.client.endpoints import checked_base_url
from voicecli.errors import (
    AuthenticationError,
    ConfigError,
    NetworkError,
    RemoteProtocolError,
    ServiceRefused,
    ServiceUnavailable,
    VoicecliError,
)
from voicecli.logs import redact
from voicecli.protocol.codec import to_wire
from voicecli.protocol.messages import Setup
from voicecli.settings import Secret, Settings

TOKEN_VERSIONS = ("v1alpha", "v1beta")
DEFAULT_REST_BASE = "https://generativelanguage.googleapis.com"
MAX_RESPONSE_BYTES = 1024 * 1024
MAX_AHEAD_S = 20 * 3600  # §1.5: both times must be less than 20 hours ahead

log = logging.getLogger("voicecli.client")


@dataclass(frozen=True)
class TokenRequest:
    uses: int = 1  # sessions the token may start; 0 = unlimited (§1.5)
    expire_s: float = 30 * 60.0  # its sessions end this long from now
    new_session_expire_s: float = 60.0  # no new session starts after this
    lock: Setup | None = None  # the setup to lock (bidiGenerateContentSetup)


def rfc3339(moment: datetime) -> str:
    """UTC with a `Z`, millisecond precision: what protobuf's Timestamp JSON expects."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def field_mask(setup: dict[str, Any]) -> str:
    """google-genai's mask for a locked setup: each top-level field, or for a non-empty object
    each of its fields one level down (`generationConfig.responseModalities`)."""
    paths: list[str] = []
    for key, value in setup.items():
        if isinstance(value, dict) and value:
            paths.extend(f"{key}.{sub}" for sub in value)
        else:
            paths.append(key)
    return ",".join(paths)


def token_body(request: TokenRequest, now: datetime) -> dict[str, Any]:
    """The request body (§1.5). The lock leaves out `sessionResumption`: a locked handle would
    keep every reconnect from resuming."""
    body: dict[str, Any] = {
        "uses": request.uses,
        "expireTime": rfc3339(now + timedelta(seconds=request.expire_s)),
        "newSessionExpireTime": rfc3339(now + timedelta(seconds=request.new_session_expire_s)),
    }
    if request.lock is not None:
        setup = to_wire(request.lock)
        setup.pop("sessionResumption", None)
        body["bidiGenerateContentSetup"] = setup
        body["fieldMask"] = field_mask(setup)
    return body


def auth_tokens_url(base_url: str | None, api_version: str) -> str:
    """`{base}/{version}/auth_tokens`; a ws(s):// base URL is its http(s) origin (the REST
    method lives on the same host as the Live socket)."""
    if api_version not in TOKEN_VERSIONS:
        raise ConfigError(f"ephemeral tokens exist under v1alpha and v1beta, not {api_version} "
                          "(--api-version)")
    parts = checked_base_url(base_url or DEFAULT_REST_BASE)
    scheme = {"http": "http", "ws": "http", "https": "https", "wss": "https"}[parts.scheme]
    if parts.query:
        raise ConfigError("--base-url must not carry a query string; keys go in --api-key")
    prefix = parts.path.rstrip("/") if parts.scheme in ("http", "https") else ""
    return urlunsplit((scheme, parts.netloc, f"{prefix}/{api_version}/auth_tokens", "", ""))


def mint_token(settings: Settings, request: TokenRequest) -> dict[str, Any]:
    """Create a token with the settings' key and endpoint; the resource it was created as: the
    service's answer (`name`) over the body that was sent. Library API behind `token create`."""
    if settings.connection.backend == "vertex":
        raise ConfigError("ephemeral tokens are a Gemini Developer API feature; Vertex AI has "
                          "none (use --backend gemini)")
    if settings.connection.backend == "local":
        raise ConfigError("token create needs a Gemini endpoint: an API key, or --base-url for "
                          "a `voicecli serve`")
    if not settings.connection.api_key and not settings.connection.base_url:
        raise AuthenticationError("token create needs your API key: set GEMINI_API_KEY, "
                                  "--api-key or api_key in the config file")
    url = auth_tokens_url(settings.connection.base_url, settings.connection.api_version)
    body = token_body(request, datetime.now(UTC))
    key = settings.connection.api_key.reveal() if settings.connection.api_key else None
    resource = create_token(url, key, body, settings.connection.connect_timeout_s)
    Secret(resource["name"])  # from here on it is masked in every log line
    return {"name": resource["name"], **body, **resource}


def create_token(
    url: str, api_key: str | None, body: dict[str, Any], timeout_s: float
) -> dict[str, Any]:
    """POST the body; the service's JSON answer (the token resource). Raises a `VoicecliError`
    in one line: the service's own message for an HTTP error, the cause for a network one."""
    headers = {"Content-Type": "application/json", "User-Agent": f"voicecli/{__version__}"}
    if api_key:
        headers["x-goog-api-key"] = api_key
    request = urllib.request.Request(url, json.dumps(body).encode(), headers, method="POST")
    log.debug("POST %s", url)
    try:
        with _opener(url).open(request, timeout=timeout_s) as response:
            raw = response.read(MAX_RESPONSE_BYTES)
    except urllib.error.HTTPError as exc:
        raise http_error(url, exc.code, exc.read(MAX_RESPONSE_BYTES)) from None
    except http.client.HTTPException as exc:  # BadStatusLine, LineTooLong, IncompleteRead, …
        origin = urlunsplit(urlsplit(url)[:2] + ("", "", ""))
        raise ConfigError(f"{origin} did not answer in HTTP ({type(exc).__name__}); is "
                          "--base-url the address of the service or of `voicecli serve`?") from None
    except (urllib.error.URLError, OSError) as exc:
        raise _network_error(url, exc) from None
    return _resource(url, raw)


def _opener(url: str) -> urllib.request.OpenerDirector:
    """No proxy for loopback (a local `voicecli serve`), as for the WebSocket."""
    host = urlsplit(url).hostname or ""
    if host in ("localhost", "::1") or host.startswith("127."):
        return urllib.request.build_opener(urllib.request.ProxyHandler({}))
    return urllib.request.build_opener()


def _resource(url: str, raw: bytes) -> dict[str, Any]:
    try:
        resource = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        resource = None
    if not isinstance(resource, dict) or not str(resource.get("name", "")).startswith(
        "auth_tokens/"
    ):
        raise RemoteProtocolError(f"{url} answered without a token (no auth_tokens/… name)")
    return resource


def http_error(url: str, status: int, raw: bytes) -> VoicecliError:
    """An HTTP error as the right exit code, quoting the service's error JSON (§1.5)."""
    message, reason, state = _google_error(raw)
    said = f" {state}" if state else ""
    detail = f"HTTP {status}{said}" + (f": {message}" if message else "")
    if status in (401, 403) or reason.startswith("API_KEY") or "api key" in message.lower():
        return AuthenticationError(f"the service refused the API key ({detail}); check "
                                   "GEMINI_API_KEY or --api-key")
    if status == 404:
        return ServiceRefused(f"{url} has no auth_tokens method ({detail}); try the other "
                              "--api-version (v1alpha or v1beta)")
    if status >= 500:
        return ServiceUnavailable(f"the service failed to create the token ({detail}); retry")
    return ServiceRefused(f"the service refused to create the token ({detail})")


def _google_error(raw: bytes) -> tuple[str, str, str]:
    """(message, ErrorInfo reason, status) from `{"error": {...}}`, scrubbed of secrets."""
    try:
        error = json.loads(raw.decode("utf-8")).get("error", {})
    except (UnicodeDecodeError, ValueError, AttributeError):
        text = raw.decode("utf-8", "replace").strip()
        return redact(" ".join(text.split())[:160]), "", ""
    if not isinstance(error, dict):
        return "", "", ""
    reasons = [d.get("reason", "") for d in error.get("details") or [] if isinstance(d, dict)]
    message = redact(" ".join(str(error.get("message", "")).split())[:300])
    return message, next((r for r in reasons if r), ""), str(error.get("status", ""))


def _network_error(url: str, exc: BaseException) -> NetworkError:
    cause = exc.reason if isinstance(exc, urllib.error.URLError) else exc
    origin = urlunsplit(urlsplit(url)[:2] + ("", "", ""))
    if isinstance(cause, ssl.SSLCertVerificationError):
        return NetworkError(f"{origin}: TLS certificate not trusted ({cause.verify_message}); "
                            "for a local `voicecli serve --tls` set SSL_CERT_FILE to its cert.pem")
    if isinstance(cause, TimeoutError | socket.timeout):
        return NetworkError(f"timed out talking to {origin}")
    if isinstance(cause, socket.gaierror):
        return NetworkError(f"cannot resolve {urlsplit(url).hostname}; check the network or "
                            "--base-url")
    if isinstance(cause, OSError):
        return NetworkError(f"cannot connect to {origin}: {cause.strerror or cause}")
    return NetworkError(f"cannot reach {origin}: {cause}")
