"""Model options in check_setup (§3.1.2, §3.1.5, §3.1.6, §7): accepted where the model takes
them, refused in one line that names the flag where it does not; languages (§7.3) and voices
(§7.2) with their hints."""

from __future__ import annotations

import pytest

from voicecli.errors import CapabilityError
from voicecli.protocol.languages import (
    LANGUAGES,
    LOCALES,
    canonical_language,
    language_problem,
    suggest_language,
)
from voicecli.protocol.messages import (
    AudioTranscriptionConfig,
    GenerationConfig,
    PrebuiltVoiceConfig,
    ProactivityConfig,
    RealtimeInputConfig,
    Setup,
    SpeechConfig,
    ThinkingConfig,
    VoiceConfig,
)
from voicecli.protocol.models import KNOWN_MODELS, check_setup, required_api_version
from voicecli.protocol.setup_rules import (
    MEDIA_RESOLUTIONS,
    TURN_COVERAGES,
    option_value,
)
from voicecli.protocol.voices import suggest_voice, voice_hint

NATIVE_25 = "gemini-2.5-flash-native-audio-preview-12-2025"
X_THINKING = "gemini-3.8-live-extended-thinking"
HALF_CASCADE = "gemini-live-2.5-flash-preview"
ALL_VIDEO = TURN_COVERAGES["audio-activity-and-all-video"]


def gen(model: str, **config: object) -> Setup:
    return Setup(model=f"models/{model}", generation_config=GenerationConfig(**config))


def coverage(model: str, value: str) -> Setup:
    return Setup(model=model, realtime_input_config=RealtimeInputConfig(turn_coverage=value))


def voice(model: str, name: str) -> Setup:
    prebuilt = VoiceConfig(prebuilt_voice_config=PrebuiltVoiceConfig(voice_name=name))
    return gen(model, speech_config=SpeechConfig(voice_config=prebuilt))


def hints(model: str, *codes: str) -> Setup:
    return Setup(model=model, input_audio_transcription=AudioTranscriptionConfig(
        language_codes=list(codes)))


ACCEPTED: list[tuple[str, Setup, dict[str, str]]] = [
    ("budget -1 on 2.5", gen(NATIVE_25, thinking_config=ThinkingConfig(thinking_budget=-1)), {}),
    ("budget max on 2.5", gen(NATIVE_25, thinking_config=ThinkingConfig(
        thinking_budget=24576, include_thoughts=True)), {}),
    ("minimal on 3.1", gen("gemini-3.1-flash-live-preview", thinking_config=ThinkingConfig(
        thinking_level="MINIMAL")), {}),
    ("thoughts only on extended thinking", gen(X_THINKING, thinking_config=ThinkingConfig(
        include_thoughts=True)), {}),
    ("sampling on 3.8", gen("gemini-3.8-live", temperature=2.0, max_output_tokens=65536,
                            media_resolution="MEDIA_RESOLUTION_HIGH"), {}),
    ("temperature 0 on unknown", gen("gemini-9-live", temperature=0.0), {}),
    ("all video on 3.1", coverage("gemini-3.1-flash-live-preview", ALL_VIDEO), {}),
    ("all input on 2.5", coverage(NATIVE_25, TURN_COVERAGES["all-input"]), {}),
    ("enum number", coverage(NATIVE_25, 3), {}),  # type: ignore[arg-type]
    ("locale on half-cascade", gen(HALF_CASCADE, speech_config=SpeechConfig(
        language_code="en-GB")), {}),
    ("transcription hint on 3.8", hints("gemini-3.8-live", "de", "pt-BR"), {}),
    ("transcription hint on transcribe", hints("gemini-3.5-transcribe-live", "iw"), {}),
    ("catalog voice on 3.8", voice("gemini-3.8-live", "en-us-tavi"), {}),
    ("any-case voice", voice("gemini-3.1-flash-live-preview", "sULAFAT"), {}),
    ("proactive false on 2.5", Setup(model=NATIVE_25, proactivity=ProactivityConfig(
        proactive_audio=False)), {}),
]


@pytest.mark.parametrize(("name", "setup", "kwargs"), ACCEPTED, ids=[a[0] for a in ACCEPTED])
def test_accepted(name: str, setup: Setup, kwargs: dict[str, str]) -> None:
    check_setup(setup, **kwargs)


REFUSED: list[tuple[str, Setup, dict[str, str], tuple[str, ...]]] = [
    ("thoughts on 3.8", gen("gemini-3.8-live", thinking_config=ThinkingConfig(
        include_thoughts=True)), {}, ("does not accept thinkingConfig", "--show-thoughts",
                                      X_THINKING)),
    ("budget on extended thinking", gen(X_THINKING, thinking_config=ThinkingConfig(
        thinking_budget=100)), {}, ("low/medium/high", "--thinking-level",
                                    "instead of --thinking-budget")),
    ("level on 2.5", gen(NATIVE_25, thinking_config=ThinkingConfig(thinking_level="HIGH")), {},
     ("--thinking-budget instead of --thinking-level",)),
    ("minimal on extended thinking", gen(X_THINKING, thinking_config=ThinkingConfig(
        thinking_level="MINIMAL")), {}, ("--thinking-level low/medium/high", "not minimal")),
    ("budget too big on 2.5", gen(NATIVE_25, thinking_config=ThinkingConfig(
        thinking_budget=30000)), {}, ("up to 24576", "30000")),
    ("budget below -1", gen("gemini-9-live", thinking_config=ThinkingConfig(
        thinking_budget=-5)), {}, ("--thinking-budget must be -1",)),
    ("unknown level", gen("gemini-9-live", thinking_config=ThinkingConfig(
        thinking_level="EXTREME")), {}, ("--thinking-level must be one of", "'EXTREME'")),
    ("temperature above 2", gen("gemini-9-live", temperature=2.5), {},
     ("--temperature must be between 0 and 2",)),
    ("zero output tokens", gen("gemini-3.8-live", max_output_tokens=0), {},
     ("--max-output-tokens must be at least 1",)),
    ("too many output tokens on 3.8", gen("gemini-3.8-live", max_output_tokens=70000), {},
     ("at most 65536", "--max-output-tokens 70000")),
    ("unknown media resolution", gen("gemini-3.8-live", media_resolution="MEDIA_RESOLUTION_4K"),
     {}, ("--media-resolution must be one of low, medium, high",)),
    ("media resolution on translate", gen("gemini-3.5-live-translate-preview",
                                          media_resolution="MEDIA_RESOLUTION_LOW"), {},
     ("audio input only", "--media-resolution")),
    ("all video on 2.5", coverage(NATIVE_25, ALL_VIDEO), {},
     ("--turn-coverage only-activity, all-input", "not audio-activity-and-all-video")),
    ("all video on vertex", coverage("gemini-3.8-live", ALL_VIDEO), {"backend": "vertex"},
     ("Vertex AI refuses", "--turn-coverage all-input")),
    ("unknown turn coverage", coverage("gemini-3.8-live", "TURN_INCLUDES_NOTHING"), {},
     ("--turn-coverage must be one of",)),
    ("bare code on half-cascade", gen(HALF_CASCADE, speech_config=SpeechConfig(
        language_code="de")), {}, ("documented locale", "--language de-DE")),
    ("language code on 3.1", gen("gemini-3.1-flash-live-preview", speech_config=SpeechConfig(
        language_code="en-US")), {}, ("picks the spoken language itself", "Drop --language")),
    ("transcription hint on 2.5", hints(NATIVE_25, "de"), {},
     ("only as an empty object", "drop --language")),
    ("undocumented hint on 3.8", hints("gemini-3.8-live", "xx"), {}, ("'xx'", "§7.3")),
    ("catalog voice on 3.1", voice("gemini-3.1-flash-live-preview", "en-us-tavi"), {},
     ("only the prebuilt voices", "no matching speaker voice")),
    ("misspelt voice", voice("gemini-3.8-live", "Korre"), {},
     ("unknown voice 'Korre'", "did you mean Kore?", "voicecli voices")),
    ("proactive false on 3.1", Setup(model="gemini-3.1-flash-live-preview",
                                     proactivity=ProactivityConfig(proactive_audio=False)), {},
     ("does not support proactivity", "--no-proactive")),
    ("affective forced to v1beta", gen(NATIVE_25, enable_affective_dialog=True),
     {"api_version": "v1beta"}, ("--affective", "v1alpha", "not v1beta")),
]


@pytest.mark.parametrize(("name", "setup", "kwargs", "words"), REFUSED, ids=[r[0] for r in REFUSED])
def test_refused_in_one_line_naming_the_fix(
        name: str, setup: Setup, kwargs: dict[str, str], words: tuple[str, ...]) -> None:
    with pytest.raises(CapabilityError) as info:
        check_setup(setup, **kwargs)
    message = str(info.value)
    assert "\n" not in message
    for word in words:
        assert word in message, message


def test_every_known_model_accepts_its_own_turn_coverages_and_levels() -> None:
    for info in KNOWN_MODELS.values():
        backend = "vertex" if info.backends == ("vertex",) else "gemini"
        for value in info.turn_coverages:
            if backend == "vertex" and value == ALL_VIDEO:
                continue
            check_setup(coverage(info.id, value), backend=backend)
        for level in info.thinking_levels:
            check_setup(gen(info.id, thinking_config=ThinkingConfig(thinking_level=level)),
                        backend=backend)


@pytest.mark.parametrize(("model", "affective", "proactive", "backend", "expected"), [
    (NATIVE_25, True, None, "gemini", "v1alpha"),
    (NATIVE_25, None, True, "gemini", "v1alpha"),
    (NATIVE_25, False, False, "gemini", None),
    (NATIVE_25, True, None, "vertex", None),
    ("gemini-live-2.5-flash-native-audio", True, True, "gemini", None),  # Vertex GA: no v1alpha
    ("gemini-3.8-live", None, True, "gemini", None),  # always on, any version
    ("gemini-3.8-live", True, None, "gemini", None),  # refused, not switched
    ("mystery-model", True, True, "gemini", None),
])
def test_required_api_version(model: str, affective: bool | None, proactive: bool | None,
                              backend: str, expected: str | None) -> None:
    assert required_api_version(model, affective=affective, proactive=proactive,
                                backend=backend) == expected


# ---- option names ------------------------------------------------------------------------------


@pytest.mark.parametrize(("table", "given", "expected"), [
    (MEDIA_RESOLUTIONS, "LOW", "low"), (MEDIA_RESOLUTIONS, "media_resolution_high", "high"),
    (MEDIA_RESOLUTIONS, "ultra", None),
    (TURN_COVERAGES, "all_input", "all-input"),
    (TURN_COVERAGES, "TURN_INCLUDES_AUDIO_ACTIVITY_AND_ALL_VIDEO", "audio-activity-and-all-video"),
    (TURN_COVERAGES, "everything", None),
])
def test_option_values_take_short_or_wire_names(
        table: dict[str, str], given: str, expected: str | None) -> None:
    assert option_value(table, given) == expected


# ---- languages (§7.3) and voices (§7.2) --------------------------------------------------------


def test_documented_language_lists() -> None:
    assert len(LANGUAGES) == 97 and LANGUAGES["iw"] == "Hebrew" and "he" not in LANGUAGES
    assert {"en-US", "cmn-CN", "ar-XA", "uk-UA", "ar-EG"} <= set(LOCALES)


@pytest.mark.parametrize(("given", "expected"), [
    ("de", "de"), ("EN-us", "en-US"), ("pt_br", "pt-BR"), ("CMN-cn", "cmn-CN"), ("fil", "fil"),
    ("he", None), ("de-AT", None), ("english", None), ("", None),
])
def test_canonical_language(given: str, expected: str | None) -> None:
    assert canonical_language(given) == expected


@pytest.mark.parametrize(("given", "meant"), [
    ("he", ["iw"]), ("de-AT", ["de", "de-DE"]), ("German", ["de"]), ("engl", ["en"]),
    ("fr-BE", ["fr", "fr-FR", "fr-CA"]),
])
def test_language_suggestions(given: str, meant: list[str]) -> None:
    assert suggest_language(given) == meant


def test_language_problem_is_one_line_with_the_hint() -> None:
    message = language_problem("he")
    assert message is not None and "\n" not in message
    assert "'he'" in message and "did you mean iw?" in message and "§7.3" in message
    assert language_problem("de") is None
    assert "did you mean" not in (language_problem("qq-QQ") or "")


@pytest.mark.parametrize(("given", "meant"), [
    ("Korre", "Kore"), ("puk", "Puck"), ("zefir", "Zephyr"), ("sulfat", "Sulafat"),
    ("xylophone", None),
])
def test_voice_suggestions(given: str, meant: str | None) -> None:
    suggestions = suggest_voice(given)
    assert len(suggestions) <= 2
    assert (suggestions[0] if suggestions else None) == meant
    assert voice_hint(given).endswith("`voicecli voices` lists the 30 prebuilt voices")
