"""Model options from settings to the setup message: settings → build_setup → check_setup.

Each option per model family: accepted where the model takes it (and on the wire as §3.1 says),
refused with one line naming the flag where it does not; values checked whatever their source
(flags, config file, environment, batch job lines); v1alpha chosen where §1.3 needs it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from voicecli.batch.attempt import job_settings
from voicecli.batch.jobs import load_jobs
from voicecli.client.setup import SetupOptions, build_setup
from voicecli.errors import CapabilityError, ConfigError
from voicecli.protocol.codec import encode
from voicecli.settings import Settings, load_settings

NATIVE_25 = "gemini-2.5-flash-native-audio-preview-12-2025"
X_THINKING = "gemini-3.8-live-extended-thinking"
HALF_CASCADE = "gemini-live-2.5-flash-preview"
TALK = SetupOptions(conversation=True, input_transcription=True, needs_audio_out=True)
ASK_TEXT = SetupOptions()


def settings(**flags: Any) -> Settings:
    return load_settings(flags, env={}, config_path=None)


def wire(s: Settings, options: SetupOptions = TALK) -> dict[str, Any]:
    setup = build_setup(s, f"models/{s.model}", options)
    return json.loads(encode(setup))["setup"]


def refused(options: SetupOptions = TALK, **flags: Any) -> str:
    with pytest.raises(CapabilityError) as info:
        wire(settings(**flags), options)
    message = str(info.value)
    assert "\n" not in message
    return message


# ---- what goes on the wire -------------------------------------------------------------------


def test_nothing_is_sent_for_options_left_unset() -> None:
    setup = wire(settings())
    assert set(setup["generationConfig"]) == {"responseModalities"}
    assert "proactivity" not in setup and "realtimeInputConfig" not in setup


def test_sampling_options_on_the_default_model() -> None:
    config = wire(settings(temperature=0.4, max_output_tokens=512, media_resolution="medium",
                           turn_coverage="all-input"))
    assert config["generationConfig"]["temperature"] == 0.4
    assert config["generationConfig"]["maxOutputTokens"] == 512
    assert config["generationConfig"]["mediaResolution"] == "MEDIA_RESOLUTION_MEDIUM"
    assert config["realtimeInputConfig"]["turnCoverage"] == "TURN_INCLUDES_ALL_INPUT"


def test_native_25_budget_thoughts_affective_proactive_on_v1alpha() -> None:
    s = settings(model=NATIVE_25, thinking_budget=2048, show_thoughts=True,
                 affective_dialog=True, proactive_audio=True)
    assert s.connection.api_version == "v1alpha"  # §1.3: switched because nobody chose a version
    setup = wire(s)
    config = setup["generationConfig"]
    assert config["thinkingConfig"] == {"thinkingBudget": 2048, "includeThoughts": True}
    assert config["enableAffectiveDialog"] is True
    assert setup["proactivity"] == {"proactiveAudio": True}


def test_a_chosen_api_version_is_kept_and_refused_with_the_reason() -> None:
    s = settings(model=NATIVE_25, affective_dialog=True, api_version="v1beta")
    assert s.connection.api_version == "v1beta"
    message = refused(model=NATIVE_25, affective_dialog=True, api_version="v1beta")
    assert "--affective" in message and "v1alpha" in message and "not v1beta" in message
    assert "--proactive" in refused(model=NATIVE_25, proactive_audio=True, api_version="v1")


def test_the_version_switch_also_comes_from_config_and_env(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f'model = "{NATIVE_25}"\n[model_options]\nproactive_audio = true\n')
    assert load_settings({}, env={}, config_path=config).connection.api_version == "v1alpha"
    env = {"VOICECLI_API_VERSION": "v1beta"}
    assert load_settings({}, env=env, config_path=config).connection.api_version == "v1beta"
    assert load_settings({"model": "gemini-3.8-live"}, env={},
                         config_path=config).connection.api_version == "v1beta"  # 3.8: always on


def test_extended_thinking_level_and_thoughts() -> None:
    config = wire(settings(model=X_THINKING, thinking_level="HIGH", show_thoughts=True))
    assert config["generationConfig"]["thinkingConfig"] == {"thinkingLevel": "HIGH",
                                                            "includeThoughts": True}


def test_31_takes_minimal_and_all_video() -> None:
    config = wire(settings(model="gemini-3.1-flash-live-preview", thinking_level="minimal",
                           turn_coverage="audio-activity-and-all-video"))
    assert config["generationConfig"]["thinkingConfig"] == {"thinkingLevel": "MINIMAL"}
    assert config["realtimeInputConfig"]["turnCoverage"] == (
        "TURN_INCLUDES_AUDIO_ACTIVITY_AND_ALL_VIDEO")


def test_turn_coverage_joins_the_vad_settings() -> None:
    options = SetupOptions(conversation=True, vad_silence_ms=700, no_interruption=True)
    config = wire(settings(turn_coverage="only-activity"), options)["realtimeInputConfig"]
    assert config == {"automaticActivityDetection": {"silenceDurationMs": 700},
                      "activityHandling": "NO_INTERRUPTION",
                      "turnCoverage": "TURN_INCLUDES_ONLY_ACTIVITY"}


# ---- --language and --voice --------------------------------------------------------------------


def test_language_on_a_half_cascade_model_is_the_speech_language_code() -> None:
    config = wire(settings(model=HALF_CASCADE, language="en-gb"))
    assert config["generationConfig"]["speechConfig"] == {"languageCode": "en-GB"}
    assert "languageCodes" not in json.dumps(config)


def test_language_on_38_is_the_transcription_hint() -> None:
    config = wire(settings(language="DE"))
    assert config["inputAudioTranscription"] == {"languageCodes": ["de"]}
    assert "speechConfig" not in config["generationConfig"]
    typed = wire(settings(language="de"), ASK_TEXT)  # nothing of the user's is transcribed
    assert "inputAudioTranscription" not in typed and "speechConfig" not in typed[
        "generationConfig"]


def test_language_is_refused_where_the_model_picks_it_itself() -> None:
    assert "Drop --language" in refused(model=NATIVE_25, language="fr")
    assert "--language de-DE" in refused(model=HALF_CASCADE, language="de")


def test_language_on_an_unknown_model_is_sent_unchecked() -> None:
    config = wire(settings(model="gemini-9-live", language="fr"))
    assert config["generationConfig"]["speechConfig"] == {"languageCode": "fr"}


def test_voice_any_case_and_did_you_mean() -> None:
    speech = wire(settings(voice="zEPHYR"))["generationConfig"]["speechConfig"]
    assert speech == {"voiceConfig": {"prebuiltVoiceConfig": {"voiceName": "Zephyr"}}}
    message = refused(voice="Korre")
    assert "did you mean Kore?" in message and "voicecli voices" in message
    assert "only the prebuilt" in refused(model="gemini-3.1-flash-live-preview",
                                          voice="en-us-tavi")


# ---- refused per model -------------------------------------------------------------------------


@pytest.mark.parametrize(("flags", "words"), [
    ({"show_thoughts": True}, ("gemini-3.8-live does not accept thinkingConfig",
                               "--show-thoughts")),
    ({"thinking_budget": 0}, ("--thinking-budget",)),
    ({"affective_dialog": True}, ("enableAffectiveDialog", "--affective")),
    ({"proactive_audio": False}, ("--no-proactive",)),
    ({"model": X_THINKING, "thinking_budget": 10}, ("--thinking-level instead",)),
    ({"model": X_THINKING, "thinking_level": "minimal"}, ("low/medium/high",)),
    ({"model": NATIVE_25, "thinking_level": "low"}, ("--thinking-budget instead",)),
    ({"model": NATIVE_25, "thinking_budget": 99999}, ("up to 24576",)),
    ({"model": NATIVE_25, "turn_coverage": "audio-activity-and-all-video"},
     ("only-activity, all-input",)),
    ({"model": "gemini-3.1-flash-live-preview", "affective_dialog": False}, ("--affective",)),
    ({"model": "gemini-3.1-flash-live-preview", "proactive_audio": True}, ("--proactive",)),
    ({"max_output_tokens": 100_000}, ("at most 65536",)),
    ({"model": "gemini-3.5-live-translate-preview", "media_resolution": "low"},
     ("audio input only",)),
])
def test_refused_per_model(flags: dict[str, Any], words: tuple[str, ...]) -> None:
    message = refused(**flags)
    for word in words:
        assert word in message, message


# ---- values checked whatever the source ------------------------------------------------------


@pytest.mark.parametrize(("flags", "words"), [
    ({"language": "he"}, ("'he'", "did you mean iw?")),
    ({"language": "klingon"}, ("'klingon'", "BCP-47")),
    ({"thinking_level": "extreme"}, ("--thinking-level must be one of minimal, low",)),
    ({"media_resolution": "4k"}, ("--media-resolution must be one of low, medium, high",)),
    ({"turn_coverage": "all"}, ("--turn-coverage must be one of only-activity",)),
    ({"temperature": 2.1}, ("--temperature must be between 0 and 2",)),
    ({"max_output_tokens": 0}, ("--max-output-tokens must be at least 1",)),
    ({"thinking_budget": -2}, ("--thinking-budget must be -1",)),
    ({"thinking_budget": 5, "thinking_level": "low"}, ("not both",)),
])
def test_values_no_model_takes(flags: dict[str, Any], words: tuple[str, ...]) -> None:
    with pytest.raises(ConfigError) as info:
        settings(**flags)
    for word in words:
        assert word in str(info.value)


def test_config_file_and_environment_keys(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f'model = "{X_THINKING}"\n[model_options]\nthinking_level = "medium"\n'
                      'show_thoughts = true\ntemperature = 0.3\nmax_output_tokens = 200\n'
                      'media_resolution = "MEDIA_RESOLUTION_LOW"\nturn_coverage = "all-input"\n'
                      'affective_dialog = false\nproactive_audio = true\n')
    s = load_settings({}, env={"VOICECLI_TEMPERATURE": "0.9"}, config_path=config)
    assert (s.model_options.thinking_level, s.model_options.show_thoughts,
            s.model_options.temperature, s.model_options.max_output_tokens) == (
        "medium", True, 0.9, 200)
    assert (s.model_options.media_resolution, s.model_options.turn_coverage,
            s.model_options.affective_dialog, s.model_options.proactive_audio) == (
        "low", "all-input", False, True)
    env = {"VOICECLI_SHOW_THOUGHTS": "0", "VOICECLI_THINKING_LEVEL": "low",
           "VOICECLI_MEDIA_RESOLUTION": "high"}
    s = load_settings({}, env=env, config_path=config)
    assert (s.model_options.show_thoughts, s.model_options.thinking_level,
            s.model_options.media_resolution) == (False, "low", "high")
    with pytest.raises(ConfigError, match="bad value for temperature"):
        load_settings({}, env={"VOICECLI_TEMPERATURE": "warm"}, config_path=config)


# ---- batch jobs carry their own options --------------------------------------------------------


def test_batch_jobs_override_model_options(tmp_path: Path) -> None:
    jobs = tmp_path / "jobs.jsonl"
    lines = [
        {"id": "a", "text": "hi", "model": NATIVE_25, "affective_dialog": True,
         "thinking_budget": 0},
        {"id": "b", "text": "hi", "temperature": 3},
        {"id": "c", "text": "hi", "language": "he"},
        {"id": "d", "text": "hi", "thinking_level": ["low"]},
    ]
    jobs.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    loaded = load_jobs(jobs)
    assert [bad.id for bad in loaded.bad] == ["d"] and "model options" in loaded.bad[0].message
    base = settings()
    first = job_settings(base, loaded.jobs[0])
    assert (first.connection.api_version, first.model_options.affective_dialog,
            first.model_options.thinking_budget) == (
        "v1alpha", True, 0)
    assert base.connection.api_version == "v1beta" and "affective_dialog" not in base.given
    wire(first)  # the job's setup passes check_setup
    with pytest.raises(ConfigError, match="job b: .*temperature"):
        job_settings(base, loaded.jobs[1])
    with pytest.raises(ConfigError, match="job c: .*did you mean iw"):
        job_settings(base, loaded.jobs[2])
