"""Google's own Python SDK (google-genai) as the oracle of wire conformance.

Its pydantic models use camelCase aliases and ``extra="forbid"``, so validating our JSON with them
catches a misspelt or misplaced key; dumping them back (``by_alias``) and comparing catches a value
we encode differently. The SDK dumps bytes as URL-safe base64 (§2), so its output also exercises
our decoder's second alphabet.
"""

from __future__ import annotations

import base64
import json
import tomllib
from typing import Any

import pytest
from google.genai import types

from voicecli.client.setup import SetupOptions, build_setup
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
from voicecli.protocol.session import ServerSession
from voicecli.server.engines.standins import code_standin, find_computation, search_standin
from voicecli.settings import Settings
from voicecli.tools import AllowPolicy, ToolDef, ToolRunner, tools_from_config

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


# ---- tool use as voicecli builds it (client/setup.py, client/setup_tools.py, voicecli.tools) ----

WEATHER_TOOLS = """
[tools.weather]
target = "tests.tools.sample_tools:get_weather"
behavior = "NON_BLOCKING"
scheduling = "INTERRUPT"
[tools.clock]
description = "What time it is"
command = ["date"]
"""


def _declared() -> tuple[ToolDef, ...]:
    return tuple(tools_from_config(tomllib.loads(WEATHER_TOOLS), origin="test"))


def test_setup_with_declarations_behavior_search_and_code_execution() -> None:
    settings = Settings(model="gemini-live-2.5-flash-preview", google_search=True,
                        code_execution=True)
    setup = build_setup(settings, "models/gemini-live-2.5-flash-preview",
                        SetupOptions(tools=_declared()))
    assert_sdk_accepts_and_agrees(setup)
    tools = json.loads(encode(setup))["setup"]["tools"]
    assert tools[1:] == [{"googleSearch": {}}, {"codeExecution": {}}]
    weather, clock = tools[0]["functionDeclarations"]
    assert weather["behavior"] == "NON_BLOCKING" and "behavior" not in clock
    assert weather["parameters"]["properties"]["unit"] == {
        "type": "STRING", "description": "Temperature unit.", "enum": ["celsius", "fahrenheit"]}


def test_behavior_is_left_out_for_a_model_without_non_blocking_calls() -> None:
    settings = Settings(model="gemini-3.1-flash-live-preview", google_search=True)
    setup = build_setup(settings, "models/gemini-3.1-flash-live-preview",
                        SetupOptions(tools=_declared()))
    assert_sdk_accepts_and_agrees(setup)
    declarations = json.loads(encode(setup))["setup"]["tools"][0]["functionDeclarations"]
    assert all("behavior" not in d for d in declarations)


async def test_tool_response_with_scheduling_from_the_runner() -> None:
    runner = ToolRunner(_declared(), policy=AllowPolicy(all=True), model_supports_behavior=True)
    responses = await runner.run([
        FunctionCall(id="function-call-1", name="weather", args={"city": "Paris, France"}),
        FunctionCall(id="function-call-2", name="nope", args={}),
    ])
    message = ToolResponse(function_responses=responses)
    assert_sdk_accepts_and_agrees(message)
    first, second = json.loads(encode(message))["toolResponse"]["functionResponses"]
    assert first["scheduling"] == "INTERRUPT" and first["response"]["city"] == "Paris, France"
    assert "scheduling" not in second and second["response"]["error"].startswith("unknown tool")


def test_our_grounding_and_code_frames_validate_in_the_sdk() -> None:
    said, grounded = search_standin("who wrote Hamlet?")
    ran, _ = code_standin(find_computation("what is 6 times 7"))  # type: ignore[arg-type]
    session = ServerSession()
    session.receive_data(encode(Setup(model="models/gemini-live-2.5-flash-preview")))
    session.send_setup_complete()
    session.request_turn()
    session.send_executable_code(ran.language, ran.code)
    session.send_code_execution_result(ran.outcome, ran.output)
    session.send_grounding(grounded.metadata)
    frames = session.data_to_send()[1:]
    parsed = [types.LiveServerMessage.model_validate_json(f) for f in frames]
    assert parsed[0].server_content.model_turn.parts[0].executable_code.code == "print(6 * 7)\n"
    assert parsed[1].server_content.model_turn.parts[0].code_execution_result.output == "42\n"
    metadata = parsed[2].server_content.grounding_metadata
    assert metadata.web_search_queries == ["who wrote Hamlet"]
    assert metadata.grounding_supports[0].grounding_chunk_indices == [0, 1]
    assert said.startswith("You asked: who wrote Hamlet.")


def test_our_auth_token_request_body_validates_in_the_sdk() -> None:
    """`voicecli token create --lock-config` (§1.5): the flat body's times and uses are the
    SDK's AuthToken fields, the locked setup is a valid LiveClientSetup, and the field mask is
    what the SDK computes for `lock_additional_fields=[]`."""
    from datetime import UTC, datetime

    from google.genai.tokens import _get_field_masks

    from voicecli.client.auth_tokens import TokenRequest, token_body

    now = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
    body = token_body(TokenRequest(uses=3, lock=RICH_SETUP), now)
    token = types.AuthToken.model_validate(
        {k: body[k] for k in ("uses", "expireTime", "newSessionExpireTime")})
    assert (token.uses, token.expire_time) == (3, "2026-05-01T12:30:00.000Z")
    locked = body["bidiGenerateContentSetup"]
    assert types.LiveClientSetup.model_validate(locked).model == RICH_SETUP.model
    assert "sessionResumption" not in locked
    assert body["fieldMask"] == _get_field_masks(locked)


# ---- messages voicecli builds for history, resumption, translation and video ---------------------


def _sdk_checks_setup(setup: Setup) -> None:
    """As test_realtime_input_config explains, the SDK's setup type lacks realtimeInputConfig."""
    assert setup.realtime_input_config is None
    assert_sdk_accepts_and_agrees(setup)


def test_history_seed_messages_and_their_setups() -> None:
    from voicecli.client.history import plan_history
    from voicecli.settings import Settings
    from voicecli.talk.options import TalkOptions
    from voicecli.talk.session_setup import talk_setup

    turns = [Content(role="user", parts=[Part(text="my name is Bob")]),
             Content(role="model", parts=[Part(text="Hello Bob.")])]
    for model in ("gemini-3.8-live", "gemini-3.1-flash-live-preview"):
        settings = Settings.of(model=model, response="audio")
        setup, seed = talk_setup(settings, f"models/{model}", TalkOptions(context=turns))
        _sdk_checks_setup(setup)  # 3.1: with historyConfig (§3.1.11)
        assert seed is not None
        assert_sdk_accepts_and_agrees(ClientContent(turns=seed.turns,
                                                    turn_complete=seed.turn_complete))
    resumed, _ = talk_setup(Settings.of(response="audio"), "models/gemini-3.8-live",
                            TalkOptions(resume="Cj-handle"))
    _sdk_checks_setup(resumed)
    assert json.loads(encode(resumed))["setup"]["sessionResumption"] == {"handle": "Cj-handle"}
    assert plan_history(resumed, []) == (resumed, None)


def test_translation_setup() -> None:
    from voicecli.settings import Settings
    from voicecli.translate.setup import TranslationOptions, translation_setup

    setup = translation_setup(Settings(), "models/gemini-3.5-live-translate-preview",
                              TranslationOptions("pt-BR", source="en", echo_target=True))
    _sdk_checks_setup(setup)
    wire = json.loads(encode(setup))["setup"]
    assert wire["generationConfig"]["translationConfig"] == {
        "targetLanguageCode": "pt-BR", "echoTargetLanguage": True}
    assert wire["inputAudioTranscription"] == {} and "systemInstruction" not in wire


def test_video_frames_and_image_questions_as_sent() -> None:
    from voicecli.protocol.session import ClientSession
    from voicecli.video.imaging import encode_frame
    from voicecli.video.question import image_turn
    from voicecli.video.sources import SyntheticSource

    image = encode_frame(SyntheticSource(1280, 720).grab())
    client = ClientSession()
    client.send_setup(Setup(model="models/gemini-3.8-live"))
    client.data_to_send()
    client.receive_data(b'{"setupComplete": {}}')
    client.send_video(image.data, image.mime_type)  # what VideoFeed sends (§3.3)
    (frame,) = client.data_to_send()
    parsed = types.LiveClientMessage.model_validate_json(frame)
    assert parsed.realtime_input is not None and parsed.realtime_input.video is not None
    assert parsed.realtime_input.video.data == image.data
    assert_sdk_accepts_and_agrees(ClientContent(turns=[image_turn(image, "what is this?")],
                                                turn_complete=True))


# ---- model options (voicecli/model_options.py): every family's richest setup -------------------

MODEL_OPTION_SETUPS = [  # (model, settings overrides): each option the family takes
    ("gemini-3.8-live", {"temperature": 0.5, "max_output_tokens": 256, "voice": "en-us-tavi",
                         "media_resolution": "high", "proactive_audio": True, "language": "de",
                         "turn_coverage": "audio-activity-and-all-video"}),
    ("gemini-3.8-live-extended-thinking", {"thinking_level": "high", "show_thoughts": True,
                                           "turn_coverage": "all-input"}),
    ("gemini-3.1-flash-live-preview", {"thinking_level": "minimal", "voice": "kore",
                                       "media_resolution": "low"}),
    ("gemini-2.5-flash-native-audio-preview-12-2025", {
        "thinking_budget": -1, "show_thoughts": True, "affective_dialog": True,
        "proactive_audio": False, "turn_coverage": "only-activity"}),
    ("gemini-live-2.5-flash-preview", {"language": "pt-BR", "temperature": 1.5}),
    ("gemini-3.5-transcribe-live", {"language": "iw", "response": "text"}),
]


@pytest.mark.parametrize(("model", "overrides"), MODEL_OPTION_SETUPS,
                         ids=[m for m, _ in MODEL_OPTION_SETUPS])
def test_model_option_setups(model: str, overrides: dict[str, Any]) -> None:
    from voicecli.client.setup import SetupOptions, build_setup
    from voicecli.settings import load_settings

    settings = load_settings({"model": model, **overrides}, env={})
    setup = build_setup(settings, f"models/{model}", SetupOptions(
        conversation=True, input_transcription=True, vad_silence_ms=600))
    realtime, setup.realtime_input_config = setup.realtime_input_config, None
    assert_sdk_accepts_and_agrees(setup)
    assert realtime is not None  # the SDK checks realtimeInputConfig on its own type
    config = json.loads(encode(Setup(realtime_input_config=realtime)))["setup"]
    realtime_wire = config["realtimeInputConfig"]
    parsed = types.RealtimeInputConfig.model_validate_json(json.dumps(realtime_wire))
    assert parsed.model_dump(by_alias=True, exclude_none=True, mode="json") == realtime_wire


def test_thought_parts_from_our_server_validate_in_the_sdk() -> None:
    from voicecli.protocol.session import ServerSession

    server = ServerSession()
    server.receive_data(encode(Setup(model="models/gemini-3.8-live-extended-thinking")))
    server.send_setup_complete()
    server.send_model_text("The user typed one word.", thought=True)
    frames = server.data_to_send()
    message = types.LiveServerMessage.model_validate_json(frames[-1])
    part = message.server_content.model_turn.parts[0]  # type: ignore[union-attr]
    assert (part.text, part.thought) == ("The user typed one word.", True)
    assert message.text is None  # the SDK's own reader skips thought parts (§4.2)
