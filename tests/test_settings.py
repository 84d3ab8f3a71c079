"""Settings precedence, config files, and keeping secrets out of output."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from voicecli.errors import ConfigError
from voicecli.settings import Secret, default_config_path, load_settings

KEY = "AIzaSyTEST-secret-value-123"


def write_config(tmp_path: Path, text: str, mode: int = 0o600) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text)
    os.chmod(path, mode)
    return path


def test_precedence_defaults_config_env_flags(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, '[connection]\nmodel = "from-config"\nbackend = "local"\n')
    s = load_settings({}, env={}, config_path=cfg)
    assert (s.model, s.connection.backend) == ("from-config", "local")
    s = load_settings({}, env={"VOICECLI_MODEL": "from-env"}, config_path=cfg)
    assert s.model == "from-env" and s.connection.backend == "local"
    s = load_settings({"model": "from-flag"}, env={"VOICECLI_MODEL": "from-env"}, config_path=cfg)
    assert s.model == "from-flag"


def test_defaults_without_any_config(tmp_path: Path) -> None:
    s = load_settings({}, env={"XDG_CONFIG_HOME": str(tmp_path)})
    assert s.connection.backend == "auto" and s.model == "gemini-3.8-live" and s.config_path is None


def test_default_config_path_follows_xdg(tmp_path: Path) -> None:
    assert default_config_path({"XDG_CONFIG_HOME": str(tmp_path)}) == (
        tmp_path / "voicecli" / "config.toml"
    )


def test_api_key_sources_in_order(tmp_path: Path) -> None:
    env = {"GOOGLE_API_KEY": "google", "XDG_CONFIG_HOME": str(tmp_path)}
    assert load_settings({}, env=env).connection.api_key == Secret("google")
    env["GEMINI_API_KEY"] = "gemini"
    assert load_settings({}, env=env).connection.api_key == Secret("gemini")
    assert load_settings({"api_key": Secret("flag")}, env=env).connection.api_key == Secret("flag")


def test_key_never_in_repr(tmp_path: Path) -> None:
    s = load_settings({}, env={"GEMINI_API_KEY": KEY, "XDG_CONFIG_HOME": str(tmp_path)})
    key = s.connection.api_key
    assert KEY not in repr(s) and KEY not in str(key) and KEY not in repr(key)
    assert key is not None and key.reveal() == KEY


def test_world_readable_config_with_key_warns(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, f'api_key = "{KEY}"\n', mode=0o644)
    s = load_settings({}, env={}, config_path=cfg)
    assert len(s.warnings) == 1 and "chmod 600" in s.warnings[0] and KEY not in s.warnings[0]
    cfg.chmod(0o600)
    assert load_settings({}, env={}, config_path=cfg).warnings == []


def test_readable_config_without_key_does_not_warn(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, 'model = "x"\n', mode=0o644)
    assert load_settings({}, env={}, config_path=cfg).warnings == []


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("model = ", "not valid TOML"),
        ('modle = "x"\n', "unknown key(s) modle"),
        ('max_reconnects = "many"\n', "bad value for max_reconnects"),
        ('backend = "cloud"\n', "--backend must be one of"),
    ],
)
def test_bad_config_is_a_config_error(tmp_path: Path, text: str, fragment: str) -> None:
    cfg = write_config(tmp_path, text)
    with pytest.raises(ConfigError, match=None) as info:
        load_settings({}, env={}, config_path=cfg)
    assert fragment in str(info.value)


def test_missing_explicit_config_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings({}, env={}, config_path=tmp_path / "nope.toml")


def test_example_config_is_valid_and_complete() -> None:
    example = Path(__file__).parents[1] / "config.example.toml"
    s = load_settings({}, env={}, config_path=example)
    assert s.model == "gemini-3.8-live" and s.connection.ping_timeout_s == 60.0
