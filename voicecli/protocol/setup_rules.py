"""Rules for the model options of a `setup` (live-protocol.md §3.1.2, §3.1.5, §3.1.6, §7).

Two kinds, both used by ``models.check_setup`` (so the client refuses before sending and the
local server refuses the same setup with 1007, §5.9):

* ``value_problems``: values no Live model takes (an unknown enum name, a temperature above 2);
  they apply to every model id, known or not;
* the ``*_problems(setup, info, api_version, backend)`` checks: what one model family takes
  (which thinking knob and levels, languageCode or transcription hints, catalog voices,
  turnCoverage values, mediaResolution on audio-only models, the output-token ceiling).

The short option names users type (``low``, ``all-input``) map to wire enum names here, so the
settings, the setup builder and the server agree on them. Every message is one line that names
the flag to change.
"""

from __future__ import annotations

from collections.abc import Iterator

from voicecli.protocol.languages import canonical_language, is_locale, locales_of
from voicecli.protocol.messages import (
    AudioTranscriptionConfig,
    GenerationConfig,
    Setup,
    SpeechConfig,
)
from voicecli.protocol.model_info import ModelInfo
from voicecli.protocol.voices import canonical_voice, is_catalog_id, voice_hint

#: option value → wire enum name (§3.1.2 mediaResolution, §3.1.5 turnCoverage, thinkingLevel)
MEDIA_RESOLUTIONS = {
    "low": "MEDIA_RESOLUTION_LOW", "medium": "MEDIA_RESOLUTION_MEDIUM",
    "high": "MEDIA_RESOLUTION_HIGH",
}
TURN_COVERAGES = {
    "only-activity": "TURN_INCLUDES_ONLY_ACTIVITY", "all-input": "TURN_INCLUDES_ALL_INPUT",
    "audio-activity-and-all-video": "TURN_INCLUDES_AUDIO_ACTIVITY_AND_ALL_VIDEO",
}
THINKING_LEVELS = {name.lower(): name for name in ("MINIMAL", "LOW", "MEDIUM", "HIGH")}
TEMPERATURE_RANGE = (0.0, 2.0)  # Gemini models' documented temperature range
_UNSPECIFIED = ("MEDIA_RESOLUTION_UNSPECIFIED", "TURN_COVERAGE_UNSPECIFIED",
                "THINKING_LEVEL_UNSPECIFIED")


def option_value(table: dict[str, str], value: str) -> str | None:
    """The option name for `value`, given as an option name or a wire name, any case."""
    cleaned = value.strip().lower().replace("_", "-")
    if cleaned in table:
        return cleaned
    wire = value.strip().upper()
    return next((short for short, name in table.items() if name == wire), None)


def short_name(table: dict[str, str], wire: object) -> str:
    """`TURN_INCLUDES_ALL_INPUT` → `all-input`, for messages; unknown values as they are."""
    return next((short for short, name in table.items() if name == str(wire)), str(wire))


# ---- values no model takes ----------------------------------------------------------------------


def value_problems(setup: Setup) -> Iterator[str]:
    config = setup.generation_config or GenerationConfig()
    low, high = TEMPERATURE_RANGE
    if config.temperature is not None and not low <= config.temperature <= high:
        yield f"--temperature must be between {low:g} and {high:g}, not {config.temperature:g}"
    if config.top_p is not None and not 0.0 <= config.top_p <= 1.0:
        yield f"topP must be between 0 and 1, not {config.top_p:g}"
    if config.max_output_tokens is not None and config.max_output_tokens < 1:
        yield f"--max-output-tokens must be at least 1, not {config.max_output_tokens}"
    yield from _enum_problem("--media-resolution", config.media_resolution, MEDIA_RESOLUTIONS)
    coverage = setup.realtime_input_config.turn_coverage if setup.realtime_input_config else None
    yield from _enum_problem("--turn-coverage", coverage, TURN_COVERAGES)
    thinking = config.thinking_config
    if thinking is not None:
        yield from _enum_problem("--thinking-level", thinking.thinking_level, THINKING_LEVELS)
        if thinking.thinking_budget is not None and thinking.thinking_budget < -1:
            yield (f"--thinking-budget must be -1 (dynamic), 0 (off) or a number of tokens, "
                   f"not {thinking.thinking_budget}")


def _enum_problem(flag: str, value: object, table: dict[str, str]) -> Iterator[str]:
    # An integer is a protobuf enum number (§2): the service knows it; names are checked here.
    if value is None or isinstance(value, int) or str(value) in _UNSPECIFIED:
        return
    if str(value) not in table.values():
        yield f"{flag} must be one of {', '.join(table)}, not {value!r}"


# ---- per model --------------------------------------------------------------------------------


def thinking_problems(setup: Setup, info: ModelInfo, api: str, backend: str) -> Iterator[str]:
    thinking = (setup.generation_config or GenerationConfig()).thinking_config
    if thinking is None:
        return
    if info.thinking is None:
        yield (f"{info.id} does not accept thinkingConfig (§7.1): drop --thinking-budget, "
               "--thinking-level and --show-thoughts, or pick gemini-3.8-live-extended-thinking.")
    elif info.thinking == "level" and thinking.thinking_budget is not None:
        yield (f"{info.id} takes thinkingConfig.thinkingLevel ({_levels(info)}), not "
               "thinkingBudget (§3.1.2): use --thinking-level instead of --thinking-budget.")
    elif info.thinking == "budget" and thinking.thinking_level is not None:
        yield (f"{info.id} takes thinkingConfig.thinkingBudget (tokens; 0 off, -1 dynamic), not "
               "thinkingLevel (§3.1.2): use --thinking-budget instead of --thinking-level.")
    else:
        yield from _thinking_value_problems(thinking.thinking_level, thinking.thinking_budget, info)


def _thinking_value_problems(level: object, budget: int | None, info: ModelInfo) -> Iterator[str]:
    if isinstance(level, str) and info.thinking_levels and level not in info.thinking_levels:
        yield (f"{info.id} takes --thinking-level {_levels(info)}, not "
               f"{level.lower()} (§7.1)")
    ceiling = info.thinking_budget_max
    if budget is not None and ceiling is not None and budget > ceiling:
        yield (f"--thinking-budget on {info.id} goes up to {ceiling} tokens (-1 dynamic, 0 off), "
               f"not {budget}")


def _levels(info: ModelInfo) -> str:
    return "/".join(level.lower() for level in info.thinking_levels) or "a thinking level"


def generation_problems(setup: Setup, info: ModelInfo, api: str, backend: str) -> Iterator[str]:
    config = setup.generation_config or GenerationConfig()
    if config.media_resolution is not None and not info.video_input:
        yield (f"{info.id} takes audio input only, so mediaResolution does not apply (§7.1): "
               "drop --media-resolution.")
    ceiling = info.max_output_tokens
    if config.max_output_tokens is not None and ceiling and config.max_output_tokens > ceiling:
        yield (f"{info.id} writes at most {ceiling} output tokens (§5.7): --max-output-tokens "
               f"{config.max_output_tokens} is too many.")


def turn_coverage_problems(setup: Setup, info: ModelInfo, api: str, backend: str) -> Iterator[str]:
    coverage = setup.realtime_input_config.turn_coverage if setup.realtime_input_config else None
    if not isinstance(coverage, str) or coverage in _UNSPECIFIED:
        return
    if coverage not in info.turn_coverages:
        accepted = ", ".join(short_name(TURN_COVERAGES, c) for c in info.turn_coverages)
        yield (f"{info.id} takes --turn-coverage {accepted}, not "
               f"{short_name(TURN_COVERAGES, coverage)} (§3.1.5).")
    elif backend == "vertex" and coverage == TURN_COVERAGES["audio-activity-and-all-video"]:
        yield ("Vertex AI refuses turnCoverage TURN_INCLUDES_AUDIO_ACTIVITY_AND_ALL_VIDEO at "
               "setup (§3.1.5, §8): use --turn-coverage all-input or only-activity.")


def speech_problems(setup: Setup, info: ModelInfo, api: str, backend: str) -> Iterator[str]:
    config = setup.generation_config or GenerationConfig()
    speech = config.speech_config or SpeechConfig()
    if speech.language_code:
        yield from _language_code_problems(speech.language_code, info)
    voice = voice_name(setup)
    if voice is not None:
        yield from voice_problems(voice, info)
    if config.translation_config is not None and not info.translation:
        yield (f"{info.id} does not accept translationConfig (§3.1.2). Use "
               "gemini-3.5-live-translate-preview for translation.")
    if setup.system_instruction is not None and not info.system_instruction:
        yield f"{info.id} does not accept a systemInstruction (§3.1.3). Drop --system."


def _language_code_problems(code: str, info: ModelInfo) -> Iterator[str]:
    if not info.language_code:
        yield (f"{info.id} picks the spoken language itself and does not accept "
               "speechConfig.languageCode (§7.1). Drop --language, or ask for the language "
               "in --system.")
    elif not is_locale(code):
        locales = " or ".join(locales_of(code)) or "a locale such as en-US"
        yield (f"{info.id} takes speechConfig.languageCode as a documented locale (§7.3), not "
               f"{code!r}: use --language {locales}.")


def voice_problems(voice: str, info: ModelInfo) -> Iterator[str]:
    if canonical_voice(voice) is None:
        yield (f"unknown voice {voice!r}: the service closes the session with 1007 \"no "
               f"matching speaker voice\" (§7.2); {voice_hint(voice)}.")
    elif is_catalog_id(voice) and not info.catalog_voices:
        yield (f"{info.id} takes only the prebuilt voices, not the catalog id {voice!r} "
               f"(§7.2: 1007 \"no matching speaker voice\"); {voice_hint(voice)}.")


def voice_name(setup: Setup) -> str | None:
    """speechConfig.voiceConfig.prebuiltVoiceConfig.voiceName, if the setup has one."""
    speech = (setup.generation_config or GenerationConfig()).speech_config
    voice = speech.voice_config if speech is not None else None
    prebuilt = voice.prebuilt_voice_config if voice is not None else None
    return prebuilt.voice_name if prebuilt is not None else None


def transcription_problems(setup: Setup, info: ModelInfo, api: str, backend: str) -> Iterator[str]:
    for config in (setup.input_audio_transcription, setup.output_audio_transcription):
        if config is None or config == AudioTranscriptionConfig():
            continue
        if not info.transcription_hints:
            yield (f"{info.id} takes audio transcription only as an empty object, without "
                   "languageCodes or other hints (§3.1.6): drop --language.")
            return
        for code in config.language_codes or []:
            if canonical_language(code) is None:
                yield (f"transcription languageCodes holds {code!r}, which is not a documented "
                       "Live language (§7.3); check --language.")


MODEL_CHECKS = (
    thinking_problems,
    generation_problems,
    turn_coverage_problems,
    speech_problems,
    transcription_problems,
)
