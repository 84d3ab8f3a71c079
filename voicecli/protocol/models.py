"""What each Live model accepts (live-protocol.md §7, with §3.1.4, §3.1.9–3.1.11, §5.5, §8).

``check_setup`` refuses, before anything is sent, a setup the service is documented to reject
(it would close the session with 1007/1008 and a terse reason, §5.9). Unknown model ids are not
checked against capabilities; only protocol-wide rules apply to them. The rules for the model
options (thinking, sampling, turn coverage, languages, voices) live in ``setup_rules.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace

from voicecli.errors import CapabilityError
from voicecli.protocol import setup_rules
from voicecli.protocol.messages import (
    FunctionResponse,
    GenerationConfig,
    Setup,
    Tool,
)
from voicecli.protocol.model_info import (
    ALL_INPUT,
    AUDIO_AND_VIDEO,
    ONLY_ACTIVITY,
    ModelInfo,
)

_NATIVE_25 = ModelInfo(
    id="gemini-2.5-flash-native-audio-preview-12-2025",
    family="2.5-native-audio",
    summary="2.5 native audio (Dec 2025): thinkingBudget, affective + proactive on v1alpha",
    thinking="budget",
    affective_dialog=True,
    affective_needs_v1alpha=True,
    proactive_audio="optional",
    proactive_needs_v1alpha=True,
    non_blocking_functions=True,
    scheduling=True,
    thinking_budget_max=24_576,  # Gemini 2.5 Flash's thinkingBudget range: -1, or 0–24576
)
_HALF_CASCADE_20 = ModelInfo(
    id="gemini-2.0-flash-live-001",
    family="2.0-half-cascade",
    summary="2.0 half-cascade (retired): TEXT or AUDIO, languageCode, code execution",
    response_modalities=("TEXT", "AUDIO"),
    code_execution=True,
    language_code=True,
    status="retired",
    backends=("gemini", "vertex"),
)
_LIVE_38 = ModelInfo(
    id="gemini-3.8-live",
    family="3.8",
    summary="3.8 Live (GA, default): native audio, async tools, proactive audio always on",
    proactive_audio="always",
    non_blocking_functions=True,
    default_function_behavior="NON_BLOCKING",
    scheduling=True,
    default_turn_coverage=AUDIO_AND_VIDEO,
    turn_coverages=(ONLY_ACTIVITY, ALL_INPUT, AUDIO_AND_VIDEO),
    transcription_hints=True,  # languageCodes, customVocabulary (§3.1.6)
    catalog_voices=True,
    max_output_tokens=65_536,
    backends=("gemini", "vertex"),
    status="stable",
)

_MODELS = (
    _LIVE_38,
    replace(
        _LIVE_38,
        id="gemini-3.8-live-extended-thinking",
        family="3.8-extended-thinking",
        summary="3.8 with background reasoning: thinkingLevel, async-only function calls",
        thinking="level",
        thinking_levels=("LOW", "MEDIUM", "HIGH"),
        blocking_functions=False,
        backends=("gemini",),
    ),
    ModelInfo(
        id="gemini-3.1-flash-live-preview",
        family="3.1",
        summary="3.1 Flash Live (legacy preview): thinkingLevel, blocking function calls only",
        thinking="level",
        thinking_levels=("MINIMAL", "LOW", "MEDIUM", "HIGH"),
        client_content="seed_only",  # §3.2/§9.3: sources disagree; seeding is safe on both
        default_turn_coverage=AUDIO_AND_VIDEO,
        turn_coverages=(ONLY_ACTIVITY, ALL_INPUT, AUDIO_AND_VIDEO),
        max_output_tokens=65_536,
    ),
    _NATIVE_25,
    replace(_NATIVE_25, id="gemini-2.5-flash-native-audio-preview-09-2025",
            summary="2.5 native audio (Sep 2025 preview)"),
    replace(_NATIVE_25, id="gemini-2.5-flash-native-audio-latest",
            summary="2.5 native audio, latest alias"),
    ModelInfo(
        id="gemini-live-2.5-flash-preview",
        family="2.5-half-cascade",
        summary="2.5 half-cascade (SDK default, reported not found by Dec 2025): TEXT or AUDIO",
        response_modalities=("TEXT", "AUDIO"),
        non_blocking_functions=True,
        scheduling=True,
        code_execution=True,
        url_context=True,
        language_code=True,
        status="deprecated",
    ),
    _HALF_CASCADE_20,
    ModelInfo(
        id="gemini-3.5-live-translate-preview",
        family="translate",
        summary="speech-to-speech translation: translationConfig, no tools or system instruction",
        google_search=False,
        client_content="none",
        translation=True,
        system_instruction=False,
        tools=False,
        video_input=False,  # audio-only input (§7.1)
        backends=("gemini", "vertex"),
    ),
    ModelInfo(
        id="gemini-3.5-transcribe-live",
        family="transcribe",
        summary="live speech-to-text: TEXT responses, inputAudioTranscription languageCodes",
        response_modalities=("TEXT",),
        google_search=False,
        tools=False,
        client_content="none",
        transcription_hints=True,
        video_input=False,
    ),
    replace(
        _NATIVE_25,
        id="gemini-live-2.5-flash-native-audio",
        summary="Vertex 2.5 native audio (GA)",
        affective_needs_v1alpha=False,
        proactive_needs_v1alpha=False,
        max_output_tokens=65_536,  # §5.7: 64k output on Vertex
        backends=("vertex",),
        status="stable",
    ),
)

KNOWN_MODELS: dict[str, ModelInfo] = {info.id: info for info in _MODELS}
DEFAULT_MODEL = "gemini-3.8-live"
_VERTEX_NATIVE_25 = KNOWN_MODELS["gemini-live-2.5-flash-native-audio"]

#: Families recognised by prefix (newer dated previews, Vertex variants); first match wins.
_PREFIXES: tuple[tuple[str, ModelInfo], ...] = (
    ("gemini-2.5-flash-native-audio-", _NATIVE_25),
    ("gemini-live-2.5-flash-preview-native-audio", _VERTEX_NATIVE_25),
    ("gemini-live-2.5-flash-native-audio", _VERTEX_NATIVE_25),
    ("gemini-2.0-flash-live-", _HALF_CASCADE_20),
    ("gemini-3.5-transcribe-live", KNOWN_MODELS["gemini-3.5-transcribe-live"]),
)


def bare_model_id(model_id: str) -> str:
    """``models/x``, ``publishers/google/models/x``, ``projects/…/models/x`` → ``x`` (§1.4)."""
    return model_id.strip().rsplit("/", 1)[-1]


def model_info(model_id: str | None) -> ModelInfo | None:
    """What the model accepts, or None for an id voicecli does not know."""
    bare = bare_model_id(model_id or "")
    info = KNOWN_MODELS.get(bare)
    if info is not None:
        return info
    for prefix, family in _PREFIXES:
        if bare.startswith(prefix):
            return replace(family, id=bare)
    return None


def required_api_version(
    model_id: str | None, *, affective: bool | None, proactive: bool | None, backend: str
) -> str | None:
    """§1.3: "v1alpha" when the Gemini API needs it for these options on this model, else None."""
    info = model_info(model_id)
    if info is None or backend != "gemini":
        return None
    if (affective and info.affective_dialog and info.affective_needs_v1alpha) or (
        proactive and info.proactive_audio == "optional" and info.proactive_needs_v1alpha
    ):
        return "v1alpha"
    return None


# ---- checks -----------------------------------------------------------------------------------

Check = Callable[[Setup, ModelInfo, str, str], Iterator[str]]


def check_setup(setup: Setup, *, api_version: str = "v1beta", backend: str = "gemini") -> None:
    """Raise ``CapabilityError`` (one actionable line) for a setup the model is known to reject."""
    for problem in _protocol_problems(setup, backend):
        raise CapabilityError(problem)
    info = model_info(setup.model)
    if info is None:
        return
    for check in _MODEL_CHECKS:
        for problem in check(setup, info, api_version, backend):
            raise CapabilityError(problem)


def _protocol_problems(setup: Setup, backend: str) -> Iterator[str]:
    yield from setup_rules.value_problems(setup)
    modalities = (setup.generation_config or GenerationConfig()).response_modalities
    if modalities is not None and len(modalities) != 1:
        yield (f"responseModalities must hold exactly one of AUDIO or TEXT, got {modalities} "
               "(§5.8: both is a config error). Pick one with --response.")
    if backend != "vertex":
        if setup.session_resumption is not None and setup.session_resumption.transparent:
            yield ("sessionResumption.transparent is Vertex-only; the Gemini API refuses it "
                   "(§3.1.7). Drop it or use --backend vertex.")
        if setup.explicit_vad_signal is not None:
            yield "explicitVadSignal is Vertex-only (§3.1.12). Drop it or use --backend vertex."


def _modality_problems(setup: Setup, info: ModelInfo, api: str, backend: str) -> Iterator[str]:
    for modality in (setup.generation_config or GenerationConfig()).response_modalities or ():
        if modality not in info.response_modalities:
            yield (f"{info.id} answers only in {'/'.join(info.response_modalities)}, not "
                   f"{modality} (§3.1.2). Use --response {info.response_modalities[0].lower()} "
                   "(audio comes with outputAudioTranscription for text) or pick a half-cascade "
                   "model such as gemini-live-2.5-flash-preview.")


def _affective_problems(setup: Setup, info: ModelInfo, api: str, backend: str) -> Iterator[str]:
    affective = (setup.generation_config or GenerationConfig()).enable_affective_dialog
    if affective is None:
        return
    if not info.affective_dialog:
        why = "removed in 3.8; the service closes the session" if info.family.startswith(
            "3.8") else "not supported"
        yield (f"{info.id} does not accept enableAffectiveDialog ({why}, §3.1.10). Drop "
               "--affective, or use a 2.5 native-audio model.")
    elif affective and info.affective_needs_v1alpha and backend == "gemini" and api != "v1alpha":
        yield (f"enableAffectiveDialog (--affective) on {info.id} needs the v1alpha API (§1.3), "
               f"not {api}: pass --api-version v1alpha, or leave --api-version unset.")


def _proactive_problems(setup: Setup, info: ModelInfo, api: str, backend: str) -> Iterator[str]:
    proactive = setup.proactivity.proactive_audio if setup.proactivity else None
    if proactive is None:
        return
    if info.proactive_audio is None:
        yield (f"{info.id} does not support proactivity.proactiveAudio (§3.1.9). Drop "
               "--proactive/--no-proactive, or use a 2.5 native-audio model.")
    elif info.proactive_audio == "always" and not proactive:
        yield (f"{info.id} always uses proactive audio and refuses proactiveAudio: false "
               "(§3.1.9). Drop --no-proactive.")
    elif (proactive and info.proactive_needs_v1alpha and backend == "gemini"
          and api != "v1alpha"):
        yield (f"proactivity.proactiveAudio (--proactive) on {info.id} needs the v1alpha API "
               f"(§1.3), not {api}: pass --api-version v1alpha, or leave --api-version unset.")


def _tool_problems(setup: Setup, info: ModelInfo, api: str, backend: str) -> Iterator[str]:
    tools = setup.tools or []
    if tools and not info.tools:
        yield f"{info.id} does not accept tools (§7.1). Drop the tools from the setup."
    for tool in tools:
        yield from _one_tool_problems(tool, info)


_TOOL_KINDS = (  # attribute, wire name, how voicecli's commands ask for it
    ("google_search", "googleSearch", "--search / google_search"),
    ("code_execution", "codeExecution", "--code-execution / code_execution"),
    ("url_context", "urlContext", ""),
)


def _one_tool_problems(tool: Tool, info: ModelInfo) -> Iterator[str]:
    for attr, wire, option in _TOOL_KINDS:
        if getattr(tool, attr) is not None and not getattr(info, attr):
            drop = f"Drop {option}" if option else "Drop it"
            yield (f"{info.id} does not support the {wire} tool (§3.1.4). {drop}, or use a "
                   "model that has it (`voicecli models`).")
    for declaration in tool.function_declarations or []:
        behavior = declaration.behavior
        if behavior == "NON_BLOCKING" and not info.non_blocking_functions:
            yield (f"{info.id} does not support NON_BLOCKING function {declaration.name!r} "
                   "(§5.5: no async function calling). Drop behavior or set BLOCKING.")
        if behavior == "BLOCKING" and not info.blocking_functions:
            yield (f"{info.id} calls functions asynchronously only; BLOCKING {declaration.name!r} "
                   "is a hard error (§5.5). Drop behavior or set NON_BLOCKING.")


_MODEL_CHECKS: tuple[Check, ...] = (
    _modality_problems,
    _affective_problems,
    _proactive_problems,
    _tool_problems,
    *setup_rules.MODEL_CHECKS,
)


def check_function_responses(model_id: str | None, responses: list[FunctionResponse]) -> None:
    """§3.4: ``scheduling`` only means something for NON_BLOCKING-capable models."""
    info = model_info(model_id)
    if info is None or info.scheduling:
        return
    for response in responses:
        if response.scheduling is not None:
            raise CapabilityError(
                f"{info.id} has no NON_BLOCKING function calls, so FunctionResponse.scheduling "
                f"({response.scheduling}) does not apply (§3.4, §5.5). Drop scheduling."
            )
