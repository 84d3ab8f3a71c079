"""Log lines never carry credentials, whatever library emits them."""

from __future__ import annotations

import logging

import pytest

from voicecli.logs import RedactingFilter, redact
from voicecli.settings import Secret


@pytest.mark.parametrize(
    "line",
    [
        "> x-goog-api-key: AIzaSyABCDEF123",
        "> Authorization: Token auth_tokens/abc123",
        "> authorization: Bearer ya29.a0AfH6",
        "GET /ws/x?key=AIzaSyABCDEF123&alt=json HTTP/1.1",
        "connect wss://h/ws/m?access_token=auth_tokens/zzz",
    ],
)
def test_credential_shapes_are_masked(line: str) -> None:
    out = redact(line)
    assert "<redacted>" in out
    for fragment in ("AIzaSyABCDEF123", "auth_tokens/abc123", "ya29.a0AfH6", "auth_tokens/zzz"):
        assert fragment not in out


def test_registered_secret_values_are_masked_anywhere() -> None:
    Secret("my-own-secret-value")
    assert redact("oops my-own-secret-value leaked") == "oops <redacted> leaked"


def test_filter_rewrites_records_with_args(caplog: pytest.LogCaptureFixture) -> None:
    Secret("another-secret-123")
    logger = logging.getLogger("voicecli.test")
    args = ("another-secret-123",)
    record = logger.makeRecord("x", logging.DEBUG, __file__, 1, "header %s", args, None)
    assert RedactingFilter().filter(record)
    assert record.getMessage() == "header <redacted>"
