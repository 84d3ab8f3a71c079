"""faster-whisper as the local engine's recogniser, when the user installs it and names a model.

Not a dependency: its wheel ships no Whisper weights and pulls in ~360 MB (ctranslate2,
onnxruntime, av; ../shared/components.md §3). With it installed, ``--asr whisper --asr-model
NAME_OR_PATH`` uses a converted model folder on disk, or downloads a named one (``tiny.en``,
``base``, ``small``…) on first use where a network exists; offline, a clear error says so.

Whisper decodes whole utterances, so this recogniser has the streaming API of
:class:`voicecli.speech.asr.Recognizer` but returns no partial hypotheses: `feed` buffers and
`finish` transcribes. Language hints are honoured (Whisper is multilingual): ``en-US`` → ``en``.
Models are loaded once per process and shared by every recogniser.
"""

from __future__ import annotations

import functools
import threading
from typing import Any

import numpy as np

from voicecli.errors import ConfigError

INSTALL_HINT = "pip install faster-whisper"
_load_lock = threading.Lock()


def whisper_language(code: str | None) -> str | None:
    """BCP-47 → Whisper's two-letter code (``None`` = let Whisper detect it)."""
    if not code:
        return None
    return code.strip().lower().replace("_", "-").split("-")[0] or None


@functools.cache
def _model(name: str) -> Any:
    try:
        from faster_whisper import WhisperModel
    except ImportError:
        raise ConfigError(f"--asr whisper needs faster-whisper, which is not installed: "
                          f"{INSTALL_HINT}") from None
    try:
        return WhisperModel(name, device="cpu", compute_type="int8")
    except Exception as exc:  # noqa: BLE001 - hub, ctranslate2 and OS errors, said in one line
        raise ConfigError(
            f"faster-whisper could not load model {name!r}: it is not on disk and could not be "
            f"downloaded ({type(exc).__name__}); give a converted model folder with --asr-model"
        ) from None


def load_model(name: str) -> Any:
    """The shared model (loads it the first time; raises ConfigError with one clear line)."""
    with _load_lock:
        return _model(name)


class WhisperRecognizer:
    """``start()``, ``feed()`` 16 kHz PCM16 (buffered), ``finish()`` → the utterance's text."""

    def __init__(self, model: str, language: str | None = None) -> None:
        self.model_name = model
        self.language = language or "en-US"
        self._model = load_model(model)
        self._hint = whisper_language(language)
        self._audio = bytearray()
        self._closed = False

    def start(self) -> None:
        self._audio.clear()

    def feed(self, pcm16_16k: bytes) -> str:
        self._check()
        self._audio += pcm16_16k
        return ""  # Whisper has no partial hypotheses

    def finish(self) -> str:
        self._check()
        pcm, self._audio = bytes(self._audio[: len(self._audio) // 2 * 2]), bytearray()
        if not pcm:
            return ""
        samples = np.frombuffer(pcm, dtype=np.int16).astype(np.float32) / 32768.0
        segments, _info = self._model.transcribe(samples, language=self._hint, beam_size=1,
                                                 vad_filter=False)
        return " ".join(segment.text.strip() for segment in segments).strip()

    def transcribe(self, pcm16_16k: bytes) -> str:
        self.start()
        self.feed(pcm16_16k)
        return self.finish()

    def close(self) -> None:
        self._closed = True
        self._audio.clear()

    def _check(self) -> None:
        if self._closed:
            raise ValueError("Recognizer is closed")
