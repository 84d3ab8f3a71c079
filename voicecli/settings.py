"""Settings: defaults < config file < environment < flags.

The config file is TOML (``config.example.toml`` documents every key). Its default location is
``$XDG_CONFIG_HOME/voicecli/config.toml`` (``~/.config/voicecli/config.toml``), or the platform's
equivalent on macOS and Windows; ``--config`` / ``VOICECLI_CONFIG`` choose another file.
"""

from __future__ import annotations

import dataclasses
import math
import os
import stat
import sys
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from voicecli.errors import ConfigError
from voicecli.logs import register_secret
from voicecli.model_options import choose_api_version, validate_model_options
from voicecli.protocol.models import DEFAULT_MODEL

BACKENDS = ("auto", "gemini", "vertex", "local")
ECHO_MODES = ("auto", "aec", "gate", "off")  # talk --echo (voicecli/audio/echo.py)
API_VERSIONS = ("v1beta", "v1alpha", "v1")
ASR_ENGINES = ("whisper", "pocketsphinx")  # the local engine's recognisers (voicecli/speech)
TTS_ENGINES = ("piper", "espeak")  # the local engine's voices


class Secret:
    """A credential whose value never shows up in repr, str, logs or tracebacks."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value
        register_secret(value)

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


@dataclass
class Settings:
    """Everything a command needs to reach a Live endpoint. Works without typer."""

    backend: str = "auto"
    model: str = DEFAULT_MODEL
    api_key: Secret | None = field(default=None, repr=False)
    token: Secret | None = field(default=None, repr=False)  # ephemeral auth_tokens/…
    api_version: str = "v1beta"
    base_url: str | None = None
    project: str | None = None
    location: str = "us-central1"
    access_token: Secret | None = field(default=None, repr=False)  # Vertex OAuth token
    voice: str | None = None
    language: str | None = None
    system_instruction: str | None = None
    response: str = "auto"  # auto | audio | text
    # model options (voicecli/model_options.py; each model's rules: voicecli/protocol/models.py)
    affective_dialog: bool | None = None  # generationConfig.enableAffectiveDialog
    proactive_audio: bool | None = None  # proactivity.proactiveAudio
    thinking_budget: int | None = None  # thinkingConfig.thinkingBudget (-1 dynamic, 0 off)
    thinking_level: str | None = None  # thinkingConfig.thinkingLevel: minimal|low|medium|high
    show_thoughts: bool = False  # thinkingConfig.includeThoughts
    media_resolution: str | None = None  # low | medium | high
    temperature: float | None = None
    max_output_tokens: int | None = None
    turn_coverage: str | None = None  # only-activity | all-input | audio-activity-and-all-video
    setup_timeout_s: float = 15.0
    connect_timeout_s: float = 10.0
    reply_timeout_s: float = 120.0
    ping_interval_s: float = 20.0
    ping_timeout_s: float = 60.0  # the service's pongs take 8–30 s (peers.md issue 18)
    max_reconnects: int = 5
    context_compression: bool = True
    local_host: str = "127.0.0.1"
    local_port: int = 0
    local_asr: str = "whisper"  # the local engine's recogniser: whisper | pocketsphinx
    local_asr_model: str | None = None  # whisper: a model name or folder (default: tiny.en)
    local_tts: str = "piper"  # the local engine's voice: piper (English; espeak-ng for others)
    local_brain_url: str | None = None  # an OpenAI-compatible endpoint, e.g. Ollama's /v1
    local_brain_model: str | None = None
    local_brain_key: Secret | None = field(default=None, repr=False)
    local_idle_timeout_s: float = 600.0  # serve: goAway + close after this long silent; 0 = never
    echo: str = "auto"  # talk: echo handling for laptop speakers (voicecli/audio/echo_path.py)
    # `voicecli translate` (voicecli/translate): its model and default target language (§7.1)
    translate_model: str = "gemini-3.5-live-translate-preview"
    translate_to: str | None = None
    noise_suppression: bool = False  # talk --echo aec: WebRTC noise suppression too
    auto_gain_control: bool = False  # talk --echo aec: WebRTC automatic gain control too
    # tool use (voicecli/tools, voicecli/client/tool_calls.py)
    allow_tools: str | None = None  # tools that run without asking: "all" or "a,b"
    google_search: bool = False  # {"googleSearch": {}} in the setup (§3.1.4; --search)
    code_execution: bool = False  # {"codeExecution": {}} in the setup (--code-execution)
    tools: dict[str, Any] | None = field(default=None, repr=False)  # the config's [tools] table
    mcp: dict[str, Any] | None = field(default=None, repr=False)  # its [mcp] table (servers)
    config_path: Path | None = None
    warnings: list[str] = field(default_factory=list, repr=False)
    given: set[str] = field(default_factory=set, repr=False)  # keys a config/env/flag set

    def has_key(self) -> bool:
        return bool(self.api_key) or bool(self.token)


# Config-file keys and environment variables, with the parser each value goes through.
_FIELD_PARSERS: dict[str, Callable[[Any], Any]] = {
    "backend": str,
    "model": str,
    "api_key": lambda v: Secret(str(v)),
    "token": lambda v: Secret(str(v)),
    "api_version": str,
    "base_url": str,
    "project": str,
    "location": str,
    "access_token": lambda v: Secret(str(v)),
    "voice": str,
    "language": str,
    "system_instruction": str,
    "response": str,
    "affective_dialog": lambda v: _parse_bool(v),
    "proactive_audio": lambda v: _parse_bool(v),
    "thinking_budget": int,
    "thinking_level": str,
    "show_thoughts": lambda v: _parse_bool(v),
    "media_resolution": str,
    "temperature": float,
    "max_output_tokens": int,
    "turn_coverage": str,
    "setup_timeout_s": float,
    "connect_timeout_s": float,
    "reply_timeout_s": float,
    "ping_interval_s": float,
    "ping_timeout_s": float,
    "max_reconnects": int,
    "context_compression": lambda v: _parse_bool(v),
    "local_host": str,
    "local_port": int,
    "local_asr": str,
    "local_asr_model": str,
    "local_tts": str,
    "local_brain_url": str,
    "local_brain_model": str,
    "local_brain_key": lambda v: Secret(str(v)),
    "local_idle_timeout_s": float,
    "echo": str,
    "translate_model": str,
    "translate_to": str,
    "noise_suppression": lambda v: _parse_bool(v),
    "auto_gain_control": lambda v: _parse_bool(v),
    "allow_tools": lambda v: _parse_names(v),
    "google_search": lambda v: _parse_bool(v),
    "code_execution": lambda v: _parse_bool(v),
    "tools": lambda v: _parse_table(v),
    "mcp": lambda v: _parse_table(v),
}

_ENV_VARS: dict[str, tuple[str, ...]] = {
    "backend": ("VOICECLI_BACKEND",),
    "model": ("VOICECLI_MODEL",),
    "api_key": ("VOICECLI_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY"),
    "token": ("VOICECLI_TOKEN",),
    "access_token": ("VOICECLI_ACCESS_TOKEN",),  # Vertex: an OAuth token instead of ADC/gcloud
    "api_version": ("VOICECLI_API_VERSION",),
    "base_url": ("VOICECLI_BASE_URL",),
    "project": ("VOICECLI_PROJECT", "GOOGLE_CLOUD_PROJECT"),
    "location": ("VOICECLI_LOCATION", "GOOGLE_CLOUD_LOCATION"),
    "voice": ("VOICECLI_VOICE",),
    "language": ("VOICECLI_LANGUAGE",),
    "response": ("VOICECLI_RESPONSE",),
    "thinking_budget": ("VOICECLI_THINKING_BUDGET",),
    "thinking_level": ("VOICECLI_THINKING_LEVEL",),
    "show_thoughts": ("VOICECLI_SHOW_THOUGHTS",),
    "media_resolution": ("VOICECLI_MEDIA_RESOLUTION",),
    "temperature": ("VOICECLI_TEMPERATURE",),
    "reply_timeout_s": ("VOICECLI_REPLY_TIMEOUT",),
    "echo": ("VOICECLI_ECHO",),
    "translate_to": ("VOICECLI_TRANSLATE_TO",),
    "local_asr": ("VOICECLI_LOCAL_ASR",),
    "local_asr_model": ("VOICECLI_LOCAL_ASR_MODEL",),
    "local_tts": ("VOICECLI_LOCAL_TTS",),
    "local_brain_url": ("VOICECLI_BRAIN_URL",),
    "local_brain_model": ("VOICECLI_BRAIN_MODEL",),
    "local_brain_key": ("VOICECLI_BRAIN_KEY",),
    "noise_suppression": ("VOICECLI_NOISE_SUPPRESSION",),
}


def _parse_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"not a boolean: {value!r}")


def _parse_names(value: Any) -> str:
    """``"all"``, ``"a,b"`` or ``["a", "b"]`` → ``"a,b"`` (voicecli.tools.AllowPolicy.parse)."""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return ",".join(item.strip() for item in value)
    raise ValueError(f"not a list of names: {value!r}")


def _parse_table(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValueError(f"not a table: {value!r}")
    return value


def default_config_path(env: Mapping[str, str] = os.environ) -> Path:
    """The platform's per-user config file for voicecli."""
    if sys.platform == "win32" and env.get("APPDATA"):
        return Path(env["APPDATA"]) / "voicecli" / "config.toml"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "voicecli" / "config.toml"
    base = env.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "voicecli" / "config.toml"


def _config_exists(path: Path) -> bool:
    """Whether the default config file is there; a folder on its way that cannot be searched,
    or something other than a file in its place, is a ConfigError (never silently ignored)."""
    try:
        mode = path.stat().st_mode
    except (FileNotFoundError, NotADirectoryError):
        return False
    except OSError as exc:
        raise ConfigError(f"cannot read the config directory {path.parent}: "
                          f"{exc.strerror or exc}; fix its permissions or use --config FILE"
                          ) from None
    if not stat.S_ISREG(mode):
        raise ConfigError(f"config file {path} is not a file; remove it or use --config FILE")
    return True


def read_config_file(path: Path) -> dict[str, Any]:
    """Read a TOML config file into a flat dict of known keys; unknown keys are an error."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except IsADirectoryError:
        raise ConfigError(f"config file {path} is a directory, not a TOML file") from None
    except PermissionError:
        raise ConfigError(f"cannot read config file {path}: permission denied") from None
    except UnicodeDecodeError:
        raise ConfigError(f"config file {path} is not UTF-8 text") from None
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.__class__.__name__}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    tools = raw.pop("tools", None)  # [tools] keeps its sub-tables (voicecli.tools.load)
    mcp = raw.pop("mcp", None)  # [mcp.servers.NAME] too (voicecli.tools.mcp_config)
    flat = _flatten_sections(raw)
    if tools is not None:
        flat["tools"] = tools
    if mcp is not None:
        flat["mcp"] = mcp
    unknown = sorted(set(flat) - set(_FIELD_PARSERS))
    if unknown:
        raise ConfigError(
            f"config file {path}: unknown key(s) {', '.join(unknown)}; "
            "see config.example.toml for the keys voicecli reads"
        )
    return flat


def _flatten_sections(raw: dict[str, Any]) -> dict[str, Any]:
    """Accept both top-level keys and the documented [connection]/[voice]/… sections."""
    flat: dict[str, Any] = {}
    for key, value in raw.items():
        if isinstance(value, dict):
            flat.update(value)
        else:
            flat[key] = value
    return flat


def world_readable_warning(path: Path, values: Mapping[str, Any]) -> str | None:
    """A config file that holds a credential must not be readable by others."""
    if not any(k in values for k in ("api_key", "token", "access_token", "local_brain_key")):
        return None
    if sys.platform == "win32":
        return None
    mode = path.stat().st_mode
    if mode & (stat.S_IRGRP | stat.S_IROTH):
        return (
            f"warning: {path} holds an API key and is readable by other users; "
            f"run: chmod 600 {path}"
        )
    return None


def _apply(settings: Settings, values: Mapping[str, Any], origin: str) -> None:
    for key, value in values.items():
        if value is None:
            continue
        parser = _FIELD_PARSERS.get(key)
        if parser is None:
            raise ConfigError(f"{origin}: unknown setting {key!r}")
        try:
            parsed = value if isinstance(value, Secret) else parser(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{origin}: bad value for {key}") from None
        setattr(settings, key, parsed)
        settings.given.add(key)


def _env_values(env: Mapping[str, str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for key, names in _ENV_VARS.items():
        for name in names:
            if env.get(name):
                found[key] = env[name]
                break
    return found


def load_settings(
    flags: Mapping[str, Any] | None = None,
    *,
    env: Mapping[str, str] = os.environ,
    config_path: Path | None = None,
) -> Settings:
    """Build Settings from defaults < config file < environment < flags."""
    settings = Settings()
    explicit = config_path or (Path(env["VOICECLI_CONFIG"]) if env.get("VOICECLI_CONFIG") else None)
    path = explicit or default_config_path(env)
    if explicit is not None or _config_exists(path):
        values = read_config_file(path)
        _apply(settings, values, f"config file {path}")
        settings.config_path = path
        warning = world_readable_warning(path, values)
        if warning:
            settings.warnings.append(warning)
    _apply(settings, _env_values(env), "environment")
    _apply(settings, dict(flags or {}), "option")
    validate(settings)
    choose_api_version(settings)
    return settings


def with_values(settings: Settings, values: Mapping[str, Any], origin: str) -> Settings:
    """A copy of `settings` with config-file-style `values` applied and checked (batch jobs)."""
    changed = dataclasses.replace(settings, given=set(settings.given))
    _apply(changed, values, origin)
    try:
        validate(changed)
    except ConfigError as exc:
        raise ConfigError(f"{origin}: {exc}") from None
    choose_api_version(changed)
    return changed


def validate(settings: Settings) -> None:
    if settings.backend not in BACKENDS:
        choices = ", ".join(BACKENDS)
        raise ConfigError(f"--backend must be one of {choices}, not {settings.backend!r}")
    if settings.api_version not in API_VERSIONS:
        raise ConfigError(
            f"--api-version must be one of {', '.join(API_VERSIONS)}, not {settings.api_version!r}"
        )
    if settings.response not in ("auto", "audio", "text"):
        raise ConfigError(f"response must be auto, audio or text, not {settings.response!r}")
    if settings.local_asr not in ASR_ENGINES:
        raise ConfigError(f"local_asr must be one of {', '.join(ASR_ENGINES)}, "
                          f"not {settings.local_asr!r}")
    if settings.local_tts not in TTS_ENGINES:
        raise ConfigError(f"local_tts must be one of {', '.join(TTS_ENGINES)}, "
                          f"not {settings.local_tts!r}")
    if settings.local_brain_url and not settings.local_brain_model:
        raise ConfigError("local_brain_url needs local_brain_model (the model to ask, e.g. "
                          "llama3.2)")
    if settings.echo not in ECHO_MODES:
        raise ConfigError(f"echo must be one of {', '.join(ECHO_MODES)}, not {settings.echo!r}")
    for name in ("reply_timeout_s", "setup_timeout_s", "connect_timeout_s", "ping_interval_s",
                 "ping_timeout_s"):
        seconds = getattr(settings, name)
        if not 0 < seconds < math.inf:  # also refuses NaN (--timeout nan)
            flag = "--timeout" if name == "reply_timeout_s" else name
            raise ConfigError(f"{flag} must be a positive number of seconds, not {seconds}")
    if not 0 <= settings.local_idle_timeout_s < float("inf"):  # NaN fails this too
        raise ConfigError("local_idle_timeout_s must be a number of seconds >= 0 (0 = never)")
    validate_model_options(settings)


def replace(settings: Settings, **changes: Any) -> Settings:
    return dataclasses.replace(settings, **changes)
