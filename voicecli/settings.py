"""Settings: defaults < config file < environment < flags.

The config file is TOML (``config.example.toml`` documents every key). Its default location is
``$XDG_CONFIG_HOME/voicecli/config.toml`` (``~/.config/voicecli/config.toml``), or the platform's
equivalent on macOS and Windows; ``--config`` / ``VOICECLI_CONFIG`` choose another file.
"""

from __future__ import annotations

import dataclasses
import os
import stat
import sys
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from voicecli.errors import ConfigError
from voicecli.model_options import ModelOptions
from voicecli.protocol.models import DEFAULT_MODEL
from voicecli.setting_fields import FieldSpec, field_specs, parse_names, setting
from voicecli.setting_parts import ConnectionSettings, EchoSettings, LocalEngine, Secret


@dataclass(frozen=True)
class Settings:
    """Everything a command needs to reach a Live endpoint (frozen: `replace` makes a checked
    copy). Works without typer.

    Each ``setting(default, "ENV_VAR", …)`` field is a config-file key read from those environment
    variables too, through the parser its type implies (voicecli/setting_fields.py). The
    connection, the model options (voicecli/model_options.py), the echo handling and the local
    engine are checked sub-objects (voicecli/setting_parts.py) whose fields are keys as well;
    `Settings.of(backend=…, temperature=…)` makes one from keys.
    """

    # backend, keys, endpoint, timeouts: one checked sub-object (voicecli/setting_parts.py)
    connection: ConnectionSettings = field(default_factory=ConnectionSettings)
    model: str = setting(DEFAULT_MODEL, "VOICECLI_MODEL")
    voice: str | None = setting(None, "VOICECLI_VOICE")
    system_instruction: str | None = setting()
    # response, language, temperature, thinking, … (each model's rules: voicecli/protocol/models.py)
    model_options: ModelOptions = field(default_factory=ModelOptions)
    # contextWindowCompression in the setup: what the session asks, not how it connects
    context_compression: bool = setting(True)
    # the local engine (`serve`, --backend local): one checked sub-object, its keys local_*
    local: LocalEngine = field(default_factory=LocalEngine)
    # talk: echo handling for laptop speakers (the keys echo, noise_suppression, auto_gain_control)
    echo: EchoSettings = field(default_factory=EchoSettings)
    # `voicecli translate` (voicecli/translate): its model and default target language (§7.1)
    translate_model: str = setting("gemini-3.5-live-translate-preview")
    translate_to: str | None = setting(None, "VOICECLI_TRANSLATE_TO")
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

    @classmethod
    def of(cls, **keys: Any) -> Settings:
        """Settings from config keys (`backend`, `temperature`, `echo`, `local_tts`, …) and
        fields, each key given to its checked sub-object; nothing is read from files or the
        environment."""
        return replace(cls(), **keys)

    def has_key(self) -> bool:
        return self.connection.has_key()


#: The checked sub-objects of Settings, by the field that holds each.
_PARTS: dict[str, type] = {"connection": ConnectionSettings, "model_options": ModelOptions,
                           "local": LocalEngine, "echo": EchoSettings}
#: Every config-file key (the settings' and their sub-objects'), its parser and env variables.
_SPECS: dict[str, FieldSpec] = {key: spec for cls in (Settings, *_PARTS.values())
                                for key, spec in field_specs(cls).items()}


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
    """`base` with the parsed `chosen` values, checked (each sub-object checks its own)."""
    own = {key: value for key, value in chosen.items() if _SPECS[key].owner is Settings}
    given = base.given | set(chosen)
    settings = dataclasses.replace(base, **own, **_parts(base, chosen), given=given)
    return _choose_api_version(settings)


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


def _choose_api_version(settings: Settings) -> Settings:
    """§1.3: v1alpha for affective dialog / proactive audio where needed, unless chosen; a chosen
    v1beta is then refused by check_setup with a line that says so."""
    if "api_version" in settings.given:
        return settings
    connection = settings.connection
    needed = settings.model_options.api_version_needed(settings.model, connection.backend)
    if needed is None:
        return settings
    return dataclasses.replace(settings,
                               connection=dataclasses.replace(connection, api_version=needed))


def replace(settings: Settings, **changes: Any) -> Settings:
    """A copy with `changes`; the keys of a sub-object (backend, temperature, echo, local_tts, …)
    go to a checked copy of it; a sub-object itself (`connection=ConnectionSettings(…)`) is
    taken as it is."""
    keys = {key: changes.pop(key) for key in list(changes)
            if key in _SPECS and _SPECS[key].owner is not Settings
            and not isinstance(changes[key], _PARTS.get(key, ()))}
    return dataclasses.replace(settings, **changes, **_parts(settings, keys))
