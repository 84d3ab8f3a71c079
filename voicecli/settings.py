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
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from voicecli.errors import ConfigError
from voicecli.logs import register_secret
from voicecli.model_options import ModelOptions
from voicecli.protocol.models import DEFAULT_MODEL
from voicecli.setting_fields import FieldSpec, field_specs, parse_names, setting

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
        if self.asr not in ASR_ENGINES:
            raise ConfigError(f"local_asr must be one of {', '.join(ASR_ENGINES)}, "
                              f"not {self.asr!r}")
        if self.tts not in TTS_ENGINES:
            raise ConfigError(f"local_tts must be one of {', '.join(TTS_ENGINES)}, "
                              f"not {self.tts!r}")
        if self.brain_url and not self.brain_model:
            raise ConfigError("local_brain_url needs local_brain_model (the model to ask, e.g. "
                              "llama3.2)")
        if not 0 <= self.idle_timeout_s < float("inf"):  # NaN fails this too
            raise ConfigError("local_idle_timeout_s must be a number of seconds >= 0 (0 = never)")


@dataclass(frozen=True)
class Settings:
    """Everything a command needs to reach a Live endpoint (frozen: `replace` makes a checked
    copy). Works without typer.

    Each ``setting(default, "ENV_VAR", …)`` field is a config-file key read from those environment
    variables too, through the parser its type implies (voicecli/setting_fields.py). The model
    options (voicecli/model_options.py) and the local engine are checked sub-objects whose fields
    are keys as well.
    """

    backend: str = setting("auto", "VOICECLI_BACKEND")
    model: str = setting(DEFAULT_MODEL, "VOICECLI_MODEL")
    api_key: Secret | None = setting(None, "VOICECLI_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY",
                                     repr=False)
    token: Secret | None = setting(None, "VOICECLI_TOKEN", repr=False)  # ephemeral auth_tokens/…
    api_version: str = setting("v1beta", "VOICECLI_API_VERSION")
    base_url: str | None = setting(None, "VOICECLI_BASE_URL")
    project: str | None = setting(None, "VOICECLI_PROJECT", "GOOGLE_CLOUD_PROJECT")
    location: str = setting("us-central1", "VOICECLI_LOCATION", "GOOGLE_CLOUD_LOCATION")
    # Vertex: an OAuth token instead of ADC/gcloud
    access_token: Secret | None = setting(None, "VOICECLI_ACCESS_TOKEN", repr=False)
    voice: str | None = setting(None, "VOICECLI_VOICE")
    system_instruction: str | None = setting()
    response: str = setting("auto", "VOICECLI_RESPONSE")  # auto | audio | text
    # language, temperature, thinking, … (each model's rules: voicecli/protocol/models.py)
    model_options: ModelOptions = field(default_factory=ModelOptions)
    setup_timeout_s: float = setting(15.0)
    connect_timeout_s: float = setting(10.0)
    reply_timeout_s: float = setting(120.0, "VOICECLI_REPLY_TIMEOUT")
    ping_interval_s: float = setting(20.0)
    ping_timeout_s: float = setting(60.0)  # the service's pongs take 8–30 s (peers.md issue 18)
    max_reconnects: int = setting(5)
    context_compression: bool = setting(True)
    # the local engine (`serve`, --backend local): one checked sub-object, its keys local_*
    local: LocalEngine = field(default_factory=LocalEngine)
    # talk: echo handling for laptop speakers (voicecli/audio/echo_path.py)
    echo: str = setting("auto", "VOICECLI_ECHO")
    # `voicecli translate` (voicecli/translate): its model and default target language (§7.1)
    translate_model: str = setting("gemini-3.5-live-translate-preview")
    translate_to: str | None = setting(None, "VOICECLI_TRANSLATE_TO")
    # talk --echo aec: WebRTC noise suppression / automatic gain control too
    noise_suppression: bool = setting(False, "VOICECLI_NOISE_SUPPRESSION")
    auto_gain_control: bool = setting(False)
    # tool use (voicecli/tools, voicecli/client/tool_calls.py)
    # tools that run without asking: "all" or "a,b"
    allow_tools: str | None = setting(None, parse=parse_names)
    google_search: bool = setting(False)  # {"googleSearch": {}} in the setup (§3.1.4; --search)
    code_execution: bool = setting(False)  # {"codeExecution": {}} in the setup (--code-execution)
    tools: dict[str, Any] | None = setting(None, repr=False)  # the config's [tools] table
    mcp: dict[str, Any] | None = setting(None, repr=False)  # its [mcp] table (servers)
    config_path: Path | None = None
    warnings: list[str] = field(default_factory=list, repr=False)
    given: set[str] = field(default_factory=set, repr=False)  # keys a config/env/flag set

    def has_key(self) -> bool:
        return bool(self.api_key) or bool(self.token)


#: Every config-file key (the settings' and the model options'), its parser and env variables.
_SPECS: dict[str, FieldSpec] = {**field_specs(Settings), **field_specs(ModelOptions),
                                **field_specs(LocalEngine)}
#: The checked sub-objects of Settings, by the field that holds each.
_PARTS = {"model_options": ModelOptions, "local": LocalEngine}


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
    unknown = sorted(set(flat) - set(_SPECS))
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


def _parse(values: Mapping[str, Any], origin: str) -> dict[str, Any]:
    """Config-file-style `values` (None = not given) through each key's parser."""
    parsed: dict[str, Any] = {}
    for key, value in values.items():
        if value is None:
            continue
        spec = _SPECS.get(key)
        if spec is None:
            raise ConfigError(f"{origin}: unknown setting {key!r}")
        try:
            parsed[key] = value if isinstance(value, Secret) else spec.parse(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{origin}: bad value for {key}") from None
    return parsed


def _env_values(env: Mapping[str, str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for key, spec in _SPECS.items():
        for name in spec.env:
            if env.get(name):
                found[key] = env[name]
                break
    return found


def _build(base: Settings, chosen: Mapping[str, Any]) -> Settings:
    """`base` with the parsed `chosen` values, checked: the settings, then each sub-object."""
    own = {key: value for key, value in chosen.items() if _SPECS[key].owner is Settings}
    settings = dataclasses.replace(base, **own, given=base.given | set(chosen))
    validate(settings)
    return _choose_api_version(dataclasses.replace(settings, **_parts(base, chosen)))


def _parts(base: Settings, chosen: Mapping[str, Any]) -> dict[str, Any]:
    """The sub-objects the `chosen` keys change, each a checked copy of the one in `base`."""
    parts = {}
    for name, cls in _PARTS.items():
        values = {_SPECS[key].attr: value for key, value in chosen.items()
                  if _SPECS[key].owner is cls}
        if values:
            parts[name] = dataclasses.replace(getattr(base, name), **values)
    return parts


def load_settings(
    flags: Mapping[str, Any] | None = None,
    *,
    env: Mapping[str, str] = os.environ,
    config_path: Path | None = None,
) -> Settings:
    """Build Settings from defaults < config file < environment < flags."""
    chosen: dict[str, Any] = {}
    found: Path | None = None
    warning = None
    explicit = config_path or (Path(env["VOICECLI_CONFIG"]) if env.get("VOICECLI_CONFIG") else None)
    path = explicit or default_config_path(env)
    if explicit is not None or _config_exists(path):
        values = read_config_file(path)
        chosen.update(_parse(values, f"config file {path}"))
        found = path
        warning = world_readable_warning(path, values)
    chosen.update(_parse(_env_values(env), "environment"))
    chosen.update(_parse(dict(flags or {}), "option"))
    return _build(Settings(config_path=found, warnings=[warning] if warning else []), chosen)


def with_values(settings: Settings, values: Mapping[str, Any], origin: str) -> Settings:
    """A copy of `settings` with config-file-style `values` applied and checked (batch jobs)."""
    chosen = _parse(values, origin)
    try:
        return _build(settings, chosen)
    except ConfigError as exc:
        raise ConfigError(f"{origin}: {exc}") from None


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
    if settings.echo not in ECHO_MODES:
        raise ConfigError(f"echo must be one of {', '.join(ECHO_MODES)}, not {settings.echo!r}")
    for name in ("reply_timeout_s", "setup_timeout_s", "connect_timeout_s", "ping_interval_s",
                 "ping_timeout_s"):
        seconds = getattr(settings, name)
        if not 0 < seconds < math.inf:  # also refuses NaN (--timeout nan)
            flag = "--timeout" if name == "reply_timeout_s" else name
            raise ConfigError(f"{flag} must be a positive number of seconds, not {seconds}")


def _choose_api_version(settings: Settings) -> Settings:
    """§1.3: v1alpha for affective dialog / proactive audio where needed, unless chosen; a chosen
    v1beta is then refused by check_setup with a line that says so."""
    if "api_version" in settings.given:
        return settings
    needed = settings.model_options.api_version_needed(settings.model, settings.backend)
    return settings if needed is None else dataclasses.replace(settings, api_version=needed)


def replace(settings: Settings, **changes: Any) -> Settings:
    """A copy with `changes`; the keys of a sub-object (temperature, local_tts, …) go to a
    checked copy of it."""
    keys = {key: changes.pop(key) for key in list(changes)
            if key in _SPECS and _SPECS[key].owner is not Settings}
    return dataclasses.replace(settings, **changes, **_parts(settings, keys))
