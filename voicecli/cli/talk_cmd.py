"""`voicecli talk`: a spoken conversation in the terminal (library: voicecli.talk.run)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from voicecli.audio.opening import device_spec, latency_spec
from voicecli.cli.conversation_run import run_conversation
from voicecli.cli.options import (
    CONNECTION,
    MODEL_OPTIONS,
    SETTINGS,
    TOOLS,
    TOOLS_USE,
    VOICE,
    System,
    here,
    with_settings,
)
from voicecli.cli.session_options import (
    Camera,
    ContextFile,
    Resume,
    Screen,
    load_context_file,
)
from voicecli.errors import UsageError
from voicecli.settings import Settings
from voicecli.talk.options import TalkOptions
from voicecli.tools import ToolUse

AUDIO = "Audio"
TURNS = "Turn taking"
SAVE = "Saving"
VOICE_AND_MODEL = here(*VOICE, *MODEL_OPTIONS)  # in --help: after --system-file


@with_settings(*VOICE, *MODEL_OPTIONS, *CONNECTION, *TOOLS, own={
    "system_instruction": lambda args: _system(args.pop("system"), args.pop("system_file")),
    "echo": "echo", "noise_suppression": "noise_suppression", "auto_gain_control": "agc"})
def talk(
    input_device: Annotated[str | None, typer.Option(
        "--input-device", "-i", help="Microphone: index or name substring (voicecli devices).",
        rich_help_panel=AUDIO)] = None,
    output_device: Annotated[str | None, typer.Option(
        "--output-device", "-o", help="Speaker: index or name substring.",
        rich_help_panel=AUDIO)] = None,
    chunk_ms: Annotated[int, typer.Option(
        "--chunk-ms", help="Mic audio sent every N ms (10–100).", rich_help_panel=AUDIO)] = 20,
    latency: Annotated[str | None, typer.Option(
        "--latency", help="Device buffer: seconds, or low | high.", rich_help_panel=AUDIO)] = None,
    ptt: Annotated[bool, typer.Option(
        "--ptt", help="Push-to-talk: space starts and stops your turn (no voice detection).",
        rich_help_panel=TURNS)] = False,
    no_barge_in: Annotated[bool, typer.Option(
        "--no-barge-in", help="Speaking does not cut a reply off (NO_INTERRUPTION).",
        rich_help_panel=TURNS)] = False,
    vad_silence_ms: Annotated[int | None, typer.Option(
        "--vad-silence-ms", help="Silence that ends your turn (server VAD).",
        rich_help_panel=TURNS)] = None,
    vad_start_sensitivity: Annotated[str | None, typer.Option(
        "--vad-start-sensitivity", help="low | high.", rich_help_panel=TURNS)] = None,
    vad_end_sensitivity: Annotated[str | None, typer.Option(
        "--vad-end-sensitivity", help="low | high.", rich_help_panel=TURNS)] = None,
    echo: Annotated[str | None, typer.Option(
        "--echo", help="Echo handling for speakers: auto | aec | gate | off (headsets). "
        "auto = aec with voicecli[aec] installed, else gate; off on a headset.",
        rich_help_panel=AUDIO)] = None,
    noise_suppression: Annotated[bool | None, typer.Option(
        "--noise-suppression/--no-noise-suppression",
        help="With --echo aec: WebRTC noise suppression on the mic too (off by default).",
        rich_help_panel=AUDIO)] = None,
    agc: Annotated[bool | None, typer.Option(
        "--agc/--no-agc", help="With --echo aec: WebRTC automatic gain control on the mic too.",
        rich_help_panel=AUDIO)] = None,
    text: Annotated[bool, typer.Option(
        "--text", help="Text replies where the model supports them.")] = False,
    system: System = None,
    system_file: Annotated[Path | None, typer.Option(
        "--system-file", help="Read the system instruction from a file.",
        rich_help_panel="Voice")] = None,
    _voice_and_model: Any = VOICE_AND_MODEL,
    record: Annotated[Path | None, typer.Option(
        "--record", help="Save mic.wav, speaker.wav, transcript.md, events.jsonl here.",
        rich_help_panel=SAVE)] = None,
    transcript: Annotated[Path | None, typer.Option(
        "--transcript", help="Append the conversation to this Markdown file.",
        rich_help_panel=SAVE)] = None,
    json_out: Annotated[bool, typer.Option(
        "--json", help="No live screen: NDJSON events on stdout.")] = False,
    context: ContextFile = None,
    resume: Resume = None,
    camera: Camera = None,
    screen: Screen = None,
    settings: Settings = SETTINGS,
    tools: ToolUse = TOOLS_USE,
) -> None:
    """Talk with Gemini: speak, hear the reply, interrupt it by speaking.

    Keys: m mute, t type a message, space talk (with --ptt), y/n answer a tool prompt,
    q or Ctrl-C quit.
    """
    options = TalkOptions(
        input_device=device_spec(input_device), output_device=device_spec(output_device),
        chunk_ms=chunk_ms, latency=latency_spec(latency), ptt=ptt, barge_in=not no_barge_in,
        text=text, vad_silence_ms=vad_silence_ms, vad_start_sensitivity=vad_start_sensitivity,
        vad_end_sensitivity=vad_end_sensitivity, record_dir=record, transcript=transcript,
        echo=settings.echo.mode, noise_suppression=settings.echo.noise_suppression,
        auto_gain_control=settings.echo.auto_gain_control,
        context=load_context_file(context), resume=resume, camera=camera, screen=screen,
    )
    run_conversation(settings, options, json_out=json_out, tools=tools)


def _system(system: str | None, system_file: Path | None) -> str | None:
    if system_file is None:
        return system
    if system is not None:
        raise UsageError("give either --system or --system-file, not both")
    try:
        return system_file.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read --system-file {system_file}: {exc}") from None
