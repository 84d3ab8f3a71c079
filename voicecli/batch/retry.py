"""Which failures a batch retries, and how long it waits between attempts."""

from __future__ import annotations

from voicecli.client.live import backoff_delay
from voicecli.errors import NetworkError, RemoteProtocolError, ServiceRefused, VoicecliError

#: A refusal is retried only when it is about quota or rate (1011 "resource exhausted").
_QUOTA_WORDS = ("quota", "exhausted", "rate limit")


def is_retryable(error: BaseException) -> bool:
    """Network failures, 1011/1013 unavailability, broken frames and quota are worth retrying;
    authentication, invalid arguments, unknown models and bad input never are."""
    if isinstance(error, NetworkError | RemoteProtocolError):
        return True
    if isinstance(error, ServiceRefused):
        message = str(error).lower()
        return any(word in message for word in _QUOTA_WORDS)
    return False


def retry_delay(attempt: int, base_s: float, cap_s: float) -> float:
    """Full-jitter exponential backoff before attempt `attempt + 1`."""
    return backoff_delay(attempt, base_s, cap_s)


def error_code(error: BaseException) -> str:
    return error.code if isinstance(error, VoicecliError) else "unexpected"
