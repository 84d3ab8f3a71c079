"""`voicecli transcribe FILE...`: speech to text (with times) via the Live API's transcription."""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import AsyncExitStack, contextmanager
from pathlib import Path
from typing import Annotated

import typer

from voicecli.cli.options import CONNECTION, SETTINGS, with_settings
from voicecli.cli.output import (
    check_output_dir,
    check_output_file,
    error_line,
    is_interactive,
    notice,
)
from voicecli.client.backends import open_endpoint
from voicecli.client.endpoints import Endpoint
from voicecli.errors import ExitCode, InputFileError, UsageError
from voicecli.protocol.messages import Setup
from voicecli.settings import Settings
from voicecli.transcribe import (
    FORMATS,
    TranscribeOptions,
    TranscriptionStopped,
    render,
    transcribe_at,
)
from voicecli.transcribe.engine import Progress, transcription_setup
from voicecli.transcribe.formats import EXTENSIONS

PROGRESS_MIN_S = 30.0  # audio seconds from which a file gets a progress bar (terminals only)
BYTES_PER_S = 16000 * 2  # the loaded audio: 16 kHz mono PCM16


@with_settings(*CONNECTION, own={"reply_timeout_s": "timeout"})
def transcribe(
    files: Annotated[
        list[Path],
        # readable=False: the loader says what is wrong with a file, in the same words for all
        typer.Argument(help="Audio files (WAV/FLAC/OGG/MP3; - = stdin).", readable=False),
    ],
    fmt: Annotated[
        str, typer.Option("--format", "-f", help="text | json | srt | vtt.")
    ] = "text",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file (one input).")
    ] = None,
    output_dir: Annotated[
        Path | None, typer.Option("--output-dir", help="One file per input, named after it.")
    ] = None,
    language: Annotated[
        str | None, typer.Option("--language", help="BCP-47 hint for the transcription.")
    ] = None,
    realtime: Annotated[
        bool, typer.Option("--realtime", help="Send the audio at 1× speed.")
    ] = False,
    timeout: Annotated[
        float | None,
        typer.Option("--timeout", help="Seconds to wait for a segment's transcript."),
    ] = None,
    settings: Settings = SETTINGS,
) -> None:
    """Transcribe audio files, with segment times (text, JSON, SRT or WebVTT)."""
    _check_targets(files, fmt, output, output_dir)
    setup = transcription_setup(settings, settings.model, language)  # bad settings fail here
    opts = TranscribeOptions(realtime=realtime, language=language)
    failed = asyncio.run(_run_all(settings, setup, files, opts, fmt, output, output_dir))
    if failed:
        raise typer.Exit(ExitCode.USAGE)


def _check_targets(files: list[Path], fmt: str, output: Path | None, out_dir: Path | None) -> None:
    if fmt not in FORMATS:
        raise UsageError(f"--format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    if output is not None and out_dir is not None:
        raise UsageError("give either --output or --output-dir, not both")
    if output is not None and len(files) > 1:
        raise UsageError("--output takes one input; use --output-dir DIR for several")
    if len(files) > 1 and out_dir is None and fmt != "text":
        raise UsageError(f"several inputs in {fmt} need --output-dir DIR")
    if sum(str(f) == "-" for f in files) > 1:
        raise UsageError("stdin (-) can be read only once")
    if output is not None and str(output) != "-":
        check_output_file(output, "--output")
    if out_dir is not None:
        check_output_dir(out_dir, "--output-dir")


async def _run_all(
    settings: Settings, setup: Setup, files: list[Path], opts: TranscribeOptions, fmt: str,
    output: Path | None, out_dir: Path | None,
) -> int:
    """Transcribe every readable file on one endpoint; return how many could not be read.

    The endpoint (for the local backend: the embedded server) opens at the first readable file,
    so a bad input costs no connection and its error stays the only line on stderr.
    """
    failed = 0
    async with AsyncExitStack() as stack:
        endpoint: Endpoint | None = None
        for path in files:
            try:
                pcm = _load(path)
            except InputFileError as exc:
                if len(files) == 1:
                    raise
                error_line(str(exc))
                failed += 1
                continue
            if endpoint is None:
                endpoint = await stack.enter_async_context(open_endpoint(settings, notice, pace=0,
                                                                       transcribing=True))
            try:
                text = await _transcribe_one(endpoint, settings, setup, pcm, opts, fmt, path)
            except TranscriptionStopped as stopped:  # keep what was done, then fail (exit 3)
                partial = render(stopped.transcript, fmt, _display(path))
                _emit(partial, path, fmt, output, out_dir, header=len(files) > 1)
                raise
            _emit(text, path, fmt, output, out_dir, header=len(files) > 1)
    return failed


async def _transcribe_one(
    endpoint: Endpoint, settings: Settings, setup: Setup, pcm: bytes | memoryview,
    opts: TranscribeOptions, fmt: str, path: Path,
) -> str:
    with _progress(_display(path), len(pcm) / BYTES_PER_S) as progress:
        transcript = await transcribe_at(endpoint, settings, pcm, opts, progress, setup)
    return render(transcript, fmt, _display(path))


def _load(path: Path) -> memoryview:
    from voicecli.audio.pcm import load_audio

    return load_audio(str(path)).data.cast("B")  # bytes-like; hours stay in the file map


def _display(path: Path) -> str:
    return "<stdin>" if str(path) == "-" else str(path)


def _emit(
    text: str, path: Path, fmt: str, output: Path | None, out_dir: Path | None, header: bool
) -> None:
    if out_dir is not None:
        stem = "stdin" if str(path) == "-" else path.stem
        write_atomic(out_dir / f"{stem}.{EXTENSIONS[fmt]}", text)
    elif output is not None:
        write_atomic(output, text)
    else:
        if header:
            print(f"==> {_display(path)} <==", flush=True)
        sys.stdout.write(text)
        sys.stdout.flush()


def write_atomic(path: Path, text: str) -> None:
    """Write `text` to a temporary file next to `path`, then rename it into place."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None


@contextmanager
def _progress(name: str, duration_s: float) -> Iterator[Progress | None]:
    """A Rich progress bar on stderr for a long file, only when stderr is a terminal."""
    if duration_s < PROGRESS_MIN_S or not is_interactive(sys.stderr):
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, TextColumn, TimeRemainingColumn
    from rich.progress import Progress as Bar

    with Bar(
        TextColumn("{task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
        TimeRemainingColumn(), console=Console(stderr=True), transient=True,
    ) as bar:
        task = bar.add_task(name, total=duration_s)

        def update(done_s: float, total_s: float) -> None:
            bar.update(task, completed=done_s, total=max(total_s, 1e-9))

        yield update
