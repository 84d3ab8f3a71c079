"""Accept or refuse a `setup` the way the service does (live-protocol.md §3.1, §5.9, §11).

`admit` returns a `SessionPlan` (everything the session needs) or raises `Refused` with the close
code and the service's own wording. The service does not explain a 1007; the real reason is
logged at debug level only.
"""

from __future__ import annotations

import logging

from voicecli.errors import CapabilityError, ConfigError
from voicecli.protocol.messages import (
    AutomaticActivityDetection,
    ContextWindowCompression,
    GenerationConfig,
    Setup,
)
from voicecli.protocol.models import ModelInfo, bare_model_id, check_setup, model_info
from voicecli.protocol.setup_rules import voice_name, voice_problems
from voicecli.server.engines.interface import Dialogue, ToolSpec
from voicecli.server.session.audio_in import InputAudio
from voicecli.server.session.handles import HandleStore, Snapshot
from voicecli.server.session.plan import SessionPlan
from voicecli.server.transport.routing import Route

log = logging.getLogger("voicecli.server")

INVALID_ARGUMENT = "Request contains an invalid argument."
NO_VOICE = "no matching speaker voice"  # §5.9, an unknown voiceName
_MODALITY_NUMBERS = {1: "TEXT", 2: "IMAGE", 3: "AUDIO"}  # protobuf JSON also accepts ints (§2)
DEFAULT_CONTEXT_TOKENS = 131_072


class Refused(Exception):
    """Close the connection with `code` and `reason` instead of answering setupComplete."""

    def __init__(self, code: int, reason: str, why: str = "") -> None:
        super().__init__(f"{code} {reason}")
        self.code = code
        self.reason = reason
        self.why = why or reason


def invalid(why: str) -> Refused:
    return Refused(1007, INVALID_ARGUMENT, why)


def not_found(model: str, route: Route) -> Refused:
    """§5.9 / §11: the service's wording for an unknown model (1008)."""
    if route.backend == "vertex":
        reason = (
            f"Publisher Model `{model}` was not found or your project does not have access "
            "to it."
        )
    else:
        reason = (
            f"models/{bare_model_id(model)} is not found for API version {route.api_version}, "
            "or is not supported for bidiGenerateContent. Call ListModels"
        )
    return Refused(1008, reason)


def admit(setup: Setup, route: Route, store: HandleStore) -> SessionPlan:
    """Validate `setup` for this route; raise `Refused` like the service would."""
    modality = _modality(setup)
    name = (setup.model or "").strip()
    info = model_info(name) if name else None
    if info is None or route.backend not in info.backends:
        raise not_found(name or "(none)", route)
    try:
        _check_voice(setup, info)
        check_setup(setup, api_version=route.api_version, backend=route.backend)
        InputAudio(_aad(setup))  # the VAD settings must make sense
    except (CapabilityError, ConfigError) as exc:
        raise invalid(str(exc)) from None
    restored = _restore(setup, store, info.id)
    return SessionPlan(
        model=info.id,
        info=info,
        conversation=_conversation(setup, info, modality or _default_modality(info), restored),
        aad=_aad(setup),
        interrupts=_interrupts(setup),
        input_transcription=setup.input_audio_transcription is not None,
        output_transcription=setup.output_audio_transcription is not None,
        resumption=setup.session_resumption is not None,
        compression=_compression(setup.context_window_compression),
        restored=restored,
        backend=route.backend,
        seeding=bool(setup.history_config
                     and setup.history_config.initial_history_in_client_content),
        media_resolution=_media_resolution(setup),
    )


def _check_voice(setup: Setup, info: ModelInfo) -> None:
    """§5.9, §7.2: an unknown voice closes 1007 "no matching speaker voice" (not the generic
    invalid-argument reason)."""
    voice = voice_name(setup)
    for why in voice_problems(voice, info) if voice is not None else ():
        raise Refused(1007, NO_VOICE, why)


def _modality(setup: Setup) -> str | None:
    modalities = (setup.generation_config or GenerationConfig()).response_modalities
    if not modalities:
        return None
    names = [_MODALITY_NUMBERS.get(m, str(m)) if isinstance(m, int) else str(m).upper()
             for m in modalities]
    if len(names) != 1 or names[0] not in ("TEXT", "AUDIO"):
        raise invalid(f"responseModalities must be exactly one of TEXT/AUDIO, got {modalities}")
    return names[0]


def _default_modality(info: ModelInfo) -> str:
    """§3.1.2: AUDIO when omitted (the SDK's documented default)."""
    return "AUDIO" if "AUDIO" in info.response_modalities else info.response_modalities[0]


def _aad(setup: Setup) -> AutomaticActivityDetection | None:
    config = setup.realtime_input_config
    return config.automatic_activity_detection if config else None


def _interrupts(setup: Setup) -> bool:
    """§3.1.5 activityHandling. A translation session is a continuous stream, not turns: the
    speaker going on never cuts the translation off (live-translate page, §7.1)."""
    if _translation(setup)[0] is not None:
        return False
    config = setup.realtime_input_config
    handling = str(config.activity_handling or "") if config else ""
    return handling.upper() not in ("NO_INTERRUPTION", "2")


def _restore(setup: Setup, store: HandleStore, model: str) -> Snapshot | None:
    """§5.6: a handle restores its conversation. Unknown, expired, or made with another model →
    1007 (the service's behaviour here is undocumented; an invalid argument is the plausible
    answer, and a client then starts a fresh session)."""
    handle = setup.session_resumption.handle if setup.session_resumption else None
    if not handle:
        return None
    snapshot = store.restore(handle)
    if snapshot is None:
        raise invalid("unknown or expired session resumption handle")
    if snapshot.model != model:
        raise invalid(f"the handle belongs to {snapshot.model}; the model cannot change (§5.6)")
    return snapshot


def _conversation(
    setup: Setup, info: ModelInfo, modality: str, restored: Snapshot | None
) -> Dialogue:
    config = setup.generation_config or GenerationConfig()
    speech = config.speech_config
    voice_config = speech.voice_config if speech else None
    prebuilt = voice_config.prebuilt_voice_config if voice_config else None
    instruction = setup.system_instruction
    thinking = config.thinking_config
    return Dialogue(
        model=info.id,
        modality=modality,
        system_instruction="\n\n".join(
            p.text for p in (instruction.parts or []) if p.text
        ) if instruction else "",
        tools=_tools(setup, info),
        google_search=any(t.google_search is not None for t in setup.tools or []),
        code_execution=any(t.code_execution is not None for t in setup.tools or []),
        voice=prebuilt.voice_name if prebuilt else None,
        language=(speech.language_code if speech else None) or _transcription_language(setup),
        history=list(restored.history) if restored else [],
        include_thoughts=bool(thinking and thinking.include_thoughts),
        temperature=config.temperature,
        max_output_tokens=config.max_output_tokens,
        translate_to=_translation(setup)[0],
        echo_target=_translation(setup)[1],
    )


def _media_resolution(setup: Setup) -> str | None:
    value = (setup.generation_config or GenerationConfig()).media_resolution
    return None if value is None else str(value).upper()


def _translation(setup: Setup) -> tuple[str | None, bool]:
    """§3.1: translationConfig's target language and echoTargetLanguage."""
    config = (setup.generation_config or GenerationConfig()).translation_config
    if config is None:
        return None, False
    return config.target_language_code or None, bool(config.echo_target_language)


def _transcription_language(setup: Setup) -> str | None:
    """§3.1.6: the first languageCodes hint of the input transcription, for the recogniser."""
    config = setup.input_audio_transcription
    codes = config.language_codes if config else None
    return codes[0] if codes else None


def _tools(setup: Setup, info: ModelInfo) -> list[ToolSpec]:
    specs: list[ToolSpec] = []
    for tool in setup.tools or []:
        for declaration in tool.function_declarations or []:
            if not declaration.name:
                continue
            behavior = str(declaration.behavior or info.default_function_behavior).upper()
            parameters = declaration.parameters
            if parameters is None and isinstance(declaration.parameters_json_schema, dict):
                parameters = declaration.parameters_json_schema
            specs.append(ToolSpec(
                declaration.name, parameters, behavior != "NON_BLOCKING",
                description=declaration.description or "",
            ))
    return specs


def _compression(config: ContextWindowCompression | None) -> tuple[int, int] | None:
    """§3.1.8: trigger defaults to 80 % of the context window, target to half the trigger."""
    if config is None:
        return None
    trigger = config.trigger_tokens or int(DEFAULT_CONTEXT_TOKENS * 0.8)
    window = config.sliding_window
    target = (window.target_tokens if window else None) or trigger // 2
    return int(trigger), int(min(target, trigger))
