"""Codec unit tests: the liberal decoding and canonical encoding rules of §2."""

from __future__ import annotations

import base64
import json

import pytest

from voicecli.errors import RemoteProtocolError
from voicecli.protocol.codec import (
    decode_client,
    decode_server,
    encode,
    encode_duration,
    encode_pretty,
    from_wire,
    to_wire,
)
from voicecli.protocol.messages import (
    Blob,
    ClientContent,
    Content,
    ContextWindowCompression,
    FunctionCall,
    FunctionResponse,
    GenerationConfig,
    Part,
    RealtimeInput,
    ServerMessage,
    Setup,
    SetupComplete,
    SlidingWindow,
    ToolResponse,
    VoiceActivity,
)

PCM = bytes(range(256)) * 4  # every byte value: both base64 alphabets differ on it


def test_snake_case_at_every_depth() -> None:
    frame = {"setup": {
        "model": "models/m",
        "generation_config": {"response_modalities": ["AUDIO"], "speech_config": {
            "voice_config": {"prebuilt_voice_config": {"voice_name": "Kore"}},
            "language_code": "en-US"}, "thinking_config": {"thinking_budget": 0}},
        "realtime_input_config": {"automatic_activity_detection": {"silence_duration_ms": 600}},
        "context_window_compression": {"sliding_window": {"target_tokens": "12800"}},
        "proactivity": {"proactive_audio": True},
    }}
    setup = decode_client(json.dumps(frame))
    assert isinstance(setup, Setup) and setup.generation_config is not None
    voice = setup.generation_config.speech_config.voice_config.prebuilt_voice_config  # type: ignore[union-attr]
    assert voice is not None and voice.voice_name == "Kore"
    assert setup.generation_config.thinking_config.thinking_budget == 0  # type: ignore[union-attr]
    aad = setup.realtime_input_config.automatic_activity_detection  # type: ignore[union-attr]
    assert aad is not None and aad.silence_duration_ms == 600
    assert setup.context_window_compression.sliding_window.target_tokens == 12800  # type: ignore[union-attr]
    assert setup.proactivity is not None and setup.proactivity.proactive_audio is True
    assert json.loads(encode(setup))["setup"]["generationConfig"]["speechConfig"] == {
        "voiceConfig": {"prebuiltVoiceConfig": {"voiceName": "Kore"}}, "languageCode": "en-US"}


@pytest.mark.parametrize("top", ["client_content", "clientContent"])
def test_top_level_client_key_in_either_spelling(top: str) -> None:
    msg = decode_client(json.dumps({top: {"turn_complete": True}}))
    assert msg == ClientContent(turn_complete=True)
    assert encode(msg) == '{"clientContent":{"turnComplete":true}}'


@pytest.mark.parametrize("alphabet", [base64.b64encode, base64.urlsafe_b64encode])
@pytest.mark.parametrize("strip_padding", [False, True])
def test_base64_alphabets_and_padding(alphabet: object, strip_padding: bool) -> None:
    data = PCM[:1000]  # 1000 % 3 == 1: two padding characters
    text = alphabet(data).decode()  # type: ignore[operator]
    if strip_padding:
        text = text.rstrip("=")
    frame = {"realtime_input": {"media_chunks": [{"mime_type": "audio/pcm", "data": text}]}}
    msg = decode_client(json.dumps(frame))
    assert isinstance(msg, RealtimeInput) and msg.media_chunks is not None
    assert msg.media_chunks[0].data == data
    # canonical output: standard alphabet, padded
    assert json.loads(encode(msg))["realtimeInput"]["mediaChunks"][0]["data"] == (
        base64.b64encode(data).decode())


def test_bytes_fields_are_bytes() -> None:
    msg = decode_server('{"serverContent":{"modelTurn":{"parts":[{"text":"x",'
                        '"thoughtSignature":"c2ln"}]}}}')
    part = msg.server_content.model_turn.parts[0]  # type: ignore[union-attr,index]
    assert part.thought_signature == b"sig"


def test_unknown_fields_are_kept_and_re_emitted_at_every_depth() -> None:
    frame = {
        "serverContent": {"modelTurn": {"parts": [{"text": "hi", "futurePart": {"a": 1}}]},
                          "newFlag": True},
        "futureMessage": {"x": [1, 2]},
    }
    msg = decode_server(json.dumps(frame))
    assert msg.extra == {"futureMessage": {"x": [1, 2]}}
    assert msg.server_content is not None and msg.server_content.extra == {"newFlag": True}
    assert to_wire(msg) == frame


def test_opaque_user_data_is_never_re_cased() -> None:
    args = {"some_key": 1, "someKey": {"inner_key": [{"deep_key": None}]}}
    msg = decode_server(json.dumps({"tool_call": {"function_calls": [
        {"id": "c1", "name": "f", "args": args}]}}))
    assert msg.tool_call is not None and msg.tool_call.function_calls is not None
    assert msg.tool_call.function_calls[0].args == args
    response = ToolResponse(function_responses=[FunctionResponse(
        id="c1", name="f", response={"output": {"temp_c": 12, "feelsLike": 10}})])
    wire = json.loads(encode(response))
    assert wire["toolResponse"]["functionResponses"][0]["response"] == {
        "output": {"temp_c": 12, "feelsLike": 10}}


@pytest.mark.parametrize(("wire", "seconds"), [
    ("50s", 50.0), ("30.5s", 30.5), ("0.000000001s", 1e-9), ("-1.5s", -1.5), (12, 12.0)])
def test_durations_decode(wire: object, seconds: float) -> None:
    msg = decode_server(json.dumps({"goAway": {"timeLeft": wire}}))
    assert msg.go_away is not None and msg.go_away.time_left == pytest.approx(seconds)


@pytest.mark.parametrize(("seconds", "wire"), [
    (50.0, "50s"), (30.5, "30.5s"), (0.25, "0.25s"), (1e-10, "0s"), (-2.0, "-2s")])
def test_durations_encode(seconds: float, wire: str) -> None:
    assert encode_duration(seconds) == wire


def test_voice_activity_wire_key_is_type_with_duration_offset() -> None:
    msg = decode_server('{"voiceActivity":{"type":"ACTIVITY_START","audioOffset":"1.2s"}}')
    assert msg.voice_activity == VoiceActivity(type="ACTIVITY_START", audio_offset=1.2)
    assert encode(msg) == '{"voiceActivity":{"type":"ACTIVITY_START","audioOffset":"1.2s"}}'


@pytest.mark.parametrize("value", [25600, "25600", 25600.0])
def test_int64_from_number_or_string(value: object) -> None:
    msg = decode_client(json.dumps({"setup": {"contextWindowCompression": {
        "triggerTokens": value, "slidingWindow": {"targetTokens": value}}}}))
    assert isinstance(msg, Setup)
    assert msg.context_window_compression == ContextWindowCompression(
        trigger_tokens=25600, sliding_window=SlidingWindow(target_tokens=25600))
    update = decode_server(json.dumps({"sessionResumptionUpdate": {
        "lastConsumedClientMessageIndex": value}}))
    assert update.session_resumption_update.last_consumed_client_message_index == 25600  # type: ignore[union-attr]


def test_enums_as_names_or_numbers() -> None:
    msg = decode_client('{"setup":{"generationConfig":{"responseModalities":["AUDIO", 1]}}}')
    assert msg.generation_config.response_modalities == ["AUDIO", 1]  # type: ignore[union-attr]


@pytest.mark.parametrize("frame", [
    b'{"setupComplete": {}}', '{"setupComplete": {}}', bytearray(b'{"setupComplete":{}}'),
    memoryview(b'{"setupComplete":{}}'), b'{\n  "setupComplete": {}\n}\n',
])
def test_text_and_binary_frames(frame: bytes | str) -> None:
    assert decode_server(frame).setup_complete is not None


def test_a_byte_order_mark_is_not_json() -> None:
    with pytest.raises(RemoteProtocolError, match="not JSON"):
        decode_server(b"\xef\xbb\xbf" + b'{"setupComplete":{}}')


def test_null_means_absent() -> None:
    msg = decode_server('{"serverContent":{"turnComplete":null,"interrupted":true}}')
    assert msg.server_content is not None and msg.server_content.turn_complete is None
    assert encode(msg) == '{"serverContent":{"interrupted":true}}'


def test_encode_is_compact_camel_case_and_skips_absent_fields() -> None:
    setup = Setup(model="models/gemini-3.8-live",
                  generation_config=GenerationConfig(response_modalities=["AUDIO"], top_k=40))
    assert encode(setup) == ('{"setup":{"model":"models/gemini-3.8-live","generationConfig":'
                             '{"responseModalities":["AUDIO"],"topK":40}}}')


def test_encode_pretty_matches_the_service_layout() -> None:
    assert encode_pretty(ServerMessage(setup_complete=SetupComplete())) == (
        b'{\n  "setupComplete": {}\n}')
    text = encode_pretty(decode_server('{"serverContent":{"outputTranscription":{"text":"é"}}}'))
    assert "é".encode() in text  # UTF-8, not \\u escapes


def test_client_content_with_all_part_kinds() -> None:
    content = ClientContent(turns=[
        Content(role="user", parts=[Part(text="hi"), Part(inline_data=Blob(
            mime_type="image/png", data=b"\x89PNG"))]),
        Content(role="model", parts=[Part(function_call=FunctionCall(id="1", name="f", args={}))]),
    ], turn_complete=False)
    assert decode_client(encode(content)) == content


def test_from_wire_reports_the_path_of_a_bad_value() -> None:
    with pytest.raises(RemoteProtocolError, match=r"serverContent\.modelTurn\.parts\[1\]\.text"):
        decode_server('{"serverContent":{"modelTurn":{"parts":[{"text":"a"},{"text":5}]}}}')
    with pytest.raises(RemoteProtocolError, match="expected an object"):
        from_wire(Setup, [1, 2])


BROKEN_SERVER_FRAMES = [
    (b"\xff\xfe{}", "UTF-8"),
    (b"{", "not JSON"),
    (b"", "not JSON"),
    (b"[1,2]", "JSON object"),
    (b'"setupComplete"', "JSON object"),
    (b'{"setupComplete": 5}', "setupComplete"),
    (b'{"serverContent": {"turnComplete": "yes"}}', "turnComplete"),
    (b'{"serverContent": {"modelTurn": {"parts": {"text": "x"}}}}', "list"),
    (b'{"serverContent": {"modelTurn": {"parts": [{"inlineData": {"data": "***"}}]}}}', "base64"),
    (b'{"serverContent": {"modelTurn": {"parts": [{"inlineData": {"data": "QUJDR"}}]}}}',
     "base64"),
    (b'{"serverContent": {"modelTurn": {"parts": [{"inlineData": {"data": 7}}]}}}', "base64"),
    (b'{"goAway": {"timeLeft": "soon"}}', "duration"),
    (b'{"goAway": {"timeLeft": "1e999s"}}', "duration"),
    (b'{"goAway": {"timeLeft": true}}', "duration"),
    (b'{"usageMetadata": {"totalTokenCount": 1.5}}', "integer"),
    (b'{"usageMetadata": {"totalTokenCount": true}}', "integer"),
    (b'{"usageMetadata": {"totalTokenCount": "12a"}}', "integer"),
    (b'{"toolCall": {"functionCalls": [{"args": [1]}]}}', "object"),
    (b'{"setupComplete": {"sessionId": ["x"]}}', "string"),
    (b'{"serverContent": {"turnCompleteReason": {"x": 1}}}', "enum"),
    (b"[" * 100000 + b"]" * 100000, "JSON"),
    (b'{"usageMetadata": {"totalTokenCount": ' + b"9" * 5000 + b"}}", "JSON"),
]


@pytest.mark.parametrize(("frame", "words"), BROKEN_SERVER_FRAMES,
                         ids=[str(i) for i in range(len(BROKEN_SERVER_FRAMES))])
def test_broken_server_frames_raise_remote_protocol_error(frame: bytes, words: str) -> None:
    with pytest.raises(RemoteProtocolError, match=words) as info:
        decode_server(frame)
    assert len(str(info.value)) < 200  # short and clear


BROKEN_CLIENT_FRAMES = [
    ("{}", "exactly one"),
    ('{"setup": {}, "clientContent": {}}', "exactly one"),
    ('{"hello": {}}', "unknown client message"),
    ('{"setup": null}', "expected an object"),
    ('{"setup": "models/x"}', "expected an object"),
    ('{"realtimeInput": {"audio": {"data": "%%%"}}}', "base64"),
    ('{"toolResponse": {"functionResponses": [{"response": "ok"}]}}', "object"),
    ('{"clientContent": {"turns": [{"parts": [{"text": null, "thought": 1}]}]}}', "true or false"),
]


@pytest.mark.parametrize(("frame", "words"), BROKEN_CLIENT_FRAMES)
def test_broken_client_frames_raise_remote_protocol_error(frame: str, words: str) -> None:
    with pytest.raises(RemoteProtocolError, match=words):
        decode_client(frame)


def test_decode_rejects_non_frames() -> None:
    with pytest.raises(RemoteProtocolError):
        decode_server(12)  # type: ignore[arg-type]


@pytest.mark.parametrize("data", ["AAA*AAAA", "AA==AAAA", "AAAA AAA", "AAAAA"])
def test_base64_with_characters_outside_the_alphabet_is_rejected(data: str) -> None:
    frame = {"serverContent": {"modelTurn": {"parts": [{"inlineData": {"data": data}}]}}}
    with pytest.raises(RemoteProtocolError, match="base64"):
        decode_server(json.dumps(frame))
