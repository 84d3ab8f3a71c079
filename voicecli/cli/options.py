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
MODEL = "Model options (`voicecli models` says which model takes which)"
Affective = Annotated[
    bool | None,
    typer.Option("--affective/--no-affective", help="Emotion-aware replies "
                 "(enableAffectiveDialog; 2.5 native audio, switches to v1alpha).",
                 rich_help_panel=MODEL, show_default=False),
]
Proactive = Annotated[
    bool | None,
    typer.Option("--proactive/--no-proactive", help="The model may stay silent when not "
                 "addressed (proactiveAudio; 2.5 native audio on v1alpha, always on for 3.8).",
                 rich_help_panel=MODEL, show_default=False),
]
ThinkingBudget = Annotated[
    int | None,
    typer.Option("--thinking-budget", metavar="TOKENS", help="Thinking tokens: -1 dynamic, "
                 "0 off (2.5 models).", rich_help_panel=MODEL),
]
ThinkingLevel = Annotated[
    str | None,
    typer.Option("--thinking-level", metavar="LEVEL", help="minimal | low | medium | high "
                 "(3.1, 3.8-extended-thinking).", rich_help_panel=MODEL),
]
ShowThoughts = Annotated[
    bool | None,
    typer.Option("--show-thoughts/--no-show-thoughts", help="Ask for thought summaries "
                 "(includeThoughts) and show them dimmed.", rich_help_panel=MODEL,
                 show_default=False),
]
MediaResolution = Annotated[
    str | None,
    typer.Option("--media-resolution", metavar="RES", help="low | medium | high: tokens per "
                 "video frame or image.", rich_help_panel=MODEL),
]
Temperature = Annotated[
    float | None,
    typer.Option("--temperature", metavar="T", help="Sampling temperature, 0–2.",
                 rich_help_panel=MODEL),
]
MaxOutputTokens = Annotated[
    int | None,
    typer.Option("--max-output-tokens", metavar="N", help="Longest reply, in tokens.",
                 rich_help_panel=MODEL),
]
TurnCoverage = Annotated[
    str | None,
    typer.Option("--turn-coverage", metavar="WHAT", help="What a turn includes: only-activity "
                 "| all-input | audio-activity-and-all-video (3.x).", rich_help_panel=MODEL),
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


def model_flags(
    affective: bool | None = None, proactive: bool | None = None,
    thinking_budget: int | None = None, thinking_level: str | None = None,
    show_thoughts: bool | None = None, media_resolution: str | None = None,
    temperature: float | None = None, max_output_tokens: int | None = None,
    turn_coverage: str | None = None,
) -> dict[str, Any]:
    """The model-option flags as Settings keys, for `settings_from_flags(**…)`."""
    return {
        "affective_dialog": affective, "proactive_audio": proactive,
        "thinking_budget": thinking_budget, "thinking_level": thinking_level,
        "show_thoughts": show_thoughts, "media_resolution": media_resolution,
        "temperature": temperature, "max_output_tokens": max_output_tokens,
        "turn_coverage": turn_coverage,
    }
