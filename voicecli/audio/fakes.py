"""AudioInput / AudioOutput (voicecli.audio.interfaces) with no device: for tests, benchmarks
and batch runs.

``ArrayMicrophone`` serves a PCM16 buffer chunk by chunk (paced at 1x, or as fast as read).
``NullSpeaker`` "plays" at 1x by timestamps (no task, no thread): whatever has been consumed by
now is appended to ``heard``; it honours flush / start_turn / end_of_turn like Speaker, without
the prebuffer.
"""

from __future__ import annotations

import asyncio
import time
from typing import Self

import numpy as np

from voicecli.audio.capture import CaptureStats
from voicecli.audio.pcm import IN_RATE, OUT_RATE, resample, rms_dbfs
from voicecli.audio.playback import PlaybackStats
from voicecli.errors import AudioDeviceError


class ArrayMicrophone:
    """Serves ``pcm16_16k`` (16 kHz mono PCM16) as ``chunk_ms`` chunks; the last one is padded.

    Afterwards it serves digital silence (``then_silence=True``) or raises EOFError.
    ``fail(reason)`` simulates a device that died.
    """

    rate = IN_RATE  # what a device would run at: the buffer is already 16 kHz
    device_name = ""  # no device

    def __init__(self, pcm16_16k: bytes, *, chunk_ms: int = 20, realtime: bool = True,
                 then_silence: bool = True) -> None:
        self.chunk_ms = chunk_ms
        self.realtime = realtime
        self.then_silence = then_silence
        self.level_dbfs = -float("inf")
        self.stats = CaptureStats()
        self.patience_ms = 0.0  # a hint to devices; the buffer is served chunk by chunk anyway
        self.wake_peak = 0.0
        self.chunks_read = 0
        self._data = bytes(pcm16_16k)[: len(pcm16_16k) - len(pcm16_16k) % 2]
        self._chunk_bytes = 2 * IN_RATE * chunk_ms // 1000
        self._pos = 0
        self._t0: float | None = None
        self._failed: str | None = None

    async def __aenter__(self) -> Self:
        self._t0 = time.monotonic()
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    @property
    def exhausted(self) -> bool:
        return self._pos >= len(self._data)

    @property
    def chunk_captured_at(self) -> float | None:
        """No ADC: the echo path takes the chunk as just captured."""
        return None

    @property
    def chunk_ready(self) -> bool:
        """Served chunk by chunk, as a device with one block per chunk would."""
        return False

    async def read_chunk(self) -> bytes:
        self._check_alive()
        if self.exhausted and not self.then_silence:
            raise EOFError("ArrayMicrophone: no more audio")
        if self.realtime:
            if self._t0 is None:
                self._t0 = time.monotonic()
            due = self._t0 + (self.chunks_read + 1) * self.chunk_ms / 1000
            await asyncio.sleep(max(0.0, due - time.monotonic()))
        chunk = self._data[self._pos:self._pos + self._chunk_bytes]
        self._pos += self._chunk_bytes
        chunk += bytes(self._chunk_bytes - len(chunk))
        self.chunks_read += 1
        self.level_dbfs = rms_dbfs(chunk)
        if np.frombuffer(chunk, dtype="<i2").any():  # kept like Microphone's
            self.stats.silent_s, self.stats.signal_seen = 0.0, True
        else:
            self.stats.silent_s += self.chunk_ms / 1000
        return chunk

    def fail(self, reason: str = "simulated device loss") -> None:
        self._failed = reason

    def raise_if_failed(self) -> None:
        self._check_alive()

    def _check_alive(self) -> None:
        if self._failed is not None:
            raise AudioDeviceError(f"the microphone (ArrayMicrophone) stopped: {self._failed}")


class NullSpeaker:
    """Consumes audio at 1x (``realtime=True``) or instantly; ``heard`` holds what was played
    (24 kHz PCM16). Audio is consumed lazily: every public accessor first catches up to now."""

    rate = OUT_RATE

    def __init__(self, realtime: bool = True) -> None:
        self.realtime = realtime
        self.stats = PlaybackStats()
        self.turns = 0
        self._heard = bytearray()
        self._queue = bytearray()
        self._clock = time.monotonic()  # consumption has been accounted up to here
        self._accepting = True
        self._in_turn = False
        self._heard_at: float | None = None
        self._failed: str | None = None

    async def __aenter__(self) -> Self:
        self._clock = time.monotonic()
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    @property
    def heard(self) -> bytes:
        self._advance()
        return bytes(self._heard)

    @property
    def buffered_ms(self) -> float:
        self._advance()
        return len(self._queue) / 2 * 1000.0 / self.rate

    @property
    def heard_at(self) -> float | None:
        self._advance()
        return self._heard_at

    def play(self, pcm16: bytes, rate: int = OUT_RATE) -> None:
        self._advance()
        if not self._accepting:
            self.stats.late_dropped_frames += len(pcm16) // 2
            return
        if not self._in_turn:
            self._in_turn, self._heard_at = True, None
            self.turns += 1
        samples = np.frombuffer(bytes(pcm16)[: len(pcm16) - len(pcm16) % 2], dtype="<i2")
        self._queue += resample(samples, rate, self.rate).tobytes()
        self._advance()

    def end_of_turn(self) -> None:
        self._advance()
        self._in_turn, self._accepting = False, True

    def flush(self) -> None:
        self._advance()
        self._queue.clear()
        self._accepting = self._in_turn = False
        self._heard_at = None
        self.stats.flushes += 1

    def start_turn(self) -> None:
        self._advance()
        self._accepting, self._in_turn = True, False

    def fail(self, reason: str = "simulated device loss") -> None:
        self._failed = reason

    def raise_if_failed(self) -> None:
        if self._failed is not None:
            raise AudioDeviceError(f"the speaker (NullSpeaker) stopped: {self._failed}")

    def _advance(self) -> None:
        now = time.monotonic()
        if not self._queue:
            self._clock = now
            return
        frames = len(self._queue) // 2
        if self.realtime:
            frames = min(frames, int((now - self._clock) * self.rate))
        if self._heard_at is None:  # the first sample starts sounding now, not once it is done
            self._heard_at = self._clock if self.realtime else now
        if frames <= 0:
            return
        self._heard += self._queue[:2 * frames]
        del self._queue[:2 * frames]
        self._clock = now if not self._queue else self._clock + frames / self.rate
