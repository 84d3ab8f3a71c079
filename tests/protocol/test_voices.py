"""Voice names (§7.2): refused early when the service would close the session."""

from __future__ import annotations

import pytest

from voicecli.errors import CapabilityError
from voicecli.protocol.messages import (
    GenerationConfig,
    PrebuiltVoiceConfig,
    Setup,
    SpeechConfig,
    VoiceConfig,
)
from voicecli.protocol.models import check_setup
from voicecli.protocol.voices import PREBUILT_VOICES, canonical_voice


def setup_with_voice(name: str, model: str = "models/gemini-3.8-live") -> Setup:
    voice = VoiceConfig(prebuilt_voice_config=PrebuiltVoiceConfig(voice_name=name))
    config = GenerationConfig(response_modalities=["AUDIO"],
                              speech_config=SpeechConfig(voice_config=voice))
    return Setup(model=model, generation_config=config)


def test_thirty_prebuilt_voices() -> None:
    assert len(PREBUILT_VOICES) == 30 and PREBUILT_VOICES["Kore"] == "Firm"


@pytest.mark.parametrize(("given", "expected"), [
    ("Kore", "Kore"), ("kore", "Kore"), ("SULAFAT", "Sulafat"),
    ("en-us-tavi", "en-us-tavi"), ("voice_abc123", "voice_abc123"), ("Korre", None), ("", None),
])
def test_canonical_voice(given: str, expected: str | None) -> None:
    assert canonical_voice(given) == expected


def test_unknown_voice_is_refused_before_sending() -> None:
    with pytest.raises(CapabilityError, match="unknown voice 'Korre'.*1007"):
        check_setup(setup_with_voice("Korre"))
    check_setup(setup_with_voice("Puck"))
    check_setup(setup_with_voice("anything", model="models/future-model"))  # unknown: unchecked
