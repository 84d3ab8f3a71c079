"""Where to connect and how to authenticate (live-protocol.md §1).

An `Endpoint`'s `url` never carries a credential: keys travel in headers (`x-goog-api-key`,
`Authorization: Token …` for ephemeral tokens, `Authorization: Bearer …` for Vertex), so the URL
can be shown and logged. The headers are never shown.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

from voicecli.errors import AuthenticationError, ConfigError
from voicecli.settings import Settings

GEMINI_BASE = "https://generativelanguage.googleapis.com"
GEMINI_PATH = "/ws/google.ai.generativelanguage.{version}.GenerativeService.{method}"
VERTEX_PATH = "/ws/google.cloud.aiplatform.{version}.LlmBidiService/BidiGenerateContent"
VERTEX_VERSION = "v1beta1"  # the SDKs' default (§1.4)


@dataclass(frozen=True)
class Endpoint:
    url: str
    model: str  # the model name as sent in setup.model
    headers: dict[str, str] = field(default_factory=dict, repr=False)
    backend: str = "gemini"
    api_version: str = "v1beta"

    def __repr__(self) -> str:
        return f"Endpoint(url={self.url!r}, model={self.model!r}, backend={self.backend!r})"


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
    parts = urlsplit(base_url)
    scheme = {"http": "ws", "https": "wss", "ws": "ws", "wss": "wss"}.get(parts.scheme)
    if scheme is None or not parts.netloc:
        raise ConfigError(
            f"--base-url must start with http://, https://, ws:// or wss:// (got {_safe(base_url)})"
        )
    if parts.query:
        raise ConfigError("--base-url must not carry a query string; keys go in --api-key")
    if parts.scheme in ("ws", "wss") and parts.path not in ("", "/"):
        return urlunsplit((scheme, parts.netloc, parts.path, "", ""))
    prefix = parts.path.rstrip("/")
    return urlunsplit((scheme, parts.netloc, prefix + path, "", ""))


def _safe(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc.rpartition("@")[2], parts.path, "", ""))


def build_endpoint(settings: Settings, *, base_url: str | None = None) -> Endpoint:
    """The URL, headers and model name for the settings' backend (not `auto`/`local`)."""
    if settings.backend == "vertex":
        return _vertex_endpoint(settings, base_url or settings.base_url)
    return _gemini_endpoint(settings, base_url or settings.base_url)


def _gemini_endpoint(settings: Settings, base_url: str | None) -> Endpoint:
    headers: dict[str, str] = {}
    version = settings.api_version
    if settings.token:
        # §1.1: ephemeral tokens use the Constrained method and `Authorization: Token …`.
        method = "BidiGenerateContentConstrained"
        headers["Authorization"] = f"Token {settings.token.reveal()}"
    else:
        method = "BidiGenerateContent"
        if settings.api_key:
            headers["x-goog-api-key"] = settings.api_key.reveal()
    path = GEMINI_PATH.format(version=version, method=method)
    url = websocket_url(base_url or GEMINI_BASE, path)
    return Endpoint(url, gemini_model_name(settings.model), headers, "gemini", version)


def _vertex_endpoint(settings: Settings, base_url: str | None) -> Endpoint:
    if not settings.project:
        raise ConfigError("--backend vertex needs --project (or GOOGLE_CLOUD_PROJECT)")
    location = settings.location or "us-central1"
    path = VERTEX_PATH.format(version=VERTEX_VERSION)
    if base_url is None:
        host = "aiplatform.googleapis.com" if location == "global" else (
            f"{location}-aiplatform.googleapis.com"
        )
        base_url = f"https://{host}"
    headers: dict[str, str] = {}
    if settings.api_key:  # Vertex express mode
        headers["x-goog-api-key"] = settings.api_key.reveal()
    else:
        token = settings.access_token.reveal() if settings.access_token else gcloud_access_token()
        headers["Authorization"] = f"Bearer {token}"
    model = vertex_model_name(settings.model, settings.project, location)
    return Endpoint(websocket_url(base_url, path), model, headers, "vertex", VERTEX_VERSION)


def gcloud_access_token() -> str:
    """An OAuth access token from Application Default Credentials or the gcloud CLI."""
    token = _google_auth_token()
    if token:
        return token
    gcloud = shutil.which("gcloud")
    if gcloud is None:
        raise AuthenticationError(
            "Vertex AI needs credentials: install google-auth and run "
            "`gcloud auth application-default login`, or pass --access-token"
        )
    try:
        out = subprocess.run(
            [gcloud, "auth", "print-access-token"], capture_output=True, text=True, timeout=30
        )
    except (OSError, subprocess.TimeoutExpired):
        out = None
    if out is None or out.returncode != 0 or not out.stdout.strip():
        raise AuthenticationError(
            "`gcloud auth print-access-token` failed; run `gcloud auth login`"
        )
    return out.stdout.strip()


def _google_auth_token() -> str | None:
    try:
        import google.auth  # type: ignore[import-not-found]
        import google.auth.transport.requests  # type: ignore[import-not-found]
    except ImportError:
        return None
    try:
        creds, _ = google.auth.default(scopes=["https://www.googleapis.com/auth/cloud-platform"])
        creds.refresh(google.auth.transport.requests.Request())
    except Exception:  # noqa: BLE001 - any ADC failure means "no ADC"; gcloud is tried next
        return None
    return str(creds.token) if creds.token else None
