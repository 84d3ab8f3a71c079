"""OAuth access tokens for Vertex AI (live-protocol.md §1.4: `Authorization: Bearer …`).

Two sources, in this order:
1. Application Default Credentials through `google-auth` (the optional `vertex` extra:
   `pip install 'voicecli[vertex]'`), refreshed by google-auth when they expire.
2. `gcloud auth print-access-token`, run with a timeout. The command reports no expiry, but
   gcloud only hands out a token with at least 300 s of life left (it refreshes inside its
   `_CREDENTIALS_EXPIRY_WINDOW = '300s'`, googlecloudsdk/core/credentials/store.py), so a token
   is reused for 240 s and fetched again after that.

`VertexCredentials.bearer()` is called for every connection, so a reconnect after a goAway or a
dropped socket presents a token that is still valid. Tokens are `Secret`s: never printed or logged.
"""

from __future__ import annotations

import shutil
import subprocess
import threading
import time
from collections.abc import Callable
from typing import Any

from voicecli.errors import AuthenticationError
from voicecli.logs import redact
from voicecli.settings import Secret

SCOPE = "https://www.googleapis.com/auth/cloud-platform"
GCLOUD_REUSE_S = 240.0  # < gcloud's 300 s refresh window (see above)
GCLOUD_TIMEOUT_S = 30.0
NO_CREDENTIALS = (
    "Vertex AI needs credentials: run `gcloud auth application-default login` with "
    "`pip install 'voicecli[vertex]'` (Application Default Credentials), or install the gcloud "
    "CLI and run `gcloud auth login`, or set access_token / VOICECLI_ACCESS_TOKEN"
)


class VertexCredentials:
    """Fetches and caches a Vertex access token; safe to share between threads."""

    def __init__(
        self,
        *,
        gcloud_reuse_s: float = GCLOUD_REUSE_S,
        gcloud_timeout_s: float = GCLOUD_TIMEOUT_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.gcloud_reuse_s = gcloud_reuse_s
        self.gcloud_timeout_s = gcloud_timeout_s
        self._clock = clock
        self._lock = threading.Lock()
        self._adc: Any = None  # google.auth credentials (an optional import), once found
        self._token: Secret | None = None
        self._valid_until = 0.0
        self.source: str | None = None  # "adc" | "gcloud"
        self.fetches = 0  # how many times a token was obtained (not served from the cache)

    def bearer(self) -> str:
        """A valid access token, fetched again when the cached one may have expired."""
        with self._lock:
            if self._adc is None and (self._token is None or self._clock() >= self._valid_until):
                self._fetch()
            if self._adc is not None:
                return self._adc_token()
            assert self._token is not None
            return self._token.reveal()

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.bearer()}"}

    def _fetch(self) -> None:
        adc_problem = self._try_adc()
        if self._adc is not None:
            return
        gcloud = shutil.which("gcloud")
        if gcloud is None:
            raise AuthenticationError(adc_problem or NO_CREDENTIALS)
        self._token = Secret(_run_gcloud(gcloud, self.gcloud_timeout_s))
        self._valid_until = self._clock() + self.gcloud_reuse_s
        self.source = "gcloud"
        self.fetches += 1

    def _try_adc(self) -> str | None:
        """Find ADC through google-auth; a problem other than "none configured" is returned so
        that it can be reported if gcloud is missing too."""
        try:
            import google.auth
            from google.auth.exceptions import DefaultCredentialsError
        except ImportError:
            return None
        try:
            creds, _ = google.auth.default(scopes=[SCOPE])
        except DefaultCredentialsError:
            return None
        except Exception as exc:  # noqa: BLE001 - a broken ADC file is reported, not raised
            return f"Application Default Credentials are unusable: {_describe(exc)}"
        self._adc = creds
        self.source = "adc"
        try:
            self._adc_token()
        except AuthenticationError as exc:
            self._adc = None
            return str(exc)
        return None

    def _adc_token(self) -> str:
        creds = self._adc
        if not getattr(creds, "valid", False):
            try:
                from google.auth.transport.requests import Request

                creds.refresh(Request())
            except Exception as exc:  # noqa: BLE001 - ImportError (no requests), RefreshError, …
                raise AuthenticationError(
                    f"cannot refresh Application Default Credentials: {_describe(exc)}; run "
                    "`gcloud auth application-default login`"
                ) from None
            self.fetches += 1
        token = str(getattr(creds, "token", "") or "")
        if not token:
            raise AuthenticationError("Application Default Credentials gave no access token")
        Secret(token)  # registered: masked in every log line
        return token


def _run_gcloud(gcloud: str, timeout_s: float) -> str:
    from voicecli.tools.environment import GCLOUD_VARS, subprocess_env

    command = "`gcloud auth print-access-token`"
    try:
        out = subprocess.run(
            [gcloud, "auth", "print-access-token"], capture_output=True, text=True,
            timeout=timeout_s, stdin=subprocess.DEVNULL,
            env=subprocess_env(GCLOUD_VARS),  # gcloud's own settings; no key of voicecli's
        )
    except subprocess.TimeoutExpired:
        raise AuthenticationError(f"{command} did not answer within {timeout_s:g} s") from None
    except OSError as exc:
        raise AuthenticationError(f"cannot run {command}: {exc.strerror or exc}") from None
    if out.returncode != 0:
        said = next((ln.strip() for ln in out.stderr.splitlines() if ln.strip()), "")
        detail = f": {redact(said)[:200]}" if said else ""
        raise AuthenticationError(
            f"{command} failed (exit {out.returncode}){detail}; run `gcloud auth login`"
        )
    token = out.stdout.strip()
    if not token or any(c.isspace() for c in token):
        raise AuthenticationError(f"{command} printed no usable token; run `gcloud auth login`")
    return token


def _describe(exc: BaseException) -> str:
    text = " ".join(str(exc).split())[:200]
    return redact(f"{exc.__class__.__name__}: {text}" if text else exc.__class__.__name__)
