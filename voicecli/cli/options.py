"""Options shared by the commands that connect to a Live endpoint, and how they become Settings.

Each shared option is one `Flag` (its parameter name is its Settings key); `with_settings`
gives a command those flags and parses them, with the config file and the environment, into one
`Settings` (and the run's `ToolUse`) before the command runs.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer

from voicecli.cli.output import notice
from voicecli.cli.tool_options import (
    AllowTools,
    CodeExecution,
    McpConfig,
    Search,
    ToolsFile,
    tool_use_from_flags,
)
from voicecli.settings import Secret, Settings, load_settings

#: Marks a command's `settings` parameter (where the shared flags go) and its `tools` parameter.
SETTINGS: Any = object()
TOOLS_USE: Any = object()


@dataclass(frozen=True)
class Flag:
    """A shared option: the parameter typer fills, its declaration, and the Settings key it sets
    (None: read by the option layer itself)."""

    name: str
    annotation: Any
    key: str | None = ""

    def __post_init__(self) -> None:
        if self.key == "":
            object.__setattr__(self, "key", self.name)

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
VOICE_PANEL = "Voice"
System = Annotated[
    str | None, typer.Option("--system", help="System instruction.", rich_help_panel=VOICE_PANEL)
]
Voice = Annotated[
    str | None,
    typer.Option("--voice", help="Prebuilt voice, e.g. Kore.", rich_help_panel=VOICE_PANEL),
]
Language = Annotated[
    str | None, typer.Option("--language", help="BCP-47 code.", rich_help_panel=VOICE_PANEL)
]
ConfigPath = Annotated[
    Path | None,
    typer.Option("--config", help="Config file (default: the per-user config.toml).",
                 rich_help_panel=CONN),
]


MODEL = "Model options (`voicecli models` says which model takes which)"
#: One line a model option (voicecli/model_options.py): its parameter is its config-file key.
MODEL_OPTIONS = (
    Flag("affective_dialog", Annotated[bool | None, typer.Option(
        "--affective/--no-affective", help="Emotion-aware replies (enableAffectiveDialog; 2.5 "
        "native audio, switches to v1alpha).", rich_help_panel=MODEL, show_default=False)]),
    Flag("proactive_audio", Annotated[bool | None, typer.Option(
        "--proactive/--no-proactive", help="The model may stay silent when not addressed "
        "(proactiveAudio; 2.5 native audio on v1alpha, always on for 3.8).",
        rich_help_panel=MODEL, show_default=False)]),
    Flag("thinking_budget", Annotated[int | None, typer.Option(
        "--thinking-budget", metavar="TOKENS", help="Thinking tokens: -1 dynamic, 0 off "
        "(2.5 models).", rich_help_panel=MODEL)]),
    Flag("thinking_level", Annotated[str | None, typer.Option(
        "--thinking-level", metavar="LEVEL", help="minimal | low | medium | high (3.1, "
        "3.8-extended-thinking).", rich_help_panel=MODEL)]),
    Flag("show_thoughts", Annotated[bool | None, typer.Option(
        "--show-thoughts/--no-show-thoughts", help="Ask for thought summaries (includeThoughts) "
        "and show them dimmed.", rich_help_panel=MODEL, show_default=False)]),
    Flag("media_resolution", Annotated[str | None, typer.Option(
        "--media-resolution", metavar="RES", help="low | medium | high: tokens per video frame "
        "or image.", rich_help_panel=MODEL)]),
    Flag("temperature", Annotated[float | None, typer.Option(
        "--temperature", metavar="T", help="Sampling temperature, 0–2.", rich_help_panel=MODEL)]),
    Flag("max_output_tokens", Annotated[int | None, typer.Option(
        "--max-output-tokens", metavar="N", help="Longest reply, in tokens.",
        rich_help_panel=MODEL)]),
    Flag("turn_coverage", Annotated[str | None, typer.Option(
        "--turn-coverage", metavar="WHAT", help="What a turn includes: only-activity | all-input "
        "| audio-activity-and-all-video (3.x).", rich_help_panel=MODEL)]),
)
CONNECTION = (
    Flag("backend", Backend), Flag("model", Model), Flag("api_key", ApiKey), Flag("token", Token),
    Flag("base_url", BaseUrl), Flag("api_version", ApiVersion), Flag("project", Project),
    Flag("location", Location), Flag("config", ConfigPath, key=None),
)
SYSTEM = (Flag("system_instruction", System),)
VOICE = (Flag("voice", Voice), Flag("language", Language))
TOOLS = (
    Flag("tools_file", ToolsFile, key=None), Flag("allow_tools_flag", AllowTools, key=None),
    Flag("mcp_config", McpConfig, key=None), Flag("google_search", Search),
    Flag("code_execution", CodeExecution),
)
#: What ask and batch take (talk: the same with its own --system/--system-file).
QUESTION = (*SYSTEM, *VOICE, *MODEL_OPTIONS, *CONNECTION, *TOOLS)


def pick(flags: tuple[Flag, ...], *names: str) -> tuple[Flag, ...]:
    """The flags of these parameter names, in the order named."""
    by_name = {flag.name: flag for flag in flags}
    return tuple(by_name[name] for name in names)


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


Own = str | Callable[[dict[str, Any]], Any]


def with_settings(*flags: Flag, own: Mapping[str, Own] | None = None
                  ) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """A command that takes `flags` and gets them as one `settings` (and `tools`) argument.

    The command marks with ``settings: Settings = SETTINGS`` where the flags stand in its
    --help, and with ``tools: ToolUse = TOOLS_USE`` that it wants the run's tools (the
    TOOLS flags). `own` maps other settings keys to the command's own parameter that sets it
    (taken out of its arguments), or to a function of its arguments (that pops what it uses).
    """
    def decorate(command: Callable[..., None]) -> Callable[..., None]:
        signature = inspect.signature(command, eval_str=True)
        wants_tools = any(p.default is TOOLS_USE for p in signature.parameters.values())

        @functools.wraps(command)
        def run(**kwargs: Any) -> None:
            derived = {key: source(kwargs) if callable(source) else kwargs.pop(source)
                       for key, source in (own or {}).items()}
            given = {flag.name: kwargs.pop(flag.name) for flag in flags}
            settings = settings_from_flags(
                given.get("config"), **{f.key: given[f.name] for f in flags if f.key}, **derived)
            kwargs["settings"] = settings
            if wants_tools:
                kwargs["tools"] = tool_use_from_flags(settings, given["tools_file"],
                                                      given["allow_tools_flag"],
                                                      given["mcp_config"])
            command(**kwargs)

        params = _parameters(signature, flags)
        run.__signature__ = signature.replace(parameters=params)  # type: ignore[attr-defined]
        run.__annotations__ = {p.name: p.annotation for p in params}
        return run

    return decorate


@dataclass(frozen=True)
class _Here:
    flags: tuple[Flag, ...]


def here(*flags: Flag) -> Any:
    """The default of a placeholder parameter: these of the command's flags stand there in its
    --help (the others where `settings` stands); the command never gets a value for it."""
    return _Here(flags)


def _parameters(signature: inspect.Signature, flags: tuple[Flag, ...]) -> list[inspect.Parameter]:
    """The command's parameters as typer sees them: the flags where `settings` stood."""
    marks = [p.default for p in signature.parameters.values() if isinstance(p.default, _Here)]
    placed = {flag.name for mark in marks for flag in mark.flags}
    params: list[inspect.Parameter] = []
    for param in signature.parameters.values():
        if param.default is SETTINGS:
            params += _declared(flag for flag in flags if flag.name not in placed)
        elif isinstance(param.default, _Here):
            params += _declared(param.default.flags)
        elif param.default is not TOOLS_USE:
            params.append(param)
    return params


def _declared(flags: Iterable[Flag]) -> list[inspect.Parameter]:
    return [inspect.Parameter(flag.name, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=None,
                              annotation=flag.annotation) for flag in flags]
