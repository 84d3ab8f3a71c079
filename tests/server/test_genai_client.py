"""`voicecli serve` driven by a client nobody here wrote: google-genai's own Live client.

google-genai forces wss:// (../shared/components.md §6), so the server runs with the
self-signed certificate `serve --tls` makes; the SDK is given a context trusting exactly it.
The SDK sends the key in `x-goog-api-key`, which the server is told to require.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from google import genai
from google.genai import types

from tests.speechgen import silence, speech_pcm16
from voicecli.server import RunningServer, ServerConfig, start_server
from voicecli.server.transport.tls import TlsFiles, self_signed

KEY = "genai-test-key"
TEXT_MODEL = "gemini-live-2.5-flash-preview"
AUDIO_MODEL = "gemini-3.8-live"
WEATHER = types.FunctionDeclaration(
    name="get_current_weather",
    description="The weather now in a city.",
    parameters=types.Schema(type="OBJECT", properties={"location": types.Schema(type="STRING")},
                            required=["location"]),
)


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return self_signed(Path(tmp_path_factory.mktemp("tls")))


@pytest.fixture
async def server(tls_files: TlsFiles) -> AsyncIterator[RunningServer]:
    config = ServerConfig(port=0, pace=0, require_key=KEY, tls=tls_files)
    async with await start_server(config) as running:
        yield running


def _client(server: RunningServer, tls_files: TlsFiles, key: str = KEY) -> genai.Client:
    assert server.url.startswith("wss://")
    options = types.HttpOptions(base_url=f"https://127.0.0.1:{server.port}",
                                api_version="v1beta",
                                async_client_args={"ssl": tls_files.client_context()})
    return genai.Client(api_key=key, http_options=options)


async def _turn(session) -> list[types.LiveServerMessage]:  # type: ignore[no-untyped-def]
    return [message async for message in session.receive()]  # ends at turnComplete


async def test_a_text_turn(server: RunningServer, tls_files: TlsFiles) -> None:
    config = types.LiveConnectConfig(response_modalities=["TEXT"],
                                     system_instruction="Answer briefly.")
    client = _client(server, tls_files)
    async with client.aio.live.connect(model=TEXT_MODEL, config=config) as session:
        await session.send_client_content(
            turns=types.Content(role="user", parts=[types.Part(text="hello from the sdk")]),
            turn_complete=True)
        messages = await _turn(session)
    text = "".join(m.text or "" for m in messages)
    assert text == "You said: hello from the sdk."
    assert messages[-1].server_content and messages[-1].server_content.turn_complete
    assert messages[-1].usage_metadata and messages[-1].usage_metadata.total_token_count


async def test_an_audio_turn_with_both_transcriptions(
    server: RunningServer, tls_files: TlsFiles
) -> None:
    config = types.LiveConnectConfig(
        response_modalities=["AUDIO"],
        input_audio_transcription=types.AudioTranscriptionConfig(),
        output_audio_transcription=types.AudioTranscriptionConfig(),
        realtime_input_config=types.RealtimeInputConfig(
            automatic_activity_detection=types.AutomaticActivityDetection(
                silence_duration_ms=500)),
    )
    pcm = silence(300) + speech_pcm16("please tell me a long story about the sea") + silence(900)
    client = _client(server, tls_files)
    async with client.aio.live.connect(model=AUDIO_MODEL, config=config) as session:
        for i in range(0, len(pcm), 640):
            await session.send_realtime_input(
                audio=types.Blob(data=pcm[i : i + 640], mime_type="audio/pcm;rate=16000"))
        messages = await _turn(session)
    contents = [m.server_content for m in messages if m.server_content]
    heard = "".join(c.input_transcription.text or "" for c in contents if c.input_transcription)
    said = "".join(c.output_transcription.text or "" for c in contents if c.output_transcription)
    audio = b"".join(m.data or b"" for m in messages)
    assert len({"tell", "long", "story", "about", "sea"} & set(heard.split())) >= 3, heard
    assert said.startswith("You said: ")
    assert len(audio) > 24000 * 2  # over a second of 24 kHz PCM16


async def test_a_tool_round_trip(server: RunningServer, tls_files: TlsFiles) -> None:
    config = types.LiveConnectConfig(response_modalities=["TEXT"],
                                     tools=[types.Tool(function_declarations=[WEATHER])])
    client = _client(server, tls_files)
    async with client.aio.live.connect(model=TEXT_MODEL, config=config) as session:
        await session.send_realtime_input(text="get the current weather in Paris")
        call = None
        async for message in session.receive():
            if message.tool_call:
                call = message.tool_call.function_calls[0]
                break
        assert call is not None and call.id and call.name == "get_current_weather"
        assert call.args == {"location": "Paris"}
        await session.send_tool_response(function_responses=[types.FunctionResponse(
            id=call.id, name=call.name, response={"output": "light rain, 12 C"})])
        messages = await _turn(session)
    text = "".join(m.text or "" for m in messages)
    assert text == 'get_current_weather returned "light rain, 12 C".'


async def test_a_resumed_session_continues_the_conversation(
    server: RunningServer, tls_files: TlsFiles
) -> None:
    client = _client(server, tls_files)
    config = types.LiveConnectConfig(response_modalities=["TEXT"],
                                     session_resumption=types.SessionResumptionConfig())
    handle = None
    async with client.aio.live.connect(model=TEXT_MODEL, config=config) as session:
        # the handle covering a turn follows its turnComplete: it arrives with the next turn
        for text in ("remember the word banana", "and apples"):
            await session.send_realtime_input(text=text)
            for message in await _turn(session):
                update = message.session_resumption_update
                if update and update.resumable and update.new_handle:
                    handle = update.new_handle
    assert handle
    config.session_resumption = types.SessionResumptionConfig(handle=handle)
    async with client.aio.live.connect(model=TEXT_MODEL, config=config) as session:
        await session.send_realtime_input(text="what did I say")
        text = "".join(m.text or "" for m in await _turn(session))
    assert text.startswith("You said: what did I say. This is turn ")
    assert "before that you said: and apples" in text or "remember the word banana" in text


async def test_a_wrong_key_is_refused(server: RunningServer, tls_files: TlsFiles) -> None:
    client = _client(server, tls_files, key="not-the-key")
    with pytest.raises(Exception) as caught:  # noqa: B017 - the SDK's own error type
        async with client.aio.live.connect(model=TEXT_MODEL) as session:
            await session.send_realtime_input(text="hello")
            await _turn(session)
    assert "1007" in str(caught.value) or "API key" in str(caught.value)
