"""Property tests: whatever arrives, decoding yields a message or a RemoteProtocolError, and what
decodes can be re-encoded, re-decoded and turned into events without any other exception."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.protocol.recordings import load_recordings
from voicecli.errors import RemoteProtocolError
from voicecli.protocol import events as ev
from voicecli.protocol.codec import decode_client, decode_server, encode, encode_pretty
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
