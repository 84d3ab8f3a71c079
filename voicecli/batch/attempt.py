"""One attempt at one job: a fresh Live session on the batch's shared endpoint, one turn.

The turn itself is `voicecli.ask`'s (send the question, collect the answer); only the endpoint
differs: the batch opens it once for the whole run instead of once per question.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

from voicecli.ask import Answer, Question, answer_with_tools, send_question
from voicecli.audio.pcm import OUT_RATE, WavWriter
from voicecli.batch.jobs import Job
from voicecli.client.backends import connect_options
from voicecli.client.endpoints import build_endpoint
from voicecli.client.live import LiveSession
from voicecli.client.setup import SetupOptions, build_setup, response_modality
from voicecli.settings import Settings, replace, with_values
from voicecli.tools import ToolUse

_SETTING_OF = {"system": "system_instruction", "voice": "voice", "model": "model",
               "response": "response"}


def job_settings(base: Settings, job: Job) -> Settings:
    """The run's settings with the job's own system, voice, model, response and model
    options, checked like config-file values (a bad one fails only this job)."""
    changes: dict[str, Any] = {_SETTING_OF.get(k, k): v for k, v in job.overrides.items()}
    # Retries belong to the batch (counted in `attempts`): one connection per attempt.
    return with_values(replace(base, max_reconnects=0), changes, f"job {job.id}")


def wants_audio(settings: Settings) -> bool:
    return response_modality(settings, needs_audio_out=False) == "AUDIO"


async def attempt(settings: Settings, question: Question, wav: Path | None,
                  tools: ToolUse | None = None) -> Answer:
    """Ask once; the reply audio (if `wav`) lands at `wav` atomically, only on success.
    `tools`: declared, and only allowed ones run (a batch never asks)."""
    options = SetupOptions(
        manual_activity=question.audio_pcm16 is not None,
        input_transcription=question.audio_pcm16 is not None,
        needs_audio_out=wav is not None,
        tools=tools.tools if tools else (),
    )
    endpoint = build_endpoint(settings)
    setup = build_setup(settings, endpoint.model, options)
    with _reply_wav(wav) as writer:
        async with LiveSession(endpoint, setup, connect_options(settings)) as live:
            await send_question(live, question)
            return await answer_with_tools(live, settings, setup.model or "", writer, None,
                                           None, tools)
    raise AssertionError("unreachable")  # pragma: no cover


@contextlib.contextmanager
def _reply_wav(path: Path | None) -> Any:
    """A WavWriter on a hidden temp file, fsynced and renamed onto `path` only on success."""
    if path is None:
        yield None
        return
    part = path.with_name(f".{path.name}.{os.getpid()}.part")
    writer = WavWriter(part, OUT_RATE)
    try:
        yield writer
    except BaseException:
        writer.close()
        part.unlink(missing_ok=True)
        raise
    writer.close()
    _fsync_file(part)
    os.replace(part, path)


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)

