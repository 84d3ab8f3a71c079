"""A setting is declared once: its field gives the config key, the environment variables and the
parser; the model options are one frozen object checked when it is made."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from voicecli.audio.echo import make_canceller
from voicecli.errors import ConfigError
from voicecli.model_options import ModelOptions
from voicecli.setting_fields import field_specs, parse_bool, parser_for, setting
from voicecli.setting_parts import ConnectionSettings, EchoSettings
from voicecli.settings import Secret, Settings, load_settings, replace
from voicecli.talk.options import TalkOptions


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
    assert (s.local.brain_url, s.local.brain_model, s.connection.project) == (
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


def test_the_connection_is_one_frozen_sub_object_checked_when_made() -> None:
    connection = ConnectionSettings(backend="gemini", base_url="ws://127.0.0.1:1")
    assert Settings(connection=connection).connection.base_url == "ws://127.0.0.1:1"
    with pytest.raises(dataclasses.FrozenInstanceError):
        connection.backend = "vertex"  # type: ignore[misc]
    with pytest.raises(ConfigError, match="--backend must be one of auto, gemini, vertex, local, "
                                          "not 'cloud'"):
        ConnectionSettings(backend="cloud")
    with pytest.raises(ConfigError, match="--api-version must be one of v1beta, v1alpha, v1, "
                                          "not 'v2'"):
        ConnectionSettings(api_version="v2")
    with pytest.raises(ConfigError, match="--timeout must be a positive number of seconds, "
                                          "not nan"):
        ConnectionSettings(reply_timeout_s=float("nan"))
    with pytest.raises(ConfigError, match="ping_timeout_s must be a positive number of seconds"):
        replace(Settings(), ping_timeout_s=0)


def test_one_echo_rule_for_the_settings_talk_and_the_canceller() -> None:
    echo = EchoSettings(mode="gate", noise_suppression=True)
    with pytest.raises(dataclasses.FrozenInstanceError):
        echo.mode = "off"  # type: ignore[misc]
    message = "--echo must be one of auto, aec, gate, off, not 'loud'"
    refusals = (lambda: EchoSettings(mode="loud"), lambda: TalkOptions(echo="loud"),
                lambda: make_canceller("loud"), lambda: Settings.of(echo="loud"),
                lambda: load_settings({"echo": "loud"}, env={"XDG_CONFIG_HOME": "/nonexistent"}))
    for refuse in refusals:
        with pytest.raises(ConfigError) as info:
            refuse()
        assert str(info.value) == message


def test_response_is_a_model_option_checked_with_its_message() -> None:
    assert Settings.of(response="text").model_options.response == "text"
    with pytest.raises(ConfigError, match="response must be auto, audio or text, not 'both'"):
        ModelOptions(response="both")


def test_of_sends_each_key_to_its_sub_object() -> None:
    s = Settings.of(backend="gemini", base_url="ws://127.0.0.1:1", api_key=Secret("k"),
                    response="text", echo="gate", auto_gain_control=True, temperature=0.5,
                    local_tts="espeak", model="gemini-3.8-live", voice="Puck")
    assert (s.connection.backend, s.connection.base_url, s.connection.api_key) == (
        "gemini", "ws://127.0.0.1:1", Secret("k"))
    assert (s.model_options.response, s.model_options.temperature) == ("text", 0.5)
    assert (s.echo.mode, s.echo.auto_gain_control, s.local.tts) == ("gate", True, "espeak")
    assert (s.model, s.voice) == ("gemini-3.8-live", "Puck") and s.has_key()
    assert Settings.of() == Settings()
    given = ConnectionSettings(backend="local")
    assert Settings.of(connection=given).connection is given  # a sub-object is taken as it is
    assert replace(s, echo=EchoSettings()).echo == EchoSettings()
    assert replace(s, backend="vertex").connection.base_url == "ws://127.0.0.1:1"  # the rest kept
    with pytest.raises(TypeError):
        Settings.of(no_such_key=1)
