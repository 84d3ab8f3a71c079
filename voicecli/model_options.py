"""The model options of the settings: one frozen object, checked once, written into a setup once.

`ModelOptions` checks its values when it is made, whatever their source (config file, environment,
flags, a batch job line): a language must be one the Live API documents (§7.3), enum options take
their short names (`low`, `all-input`) or the wire names, numbers must be in range. Whether the
*model* takes an option is decided later, on the setup message, by ``protocol.models.check_setup``.

`apply` writes them into a setup that ``client.setup.build_setup`` made (live-protocol.md §3.1.2,
§3.1.5, §3.1.9, §3.1.10); options left unset send nothing, so the service's defaults apply.
`--language` goes where the model takes a language: ``speechConfig.languageCode`` on the
half-cascade models, ``inputAudioTranscription.languageCodes`` (the hint for transcribing the
user's speech, §3.1.6) on the models that take transcription hints (3.8, transcribe). Other
native-audio models choose the language themselves; there it stays in ``speechConfig`` so that
check_setup refuses it with the fix (§7.1).

A new option is a field here (with its environment variable, if any), a line in `apply`, and its
flag in ``cli/options.py``; config keys, env parsing and batch job keys follow from the field.
"""

from __future__ import annotations

from dataclasses import dataclass

from voicecli.errors import ConfigError
from voicecli.protocol.languages import canonical_language, language_problem
from voicecli.protocol.messages import (
    GenerationConfig,
    ProactivityConfig,
    RealtimeInputConfig,
    Setup,
    SpeechConfig,
    ThinkingConfig,
)
from voicecli.protocol.models import model_info, required_api_version
from voicecli.protocol.setup_rules import (
    MEDIA_RESOLUTIONS,
    TEMPERATURE_RANGE,
    THINKING_LEVELS,
    TURN_COVERAGES,
    option_value,
)
from voicecli.setting_fields import setting

RESPONSES = ("auto", "audio", "text")  # client/setup.response_modality
_ENUM_OPTIONS = (
    ("thinking_level", "--thinking-level", THINKING_LEVELS),
    ("media_resolution", "--media-resolution", MEDIA_RESOLUTIONS),
    ("turn_coverage", "--turn-coverage", TURN_COVERAGES),
)


@dataclass(frozen=True)
class ModelOptions:
    """What the user asks of the model (each model's rules: voicecli/protocol/models.py)."""

    response: str = setting("auto", "VOICECLI_RESPONSE")  # auto | audio | text (modalities)
    language: str | None = setting(None, "VOICECLI_LANGUAGE")  # BCP-47, canonical (§7.3)
    affective_dialog: bool | None = setting()  # generationConfig.enableAffectiveDialog
    proactive_audio: bool | None = setting()  # proactivity.proactiveAudio
    thinking_budget: int | None = setting(None, "VOICECLI_THINKING_BUDGET")  # -1 dynamic, 0 off
    thinking_level: str | None = setting(None, "VOICECLI_THINKING_LEVEL")  # minimal … high
    show_thoughts: bool = setting(False, "VOICECLI_SHOW_THOUGHTS")  # includeThoughts
    media_resolution: str | None = setting(None, "VOICECLI_MEDIA_RESOLUTION")  # low|medium|high
    temperature: float | None = setting(None, "VOICECLI_TEMPERATURE")
    max_output_tokens: int | None = setting()
    turn_coverage: str | None = setting()  # only-activity | all-input | audio-activity-and-…

    def __post_init__(self) -> None:
        """Raise ConfigError (one line) for a value no Live model takes; normalise the rest."""
        if self.response not in RESPONSES:
            raise ConfigError(f"response must be auto, audio or text, not {self.response!r}")
        if self.language:
            canonical = canonical_language(self.language)
            if canonical is None:
                raise ConfigError(language_problem(self.language) or "bad --language")
            object.__setattr__(self, "language", canonical)
        for name, flag, table in _ENUM_OPTIONS:
            value = getattr(self, name)
            if value is None:
                continue
            short = option_value(table, value)
            if short is None:
                raise ConfigError(f"{flag} must be one of {', '.join(table)}, not {value!r}")
            object.__setattr__(self, name, short)
        self._check_numbers()

    def _check_numbers(self) -> None:
        low, high = TEMPERATURE_RANGE
        if self.temperature is not None and not low <= self.temperature <= high:
            raise ConfigError(f"--temperature must be between {low:g} and {high:g}, "
                              f"not {self.temperature:g}")
        if self.max_output_tokens is not None and self.max_output_tokens < 1:
            raise ConfigError(f"--max-output-tokens must be at least 1, not "
                              f"{self.max_output_tokens}")
        if self.thinking_budget is not None and self.thinking_budget < -1:
            raise ConfigError(f"--thinking-budget must be -1 (dynamic), 0 (off) or a number of "
                              f"tokens, not {self.thinking_budget}")
        if self.thinking_budget is not None and self.thinking_level is not None:
            raise ConfigError("give --thinking-budget or --thinking-level, not both: a model "
                              "takes one of them (`voicecli models`)")

    def api_version_needed(self, model: str, backend: str) -> str | None:
        """§1.3: v1alpha for affective dialog / proactive audio where the model needs it."""
        return required_api_version(model, affective=self.affective_dialog,
                                    proactive=self.proactive_audio,
                                    backend="vertex" if backend == "vertex" else "gemini")

    def apply(self, setup: Setup) -> None:
        """Set the generation, thinking, proactivity, turn-coverage and language fields."""
        config = setup.generation_config = setup.generation_config or GenerationConfig()
        config.temperature = self.temperature
        config.max_output_tokens = self.max_output_tokens
        if self.media_resolution:
            config.media_resolution = MEDIA_RESOLUTIONS[self.media_resolution]
        config.thinking_config = self.thinking_config()
        config.enable_affective_dialog = self.affective_dialog
        if self.proactive_audio is not None:
            setup.proactivity = ProactivityConfig(proactive_audio=self.proactive_audio)
        if self.turn_coverage:
            realtime = setup.realtime_input_config or RealtimeInputConfig()
            setup.realtime_input_config = realtime
            realtime.turn_coverage = TURN_COVERAGES[self.turn_coverage]
        if self.language:
            _apply_language(setup, config, self.language)

    def thinking_config(self) -> ThinkingConfig | None:
        """thinkingConfig from --thinking-budget / --thinking-level / --show-thoughts, or None."""
        level = THINKING_LEVELS[self.thinking_level] if self.thinking_level else None
        if self.thinking_budget is None and level is None and not self.show_thoughts:
            return None
        return ThinkingConfig(thinking_budget=self.thinking_budget, thinking_level=level,
                              include_thoughts=True if self.show_thoughts else None)


def _apply_language(setup: Setup, config: GenerationConfig, language: str) -> None:
    info = model_info(setup.model)
    if info is not None and info.transcription_hints and not info.language_code:
        if setup.input_audio_transcription is not None:
            setup.input_audio_transcription.language_codes = [language]
        return
    speech = config.speech_config = config.speech_config or SpeechConfig()
    speech.language_code = language
