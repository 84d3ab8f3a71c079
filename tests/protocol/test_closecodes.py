"""Close codes and the reasons observed in practice (§5.9) → typed errors with one action line."""

from __future__ import annotations

import pytest

from voicecli.errors import (
    AuthenticationError,
    ExitCode,
    NetworkError,
    ServiceRefused,
    ServiceUnavailable,
    VoicecliError,
)
from voicecli.protocol.closecodes import classify_close, is_retryable

# (code, verbatim reason from §5.9, error type, words in the message, retryable)
CASES: list[tuple[int, str, type[VoicecliError], tuple[str, ...], bool]] = [
    (1007, "API key not valid. Please pass a valid API key.", AuthenticationError,
     ("API key", "GEMINI_API_KEY"), False),
    (1007, "API Key not found. Please pass a valid API key.", AuthenticationError,
     ("--api-key",), False),
    (1007, "API key expired", AuthenticationError, ("API key",), False),
    (1007, "Request contains an invalid argument.", ServiceRefused,
     ("voicecli models", "invalid argument"), False),
    (1007, "User location is not supported for the API use.", ServiceRefused,
     ("location",), False),
    (1007, "no matching speaker voice", ServiceRefused, ("--voice",), False),
    (1007, "Sample rate changed from previously 24000 to 16000, which is not supported.",
     ServiceRefused, ("rate",), False),
    (1007, "gemini-2.0-flash-exp is not supported in the live api.", ServiceRefused,
     ("--model",), False),
    (1008, "models/gemini-live-2.5-flash-preview is not found for API version v1beta, or is not "
     "supported for bidiGenerateContent. Call ListModels", ServiceRefused,
     ("voicecli models", "--model"), False),
    (1008, "Publisher Model `projects/p/locations/l/publishers/google/models/x` was not found",
     ServiceRefused, ("--model",), False),
    (1008, "Connection aborted because the client failed to close the connection after "
     "receiving a GoAway signal once the session duration limit was reached", ServiceRefused,
     ("goAway",), False),
    (1008, "Operation is not implemented, or supported, or enabled.", ServiceRefused,
     ("tools",), False),
    (1011, "Internal error occurred.", ServiceUnavailable, ("retr",), True),
    (1011, "Deadline expired before operation could complete.", ServiceUnavailable, (), True),
    (1011, "The service is currently unavailable.", ServiceUnavailable, (), True),
    (1011, "You exceeded your current quota, please check your plan and billing details.",
     ServiceRefused, ("quota", "billing"), False),
    (1011, "Resource has been exhausted (e.g. check quota).", ServiceRefused, ("quota",), False),
    (1011, "Your prepayment credits are depleted.", ServiceRefused, ("billing",), False),
    (1006, "", NetworkError, ("network",), True),
    (1001, "", ServiceUnavailable, (), True),
    (1013, "try again later", ServiceUnavailable, (), True),
    (1002, "protocol error", NetworkError, ("1002",), False),
]


@pytest.mark.parametrize(("code", "reason", "kind", "words", "retryable"), CASES,
                         ids=[f"{c[0]}-{c[1][:24]}" for c in CASES])
def test_classify_close(code: int, reason: str, kind: type[VoicecliError],
                        words: tuple[str, ...], retryable: bool) -> None:
    error = classify_close(code, reason)
    assert type(error) is kind
    message = str(error)
    assert "\n" not in message and str(code) in message
    for word in words:
        assert word in message
    assert is_retryable(code, reason) is retryable
    assert error.close_code == code  # type: ignore[union-attr]


def test_normal_close_is_no_error() -> None:
    assert classify_close(1000, "") is None
    assert is_retryable(1000, "") is False


def test_exit_codes_follow_the_error_tree() -> None:
    assert classify_close(1007, "API key not valid").exit_code is ExitCode.AUTH  # type: ignore[union-attr]
    assert classify_close(1008, "x").exit_code is ExitCode.REFUSED  # type: ignore[union-attr]
    assert classify_close(1011, "x").exit_code is ExitCode.NETWORK  # type: ignore[union-attr]


def test_long_reasons_are_kept_short() -> None:
    error = classify_close(1011, "x" * 500)
    assert error is not None and len(str(error)) < 300
