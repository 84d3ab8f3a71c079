"""The capability table (§7) and check_setup: each rule, and that its message names the fix."""

from __future__ import annotations

from dataclasses import asdict

import pytest

from voicecli.errors import CapabilityError
from voicecli.protocol.messages import (
    Content,
    FunctionDeclaration,
    FunctionResponse,
    GenerationConfig,
    Part,
    ProactivityConfig,
    SessionResumptionConfig,
    Setup,
    SpeechConfig,
    ThinkingConfig,
    Tool,
    TranslationConfig,
)
from voicecli.protocol.models import (
    DEFAULT_MODEL,
    KNOWN_MODELS,
    check_function_responses,
    check_setup,
    model_info,
)

REQUIRED_MODELS = {
    "gemini-3.8-live", "gemini-3.8-live-extended-thinking", "gemini-3.1-flash-live-preview",
    "gemini-2.5-flash-native-audio-preview-12-2025",
    "gemini-2.5-flash-native-audio-preview-09-2025", "gemini-2.5-flash-native-audio-latest",
    "gemini-live-2.5-flash-preview", "gemini-2.0-flash-live-001",
    "gemini-3.5-live-translate-preview", "gemini-3.5-transcribe-live",
    "gemini-live-2.5-flash-native-audio",
}
NATIVE_25 = "gemini-2.5-flash-native-audio-preview-12-2025"


def setup_for(model: str, **generation: object) -> Setup:
    return Setup(model=f"models/{model}",
                 generation_config=GenerationConfig(**generation) if generation else None)


def test_table_covers_the_documented_models() -> None:
    assert set(KNOWN_MODELS) >= REQUIRED_MODELS
    assert DEFAULT_MODEL == "gemini-3.8-live" and DEFAULT_MODEL in KNOWN_MODELS
    assert all(info.id == key for key, info in KNOWN_MODELS.items())
    assert asdict(KNOWN_MODELS[DEFAULT_MODEL])["proactive_audio"] == "always"


@pytest.mark.parametrize("name", [
    "gemini-3.8-live", "models/gemini-3.8-live", "publishers/google/models/gemini-3.8-live",
    "projects/p/locations/us-central1/publishers/google/models/gemini-3.8-live",
])
def test_model_info_accepts_every_spelling(name: str) -> None:
    info = model_info(name)
    assert info is not None and info.id == "gemini-3.8-live"


@pytest.mark.parametrize(("name", "family"), [
    ("gemini-2.5-flash-native-audio-preview-03-2026", "2.5-native-audio"),
    ("projects/x/locations/y/publishers/google/models/gemini-2.0-flash-live-preview-04-09",
     "2.0-half-cascade"),
    ("gemini-live-2.5-flash-preview-native-audio-09-2025", "2.5-native-audio"),
])
def test_families_are_recognised_by_prefix(name: str, family: str) -> None:
    info = model_info(name)
    assert info is not None and info.family == family
    assert info.id == name.rsplit("/", 1)[-1]


@pytest.mark.parametrize("name", ["gemini-9-live", "", "models/", None, "my-local-model"])
def test_unknown_models(name: str | None) -> None:
    assert model_info(name) is None


def test_unknown_models_are_not_capability_checked() -> None:
    check_setup(Setup(model="models/mystery", generation_config=GenerationConfig(
        response_modalities=["TEXT"], enable_affective_dialog=True,
        thinking_config=ThinkingConfig(thinking_budget=1))))


def test_a_plain_valid_setup_passes_for_every_known_model() -> None:
    for info in KNOWN_MODELS.values():
        backend = "vertex" if info.backends == ("vertex",) else "gemini"
        check_setup(setup_for(info.id, response_modalities=[info.response_modalities[0]]),
                    backend=backend)


REFUSED: list[tuple[str, Setup, dict[str, str], tuple[str, ...]]] = [
    ("both modalities", setup_for(NATIVE_25, response_modalities=["AUDIO", "TEXT"]), {},
     ("responseModalities", "exactly one", "--response")),
    ("no modality listed", setup_for("gemini-3.8-live", response_modalities=[]), {},
     ("responseModalities",)),
    ("TEXT on audio-only", setup_for("gemini-3.8-live", response_modalities=["TEXT"]), {},
     ("gemini-3.8-live", "AUDIO", "--response audio", "outputAudioTranscription")),
    ("affective on 3.8", setup_for("gemini-3.8-live", enable_affective_dialog=True), {},
     ("gemini-3.8-live does not accept enableAffectiveDialog", "removed in 3.8",
      "2.5 native-audio")),
    ("affective false on 3.1", setup_for("gemini-3.1-flash-live-preview",
                                         enable_affective_dialog=False), {},
     ("enableAffectiveDialog", "not supported")),
    ("affective on v1beta", setup_for(NATIVE_25, enable_affective_dialog=True), {},
     ("enableAffectiveDialog", "v1alpha", "--api-version v1alpha")),
    ("proactive false on 3.8", Setup(model="gemini-3.8-live",
                                     proactivity=ProactivityConfig(proactive_audio=False)), {},
     ("proactiveAudio: false", "gemini-3.8-live", "Drop")),
    ("proactive on 3.1", Setup(model="gemini-3.1-flash-live-preview",
                               proactivity=ProactivityConfig(proactive_audio=True)), {},
     ("proactiveAudio", "gemini-3.1-flash-live-preview")),
    ("proactive on v1beta", Setup(model=NATIVE_25,
                                  proactivity=ProactivityConfig(proactive_audio=True)), {},
     ("v1alpha",)),
    ("thinking on 3.8", setup_for("gemini-3.8-live", thinking_config=ThinkingConfig(
        thinking_level="LOW")), {}, ("does not accept thinkingConfig", "extended-thinking")),
    ("budget on 3.1", setup_for("gemini-3.1-flash-live-preview", thinking_config=ThinkingConfig(
        thinking_budget=512)), {}, ("thinkingLevel", "not thinkingBudget")),
    ("level on 2.5", setup_for(NATIVE_25, thinking_config=ThinkingConfig(thinking_level="LOW")),
     {}, ("thinkingBudget", "not thinkingLevel")),
    ("NON_BLOCKING on 3.1", Setup(model="gemini-3.1-flash-live-preview", tools=[Tool(
        function_declarations=[FunctionDeclaration(name="lights", behavior="NON_BLOCKING")])]),
     {}, ("NON_BLOCKING", "'lights'", "BLOCKING")),
    ("BLOCKING on extended thinking", Setup(model="gemini-3.8-live-extended-thinking", tools=[
        Tool(function_declarations=[FunctionDeclaration(name="f", behavior="BLOCKING")])]), {},
     ("asynchronously only", "NON_BLOCKING")),
    ("code execution on 3.8", Setup(model="gemini-3.8-live", tools=[Tool(code_execution={})]),
     {}, ("codeExecution", "voicecli models")),
    ("url context on 2.5 native", Setup(model=NATIVE_25, tools=[Tool(url_context={})]), {},
     ("urlContext",)),
    ("tools on translate", Setup(model="gemini-3.5-live-translate-preview",
                                 tools=[Tool(google_search={})]), {}, ("does not accept tools",)),
    ("system instruction on translate", Setup(
        model="gemini-3.5-live-translate-preview",
        system_instruction=Content(parts=[Part(text="be nice")])), {},
     ("systemInstruction", "--system")),
    ("translation on 3.8", setup_for("gemini-3.8-live", translation_config=TranslationConfig(
        target_language_code="es")), {}, ("translationConfig", "live-translate")),
    ("language code on native audio", setup_for("gemini-3.8-live", speech_config=SpeechConfig(
        language_code="de-DE")), {}, ("languageCode", "--language")),
    ("transparent resumption on gemini", Setup(
        model="gemini-3.8-live", session_resumption=SessionResumptionConfig(transparent=True)),
     {}, ("transparent", "Vertex", "--backend vertex")),
    ("explicit VAD signal on gemini", Setup(model="gemini-3.8-live", explicit_vad_signal=True),
     {}, ("explicitVadSignal", "Vertex")),
]


@pytest.mark.parametrize(("name", "setup", "kwargs", "words"), REFUSED,
                         ids=[r[0] for r in REFUSED])
def test_refused_setups_name_the_field_and_the_fix(
        name: str, setup: Setup, kwargs: dict[str, str], words: tuple[str, ...]) -> None:
    with pytest.raises(CapabilityError) as info:
        check_setup(setup, **kwargs)
    message = str(info.value)
    assert "\n" not in message
    for word in words:
        assert word in message


ACCEPTED: list[tuple[str, Setup, dict[str, str]]] = [
    ("affective on v1alpha", setup_for(NATIVE_25, enable_affective_dialog=True),
     {"api_version": "v1alpha"}),
    ("affective on Vertex GA", setup_for("gemini-live-2.5-flash-native-audio",
                                         enable_affective_dialog=True), {"backend": "vertex"}),
    ("proactive true on 3.8", Setup(model="gemini-3.8-live",
                                    proactivity=ProactivityConfig(proactive_audio=True)), {}),
    ("TEXT on half-cascade", setup_for("gemini-live-2.5-flash-preview",
                                       response_modalities=["TEXT"]), {}),
    ("level on extended thinking", setup_for(
        "gemini-3.8-live-extended-thinking",
        thinking_config=ThinkingConfig(thinking_level="HIGH", include_thoughts=True)), {}),
    ("budget on 2.5", setup_for(NATIVE_25, thinking_config=ThinkingConfig(thinking_budget=0)), {}),
    ("NON_BLOCKING on 3.8", Setup(model="gemini-3.8-live", tools=[Tool(
        function_declarations=[FunctionDeclaration(name="f", behavior="NON_BLOCKING")]),
        Tool(google_search={})]), {}),
    ("language on half-cascade", setup_for("gemini-2.0-flash-live-001", speech_config=SpeechConfig(
        language_code="de-DE")), {}),
    ("translation on translate", setup_for("gemini-3.5-live-translate-preview",
                                           translation_config=TranslationConfig(
                                               target_language_code="es")), {}),
    ("transparent on vertex", Setup(model="gemini-live-2.5-flash-native-audio",
                                    session_resumption=SessionResumptionConfig(transparent=True),
                                    explicit_vad_signal=True), {"backend": "vertex"}),
]


@pytest.mark.parametrize(("name", "setup", "kwargs"), ACCEPTED, ids=[a[0] for a in ACCEPTED])
def test_accepted_setups(name: str, setup: Setup, kwargs: dict[str, str]) -> None:
    check_setup(setup, **kwargs)


def test_scheduling_only_for_non_blocking_capable_models() -> None:
    responses = [FunctionResponse(id="c1", response={}, scheduling="INTERRUPT")]
    check_function_responses("gemini-3.8-live", responses)
    check_function_responses("unknown-model", responses)
    with pytest.raises(CapabilityError, match="scheduling"):
        check_function_responses("models/gemini-3.1-flash-live-preview", responses)
    check_function_responses("gemini-3.1-flash-live-preview", [FunctionResponse(id="c1")])
