"""The environment of every program voicecli starts: an allow list, never voicecli's own.

What: `subprocess_env` builds a child's environment from the variables a program needs to run
at all (where programs are, whose home, which language and time zone, where temporary files go)
plus the names a tool declares (``env = ["GIT_DIR"]`` passes one on, ``env = { NAME = "value" }``
sets one). Nothing else is inherited.
Why an allow list: a deny list forgets what it does not know. voicecli's environment holds keys
and tokens (`CREDENTIAL_VARS`, and whatever else the user exported: AWS_SECRET_ACCESS_KEY,
GITHUB_TOKEN, …); a tool's output goes to the model, so a program that prints its environment
would otherwise hand them to the service. voicecli's own credentials cannot be declared either.

Used by command tools (command.py), the local server's certificate maker (server/transport/tls.py),
`gcloud` for Vertex tokens (client/vertex_credentials.py, with the variables gcloud needs), and
meant for every further child (MCP stdio servers).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping

#: What a program needs to start and behave like the user's shell (POSIX and Windows names).
BASE_VARS = frozenset({
    "PATH", "HOME", "USER", "LOGNAME", "SHELL", "LANG", "LANGUAGE", "TZ", "TMPDIR", "TEMP",
    "TMP", "TERM", "COLORTERM", "NO_COLOR", "XDG_RUNTIME_DIR", "XDG_CONFIG_HOME",
    "XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME", "SYSTEMROOT", "SYSTEMDRIVE", "WINDIR",
    "COMSPEC", "PATHEXT", "USERPROFILE", "HOMEDRIVE", "HOMEPATH", "APPDATA", "LOCALAPPDATA",
    "PROGRAMDATA", "PROGRAMFILES", "NUMBER_OF_PROCESSORS", "PROCESSOR_ARCHITECTURE",
})
BASE_PREFIXES = ("LC_",)  # LC_ALL, LC_CTYPE, …

#: Every credential variable voicecli reads (settings.py, server/transport/config.py): never passed
#: on, not even when a tool names it.
CREDENTIAL_VARS = frozenset({
    "VOICECLI_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY", "VOICECLI_TOKEN",
    "VOICECLI_ACCESS_TOKEN", "VOICECLI_BRAIN_KEY", "VOICECLI_SERVE_KEY",
})

#: What `gcloud auth print-access-token` needs beyond the base: its own configuration, the
#: credentials file it is pointed at, proxies and CA bundles.
GCLOUD_VARS = frozenset({
    "GOOGLE_APPLICATION_CREDENTIALS", "CLOUDSDK_CONFIG", "CLOUDSDK_PYTHON",
    "CLOUDSDK_ACTIVE_CONFIG_NAME", "CLOUDSDK_CORE_PROJECT", "CLOUDSDK_CORE_ACCOUNT",
    "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy",
    "REQUESTS_CA_BUNDLE", "SSL_CERT_FILE", "SSL_CERT_DIR", "CURL_CA_BUNDLE",
})

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def check_env_name(name: str) -> str | None:
    """Why `name` cannot be declared for a child's environment, or None when it can."""
    if not _NAME.fullmatch(name):
        return f"{name!r} is not a variable name (letters, digits and _)"
    if name.upper() in CREDENTIAL_VARS:
        return f"{name} is voicecli's own credential and is never passed to a program"
    return None


def subprocess_env(
    passed: Iterable[str] = (),
    values: Mapping[str, str] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The environment for a child process: `BASE_VARS` and ``LC_*`` from `environ` (default
    ``os.environ``), the `passed` names that are set there, then `values` as given. Credential
    variables voicecli knows are left out whatever the arguments say."""
    source = os.environ if environ is None else environ
    wanted = set(passed)
    env = {
        name: value for name, value in source.items()
        if name in wanted or name.upper() in BASE_VARS or name.upper().startswith(BASE_PREFIXES)
    }
    env.update(values or {})
    return {k: v for k, v in env.items() if k.upper() not in CREDENTIAL_VARS}
