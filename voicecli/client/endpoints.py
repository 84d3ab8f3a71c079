"""Where to connect and how to authenticate (live-protocol.md §1).

An `Endpoint`'s `url` never carries a credential: keys travel in headers (`x-goog-api-key`,
`Authorization: Token …` for ephemeral tokens, `Authorization: Bearer …` for Vertex), so the URL
can be shown and logged. The headers are never shown.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from urllib.parse import SplitResult, urlsplit, urlunsplit

from voicecli.client.vertex_credentials import VertexCredentials
from voicecli.errors import ConfigError
from voicecli.protocol.messages import Setup
from voicecli.settings import Settings

GEMINI_BASE = "https://generativelanguage.googleapis.com"
GEMINI_PATH = "/ws/google.ai.generativelanguage.{version}.GenerativeService.{method}"
VERTEX_PATH = "/ws/google.cloud.aiplatform.{version}.LlmBidiService/BidiGenerateContent"
VERTEX_VERSION = "v1beta1"  # the SDKs' default (§1.4)
VERTEX_MULTI_REGIONS = ("us", "eu")  # served at aiplatform.{LOCATION}.rep.googleapis.com (§1.4)


@dataclass(frozen=True)
class Endpoint:
    url: str
    model: str  # the model name as sent in setup.model
    headers: dict[str, str] = field(default_factory=dict, repr=False)
    backend: str = "gemini"
    api_version: str = "v1beta"
    credential: str = "key"  # key | token (ephemeral, §1.1) | oauth (Vertex, §1.4) | none
    #: Vertex: fetches a fresh access token for each connection (a reconnect after expiry)
    credentials: VertexCredentials | None = field(default=None, repr=False, compare=False)

    def __repr__(self) -> str:
        return f"Endpoint(url={self.url!r}, model={self.model!r}, backend={self.backend!r})"

    def address(self, setup: Setup) -> Setup:
        """`setup` (built from the settings, once) with its model named as this endpoint names
        it: ``models/…`` on Gemini (§3.1.1), a resource path on Vertex (§1.4)."""
        return dataclasses.replace(setup, model=self.model)

    def connect_headers(self) -> dict[str, str]:
        """The headers for a new connection; may block (gcloud) when a token is refreshed."""
        if self.credentials is None:
            return self.headers
        return {**self.headers, **self.credentials.headers()}


def gemini_model_name(model: str) -> str:
    """§3.1.1: the SDK adds `models/` unless the name already has a prefix."""
    if model.startswith(("models/", "tunedModels/")):
        return model
    return f"models/{model}"


def vertex_model_name(model: str, project: str, location: str) -> str:
    """§1.4: Vertex needs the full publisher resource name."""
    if model.startswith("projects/"):
        return model
    short = model.removeprefix("publishers/google/models/").removeprefix("models/")
    return f"projects/{project}/locations/{location}/publishers/google/models/{short}"


def websocket_url(base_url: str, path: str) -> str:
    """Map a base URL the way google-genai's `base_url` does, but keep plain ws for http.

    http → ws, https → wss, and the standard path appended; a ws:// or wss:// URL that already has
    a path is used as it is.
    """
    parts = checked_base_url(base_url)
    scheme = {"http": "ws", "https": "wss", "ws": "ws", "wss": "wss"}[parts.scheme]
    if parts.query:
        raise ConfigError("--base-url must not carry a query string; keys go in --api-key")
    if parts.scheme in ("ws", "wss") and parts.path not in ("", "/"):
        return urlunsplit((scheme, parts.netloc, parts.path, "", ""))
    prefix = parts.path.rstrip("/")
    return urlunsplit((scheme, parts.netloc, prefix + path, "", ""))


def checked_base_url(base_url: str) -> SplitResult:
    """The parts of a --base-url, or a ConfigError saying what is wrong with it: the scheme,
    no host, a port that is not a number or not in 1–65535, an unclosed IPv6 bracket."""
    try:
        parts = urlsplit(base_url)
        port = parts.port  # urllib checks the port only when asked
    except ValueError as exc:
        problem = str(exc).replace("Port could not be cast to integer value as", "port is not a "
                                   "number:").replace("Port out of range 0-65535", "port out of "
                                   "range (1–65535)")
        raise ConfigError(f"--base-url: {problem} (got {_safe_text(base_url)})") from None
    if parts.scheme not in ("http", "https", "ws", "wss") or not parts.hostname:
        raise ConfigError(
            f"--base-url must start with http://, https://, ws:// or wss:// and name a host "
            f"(got {_safe(base_url)})"
        )
    if port == 0:
        raise ConfigError(f"--base-url: port out of range (1–65535) (got {_safe(base_url)})")
    return parts


def _safe_text(url: str) -> str:
    """A URL that urllib cannot parse, without anything that may be a credential."""
    head = url.split("?", 1)[0]
    scheme, sep, rest = head.partition("://")
    return scheme + sep + rest.rpartition("@")[2] if sep else head[:80]


def _safe(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc.rpartition("@")[2], parts.path, "", ""))


def build_endpoint(settings: Settings, *, base_url: str | None = None) -> Endpoint:
    """The URL, headers and model name for the settings' backend (not `auto`/`local`)."""
    if settings.connection.backend == "vertex":
        return _vertex_endpoint(settings, base_url or settings.connection.base_url)
    return _gemini_endpoint(settings, base_url or settings.connection.base_url)


def _gemini_endpoint(settings: Settings, base_url: str | None) -> Endpoint:
    headers: dict[str, str] = {}
    version = settings.connection.api_version
    credential = "none"
    if settings.connection.token:
        # §1.1: ephemeral tokens use the Constrained method and `Authorization: Token …`.
        method = "BidiGenerateContentConstrained"
        headers["Authorization"] = f"Token {settings.connection.token.reveal()}"
        credential = "token"
    else:
        method = "BidiGenerateContent"
        if settings.connection.api_key:
            headers["x-goog-api-key"] = settings.connection.api_key.reveal()
            credential = "key"
    path = GEMINI_PATH.format(version=version, method=method)
    url = websocket_url(base_url or GEMINI_BASE, path)
    return Endpoint(url, gemini_model_name(settings.model), headers, "gemini", version, credential)


def _vertex_endpoint(settings: Settings, base_url: str | None) -> Endpoint:
    if not settings.connection.project:
        raise ConfigError("--backend vertex needs --project (or GOOGLE_CLOUD_PROJECT)")
    location = settings.connection.location or "us-central1"
    path = VERTEX_PATH.format(version=VERTEX_VERSION)
    if base_url is None:
        base_url = f"https://{vertex_host(location)}"
    # OAuth only (§1.4). A Gemini API key (GEMINI_API_KEY) is never sent to Vertex: with a
    # project, google-genai too lets project/location take precedence over an API key.
    headers: dict[str, str] = {}
    credentials = None
    if settings.connection.access_token:
        headers["Authorization"] = f"Bearer {settings.connection.access_token.reveal()}"
    else:
        credentials = VertexCredentials()
        headers.update(credentials.headers())  # fails now, in one line, without credentials
    model = vertex_model_name(settings.model, settings.connection.project, location)
    return Endpoint(websocket_url(base_url, path), model, headers, "vertex", VERTEX_VERSION,
                    "oauth", credentials)


def vertex_host(location: str) -> str:
    """§1.4: regional `{L}-aiplatform…`, `aiplatform…` for global, `.rep.` for multi-regions."""
    if location == "global":
        return "aiplatform.googleapis.com"
    if location in VERTEX_MULTI_REGIONS:
        return f"aiplatform.{location}.rep.googleapis.com"
    return f"{location}-aiplatform.googleapis.com"
