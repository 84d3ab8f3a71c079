"""Property tests: whatever arrives, decoding yields a message or a RemoteProtocolError, and what
decodes can be re-encoded, re-decoded and turned into events without any other exception."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.hostile_peer import HOSTILE_VALUES, SERVER_FRAME_SAMPLES
from tests.protocol.recordings import load_recordings
from voicecli.client.ndjson import dumps, event_json, grounding_json
from voicecli.errors import RemoteProtocolError
from voicecli.protocol import events as ev
from voicecli.protocol.codec import decode_client, decode_server, encode, encode_pretty
from voicecli.protocol.grounding import TurnSources
from voicecli.protocol.messages import ServerMessage
from voicecli.protocol.session import ClientSession, ServerSession

FUZZ = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])

SMALL_FRAMES = [f for r in load_recordings() for f in r.frames if len(f.text) < 2000]
SERVER_SAMPLES = [json.loads(f.text) for f in SMALL_FRAMES if not f.from_client] + [
    {"goAway": {"timeLeft": "50s"}},
    {"sessionResumptionUpdate": {"newHandle": "H", "resumable": True}},
    {"toolCallCancellation": {"ids": ["a"]}},
    {"voiceActivity": {"type": "ACTIVITY_START", "audioOffset": "0.5s"}},
    {"serverContent": {"modelTurn": {"parts": [{"inlineData": {
        "mimeType": "audio/pcm;rate=24000", "data": "AAECAw=="}}]}, "interrupted": True}},
]
CLIENT_SAMPLES = [json.loads(f.text) for f in SMALL_FRAMES if f.from_client] + [
    {"realtimeInput": {"audio": {"mimeType": "audio/pcm;rate=16000", "data": "AAEC"}}},
    {"setup": {"generationConfig": {"thinkingConfig": {"thinkingBudget": 1}},
               "contextWindowCompression": {"triggerTokens": "9"}}},
]
KEYS = sorted({"setupComplete", "serverContent", "modelTurn", "parts", "text", "inlineData",
               "data", "mimeType", "goAway", "timeLeft", "turnComplete", "toolCall",
               "functionCalls", "id", "args", "usageMetadata", "totalTokenCount", "setup",
               "generationConfig", "realtimeInput", "audio", "toolResponse", "functionResponses",
               "client_content", "turn_complete", "thought", "thoughtSignature"})

scalars = (st.none() | st.booleans() | st.integers(-2**70, 2**70)
           | st.floats(allow_nan=False) | st.text(max_size=12)
           | st.sampled_from(["50s", "AAAA", "-_8=", "AUDIO", "1.5s", "12"]))
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=6), children, max_size=4),
    max_leaves=20,
)


@st.composite
def mutated(draw: st.DrawFn, samples: list[dict[str, Any]]) -> Any:
    """A real frame with one value somewhere replaced, or one key dropped or re-spelt."""
    frame = json.loads(json.dumps(draw(st.sampled_from(samples))))
    node: Any = frame
    while isinstance(node, dict | list) and node and draw(st.booleans()):
        key = draw(st.sampled_from(list(node) if isinstance(node, dict) else range(len(node))))
        if not isinstance(node[key], dict | list) or not node[key]:
            break
        node = node[key]
    if isinstance(node, dict) and node:
        key = draw(st.sampled_from(list(node)))
        action = draw(st.sampled_from(["replace", "drop", "snake"]))
        if action == "replace":
            node[key] = draw(json_values)
        elif action == "drop":
            del node[key]
        else:
            node["".join(f"_{c.lower()}" if c.isupper() else c for c in key)] = node.pop(key)
    elif isinstance(node, list) and node:
        node[draw(st.integers(0, len(node) - 1))] = draw(json_values)
    return frame


def check_server(data: str | bytes) -> None:
    try:
        msg = decode_server(data)
    except RemoteProtocolError:
        return
    ev.events_from(msg)
    once = encode(msg)
    again = decode_server(once)
    assert encode(again) == once  # encoding is stable after one normalisation
    assert isinstance(encode_pretty(msg), bytes)


def check_client(data: str | bytes) -> None:
    try:
        msg = decode_client(data)
    except RemoteProtocolError:
        return
    once = encode(msg)
    assert encode(decode_client(once)) == once


@FUZZ
@given(st.binary(max_size=300))
def test_random_bytes(data: bytes) -> None:
    check_server(data)
    check_client(data)


@FUZZ
@given(json_values)
def test_random_json(value: Any) -> None:
    check_server(json.dumps(value))
    check_client(json.dumps(value).encode())


@FUZZ
@given(st.dictionaries(st.sampled_from(KEYS), json_values, min_size=1, max_size=3))
def test_random_objects_with_protocol_keys(value: dict[str, Any]) -> None:
    check_server(json.dumps(value))
    check_client(json.dumps(value))


@FUZZ
@given(mutated(SERVER_SAMPLES))
def test_mutated_server_frames(frame: Any) -> None:
    check_server(json.dumps(frame).encode())


@FUZZ
@given(mutated(CLIENT_SAMPLES))
def test_mutated_client_frames(frame: Any) -> None:
    check_client(json.dumps(frame))


@FUZZ
@given(st.lists(mutated(SERVER_SAMPLES), max_size=6))
def test_client_session_raises_only_remote_errors(frames: list[Any]) -> None:
    client = ClientSession()
    client.send_setup(decode_client('{"setup": {"model": "models/x"}}'))  # type: ignore[arg-type]
    for frame in frames:
        try:
            client.receive_data(json.dumps(frame))
        except RemoteProtocolError:
            continue
    client.events_received()


@FUZZ
@given(st.lists(mutated(CLIENT_SAMPLES), max_size=6))
def test_server_session_raises_only_remote_errors(frames: list[Any]) -> None:
    server = ServerSession()
    for frame in frames:
        try:
            server.receive_data(json.dumps(frame))
        except RemoteProtocolError:
            continue
    server.events_received()


def test_lone_surrogates_still_encode_pretty() -> None:
    msg = decode_server('{"serverContent": {"outputTranscription": {"text": "\\ud800"}}}')
    pretty = encode_pretty(msg)
    assert decode_server(pretty) == msg
    assert isinstance(msg, ServerMessage)


# ---- every documented server frame type with hostile values, down to the NDJSON line --------

DOCUMENTED_SERVER_FRAMES = list(SERVER_FRAME_SAMPLES.values())
hostile_json = st.sampled_from(HOSTILE_VALUES) | json_values


@st.composite
def hostile_mutated(draw: st.DrawFn) -> Any:
    """A §4 frame with a value anywhere (any depth) replaced by a hostile one."""
    frame = json.loads(json.dumps(draw(st.sampled_from(DOCUMENTED_SERVER_FRAMES))))
    node: Any = frame
    while True:
        keys = list(node) if isinstance(node, dict) else list(range(len(node)))
        key = draw(st.sampled_from(keys)) if keys else None
        if key is None:
            return frame
        if isinstance(node[key], dict | list) and node[key] and draw(st.booleans()):
            node = node[key]
            continue
        node[key] = draw(hostile_json)
        return frame


@FUZZ
@given(hostile_mutated())
def test_hostile_frames_decode_or_raise_typed_and_print_as_utf8(frame: Any) -> None:
    try:
        msg = decode_server(json.dumps(frame))  # ASCII JSON: lone surrogates travel escaped
    except RemoteProtocolError:
        return
    for event in ev.events_from(msg):
        line = event_json(event)
        if line is not None:
            dumps(line).encode("utf-8")  # what `--json` writes: valid UTF-8, always
        if isinstance(event, ev.Grounding):
            TurnSources().add(event.metadata)
        if isinstance(event, ev.ModelAudio):
            assert 4000 <= event.rate <= 192_000
    encode(msg).encode("utf-8")  # re-encoded (the server echoes, the client logs): UTF-8 too


def test_a_lone_surrogate_becomes_a_replacement_character() -> None:
    msg = decode_server('{"serverContent": {"modelTurn": {"parts": [{"text": "a\\ud800b"}]}},'
                        ' "toolCall": {"functionCalls": [{"id": "\\udc00", "name": "n\\ud9ff",'
                        ' "args": {"\\ud800": ["\\udfff"]}}]}}')
    assert isinstance(msg, ServerMessage)
    assert msg.server_content and msg.server_content.model_turn
    assert msg.server_content.model_turn.parts[0].text == "a\ufffdb"
    assert msg.tool_call and msg.tool_call.function_calls
    call = msg.tool_call.function_calls[0]
    assert (call.id, call.name, call.args) == ("\ufffd", "n\ufffd", {"\ufffd": ["\ufffd"]})
    paired = decode_server('{"serverContent": {"outputTranscription": {"text": "\\ud83d\\ude00"}}}')
    assert paired.server_content and paired.server_content.output_transcription
    assert paired.server_content.output_transcription.text == "😀"  # a valid pair is kept


def test_rates_int_refuses_or_out_of_range_are_the_default() -> None:
    for mime in ("audio/pcm;rate=²", "audio/pcm;rate=١٦٠٠٠", "audio/pcm;rate=1",
                 "audio/pcm;rate=99999999", "audio/pcm;rate=", "audio/pcm;rate=-5"):
        assert ev.audio_rate(mime) == ev.DEFAULT_OUTPUT_RATE, mime
    assert ev.audio_rate("audio/pcm;rate=16000") == 16000
    with pytest.raises(RemoteProtocolError):  # protobuf int64 text: ASCII digits only
        decode_server('{"usageMetadata": {"totalTokenCount": "١٢"}}')


def test_grounding_of_the_wrong_json_types_is_skipped() -> None:
    for metadata in ({"groundingChunks": 5}, {"groundingChunks": {"web": {"uri": "u"}}},
                     {"groundingChunks": [5, None, {"web": 3}, {"web": {"uri": 7}}]},
                     {"webSearchQueries": 3}, {"webSearchQueries": [1, {"a": 1}]}):
        sources = TurnSources()
        sources.add(metadata)
        assert not sources
        assert grounding_json(metadata)["sources"] == []
