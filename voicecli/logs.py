"""Logging set-up with a redaction filter: no log line may carry a credential.

`--debug` turns on debug logs, including the websockets library's handshake lines, which print
request headers. Every handler gets `RedactingFilter`, which masks credential headers, `key=` /
`access_token=` query parameters, and the value of every `Secret` created in this process.
"""

from __future__ import annotations

import logging
import re

_SECRETS: set[str] = set()
_PATTERNS = (
    re.compile(r"(?i)\b(x-goog-api-key|authorization)(\s*[:=]\s*)[^\r\n,'\"}]+"),
    re.compile(r"(?i)([?&](?:key|access_token)=)[^&\s'\"]+"),
)
MASK = "<redacted>"


def register_secret(value: str) -> None:
    """Remember a credential so that it is masked wherever it appears in a log line."""
    if len(value) >= 4:
        _SECRETS.add(value)


def redact(text: str) -> str:
    text = _PATTERNS[0].sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", text)
    text = _PATTERNS[1].sub(lambda m: f"{m.group(1)}{MASK}", text)
    for secret in _SECRETS:
        text = text.replace(secret, MASK)
    return text


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def configure_logging(debug: bool) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if debug else logging.WARNING)
