"""`voicecli translate --to es`: live speech translation (library: voicecli.translate).

Interactive (the talk machinery, a translate view) or a file (`--audio FILE`).
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Annotated

import typer

from voicecli.cli.env import current_env
from voicecli.cli.options import CONNECTION, SETTINGS, pick, with_settings
from voicecli.cli.output import check_output_file, notice
from voicecli.cli.session_options import Resume
from voicecli.cli.tool_options import AllowTools, McpConfig
from voicecli.errors import CapabilityError, UsageError
from voicecli.protocol.models import model_info
from voicecli.settings import Settings, replace
from voicecli.talk.options import TalkOptions
from voicecli.tools import ToolUse, tool_use
from voicecli.translate.setup import TranslationOptions

LANG = "Languages"
AUDIO = "Audio"


@with_settings(*pick(CONNECTION, "backend", "api_key", "token", "base_url", "api_version",
                     "project", "location", "config"),
               own={"translate_model": "model", "translate_to": "to", "echo": "echo",
                    "reply_timeout_s": "timeout"})
def translate(
    to: Annotated[str | None, typer.Option(
        "--to", help="Target language, BCP-47 (es, fr, pt-BR; config translate_to).",
        rich_help_panel=LANG)] = None,
    source: Annotated[str | None, typer.Option(
        "--from", help="Spoken language, to label it (the model detects it itself).",
        rich_help_panel=LANG)] = None,
    echo_target: Annotated[bool, typer.Option(
        "--echo-target", help="Also speak what is already in the target language "
        "(echoTargetLanguage).", rich_help_panel=LANG)] = False,
    audio: Annotated[Path | None, typer.Option(
        "--audio", help="Translate a recording instead of the mic (WAV/FLAC/OGG/MP3; - = stdin).",
        rich_help_panel=AUDIO)] = None,
    audio_out: Annotated[Path | None, typer.Option(
        "--audio-out", help="With --audio: save the translated speech (24 kHz mono WAV).",
        rich_help_panel=AUDIO)] = None,
    input_device: Annotated[str | None, typer.Option(
        "--input-device", "-i", help="Microphone: index or name substring.",
        rich_help_panel=AUDIO)] = None,
    output_device: Annotated[str | None, typer.Option(
        "--output-device", "-o", help="Speaker: index or name substring.",
        rich_help_panel=AUDIO)] = None,
    echo: Annotated[str | None, typer.Option(
        "--echo", help="Echo handling for speakers: auto | aec | gate | off.",
        rich_help_panel=AUDIO)] = None,
    transcript: Annotated[Path | None, typer.Option(
        "--transcript", help="Append both sides to this Markdown file.")] = None,
    json_out: Annotated[bool, typer.Option(
        "--json", help="NDJSON events on stdout (no live screen).")] = False,
    timeout: Annotated[float | None, typer.Option(
        "--timeout", help="With --audio: seconds to wait for the translation.")] = None,
    resume: Resume = None,
    model: Annotated[str | None, typer.Option(
        "--model", "-m", help="Translation model (config translate_model).",
        rich_help_panel="Connection")] = None,
    settings: Settings = SETTINGS,
    mcp_config: McpConfig = None,
    allow_tools: AllowTools = None,
) -> None:
    """Translate speech as you speak: your words in one language, spoken in another.

    Both transcripts are shown (source and target). Keys: m mute, q or Ctrl-C quit.
    """
    if not settings.translate_to:
        raise UsageError("missing --to: the language to translate into (e.g. --to es)")
    options = TranslationOptions(settings.translate_to, source, echo_target)
    settings = replace(settings, model=settings.translate_model, response="audio")
    tools = _translation_tools(settings, mcp_config, allow_tools, audio)
    if audio is not None:
        _translate_file(settings, options, audio, audio_out, json_out)
        return
    if audio_out is not None:
        raise UsageError("--audio-out goes with --audio (a recording to translate)")
    _translate_live(settings, options, input_device, output_device, transcript, json_out,
                    resume, tools)


def _translation_tools(settings: Settings, mcp_file: Path | None, allow: str | None,
                       audio: Path | None) -> ToolUse | None:
    """``--mcp-config`` tools for a translation model that takes tools; the config file's
    tools and servers are for conversations (the live-translate models take none, §7.1)."""
    if mcp_file is None and allow is None:
        return None
    if mcp_file is None:
        raise UsageError("--allow-tools goes with --mcp-config on translate")
    info = model_info(settings.model)
    if info is not None and not info.tools:
        raise CapabilityError(f"{info.id} does not accept tools (§7.1): --mcp-config needs a "
                              "translation model that does (--model)")
    if audio is not None:
        raise UsageError("--mcp-config works in live translation, not with --audio")
    return tool_use(allow=allow, mcp_file=mcp_file)


def _translate_file(settings: Settings, options: TranslationOptions, audio: Path,
                    audio_out: Path | None, json_out: bool) -> None:
    from voicecli.audio.pcm import load_audio
    from voicecli.translate.file import translate_file

    if audio_out is not None:
        check_output_file(audio_out, "--audio-out")  # before reading or connecting
    source: str | bytes = sys.stdin.buffer.read() if str(audio) == "-" else str(audio)
    pcm = load_audio(source).data.cast("B")  # bytes-like; hours stay in load_audio's file map
    sink = current_env().json_lines() if json_out else None  # the funnel ends it on an error
    result = asyncio.run(translate_file(settings, pcm, options, audio_out=audio_out,
                                        on_json=sink, notify=notice))
    if json_out:
        return
    source_label, target_label = options.labels
    for segment in result.segments:
        if segment.source.strip():
            print(f"{source_label}: {segment.source.strip()}", flush=True)
        if segment.target.strip():
            print(f"{target_label}: {segment.target.strip()}", flush=True)
    if not result.target and not result.audio_ms:
        notice("voicecli: no translation came back (was there speech in the file?)")


def _translate_live(settings: Settings, options: TranslationOptions, input_device: str | None,
                    output_device: str | None, transcript: Path | None, json_out: bool,
                    resume: str | None, tools: ToolUse | None = None) -> None:
    from voicecli.audio.opening import device_spec
    from voicecli.cli.conversation_run import run_conversation

    talk = TalkOptions(input_device=device_spec(input_device),
                       output_device=device_spec(output_device),
                       transcript=transcript, echo=settings.echo.mode,
                       noise_suppression=settings.echo.noise_suppression,
                       auto_gain_control=settings.echo.auto_gain_control, translation=options,
                       resume=resume)
    run_conversation(settings, talk, json_out=json_out, tools=tools,
                     command=f"translate --to {options.to}")
