"""Minting ephemeral tokens (live-protocol.md §1.3, §1.5): the request we send, where it goes,
and how every failure becomes one line with the right exit code; against the local server."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from voicecli.client.auth_tokens import (
    TokenRequest,
    auth_tokens_url,
    http_error,
    mint_token,
    token_body,
)
from voicecli.client.endpoints import build_endpoint
from voicecli.client.live import ConnectOptions, LiveSession
from voicecli.client.setup import SetupOptions, build_setup
from voicecli.errors import (
    AuthenticationError,
    ConfigError,
    NetworkError,
    RemoteProtocolError,
    ServiceRefused,
    ServiceUnavailable,
)
from voicecli.server import ServerConfig, start_server
from voicecli.server.transport.tls import self_signed
from voicecli.settings import Secret, Settings

KEY = "AIza-token-test-key"
TEXT_MODEL = "gemini-live-2.5-flash-preview"
NOW = datetime(2026, 5, 1, 12, 0, 0, 250_000, tzinfo=UTC)


def test_body_is_flat_with_rfc3339_times() -> None:
    body = token_body(TokenRequest(uses=0, expire_s=7200, new_session_expire_s=90), NOW)
    assert body == {"uses": 0, "expireTime": "2026-05-01T14:00:00.250Z",
                    "newSessionExpireTime": "2026-05-01T12:01:30.250Z"}


def test_a_locked_body_masks_the_fields_the_setup_sets() -> None:
    settings = Settings.of(model=TEXT_MODEL, response="text", system_instruction="Be brief.",
                           voice="kore")
    setup = build_setup(settings, "models/" + TEXT_MODEL, SetupOptions())
    body = token_body(TokenRequest(lock=setup), NOW)
    locked = body["bidiGenerateContentSetup"]
    assert locked["model"] == "models/" + TEXT_MODEL and "sessionResumption" not in locked
    assert body["fieldMask"].split(",") == [
        "model", "generationConfig.responseModalities", "generationConfig.speechConfig",
        "systemInstruction.parts"]


@pytest.mark.parametrize(("base", "version", "url"), [
    (None, "v1beta", "https://generativelanguage.googleapis.com/v1beta/auth_tokens"),
    (None, "v1alpha", "https://generativelanguage.googleapis.com/v1alpha/auth_tokens"),
    ("http://127.0.0.1:8765", "v1beta", "http://127.0.0.1:8765/v1beta/auth_tokens"),
    ("https://gw.example/prefix/", "v1alpha", "https://gw.example/prefix/v1alpha/auth_tokens"),
    ("ws://127.0.0.1:9", "v1alpha", "http://127.0.0.1:9/v1alpha/auth_tokens"),
    ("wss://gw.example/ws/custom", "v1beta", "https://gw.example/v1beta/auth_tokens"),
])
def test_the_rest_url_follows_base_url_and_version(base: str | None, version: str, url: str):
    assert auth_tokens_url(base, version) == url


@pytest.mark.parametrize(("base", "version"), [
    (None, "v1"), ("ftp://x", "v1beta"), ("http://h/?key=abc", "v1beta")])
def test_bad_url_settings_are_config_errors(base: str | None, version: str) -> None:
    with pytest.raises(ConfigError):
        auth_tokens_url(base, version)


def google_error(code: int, message: str, status: str, reason: str = "") -> bytes:
    error: dict[str, object] = {"code": code, "message": message, "status": status}
    if reason:
        error["details"] = [{"@type": "type.googleapis.com/google.rpc.ErrorInfo",
                             "reason": reason}]
    return json.dumps({"error": error}).encode()


@pytest.mark.parametrize(("status", "raw", "kind", "fragment"), [
    (400, google_error(400, "API key not valid. Please pass a valid API key.",
                       "INVALID_ARGUMENT", "API_KEY_INVALID"), AuthenticationError, "API key"),
    (403, google_error(403, "Method doesn't allow unregistered callers", "PERMISSION_DENIED"),
     AuthenticationError, "PERMISSION_DENIED"),
    (404, b'{"error":{"message":"","code":404,"status":"Not Found"}}', ServiceRefused,
     "other --api-version"),
    (400, google_error(400, "uses must not be negative", "INVALID_ARGUMENT"), ServiceRefused,
     "uses must not be negative"),
    (429, google_error(429, "Resource has been exhausted", "RESOURCE_EXHAUSTED"),
     ServiceRefused, "exhausted"),
    (503, b"<html>Service Unavailable</html>", ServiceUnavailable, "Service Unavailable"),
])
def test_http_errors_map_to_exit_codes_in_one_line(
    status: int, raw: bytes, kind: type[Exception], fragment: str
) -> None:
    error = http_error("https://x/v1beta/auth_tokens", status, raw)
    assert isinstance(error, kind) and fragment in str(error) and "\n" not in str(error)


def test_a_quoted_error_never_carries_the_key() -> None:
    Secret(KEY)  # registered, as settings do with every key
    error = http_error("u", 400, google_error(400, f"bad key {KEY}", "INVALID_ARGUMENT"))
    assert KEY not in str(error)


# ---- against the local server --------------------------------------------------------------


async def mint(settings: Settings, request: TokenRequest | None = None) -> dict[str, object]:
    return await asyncio.to_thread(mint_token, settings, request or TokenRequest())


async def test_a_locked_token_is_minted_and_connects_through_constrained() -> None:
    async with await start_server(ServerConfig(port=0, pace=0, require_key=KEY)) as server:
        http = server.url.replace("ws://", "http://")
        settings = Settings.of(backend="gemini", base_url=http, api_key=Secret(KEY),
                               model=TEXT_MODEL, response="text", api_version="v1alpha")
        lock = build_setup(settings, "models/" + TEXT_MODEL, SetupOptions())
        resource = await mint(settings, TokenRequest(uses=2, lock=lock))
        name = str(resource["name"])
        issued = server.shared.tokens.check(name)
        assert issued.uses == 2 and issued.setup == resource["bidiGenerateContentSetup"]
        assert resource["fieldMask"] == ",".join(issued.field_mask)
        user = Settings.of(backend="gemini", base_url=http, token=Secret(name),
                           model="gemini-3.8-live", response="audio", api_version="v1alpha")
        endpoint = build_endpoint(user)
        assert endpoint.credential == "token" and "Constrained" in endpoint.url
        setup = build_setup(user, endpoint.model, SetupOptions())
        async with LiveSession(endpoint, setup, ConnectOptions(setup_timeout_s=5)) as live:
            await live.send_text("through the lock")
            texts = []
            async for event in live.events():
                texts.append(getattr(event, "text", ""))
                if type(event).__name__ == "TurnComplete":
                    break
        assert "".join(texts) == "You said: through the lock."  # TEXT: the lock won
        assert issued.used == 1


async def test_minting_failures() -> None:
    async with await start_server(ServerConfig(port=0, pace=0, require_key=KEY)) as server:
        http = server.url.replace("ws://", "http://")
        with pytest.raises(AuthenticationError, match="refused the API key"):
            await mint(Settings.of(base_url=http, api_key=Secret("AIza-wrong")))
        with pytest.raises(AuthenticationError, match="unregistered callers"):
            await mint(Settings.of(base_url=http))  # a base URL and no key: sent, refused
        port = server.port
    with pytest.raises(NetworkError, match=f"cannot connect to http://127.0.0.1:{port}"):
        await mint(Settings.of(base_url=http, api_key=Secret(KEY)))
    with pytest.raises(AuthenticationError, match="needs your API key"):
        await mint(Settings())
    with pytest.raises(ConfigError, match="Vertex"):
        await mint(Settings.of(backend="vertex", api_key=Secret(KEY)))


async def test_over_tls_an_untrusted_certificate_says_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = self_signed(tmp_path)
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    async with await start_server(ServerConfig(port=0, pace=0, tls=files)) as server:
        settings = Settings.of(base_url=f"https://127.0.0.1:{server.port}", api_key=Secret(KEY))
        with pytest.raises(NetworkError, match="SSL_CERT_FILE"):
            await mint(settings)
        monkeypatch.setenv("SSL_CERT_FILE", str(files.cert))  # what `serve --tls` tells users
        assert str((await mint(settings))["name"]).startswith("auth_tokens/")


async def test_a_non_token_answer_is_a_protocol_error() -> None:
    async def not_google(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(not_google, "127.0.0.1", 0)
    async with server:
        port = server.sockets[0].getsockname()[1]
        with pytest.raises(RemoteProtocolError, match="without a token"):
            await mint(Settings.of(base_url=f"http://127.0.0.1:{port}", api_key=Secret(KEY)))
