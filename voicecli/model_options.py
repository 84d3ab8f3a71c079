"""The model options of Settings: values checked and normalised, and the API version they need.

`validate_model_options` runs whatever the source (config file, environment, flags): a language
must be one the Live API documents (§7.3), enum options take their short names (`low`,
`all-input`) or the wire names, numbers must be in range. Whether the *model* takes an option is
decided later, on the setup message, by ``protocol.models.check_setup``.

`choose_api_version` switches to v1alpha where §1.3 requires it (affective dialog and proactive
audio on the 2.5 native-audio models) unless the user chose a version; a chosen v1beta is then
refused by check_setup with a line that says so.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from voicecli.errors import ConfigError
from voicecli.protocol.languages import canonical_language, language_problem
from voicecli.protocol.models import required_api_version
from voicecli.protocol.setup_rules import (
    MEDIA_RESOLUTIONS,
    TEMPERATURE_RANGE,
    THINKING_LEVELS,
    TURN_COVERAGES,
    option_value,
)

if TYPE_CHECKING:
    from voicecli.settings import Settings

_ENUM_OPTIONS = (
    ("thinking_level", "--thinking-level", THINKING_LEVELS),
    ("media_resolution", "--media-resolution", MEDIA_RESOLUTIONS),
    ("turn_coverage", "--turn-coverage", TURN_COVERAGES),
)


def validate_model_options(settings: Settings) -> None:
    """Raise ConfigError (one line) for a value no Live model takes; normalise the rest."""
    if settings.language:
        canonical = canonical_language(settings.language)
        if canonical is None:
            raise ConfigError(language_problem(settings.language) or "bad --language")
        settings.language = canonical
    for name, flag, table in _ENUM_OPTIONS:
        value = getattr(settings, name)
        if value is None:
            continue
        short = option_value(table, value)
        if short is None:
            raise ConfigError(f"{flag} must be one of {', '.join(table)}, not {value!r}")
        setattr(settings, name, short)
    _check_numbers(settings)


def _check_numbers(settings: Settings) -> None:
    low, high = TEMPERATURE_RANGE
    if settings.temperature is not None and not low <= settings.temperature <= high:
        raise ConfigError(f"--temperature must be between {low:g} and {high:g}, "
                          f"not {settings.temperature:g}")
    if settings.max_output_tokens is not None and settings.max_output_tokens < 1:
        raise ConfigError(f"--max-output-tokens must be at least 1, not "
                          f"{settings.max_output_tokens}")
    if settings.thinking_budget is not None and settings.thinking_budget < -1:
        raise ConfigError(f"--thinking-budget must be -1 (dynamic), 0 (off) or a number of "
                          f"tokens, not {settings.thinking_budget}")
    if settings.thinking_budget is not None and settings.thinking_level is not None:
        raise ConfigError("give --thinking-budget or --thinking-level, not both: a model takes "
                          "one of them (`voicecli models`)")


def choose_api_version(settings: Settings) -> None:
    """§1.3: v1alpha for affective dialog / proactive audio where needed, unless chosen."""
    if "api_version" in settings.given:
        return
    backend = "vertex" if settings.backend == "vertex" else "gemini"
    needed = required_api_version(settings.model, affective=settings.affective_dialog,
                                  proactive=settings.proactive_audio, backend=backend)
    if needed is not None:
        settings.api_version = needed
