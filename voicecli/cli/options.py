"""Options shared by the commands that connect to a Live endpoint, and how they become Settings."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from voicecli.cli.output import notice
from voicecli.settings import Secret, Settings, load_settings

CONN = "Connection"

Backend = Annotated[
    str | None,
    typer.Option(
        "--backend", help="auto | gemini | vertex | local (auto: Gemini with a key, else local).",
        rich_help_panel=CONN,
    ),
]
Model = Annotated[str | None, typer.Option("--model", "-m", help="Model id.", rich_help_panel=CONN)]
ApiKey = Annotated[
    str | None,
    typer.Option(
        "--api-key", help="Gemini API key (prefer GEMINI_API_KEY or the config file).",
        rich_help_panel=CONN, show_default=False,
    ),
]
Token = Annotated[
    str | None,
    typer.Option("--token", help="Ephemeral token (auth_tokens/…).", rich_help_panel=CONN),
]
BaseUrl = Annotated[
    str | None,
    typer.Option(
        "--base-url", help="Endpoint base URL (VOICECLI_BASE_URL); ws:// URLs with a path as is.",
        rich_help_panel=CONN,
    ),
]
ApiVersion = Annotated[
    str | None,
    typer.Option("--api-version", help="v1beta (default) | v1alpha | v1.", rich_help_panel=CONN),
]
Project = Annotated[
    str | None, typer.Option("--project", help="Vertex AI project.", rich_help_panel=CONN)
]
Location = Annotated[
    str | None, typer.Option("--location", help="Vertex AI location.", rich_help_panel=CONN)
]
VOICE = "Voice"
System = Annotated[
    str | None, typer.Option("--system", help="System instruction.", rich_help_panel=VOICE)
]
Voice = Annotated[
    str | None, typer.Option("--voice", help="Prebuilt voice, e.g. Kore.", rich_help_panel=VOICE)
]
Language = Annotated[
    str | None, typer.Option("--language", help="BCP-47 code.", rich_help_panel=VOICE)
]
ConfigPath = Annotated[
    Path | None,
    typer.Option("--config", help="Config file (default: the per-user config.toml).",
                 rich_help_panel=CONN),
]


def settings_from_flags(config: Path | None = None, **flags: Any) -> Settings:
    """Settings from defaults < config file < environment < these flags (None = not given).

    Warnings about the configuration (a config file others can read) go to stderr here.
    """
    values = {k: v for k, v in flags.items() if v is not None}
    for secret in ("api_key", "token"):
        if secret in values:
            values[secret] = Secret(values[secret])
    settings = load_settings(values, config_path=config)
    for warning in settings.warnings:
        notice(warning)
    return settings
