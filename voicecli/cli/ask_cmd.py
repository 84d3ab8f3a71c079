"""`voicecli ask`: one question (text or a recorded WAV), one answer on stdout."""

from __future__ import annotations

import asyncio
import sys
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Annotated

import typer

from voicecli.ask import Answer, Question
from voicecli.ask import ask as run_ask
from voicecli.cli.env import current_env
from voicecli.cli.options import QUESTION, SETTINGS, TOOLS_USE, with_settings
from voicecli.cli.output import (
    JsonLines,
    check_output_file,
    is_interactive,
    notice,
    print_code,
    print_thoughts,
)
from voicecli.cli.session_options import (
    ContextFile,
    ImageFile,
    Resume,
    ShowUsage,
    load_context_file,
    usage_line,
)
from voicecli.client.history import SessionStart
from voicecli.client.usage import TokenTally
from voicecli.settings import Settings
from voicecli.tools import ToolUse
from voicecli.video.imaging import load_image

#: A spoken question fits one audio-only session (live-protocol.md §5.7: 15 min).
MAX_QUESTION_S = 15 * 60


@with_settings(*QUESTION, own={"response": "response", "reply_timeout_s": "timeout"})
def ask(
    question: Annotated[
        str | None, typer.Argument(help="The question (omit with --audio).")
    ] = None,
    audio: Annotated[
        Path | None,
        typer.Option(
            "--audio", help="Ask with a recorded question (WAV/FLAC/OGG/MP3; - = stdin)."
        ),
    ] = None,
    audio_out: Annotated[
        Path | None, typer.Option("--audio-out", help="Save the spoken reply (24 kHz mono WAV).")
    ] = None,
    json_out: Annotated[
        bool, typer.Option("--json", help="Print the event stream as NDJSON.")
    ] = False,
    image: ImageFile = None,
    context: ContextFile = None,
    resume: Resume = None,
    show_usage: ShowUsage = False,
    response: Annotated[
        str | None, typer.Option("--response", help="auto | audio | text reply modality.")
    ] = None,
    timeout: Annotated[
        float | None, typer.Option("--timeout", help="Seconds to wait for the whole reply.")
    ] = None,
    settings: Settings = SETTINGS,
    tools: ToolUse = TOOLS_USE,
) -> None:
    """Ask one question and print the answer (for audio replies: what was said)."""
    if audio_out is not None:
        check_output_file(audio_out, "--audio-out")  # before anything connects
    q = _question(question, audio)
    q.image = load_image(image) if image is not None else None
    start = SessionStart(load_context_file(context), resume)
    sink = current_env().json_lines() if json_out else None  # the funnel ends it on an error
    answer = asyncio.run(_ask_with_status(settings, q, audio_out, sink, tools, start))
    if not json_out:
        if answer.replies_cut:  # the cut, said once (the answer below is whole)
            notice("the connection dropped mid-reply; the question was asked again")
        _print_answer(answer)
        _print_usage(answer, show_usage)


def _question(text: str | None, audio: Path | None) -> Question:
    from voicecli.errors import UsageError

    if audio is not None and text is not None:
        raise UsageError("give either a question or --audio, not both")
    if audio is None:
        if text is None:
            raise UsageError("missing question: voicecli ask \"...\" (or --audio question.wav)")
        return Question(text=text)
    from voicecli.audio.pcm import load_audio

    source: str | bytes = sys.stdin.buffer.read() if str(audio) == "-" else str(audio)
    return Question(audio_pcm16=load_audio(source, max_seconds=MAX_QUESTION_S,
                                           what="one question").tobytes())


async def _ask_with_status(
    settings: Settings, question: Question, audio_out: Path | None, sink: JsonLines | None,
    tools: ToolUse, start: SessionStart | None = None,
) -> Answer:
    with _spinner() if sink is None else nullcontext():
        return await run_ask(settings, question, audio_out=audio_out, on_json=sink, notify=notice,
                             tools=tools, start=start)


def _spinner() -> AbstractContextManager[object]:
    """A spinner on stderr, only when both stdout and stderr are terminals."""
    if not (is_interactive(sys.stdout) and is_interactive(sys.stderr)):
        return nullcontext()
    from rich.console import Console

    return Console(stderr=True).status("waiting for the reply…", spinner="dots")


def _print_usage(answer: Answer, wanted: bool) -> None:
    """§4.7 token usage, by modality, on stderr: with --usage, or for a person at a terminal."""
    if answer.usage is None or not (wanted or is_interactive(sys.stderr)):
        return
    tally = TokenTally()
    tally.add(answer.usage)
    notice(usage_line(tally))


def _print_answer(answer: Answer) -> None:
    print_thoughts(answer.thoughts)
    print_code(answer.code)
    text = answer.text.strip()
    if text:
        print(text, flush=True)
    elif answer.audio_ms:
        notice(f"(a spoken reply of {answer.audio_ms / 1000:.1f} s with no transcript)")
    if answer.sources.sources:  # §4.2 grounding: numbered, under the answer
        print("\nSources:\n" + "\n".join(answer.sources.lines()), flush=True)
