"""Google's own Python SDK (google-genai) as the oracle of wire conformance.

Its pydantic models use camelCase aliases and ``extra="forbid"``, so validating our JSON with them
catches a misspelt or misplaced key; dumping them back (``by_alias``) and comparing catches a value
we encode differently. The SDK dumps bytes as URL-safe base64 (§2), so its output also exercises
our decoder's second alphabet.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from google.genai import types

from voicecli.protocol import events as ev
from voicecli.protocol.codec import decode_server, encode
from voicecli.protocol.messages import (
    ActivityEnd,
    ActivityStart,
    AudioTranscriptionConfig,
    AutomaticActivityDetection,
    Blob,
    ClientContent,
    ClientMessage,
    Content,
    ContextWindowCompression,
    FunctionCall,
    FunctionDeclaration,
    FunctionResponse,
    FunctionResponsePart,
    GenerationConfig,
    HistoryConfig,
    Part,
    PrebuiltVoiceConfig,
    ProactivityConfig,
    RealtimeInput,
    RealtimeInputConfig,
    SafetySetting,
    ServerContent,
    ServerMessage,
    SessionResumptionConfig,
    SessionResumptionUpdate,
    Setup,
    SetupComplete,
    SlidingWindow,
    SpeechConfig,
    ThinkingConfig,
    Tool,
    ToolCall,
    ToolCallCancellation,
    ToolResponse,
    Transcription,
    TranslationConfig,
    UsageMetadata,
    VoiceConfig,
)

PCM = bytes(range(256)) * 8  # every byte value, so '+' '/' vs '-' '_' matter

RICH_SETUP = Setup(
    model="models/gemini-2.5-flash-native-audio-preview-12-2025",
    generation_config=GenerationConfig(
        response_modalities=["AUDIO"], temperature=0.7, top_p=0.95, top_k=40,
        max_output_tokens=1024, seed=13, candidate_count=1, presence_penalty=0.1,
        frequency_penalty=0.2, media_resolution="MEDIA_RESOLUTION_LOW",
        speech_config=SpeechConfig(
            voice_config=VoiceConfig(prebuilt_voice_config=PrebuiltVoiceConfig(voice_name="Kore")),
            language_code="en-US"),
        thinking_config=ThinkingConfig(thinking_budget=1024, thinking_level="LOW",
                                       include_thoughts=True),
        enable_affective_dialog=True,
        translation_config=TranslationConfig(target_language_code="es",
                                             echo_target_language=False),
    ),
    system_instruction=Content(role="user", parts=[Part(text="You are a helpful assistant.")]),
    tools=[
        Tool(function_declarations=[FunctionDeclaration(
            name="get_current_weather", description="Weather now",
            parameters={"type": "OBJECT", "properties": {"location": {"type": "STRING"}},
                        "required": ["location"]},
            behavior="NON_BLOCKING")]),
        Tool(function_declarations=[FunctionDeclaration(
            name="json_schema_tool", parameters_json_schema={
                "type": "object", "properties": {"snake_key": {"type": "string"}}},
            response_json_schema={"type": "string"})]),
        Tool(google_search={}), Tool(code_execution={}), Tool(url_context={}),
    ],
    session_resumption=SessionResumptionConfig(handle="Cj-handle", transparent=True),
    context_window_compression=ContextWindowCompression(
        trigger_tokens=25600, sliding_window=SlidingWindow(target_tokens=12800)),
    input_audio_transcription=AudioTranscriptionConfig(
        language_codes=["en-US"], custom_vocabulary=["voicecli"], word_timestamp=True,
        diarization=True),
    output_audio_transcription=AudioTranscriptionConfig(),
    proactivity=ProactivityConfig(proactive_audio=True),
    history_config=HistoryConfig(initial_history_in_client_content=True),
    safety_settings=[SafetySetting(category="HARM_CATEGORY_HARASSMENT",
                                   threshold="BLOCK_ONLY_HIGH")],
    avatar_config={"avatarName": "kai", "audioBitrateBps": 64000},
    explicit_vad_signal=True,
)
REALTIME_INPUT_CONFIG = RealtimeInputConfig(
    automatic_activity_detection=AutomaticActivityDetection(
        disabled=False, start_of_speech_sensitivity="START_SENSITIVITY_HIGH",
        end_of_speech_sensitivity="END_SENSITIVITY_LOW", prefix_padding_ms=20,
        silence_duration_ms=500),
    activity_handling="START_OF_ACTIVITY_INTERRUPTS", turn_coverage="TURN_INCLUDES_ALL_INPUT")


def standard_base64(value: Any) -> Any:
    """The SDK dumps bytes URL-safe; compare in the standard alphabet."""
    if isinstance(value, dict):
        return {k: standard_base64(v) for k, v in value.items()}
    if isinstance(value, list):
        return [standard_base64(v) for v in value]
    if isinstance(value, str):
        return value.replace("-", "+").replace("_", "/")
    return value


def assert_sdk_accepts_and_agrees(msg: ClientMessage) -> None:
    ours = encode(msg)
    parsed = types.LiveClientMessage.model_validate_json(ours)  # extra="forbid": strict keys
    theirs = parsed.model_dump(by_alias=True, exclude_none=True, mode="json")
    assert standard_base64(theirs) == standard_base64(json.loads(ours))


def test_sdk_models_forbid_unknown_keys() -> None:
    # The premise of this file: a wrong key would be caught.
    with pytest.raises(ValueError, match="extra"):
        types.LiveClientMessage.model_validate_json('{"setup":{"modle":"models/x"}}')


def test_rich_setup() -> None:
    assert_sdk_accepts_and_agrees(RICH_SETUP)


def test_realtime_input_config() -> None:
    # The SDK's LiveClientSetup type has no realtimeInputConfig field (its converter adds it), so
    # this one sub-object is checked against the SDK's own RealtimeInputConfig model.
    wire = json.loads(encode(Setup(realtime_input_config=REALTIME_INPUT_CONFIG)))
    config = wire["setup"]["realtimeInputConfig"]
    parsed = types.RealtimeInputConfig.model_validate_json(json.dumps(config))
    assert parsed.model_dump(by_alias=True, exclude_none=True, mode="json") == config


@pytest.mark.parametrize("inp", [
    RealtimeInput(audio=Blob(mime_type="audio/pcm;rate=16000", data=PCM)),
    RealtimeInput(video=Blob(mime_type="image/jpeg", data=b"\xff\xd8\xff" + PCM)),
    RealtimeInput(text="Are you there Gemini?"),
    RealtimeInput(activity_start=ActivityStart()),
    RealtimeInput(activity_end=ActivityEnd()),
    RealtimeInput(audio_stream_end=True),
    RealtimeInput(media_chunks=[Blob(mime_type="audio/pcm", data=PCM)]),
], ids=["audio", "video", "text", "activityStart", "activityEnd", "audioStreamEnd", "mediaChunks"])
def test_realtime_inputs(inp: RealtimeInput) -> None:
    assert_sdk_accepts_and_agrees(inp)


def test_client_content() -> None:
    assert_sdk_accepts_and_agrees(ClientContent(turns=[
        Content(role="user", parts=[Part(text="What is the capital of France?"),
                                    Part(inline_data=Blob(mime_type="image/png", data=PCM))]),
        Content(role="model", parts=[Part(text="Paris")]),
    ], turn_complete=False))


def test_tool_response() -> None:
    assert_sdk_accepts_and_agrees(ToolResponse(function_responses=[
        FunctionResponse(id="function-call-1", name="get_current_weather",
                         response={"output": {"temp_c": 12, "feelsLike": 9}},
                         scheduling="WHEN_IDLE", will_continue=False,
                         parts=[FunctionResponsePart(inline_data=Blob(
                             mime_type="image/png", data=PCM, display_name="chart"))]),
        FunctionResponse(id="function-call-2", name="noop", response={}),
    ]))


# ---- server messages built by the SDK, decoded by us -----------------------------------------


def sdk_frame(**fields: Any) -> bytes:
    message = types.LiveServerMessage(**fields)
    return message.model_dump_json(by_alias=True, exclude_none=True).encode()


def test_sdk_setup_complete() -> None:
    msg = decode_server(sdk_frame(setup_complete=types.LiveServerSetupComplete(session_id="s-1")))
    assert msg.setup_complete == SetupComplete(session_id="s-1")


def test_sdk_server_content_with_audio_transcripts_and_turn_complete() -> None:
    content = types.LiveServerContent(
        model_turn=types.Content(role="model", parts=[
            types.Part(inline_data=types.Blob(mime_type="audio/pcm;rate=24000", data=PCM)),
            types.Part(text="thinking…", thought=True)]),
        input_transcription=types.Transcription(text="What's the weather", finished=True),
        output_transcription=types.Transcription(text="It's raining"),
        generation_complete=True, turn_complete=True, turn_complete_reason="NEED_MORE_INPUT",
        waiting_for_input=True, interaction_status="IDLE")
    frame = sdk_frame(server_content=content, usage_metadata=types.UsageMetadata(
        prompt_token_count=612, response_token_count=96, total_token_count=708,
        prompt_tokens_details=[types.ModalityTokenCount(modality="AUDIO", token_count=72)]))
    assert b"-" in frame or b"_" in frame  # the SDK really sent URL-safe base64
    msg = decode_server(frame)
    assert [type(e) for e in ev.events_from(msg)] == [
        ev.Usage, ev.InputTranscript, ev.ModelAudio, ev.Thought, ev.OutputTranscript,
        ev.GenerationComplete, ev.TurnComplete]
    audio = ev.events_from(msg)[2]
    assert isinstance(audio, ev.ModelAudio) and audio.data == PCM and audio.rate == 24000
    assert ev.events_from(msg)[-1] == ev.TurnComplete("NEED_MORE_INPUT", True, "IDLE")
    assert msg.usage_metadata is not None and msg.usage_metadata.prompt_tokens_details is not None
    assert msg.usage_metadata.prompt_tokens_details[0].token_count == 72


def test_sdk_tool_call_go_away_and_resumption() -> None:
    msg = decode_server(sdk_frame(
        tool_call=types.LiveServerToolCall(function_calls=[types.FunctionCall(
            id="function-call-5831923424298605773", name="get_current_weather",
            args={"location": "Redmond, WA", "unit_name": "c"})]),
        tool_call_cancellation=types.LiveServerToolCallCancellation(ids=["function-call-1"]),
        go_away=types.LiveServerGoAway(time_left="50s"),
        session_resumption_update=types.LiveServerSessionResumptionUpdate(
            new_handle="Cj-h", resumable=True, last_consumed_client_message_index=7)))
    assert msg.tool_call == ToolCall(function_calls=[FunctionCall(
        id="function-call-5831923424298605773", name="get_current_weather",
        args={"location": "Redmond, WA", "unit_name": "c"})])
    assert msg.tool_call_cancellation == ToolCallCancellation(ids=["function-call-1"])
    assert msg.go_away is not None and msg.go_away.time_left == 50.0
    assert msg.session_resumption_update == SessionResumptionUpdate(
        new_handle="Cj-h", resumable=True, last_consumed_client_message_index=7)


# ---- server messages encoded by us, accepted by the SDK ------------------------------------------


def test_our_server_frames_validate_in_the_sdk() -> None:
    ours = ServerMessage(
        server_content=ServerContent(
            model_turn=Content(parts=[Part(inline_data=Blob(mime_type="audio/pcm;rate=24000",
                                                            data=PCM))]),
            output_transcription=Transcription(text="hi", finished=True),
            interrupted=True, turn_complete=True),
        usage_metadata=UsageMetadata(prompt_token_count=1, total_token_count=2),
        session_resumption_update=SessionResumptionUpdate(new_handle="H", resumable=True))
    parsed = types.LiveServerMessage.model_validate_json(encode(ours))
    assert parsed.server_content.model_turn.parts[0].inline_data.data == PCM
    assert parsed.session_resumption_update.new_handle == "H"
    assert base64.b64decode(json.loads(encode(ours))["serverContent"]["modelTurn"]["parts"][0][
        "inlineData"]["data"]) == PCM
