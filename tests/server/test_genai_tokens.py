"""Ephemeral tokens between the local server and google-genai, Google's own client: the SDK mints
tokens with its `auth_tokens.create` (§1.5) and connects with one (§1.1), so both sides of our
token support are checked against code we did not write."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest
from google import genai
from google.genai import errors, types

from voicecli.server import ServerConfig, start_server
from voicecli.server.transport.tls import TlsFiles, self_signed

from .helpers import AUDIO_MODEL, connect, setup_msg, text_of

KEY = "genai-token-key"
TEXT_MODEL = "gemini-live-2.5-flash-preview"
CONSTRAINED = ("/ws/google.ai.generativelanguage.v1alpha.GenerativeService."
               "BidiGenerateContentConstrained")


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return self_signed(Path(tmp_path_factory.mktemp("tls")))


async def test_the_sdk_mints_a_locked_token_that_the_server_enforces() -> None:
    """`lock_additional_fields=[]`: the SDK sends the constraints' set fields as fieldMask."""
    async with await start_server(ServerConfig(port=0, pace=0, require_key=KEY)) as server:
        options = types.HttpOptions(base_url=f"http://127.0.0.1:{server.port}",
                                    api_version="v1alpha")
        constraints = types.LiveConnectConstraints(
            model=TEXT_MODEL, config=types.LiveConnectConfig(response_modalities=["TEXT"]))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", errors.ExperimentalWarning)
            token = await genai.Client(api_key=KEY, http_options=options).aio.auth_tokens.create(
                config=types.CreateAuthTokenConfig(
                    uses=2, live_connect_constraints=constraints, lock_additional_fields=[]))
        assert token.name is not None and token.name.startswith("auth_tokens/")
        issued = server.shared.tokens.check(token.name)
        assert issued.uses == 2
        assert issued.field_mask == ("model", "generationConfig.responseModalities")
        headers = {"Authorization": f"Token {token.name}"}
        for _ in range(2):  # the client asks for AUDIO on another model; the lock says TEXT
            async with connect(server, CONSTRAINED, headers=headers) as c:
                await c.send(setup_msg(AUDIO_MODEL, "AUDIO"))
                assert "setupComplete" in (await c.recv()).msg
                await c.send({"realtimeInput": {"text": "sdk token"}})
                assert text_of(await c.turn()) == "You said: sdk token."
        async with connect(server, CONSTRAINED, headers=headers) as c:
            await c.send(setup_msg())
            assert (await c.closed())[0] == 1007  # uses=2 spent


async def test_a_wrong_key_reaches_the_sdk_in_googles_error_shape() -> None:
    async with await start_server(ServerConfig(port=0, pace=0, require_key=KEY)) as server:
        options = types.HttpOptions(base_url=f"http://127.0.0.1:{server.port}",
                                    api_version="v1alpha")
        client = genai.Client(api_key="not-the-key", http_options=options)
        with warnings.catch_warnings(), pytest.raises(errors.ClientError) as info:
            warnings.simplefilter("ignore", errors.ExperimentalWarning)
            await client.aio.auth_tokens.create(config=types.CreateAuthTokenConfig(uses=1))
    assert info.value.code == 400 and "API key not valid" in (info.value.message or "")
    assert info.value.status == "INVALID_ARGUMENT"


async def test_the_sdk_live_client_connects_with_a_token_once(tls_files: TlsFiles) -> None:
    """google-genai puts the token in `Authorization: Token …` on the Constrained method, and
    leaves it in `x-goog-api-key` too (§1.1); a token of one use opens one session."""
    config = ServerConfig(port=0, pace=0, require_key=KEY, tls=tls_files)
    async with await start_server(config) as server:
        name = server.shared.tokens.create({"uses": 1})["name"]
        options = types.HttpOptions(base_url=f"https://127.0.0.1:{server.port}",
                                    api_version="v1alpha",
                                    async_client_args={"ssl": tls_files.client_context()})
        client = genai.Client(api_key=name, http_options=options)
        live = types.LiveConnectConfig(response_modalities=["TEXT"])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", errors.ExperimentalWarning)
            async with client.aio.live.connect(model=TEXT_MODEL, config=live) as session:
                await session.send_realtime_input(text="hello with a token")
                text = "".join([m.text or "" async for m in session.receive()])
            assert text == "You said: hello with a token."
            with pytest.raises(errors.APIError) as info:
                async with client.aio.live.connect(model=TEXT_MODEL, config=live) as session:
                    [m async for m in session.receive()]
    assert "API key not valid" in json.dumps(str(info.value))
