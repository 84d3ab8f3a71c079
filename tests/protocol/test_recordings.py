"""The codec and sessions against real recordings of Google's Live service (tests/fixtures)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.protocol.recordings import Frame, Recording, load, load_recordings, recordings_dir
from voicecli.errors import LocalProtocolError, RemoteProtocolError
from voicecli.protocol import events as ev
from voicecli.protocol.codec import decode_client, decode_server, envelope, to_wire
from voicecli.protocol.messages import RealtimeInput, Setup, ToolResponse
from voicecli.protocol.session import ClientSession, ServerSession

RECORDINGS = load_recordings()
SERVER_FRAMES = [(r.name, i, f) for r in RECORDINGS for i, f in enumerate(r.server_frames)]
CLIENT_FRAMES = [(r.name, i, f) for r in RECORDINGS for i, f in enumerate(r.client_frames)]
OPAQUE_KEYS = {"args", "response", "parameters", "parametersJsonSchema", "responseJsonSchema",
               "groundingMetadata", "urlContextMetadata", "avatarConfig", "words"}


def frame_id(item: tuple[str, int, Frame]) -> str:
    return f"{item[0].removeprefix('live_')}#{item[1]}"


def snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name)


def snake_keys(value: Any) -> Any:
    """Every key in snake_case, except inside opaque user data (as Google's SDK sends, §2)."""
    if isinstance(value, dict):
        return {snake(k): v if k in OPAQUE_KEYS else snake_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [snake_keys(v) for v in value]
    return value


def test_all_recordings_are_found() -> None:
    assert recordings_dir().is_dir(), f"no recordings at {recordings_dir()}"
    assert len(RECORDINGS) == 19
    assert len(SERVER_FRAMES) == 48 and len(CLIENT_FRAMES) == 37


@pytest.mark.parametrize("item", SERVER_FRAMES, ids=[frame_id(x) for x in SERVER_FRAMES])
def test_server_frame_round_trips_exactly(item: tuple[str, int, Frame]) -> None:
    frame = item[2]
    assert frame.size - 2 <= len(frame.text.encode()) <= frame.size  # the log counts newlines
    msg = decode_server(frame.text.encode())  # §2: the service sends binary frames
    assert to_wire(msg) == json.loads(frame.text)
    assert msg.extra == {}  # every field the service sent is one we model


@pytest.mark.parametrize("item", CLIENT_FRAMES, ids=[frame_id(x) for x in CLIENT_FRAMES])
def test_client_frame_round_trips_exactly(item: tuple[str, int, Frame]) -> None:
    original = json.loads(item[2].text)
    msg = decode_client(item[2].text)
    assert envelope(msg) == original
    assert msg.extra == {}


@pytest.mark.parametrize("item", CLIENT_FRAMES[:20], ids=[frame_id(x) for x in CLIENT_FRAMES[:20]])
def test_snake_case_client_frame_decodes_to_the_same_message(item: tuple[str, int, Frame]) -> None:
    original = json.loads(item[2].text)
    respelled = json.dumps(snake_keys(original))
    assert decode_client(respelled) == decode_client(item[2].text)


def test_vertex_setup_complete_carries_a_session_id_and_the_developer_api_none() -> None:
    for recording in RECORDINGS:
        first = decode_server(recording.server_frames[0].text)
        assert first.setup_complete is not None
        if recording.is_vertex:
            assert first.setup_complete.session_id is not None
            assert len(first.setup_complete.session_id) == 36  # a UUID
        else:
            assert first.setup_complete.session_id is None


def test_vertex_audio_has_no_rate_and_defaults_to_24k() -> None:
    recording = load("live_Vertex_should_send_content_dict_in_async_session")
    audio = [e for f in recording.server_frames for e in ev.events_from(decode_server(f.text))
             if isinstance(e, ev.ModelAudio)]
    assert [len(a.data) for a in audio] == [9600, 11520]  # 200 ms and 240 ms of 24 kHz PCM16
    assert {a.rate for a in audio} == {24000}
    first = decode_server(recording.server_frames[1].text).server_content
    assert first is not None and first.model_turn is not None
    assert first.model_turn.role == "model"
    assert first.model_turn.parts[0].inline_data.mime_type == "audio/pcm"  # type: ignore[index,union-attr]


def test_output_transcript_deltas_concatenate() -> None:
    recording = load(
        "live_ML_Dev_should_receive_transcription_in_async_session_with_transcription_enabled")
    texts = [e.text for f in recording.server_frames for e in ev.events_from(decode_server(f.text))
             if isinstance(e, ev.OutputTranscript)]
    assert "".join(texts) == (
        "We could talk about anything you like. Perhaps you have a hobby or an interest you'd "
        "like to discuss, or maybe there's a topic you've been curious about lately."
    )


def test_vertex_empty_output_transcription_is_kept_but_yields_no_event() -> None:
    recording = load(
        "live_Vertex_should_receive_transcription_in_async_session_with_transcription_enabled")
    empty = decode_server(recording.server_frames[1].text)
    assert empty.server_content is not None
    assert empty.server_content.output_transcription is not None
    assert ev.events_from(empty) == []


def test_text_reply_and_usage() -> None:
    reply = load("live_ML_Dev_should_reply_to_realtime_text_input")
    texts = [e.text for f in reply.server_frames for e in ev.events_from(decode_server(f.text))
             if isinstance(e, ev.ModelText)]
    assert "".join(texts) == "Yes, I'm here! How can I help you today?"
    done = load("live_ML_Dev_should_send_text_in_async_session").server_frames[-1]
    events = ev.events_from(decode_server(done.text))
    assert [type(e) for e in events] == [ev.Usage, ev.TurnComplete]  # §2: usage first
    usage = events[0].usage  # type: ignore[union-attr]
    assert (usage.prompt_token_count, usage.response_token_count, usage.total_token_count) == (
        515, 38, 553)
    assert usage.response_tokens_details[0].modality == "TEXT"


def test_tool_call_is_preceded_by_executable_code() -> None:
    recording = load("live_ML_Dev_should_send_tool_response")
    events = [e for f in recording.server_frames[1:] for e in ev.events_from(decode_server(f.text))]
    assert isinstance(events[0], ev.ExecutableCode) and events[0].language == "PYTHON"
    assert isinstance(events[1], ev.ToolCallRequested)
    (call,) = events[1].calls
    assert call.id == "function-call-5831923424298605773"
    assert call.name == "get_current_weather" and call.args == {"location": "Redmond, WA"}


def test_client_audio_frame_is_three_seconds_of_16k_pcm() -> None:
    for name in ("live_ML_Dev_should_reply_to_realtime_audio_input",
                 "live_Vertex_should_respond_to_realtime_media-audio_input"):
        msg = decode_client(load(name).client_frames[1].text)
        assert isinstance(msg, RealtimeInput)
        blob = msg.audio or (msg.media_chunks or [None])[0]
        assert blob is not None and blob.data is not None
        assert len(blob.data) == 96938  # ≈ 3.03 s at 16 kHz, 16-bit mono


def test_setup_function_declaration_parameters_are_opaque() -> None:
    msg = decode_client(load("live_Vertex_should_send_tool_response").client_frames[0].text)
    assert isinstance(msg, Setup) and msg.tools is not None
    decl = msg.tools[0].function_declarations[0]  # type: ignore[index]
    assert decl.parameters is not None
    assert decl.parameters["properties"]["unit"]["enum"] == ["celsius", "fahrenheit"]
    assert msg.model is not None and msg.model.startswith("projects/")


# ---- replaying whole recordings through both sessions --------------------------------------------

#: recordings in which the client broke a rule; what each side says about it
BROKEN = {
    # toolResponse without an id (§3.4): we refuse to send it; our server refuses to accept it
    "live_Vertex_should_return_error_for_invalid_input_in_async_session": (
        LocalProtocolError, RemoteProtocolError),
    "live_Vertex_should_send_tool_response_with_function_responses": (
        LocalProtocolError, RemoteProtocolError),
    # a response for an id the server never issued: we refuse; a server tolerates the race (§4.4)
    "live_ML_Dev_should_send_tool_response_with_function_responses": (LocalProtocolError, None),
}


def replay_client(recording: Recording) -> ClientSession:
    client = ClientSession()
    for frame in recording.frames:
        if frame.from_client:
            client.send(decode_client(frame.text))
            (sent,) = client.data_to_send()
            assert json.loads(sent) == json.loads(frame.text)
        else:
            client.receive_data(frame.text.encode())
            client.events_received()
    return client


def replay_server(recording: Recording) -> ServerSession:
    server = ServerSession()
    for frame in recording.frames:
        if frame.from_client:
            server.receive_data(frame.text)
            assert len(server.events_received()) == 1
        else:
            server.send(decode_server(frame.text))
            (sent,) = server.data_to_send()
            assert sent == frame.text.encode()  # byte-identical to what Google's server sent
    return server


@pytest.mark.parametrize("recording", RECORDINGS, ids=[r.name for r in RECORDINGS])
def test_client_session_replays_the_recording(recording: Recording) -> None:
    expected = BROKEN.get(recording.name, (None, None))[0]
    if expected is None:
        client = replay_client(recording)
        assert client.state.name == "ACTIVE"
    else:
        with pytest.raises(expected, match="id"):
            replay_client(recording)


@pytest.mark.parametrize("recording", RECORDINGS, ids=[r.name for r in RECORDINGS])
def test_server_session_replays_the_recording(recording: Recording) -> None:
    expected = BROKEN.get(recording.name, (None, None))[1]
    if expected is None:
        server = replay_server(recording)
        assert server.setup is not None and server.setup.model == decode_client(
            recording.client_frames[0].text).model  # type: ignore[union-attr]
    else:
        with pytest.raises(expected, match="id"):
            replay_server(recording)


def test_unanswered_tool_call_stays_pending_after_replay() -> None:
    client = replay_client(load("live_Vertex_should_send_tool_response"))
    assert client.pending_tool_calls == {"8acdafcd-9c55-44be-84da-da3d2612f9d1"}
    assert client.in_turn  # generationComplete arrived, turnComplete not yet


def test_broken_recorded_tool_response_decodes() -> None:
    name = "live_Vertex_should_return_error_for_invalid_input_in_async_session"
    msg = decode_client(load(name).client_frames[1].text)
    assert isinstance(msg, ToolResponse) and msg.function_responses is not None
    assert msg.function_responses[0].id is None
    assert msg.function_responses[0].response == {"response": {}}
