"""Voice activity segmentation honouring the Live API's ``automaticActivityDetection`` settings.

Frames of 30 ms are classified by pocketsphinx's WebRTC GMM VAD (mode 3, the strictest), and a
frame quieter than :data:`ENERGY_FLOOR_DBFS` never counts as speech (digital silence, hiss).
A small state machine turns frame decisions into segments:

* **Start** is committed when enough of the recent frames are speech
  (live-protocol.md §3.1.5, "HIGH detects start of speech more often"):

  ======================== ============================================== =========
  startOfSpeechSensitivity rule                                           ≥ speech
  ======================== ============================================== =========
  HIGH / UNSPECIFIED       3 speech frames among the last 5 (150 ms)      90 ms
  LOW                      8 speech frames among the last 10 (300 ms)     240 ms
  ======================== ============================================== =========

  The reported start (``SpeechStarted.offset_s``) is the first speech frame of that window.
* **Prefix padding** (``prefixPaddingMs``, default 300 ms) is look-back: ``SpeechStarted.preroll``
  holds the audio from ``prefix_padding_ms`` before the reported start up to the commit point
  (never older than the end of the previous segment), rounded to whole 30 ms frames.
* **End** is committed after ``silence_duration_ms`` of non-speech frames
  (``ceil(ms / 30)`` frames). Without it: HIGH / UNSPECIFIED → 800 ms (the server's documented
  default), LOW → 1200 ms ("HIGH ends speech more often"). A lone speech frame inside the silence
  restarts the count only with LOW end sensitivity; with HIGH it takes 2 consecutive ones.
  The reported end (``SpeechEnded.offset_s``) is the end of the last speech frame; the
  ``SpeechAudio`` before it includes the trailing silence up to the commit point.

Offsets are seconds of audio fed since the segmenter was created (``reset`` keeps counting).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import numpy as np
import pocketsphinx

from voicecli.errors import ConfigError

ENERGY_FLOOR_DBFS = -60.0
VAD_MODE = 3
DEFAULT_PREFIX_MS = 300
DEFAULT_SILENCE_MS = {"HIGH": 800, "LOW": 1200}
START_RULE = {"HIGH": (3, 5), "LOW": (8, 10)}  # (speech frames needed, window in frames)
END_RESUME_FRAMES = {"HIGH": 2, "LOW": 1}  # consecutive speech frames that cancel the silence


@dataclass
class VadSettings:
    """The Live API's ``automaticActivityDetection`` values (``None`` = server default)."""

    start_sensitivity: str = "START_SENSITIVITY_HIGH"
    end_sensitivity: str = "END_SENSITIVITY_HIGH"
    prefix_padding_ms: int | None = None
    silence_duration_ms: int | None = None


@dataclass
class SpeechStarted:
    """Speech began ``offset_s`` into the stream; ``preroll`` is the audio before the commit."""

    offset_s: float
    preroll: bytes


@dataclass
class SpeechAudio:
    """Audio inside a speech segment (after its preroll, including trailing silence)."""

    pcm: bytes


@dataclass
class SpeechEnded:
    """Speech ended ``offset_s`` into the stream."""

    offset_s: float


VadEvent = SpeechStarted | SpeechAudio | SpeechEnded


def _level(value: str | None, kind: str) -> str:
    """``START_SENSITIVITY_LOW`` / ``low`` → ``LOW``; unspecified → ``HIGH``."""
    text = (value or "").strip().upper().removeprefix(f"{kind}_SENSITIVITY_")
    if text in ("", "UNSPECIFIED", "HIGH"):
        return "HIGH"
    if text == "LOW":
        return "LOW"
    raise ConfigError(f"unknown {kind.lower()}OfSpeechSensitivity {value!r} (use HIGH or LOW)")


def _non_negative(value: int | None, name: str, default: int) -> int:
    if value is None:
        return default
    if value < 0:
        raise ConfigError(f"{name} must be >= 0, got {value}")
    return int(value)


class SpeechSegmenter:
    """Turns a PCM16 mono stream into speech segments; see the module docstring for the rules."""

    def __init__(self, settings: VadSettings | None = None, rate: int = 16000) -> None:
        settings = settings or VadSettings()
        try:
            self._vad = pocketsphinx.Vad(VAD_MODE, rate, 0.03)
        except ValueError:
            raise ConfigError(f"voice activity detection does not support {rate} Hz") from None
        self.rate = rate
        self.frame_bytes: int = self._vad.frame_bytes
        frame_ms = self.frame_bytes / 2 / rate * 1000
        start = _level(settings.start_sensitivity, "START")
        end = _level(settings.end_sensitivity, "END")
        self.start_frames, self.start_window = START_RULE[start]
        self.resume_frames = END_RESUME_FRAMES[end]
        silence_ms = _non_negative(settings.silence_duration_ms, "silenceDurationMs",
                                   DEFAULT_SILENCE_MS[end])
        prefix_ms = _non_negative(settings.prefix_padding_ms, "prefixPaddingMs", DEFAULT_PREFIX_MS)
        self.end_frames = max(1, math.ceil(silence_ms / frame_ms))
        self.prefix_frames = math.ceil(prefix_ms / frame_ms)
        self._floor = 32768.0 * 10 ** (ENERGY_FLOOR_DBFS / 20)
        self._frame_samples = self.frame_bytes // 2
        self._pos = 0  # sample position (since creation) of the next frame to classify
        self._partial = b""
        self.reset()

    @property
    def in_speech(self) -> bool:
        """True between a SpeechStarted and its SpeechEnded."""
        return self._in_speech

    def reset(self) -> None:
        """Forget any open segment and buffered audio without emitting events."""
        self._pos += len(self._partial) // 2
        self._partial = b""
        self._in_speech = False
        self._recent: deque[tuple[int, bool]] = deque(maxlen=self.start_window)
        self._history: deque[bytes] = deque(maxlen=self.prefix_frames + self.start_window)
        self._speech_run = 0
        self._last_speech_end = 0

    def feed(self, pcm16: bytes) -> list[VadEvent]:
        """Add audio of any length; returns the events it completes, in order."""
        data = self._partial + bytes(pcm16)
        n = len(data) // self.frame_bytes * self.frame_bytes
        self._partial = data[n:]
        events: list[VadEvent] = []
        audio = bytearray()
        for i in range(0, n, self.frame_bytes):
            self._step(data[i : i + self.frame_bytes], events, audio)
        _flush_audio(events, audio)
        return events

    def flush(self) -> list[VadEvent]:
        """End of the audio stream: closes an open segment (including any partial frame)."""
        events: list[VadEvent] = []
        if self._in_speech:
            if self._partial:
                events.append(SpeechAudio(self._partial))
            events.append(SpeechEnded(self._seconds(self._last_speech_end)))
        self.reset()
        return events

    # -- internals -----------------------------------------------------------------------------

    def _step(self, frame: bytes, events: list[VadEvent], audio: bytearray) -> None:
        speech = self._is_speech(frame)
        pos = self._pos
        self._pos += self._frame_samples
        if self._in_speech:
            audio += frame
            self._track_end(speech, events, audio)
        else:
            self._history.append(frame)
            self._recent.append((pos, speech))
            if sum(s for _, s in self._recent) >= self.start_frames:
                self._start(events)

    def _start(self, events: list[VadEvent]) -> None:
        onset = next(p for p, s in self._recent if s)
        keep = min(len(self._history),
                   (self._pos - onset) // self._frame_samples + self.prefix_frames)
        preroll = b"".join(list(self._history)[len(self._history) - keep :])
        events.append(SpeechStarted(self._seconds(onset), preroll))
        self._in_speech = True
        self._speech_run = 0
        self._last_speech_end = self._pos
        self._history.clear()
        self._recent.clear()

    def _track_end(self, speech: bool, events: list[VadEvent], audio: bytearray) -> None:
        if speech:
            self._speech_run += 1
            contiguous = self._last_speech_end == self._pos - self._frame_samples
            if contiguous or self._speech_run >= self.resume_frames:
                self._last_speech_end = self._pos
            return
        self._speech_run = 0
        if self._pos - self._last_speech_end >= self.end_frames * self._frame_samples:
            _flush_audio(events, audio)
            events.append(SpeechEnded(self._seconds(self._last_speech_end)))
            self._in_speech = False

    def _is_speech(self, frame: bytes) -> bool:
        samples = np.frombuffer(frame, dtype=np.int16).astype(np.float32)
        if math.sqrt(float(np.mean(samples * samples))) < self._floor:
            return False
        return bool(self._vad.is_speech(frame))

    def _seconds(self, sample_pos: int) -> float:
        return sample_pos / self.rate


def _flush_audio(events: list[VadEvent], audio: bytearray) -> None:
    if audio:
        events.append(SpeechAudio(bytes(audio)))
        audio.clear()
