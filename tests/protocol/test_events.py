"""events_from: one event per meaningful field, in §2 order."""

from __future__ import annotations

import json

import pytest

from voicecli.protocol import events as ev
from voicecli.protocol.codec import decode_server

EVERYTHING = {
    "goAway": {"timeLeft": "50s"},
    "sessionResumptionUpdate": {"newHandle": "H", "resumable": True,
                                "lastConsumedClientMessageIndex": "4"},
    "toolCallCancellation": {"ids": ["c0"]},
    "toolCall": {"functionCalls": [{"id": "c1", "name": "f", "args": {}}]},
    "voiceActivity": {"type": "ACTIVITY_END", "audioOffset": "2s"},
    "voiceActivityDetectionSignal": {"vadSignalType": "VAD_SIGNAL_TYPE_EOS"},
    "serverContent": {
        "turnComplete": True, "generationComplete": True,
        "interactionStatus": "IN_PROGRESS",
        "outputTranscription": {"text": " there", "finished": True},
        "groundingMetadata": {"webSearchQueries": ["q"]},
        "urlContextMetadata": {"urlMetadata": []},
        "modelTurn": {"parts": [
            {"text": "plan", "thought": True},
            {"text": "Hi"},
            {"inlineData": {"mimeType": "audio/pcm;rate=16000", "data": "AAA="}},
            {"inlineData": {"mimeType": "video/mp4", "data": "AAA="}},
            {"executableCode": {"language": "PYTHON", "code": "print(1)"}},
            {"codeExecutionResult": {"outcome": "OUTCOME_OK", "output": "1"}},
        ]},
        "inputTranscription": {"text": "hello"},
        "interimInputTranscription": {"text": "hel"},
    },
    "usageMetadata": {"totalTokenCount": 3},
    "futureField": {"x": 1},
}


def test_every_field_in_section_2_order() -> None:
    events = ev.events_from(decode_server(json.dumps(EVERYTHING)))
    assert [type(e).__name__ for e in events] == [
        "Usage",
        # content, model parts in their order, then the turn boundaries (§4.2)
        "InputTranscript", "InterimInputTranscript", "Thought", "ModelText", "ModelAudio",
        "ModelInlineData", "ExecutableCode", "CodeExecutionResult", "OutputTranscript",
        "Grounding", "UrlContext", "GenerationComplete", "TurnComplete",
        "ToolCallRequested", "ToolCallCancelled",
        # control
        "ResumptionUpdate", "GoAway", "VoiceActivity", "VadSignal",
        "UnknownField",
    ]
    by_type = {type(e): e for e in events}
    assert by_type[ev.ModelAudio] == ev.ModelAudio(b"\x00\x00", 16000)
    assert by_type[ev.ModelInlineData] == ev.ModelInlineData("video/mp4", b"\x00\x00")
    assert by_type[ev.TurnComplete] == ev.TurnComplete(None, None, "IN_PROGRESS")
    assert by_type[ev.ResumptionUpdate] == ev.ResumptionUpdate("H", True, 4)
    assert by_type[ev.GoAway] == ev.GoAway(50.0)
    assert by_type[ev.VoiceActivity] == ev.VoiceActivity("ACTIVITY_END", 2.0)
    assert by_type[ev.OutputTranscript] == ev.OutputTranscript(" there", True)
    assert by_type[ev.UnknownField] == ev.UnknownField("futureField", {"x": 1})
    assert by_type[ev.Grounding].metadata == {"webSearchQueries": ["q"]}  # type: ignore[union-attr]


def test_interrupted_precedes_turn_complete_in_one_frame() -> None:
    frame = {"serverContent": {"turnComplete": True, "interrupted": True,
                               "outputTranscription": {"text": "Tomorrow"}}}
    assert [type(e) for e in ev.events_from(decode_server(json.dumps(frame)))] == [
        ev.OutputTranscript, ev.Interrupted, ev.TurnComplete]


def test_frame_with_no_known_key_is_a_server_error_payload() -> None:
    payload = {"error": {"code": 429, "message": "Resource exhausted", "status": "X"}}
    assert ev.events_from(decode_server(json.dumps(payload))) == [ev.ServerErrorPayload(payload)]


@pytest.mark.parametrize("frame", [
    "{}", '{"serverContent": {}}', '{"serverContent": {"outputTranscription": {}}}',
    '{"serverContent": {"modelTurn": {"parts": [{"text": ""}, {}]}}}',
    '{"serverContent": {"turnComplete": false, "interrupted": false}}',
])
def test_frames_with_nothing_meaningful_yield_no_events(frame: str) -> None:
    assert ev.events_from(decode_server(frame)) == []


@pytest.mark.parametrize(("mime", "rate"), [
    ("audio/pcm;rate=24000", 24000), ("audio/pcm; rate=16000", 16000), ("audio/pcm", 24000),
    (None, 24000), ("audio/pcm;rate=abc", 24000), ("audio/pcm;rate=0", 24000),
    ("audio/L16;codec=pcm;RATE=8000", 8000),
])
def test_audio_rate_from_mime_type(mime: str | None, rate: int) -> None:
    assert ev.audio_rate(mime) == rate


def test_events_are_immutable() -> None:
    event = ev.ModelText("x")
    with pytest.raises(AttributeError):
        event.text = "y"  # type: ignore[misc]
