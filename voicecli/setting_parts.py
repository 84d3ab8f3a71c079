"""The checked parts of the settings: each a frozen dataclass that refuses a bad value when it is
made, whatever its source (config file, environment, flag, a batch job line, a test).

Each ``setting(default, "ENV_VAR", key=…)`` field is a config-file key (voicecli/setting_fields.py);
``voicecli.settings.Settings`` holds one of each part and routes a key to its part.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from voicecli.errors import ConfigError
from voicecli.logs import register_secret
from voicecli.setting_fields import setting

BACKENDS = ("auto", "gemini", "vertex", "local")
ECHO_MODES = ("auto", "aec", "gate", "off")  # talk --echo (voicecli/audio/echo.py)
API_VERSIONS = ("v1beta", "v1alpha", "v1")
ASR_ENGINES = ("whisper", "pocketsphinx")  # the local engine's recognisers (voicecli/speech)
TTS_ENGINES = ("piper", "espeak")  # the local engine's voices
_TIMEOUTS = ("reply_timeout_s", "setup_timeout_s", "connect_timeout_s", "ping_interval_s",
             "ping_timeout_s")


class Secret:
    """A credential whose value never shows up in repr, str, logs or tracebacks."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value
        register_secret(value)

    @classmethod
    def from_setting(cls, value: object) -> Secret:
        return cls(str(value))

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __bool__(self) -> bool:
        return bool(self._value)


@dataclass(frozen=True)
class ConnectionSettings:
    """How to reach a Live endpoint and how long to wait for it (`settings.connection`)."""

    backend: str = setting("auto", "VOICECLI_BACKEND")  # auto | gemini | vertex | local
    api_key: Secret | None = setting(None, "VOICECLI_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY",
                                     repr=False)
    token: Secret | None = setting(None, "VOICECLI_TOKEN", repr=False)  # ephemeral auth_tokens/…
    api_version: str = setting("v1beta", "VOICECLI_API_VERSION")
    base_url: str | None = setting(None, "VOICECLI_BASE_URL")
    project: str | None = setting(None, "VOICECLI_PROJECT", "GOOGLE_CLOUD_PROJECT")
    location: str = setting("us-central1", "VOICECLI_LOCATION", "GOOGLE_CLOUD_LOCATION")
    # Vertex: an OAuth token instead of ADC/gcloud
    access_token: Secret | None = setting(None, "VOICECLI_ACCESS_TOKEN", repr=False)
    setup_timeout_s: float = setting(15.0)
    connect_timeout_s: float = setting(10.0)
    reply_timeout_s: float = setting(120.0, "VOICECLI_REPLY_TIMEOUT")
    ping_interval_s: float = setting(20.0)
    ping_timeout_s: float = setting(60.0)  # the service's pongs take 8–30 s (peers.md issue 18)
    max_reconnects: int = setting(5)

    def __post_init__(self) -> None:
        one_of("--backend", self.backend, BACKENDS)
        one_of("--api-version", self.api_version, API_VERSIONS)
        for name in _TIMEOUTS:
            seconds = getattr(self, name)
            if not 0 < seconds < math.inf:  # also refuses NaN (--timeout nan)
                flag = "--timeout" if name == "reply_timeout_s" else name
                raise ConfigError(f"{flag} must be a positive number of seconds, not {seconds}")

    def has_key(self) -> bool:
        return bool(self.api_key) or bool(self.token)


def one_of(name: str, value: str, choices: tuple[str, ...]) -> str:
    """`value` if it is one of `choices`, else the ConfigError naming `name` (a flag or key)."""
    if value not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)}, not {value!r}")
    return value


def check_echo_mode(mode: str) -> str:
    """`mode` if it is an ``--echo`` mode (auto | aec | gate | off), else the one ConfigError that
    the settings, `talk`'s options and the echo canceller all raise."""
    return one_of("--echo", mode, ECHO_MODES)


@dataclass(frozen=True)
class EchoSettings:
    """talk: echo handling for laptop speakers (voicecli/audio/echo_path.py), `settings.echo`."""

    mode: str = setting("auto", "VOICECLI_ECHO", key="echo")  # auto | aec | gate | off
    # --echo aec: WebRTC noise suppression / automatic gain control too
    noise_suppression: bool = setting(False, "VOICECLI_NOISE_SUPPRESSION")
    auto_gain_control: bool = setting(False)

    def __post_init__(self) -> None:
        check_echo_mode(self.mode)


@dataclass(frozen=True)
class LocalEngine:
    """The local engine's parts (`voicecli serve`, --backend local), checked when it is made."""

    host: str = setting("127.0.0.1", key="local_host")
    port: int = setting(0, key="local_port")
    # the recogniser: whisper | pocketsphinx
    asr: str = setting("whisper", "VOICECLI_LOCAL_ASR", key="local_asr")
    # whisper: a model name or folder (default: tiny.en)
    asr_model: str | None = setting(None, "VOICECLI_LOCAL_ASR_MODEL", key="local_asr_model")
    # the voice: piper (English; espeak-ng for others)
    tts: str = setting("piper", "VOICECLI_LOCAL_TTS", key="local_tts")
    # an OpenAI-compatible endpoint, e.g. Ollama's /v1
    brain_url: str | None = setting(None, "VOICECLI_BRAIN_URL", key="local_brain_url")
    brain_model: str | None = setting(None, "VOICECLI_BRAIN_MODEL", key="local_brain_model")
    brain_key: Secret | None = setting(None, "VOICECLI_BRAIN_KEY", key="local_brain_key",
                                       repr=False)
    # serve: goAway + close after this long silent; 0 = never
    idle_timeout_s: float = setting(600.0, key="local_idle_timeout_s")

    def __post_init__(self) -> None:
        one_of("local_asr", self.asr, ASR_ENGINES)
        one_of("local_tts", self.tts, TTS_ENGINES)
        if self.brain_url and not self.brain_model:
            raise ConfigError("local_brain_url needs local_brain_model (the model to ask, e.g. "
                              "llama3.2)")
        if not 0 <= self.idle_timeout_s < float("inf"):  # NaN fails this too
            raise ConfigError("local_idle_timeout_s must be a number of seconds >= 0 (0 = never)")
