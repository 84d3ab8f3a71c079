"""A setting is declared once: its field gives the config key, the environment variables and the
parser; the model options are one frozen object checked when it is made."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from voicecli.errors import ConfigError
from voicecli.model_options import ModelOptions
from voicecli.setting_fields import field_specs, parse_bool, parser_for, setting
from voicecli.settings import Secret, Settings, load_settings, replace


def test_the_parser_follows_the_field_type() -> None:
    @dataclasses.dataclass
    class Example:
        flag: bool = setting(False, "EXAMPLE_FLAG")
        count: int | None = setting()
        ratio: float = setting(1.0)
        key: Secret | None = setting()
        table: dict[str, int] | None = setting()
        internal: str = "not a key"

    specs = field_specs(Example)
    assert set(specs) == {"flag", "count", "ratio", "key", "table"}
    assert specs["flag"].env == ("EXAMPLE_FLAG",) and specs["flag"].parse is parse_bool
    assert specs["count"].parse("7") == 7 and specs["ratio"].parse("0.5") == 0.5
    assert specs["key"].parse("abc") == Secret("abc")
    with pytest.raises(ValueError):
        specs["table"].parse("x")
    with pytest.raises(TypeError):  # a new field of a type no parser knows fails at import
        parser_for(list[str])


def test_env_and_config_keys_come_from_the_fields(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[local]\nlocal_tts = "espeak"\n[model_options]\nthinking_budget = 0\n')
    env = {"VOICECLI_SHOW_THOUGHTS": "off", "VOICECLI_BRAIN_URL": "http://127.0.0.1:1/v1",
           "VOICECLI_BRAIN_MODEL": "m", "GOOGLE_CLOUD_PROJECT": "p"}
    s = load_settings({}, env=env, config_path=config)
    assert (s.local.tts, s.model_options.thinking_budget, s.model_options.show_thoughts) == (
        "espeak", 0, False)
    assert (s.local.brain_url, s.local.brain_model, s.project) == (
        "http://127.0.0.1:1/v1", "m", "p")
    assert {"local_tts", "thinking_budget", "show_thoughts", "project"} <= s.given


def test_model_options_are_frozen_and_checked_when_made() -> None:
    options = ModelOptions(thinking_level="HIGH", media_resolution="MEDIA_RESOLUTION_LOW",
                           language="en-us")
    assert (options.thinking_level, options.media_resolution, options.language) == (
        "high", "low", "en-US")
    with pytest.raises(dataclasses.FrozenInstanceError):
        options.temperature = 1.0  # type: ignore[misc]
    with pytest.raises(ConfigError, match="--temperature must be between 0 and 2, not 3"):
        ModelOptions(temperature=3)
    with pytest.raises(ConfigError, match="not both"):
        dataclasses.replace(options, thinking_budget=0)


def test_replace_sends_model_option_keys_to_a_checked_copy() -> None:
    base = Settings()
    changed = replace(base, model="gemini-3.8-live", temperature=0.5)
    assert changed.model_options.temperature == 0.5 and base.model_options.temperature is None
    with pytest.raises(ConfigError, match="--max-output-tokens must be at least 1"):
        replace(base, max_output_tokens=0)


def test_the_local_engine_is_one_checked_sub_object_with_local_keys() -> None:
    changed = replace(Settings(), local_tts="espeak", local_port=9000)
    assert (changed.local.tts, changed.local.port) == ("espeak", 9000)
    assert Settings().local.tts == "piper"
    with pytest.raises(dataclasses.FrozenInstanceError):
        changed.local.tts = "piper"  # type: ignore[misc]
    with pytest.raises(ConfigError, match="local_asr must be one of whisper, pocketsphinx"):
        replace(Settings(), local_asr="vosk")
    with pytest.raises(ConfigError, match="local_brain_url needs local_brain_model"):
        load_settings({"local_brain_url": "http://127.0.0.1:1/v1"},
                      env={"XDG_CONFIG_HOME": "/nonexistent"})
