from __future__ import annotations

import json

import pytest

from voicecli.client.setup import build_setup
from voicecli.errors import CapabilityError, UsageError
from voicecli.protocol.codec import encode
from voicecli.settings import Settings
from voicecli.talk.options import TalkOptions


def setup_json(options: TalkOptions, **settings: object) -> dict:
    s = Settings.of(response="text" if options.text else "audio", **settings)  # type: ignore[arg-type]
    return json.loads(encode(build_setup(s, s.model, options.setup_options())))["setup"]


def test_default_talk_setup_transcribes_both_ways_and_compresses_context() -> None:
    setup = setup_json(TalkOptions())
    assert setup["generationConfig"]["responseModalities"] == ["AUDIO"]
    assert setup["inputAudioTranscription"] == {} and setup["outputAudioTranscription"] == {}
    assert "slidingWindow" in setup["contextWindowCompression"]
    assert "sessionResumption" in setup
    assert "realtimeInputConfig" not in setup  # the service's own VAD defaults


def test_vad_flags_become_realtime_input_config() -> None:
    setup = setup_json(TalkOptions(vad_silence_ms=700, vad_start_sensitivity="low",
                                   vad_end_sensitivity="HIGH", barge_in=False))
    config = setup["realtimeInputConfig"]
    assert config["automaticActivityDetection"] == {
        "startOfSpeechSensitivity": "START_SENSITIVITY_LOW",
        "endOfSpeechSensitivity": "END_SENSITIVITY_HIGH",
        "silenceDurationMs": 700,
    }
    assert config["activityHandling"] == "NO_INTERRUPTION"


def test_push_to_talk_disables_server_vad() -> None:
    config = setup_json(TalkOptions(ptt=True))["realtimeInputConfig"]
    assert config == {"automaticActivityDetection": {"disabled": True}}


@pytest.mark.parametrize("kwargs, flag", [
    ({"chunk_ms": 5}, "--chunk-ms"),
    ({"chunk_ms": 200}, "--chunk-ms"),
    ({"vad_start_sensitivity": "medium"}, "--vad-start-sensitivity"),
    ({"vad_silence_ms": -1}, "--vad-silence-ms"),
    ({"ptt": True, "vad_silence_ms": 500}, "--ptt"),
])
def test_bad_options_name_the_flag(kwargs: dict, flag: str) -> None:
    with pytest.raises(UsageError, match=flag):
        TalkOptions(**kwargs)


def test_text_replies_follow_the_capability_table() -> None:
    text_model = setup_json(TalkOptions(text=True), model="gemini-live-2.5-flash-preview")
    assert text_model["generationConfig"]["responseModalities"] == ["TEXT"]
    with pytest.raises(CapabilityError):
        setup_json(TalkOptions(text=True), model="gemini-3.8-live")
