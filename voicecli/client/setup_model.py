"""The model options of the `setup` message (live-protocol.md §3.1.2, §3.1.5, §3.1.9, §3.1.10).

`apply_model_options` writes what the settings ask for into a setup that ``build_setup`` made;
``check_setup`` then decides, per model, whether it may be sent. Options left unset send nothing,
so the service's own defaults apply.

`--language` goes where the model takes a language: ``speechConfig.languageCode`` on the
half-cascade models, ``inputAudioTranscription.languageCodes`` (the hint for transcribing the
user's speech, §3.1.6) on the models that take transcription hints (3.8, transcribe). Other
native-audio models choose the language themselves; there it stays in ``speechConfig`` so that
check_setup refuses it with the fix (§7.1).
"""

from __future__ import annotations

from voicecli.protocol.messages import (
    GenerationConfig,
    ProactivityConfig,
    RealtimeInputConfig,
    Setup,
    SpeechConfig,
    ThinkingConfig,
)
from voicecli.protocol.models import model_info
from voicecli.protocol.setup_rules import MEDIA_RESOLUTIONS, THINKING_LEVELS, TURN_COVERAGES
from voicecli.settings import Settings


def apply_model_options(setup: Setup, settings: Settings) -> None:
    """Set the generation, thinking, proactivity, turn-coverage and language fields."""
    config = setup.generation_config = setup.generation_config or GenerationConfig()
    config.temperature = settings.temperature
    config.max_output_tokens = settings.max_output_tokens
    if settings.media_resolution:
        config.media_resolution = MEDIA_RESOLUTIONS[settings.media_resolution]
    config.thinking_config = thinking_config(settings)
    config.enable_affective_dialog = settings.affective_dialog
    if settings.proactive_audio is not None:
        setup.proactivity = ProactivityConfig(proactive_audio=settings.proactive_audio)
    if settings.turn_coverage:
        realtime = setup.realtime_input_config or RealtimeInputConfig()
        setup.realtime_input_config = realtime
        realtime.turn_coverage = TURN_COVERAGES[settings.turn_coverage]
    if settings.language:
        _apply_language(setup, config, settings.language)


def thinking_config(settings: Settings) -> ThinkingConfig | None:
    """thinkingConfig from --thinking-budget / --thinking-level / --show-thoughts, or None."""
    level = THINKING_LEVELS[settings.thinking_level] if settings.thinking_level else None
    if settings.thinking_budget is None and level is None and not settings.show_thoughts:
        return None
    return ThinkingConfig(thinking_budget=settings.thinking_budget, thinking_level=level,
                          include_thoughts=True if settings.show_thoughts else None)


def _apply_language(setup: Setup, config: GenerationConfig, language: str) -> None:
    info = model_info(setup.model)
    if info is not None and info.transcription_hints and not info.language_code:
        if setup.input_audio_transcription is not None:
            setup.input_audio_transcription.language_codes = [language]
        return
    speech = config.speech_config = config.speech_config or SpeechConfig()
    speech.language_code = language
