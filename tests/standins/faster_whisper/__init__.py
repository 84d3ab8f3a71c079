"""A stand-in for faster-whisper, whose Whisper weights cannot be downloaded on these machines.

It follows faster-whisper 1.x's public API as voicecli uses it (``WhisperModel(name_or_path,
device=, compute_type=)``, ``transcribe(float32 audio, language=, ...) -> (segments, info)``,
segments carrying ``.text``). It "loads" a model only from an existing folder or the name
``tiny.en`` listed in ``STANDIN_WHISPER_CACHED``; any other name fails the way an offline hub
download does. It recognises with pocketsphinx (so the text is real recognition), and appends
each call's language hint to the file named by ``STANDIN_WHISPER_LOG`` so tests can see it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__version__ = "1.2.1-standin"


class LocalEntryNotFoundError(OSError):
    """What huggingface_hub raises when a model is neither cached nor downloadable."""


@dataclass
class Segment:
    start: float
    end: float
    text: str


@dataclass
class TranscriptionInfo:
    language: str
    language_probability: float
    duration: float


class WhisperModel:
    def __init__(self, model_size_or_path: str, device: str = "auto",
                 compute_type: str = "default", **_: object) -> None:
        cached = os.environ.get("STANDIN_WHISPER_CACHED", "").split(",")
        if not Path(model_size_or_path).is_dir() and model_size_or_path not in cached:
            raise LocalEntryNotFoundError(
                "An error happened while trying to locate the files on the Hub and we cannot find "
                "the appropriate snapshot folder for the specified revision on the local disk.")
        self.name = model_size_or_path

    def transcribe(self, audio: np.ndarray, language: str | None = None, **_: object):  # type: ignore[no-untyped-def]
        from voicecli.speech.asr import Recognizer

        log = os.environ.get("STANDIN_WHISPER_LOG")
        if log:
            with open(log, "a") as f:
                f.write(f"{language}\n")
        pcm = (np.clip(audio, -1, 1) * 32767).astype(np.int16).tobytes()
        with Recognizer() as recognizer:
            text = recognizer.transcribe(pcm)
        duration = len(audio) / 16000
        segments = iter([Segment(0.0, duration, " " + text.capitalize() + ".")] if text else [])
        return segments, TranscriptionInfo(language or "en", 1.0, duration)
