"""Speaker: 24 kHz PCM16 in, resampled on the loop thread into a ring, played by a callback.

Threads: ``play``/``flush``/``start_turn``/``end_of_turn`` run on the event loop (the ring's
producer); ``_callback`` runs on PortAudio's thread (the consumer). They share only ints and bools,
each stored by one side (see ringbuffer.py for why that is safe). The callback copies, zero-fills,
bumps counters and reads generation numbers; resampling and prebuffer adaptation stay on the loop.

Turns: the first ``play()`` of a turn starts it; the callback waits until ``prebuffer_ms`` is
buffered (or ``end_of_turn()`` was called) before draining, which absorbs bursty delivery. A ring
that runs dry mid-turn is an underrun: the block is zero-filled, counted, and playback re-buffers;
``play()`` then grows the prebuffer by 20 ms (at most 200 ms), and every clean turn shrinks it by
5 ms (at least 40 ms). ``flush()`` (barge-in) makes the callback's next block fade out over 4 ms
and drop the rest of the ring, and makes ``play()`` drop audio until ``start_turn()`` (or
``end_of_turn()``, which closes the interrupted turn).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import soxr

from voicecli.audio._streams import DeviceStream
from voicecli.audio.pcm import OUT_RATE
from voicecli.audio.ringbuffer import RingBuffer
from voicecli.audio.timeline import SpeakerTap
from voicecli.errors import AudioDeviceError

FADE_MS = 4.0
PREBUFFER_MIN_MS, PREBUFFER_MAX_MS = 40.0, 200.0


@dataclass
class PlaybackStats:
    underruns: int = 0  # blocks zero-filled mid-turn (callback)
    dropped_frames: int = 0  # device-rate frames refused by a full ring
    late_dropped_frames: int = 0  # input frames played after flush() and before start_turn()
    flushes: int = 0
    device_underflows: int = 0  # PortAudio's output_underflow flag (callback)


class Speaker(DeviceStream):
    """AudioOutput on a PortAudio OutputStream (float32 mono, 24 kHz if the device takes it)."""

    kind = "output"
    preferred_rate = OUT_RATE

    def __init__(self, device: str | int | None = None, *, latency: float | str = 0.1,
                 prebuffer_ms: float = 60.0, block_ms: float = 10.0,
                 capacity_s: float = 120.0) -> None:
        self.device = device
        self.latency = latency
        self.block_ms = block_ms
        self.capacity_s = capacity_s
        self.prebuffer_ms = min(max(prebuffer_ms, PREBUFFER_MIN_MS), PREBUFFER_MAX_MS)
        self.stats = PlaybackStats()
        self.rate = 0
        self.tap: SpeakerTap | None = None  # what was played, for echo cancellation
        self.device_name = ""
        # loop-side state
        self._accepting = True
        self._in_turn = False
        self._carry = b""
        self._resampler: soxr.ResampleStream | None = None
        self._in_rate = OUT_RATE
        self._underruns_seen = 0
        self._underruns_at_turn = -1  # no previous turn to judge yet
        # shared: stored by the loop, read by the callback
        self._turn_gen = 0
        self._eot_gen = -1
        self._flush_gen = 0
        self._prebuffer_frames = 0
        # shared: stored by the callback, read by the loop
        self._flushed_gen = 0
        self._playing = False
        self._heard_gen = -1
        self._heard_t = 0.0

    def setup(self, rate: int) -> None:
        """Allocate everything for device ``rate`` (done by open; tests call it without one)."""
        self.rate = rate
        self._ring = RingBuffer(int(self.capacity_s * rate))
        fade = max(1, round(rate * FADE_MS / 1000))
        self._ramp = (0.5 + 0.5 * np.cos(np.linspace(0.0, np.pi, fade))).astype(np.float32)
        self._fade_buf = np.zeros(fade, dtype=np.float32)
        self._set_prebuffer(self.prebuffer_ms)

    # ---- lifecycle ------------------------------------------------------------------------

    def raise_if_failed(self) -> None:
        if self._failed is None and self._stream is not None and not self._closing:
            if not self._stream.active:
                self._failed = "the output stream is no longer running"
        if self._failed is not None:
            raise AudioDeviceError(f"the speaker ({self.device_name}) stopped: {self._failed};"
                                   " check that the device is still connected")

    # ---- loop side ------------------------------------------------------------------------

    @property
    def buffered_ms(self) -> float:
        return self._ring.available * 1000.0 / self.rate if self.rate else 0.0

    @property
    def heard_at(self) -> float | None:
        """time.monotonic() when the callback first read a sample of the current turn."""
        return self._heard_t if self._heard_gen == self._turn_gen else None

    def enable_tap(self) -> SpeakerTap:
        """Keep a copy of every played block with its DAC time (echo cancellation's far end).
        Call after the stream is open; the caller must `take()` from it regularly."""
        if self.tap is None:
            self.tap = SpeakerTap(self.rate or OUT_RATE)
        return self.tap

    def play(self, pcm16: bytes, rate: int = OUT_RATE) -> None:
        """Queue PCM16 mono audio; resamples on this thread, never blocks, drops what does not
        fit (stats.dropped_frames). After flush(), drops everything until start_turn()."""
        if not self._accepting:
            self.stats.late_dropped_frames += len(pcm16) // 2
            return
        if not self._in_turn:
            self._begin_turn()
        self._adapt()
        samples = self._resample(pcm16, rate)
        self.stats.dropped_frames += len(samples) - self._ring.write(samples)

    def end_of_turn(self) -> None:
        """All of this turn's audio is here: play out whatever the prebuffer holds. After a
        flush() it means the interrupted turn is over, so play() is accepted again."""
        if self._in_turn and self._resampler is not None:
            tail = self._resampler.resample_chunk(np.zeros(0, np.float32), last=True)
            self.stats.dropped_frames += len(tail) - self._ring.write(tail)
        self._resampler, self._carry = None, b""
        self._eot_gen = self._turn_gen
        self._in_turn = False
        self._accepting = True

    def flush(self) -> None:
        """Barge-in: the callback's next block fades out and the ring is emptied; audio passed
        to play() afterwards is dropped until start_turn()."""
        self._ring.clear()
        self._flush_gen += 1
        self._turn_gen += 1  # heard_at -> None; the fade is not the next turn's audio
        self._accepting = self._in_turn = False
        self._resampler, self._carry = None, b""
        self.stats.flushes += 1

    def start_turn(self) -> None:
        """A new model turn begins: play() is accepted again after a flush(). Optional otherwise
        (the first play() after end_of_turn() starts the next turn by itself)."""
        self._accepting = True
        self._in_turn = False

    def _begin_turn(self) -> None:
        if self.stats.underruns == self._underruns_at_turn:
            self._set_prebuffer(self.prebuffer_ms - 5.0)
        self._underruns_at_turn = self.stats.underruns
        self._turn_gen += 1
        self._in_turn = True

    def _adapt(self) -> None:
        if self.stats.underruns != self._underruns_seen:
            self._underruns_seen = self.stats.underruns
            self._set_prebuffer(self.prebuffer_ms + 20.0)

    def _set_prebuffer(self, ms: float) -> None:
        self.prebuffer_ms = min(max(ms, PREBUFFER_MIN_MS), PREBUFFER_MAX_MS)
        self._prebuffer_frames = round(self.prebuffer_ms * self.rate / 1000)

    def _resample(self, pcm16: bytes, rate: int) -> np.ndarray:
        data = self._carry + bytes(pcm16)
        cut = len(data) - len(data) % 2
        data, self._carry = data[:cut], data[cut:]
        samples = np.frombuffer(data, dtype="<i2").astype(np.float32) / np.float32(32768.0)
        if rate == self.rate:
            return samples
        if self._resampler is None or self._in_rate != rate:
            self._resampler = soxr.ResampleStream(rate, self.rate, 1, dtype="float32")
            self._in_rate = rate
        return self._resampler.resample_chunk(samples)

    # ---- PortAudio thread -----------------------------------------------------------------

    def _callback(self, outdata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
        out = outdata[:, 0]
        if status.output_underflow:
            self.stats.device_underflows += 1
        if self._flush_gen != self._flushed_gen:
            self._fade_out(out)
        elif self._playing or self._start_playing():
            self._drain_into(out)
        else:
            out.fill(0.0)
        if self.tap is not None:
            self.tap.record(out, time_info)

    def _fade_out(self, out: np.ndarray) -> None:
        self._flushed_gen = self._flush_gen
        self._playing = False
        n = self._ring.read_before_clear(self._fade_buf[:len(out)])
        np.multiply(self._fade_buf[:n], self._ramp[:n], out=out[:n])
        out[n:] = 0.0

    def _start_playing(self) -> bool:
        available = self._ring.available
        if available and (available >= self._prebuffer_frames or self._eot_gen == self._turn_gen):
            self._playing = True
        return self._playing

    def _drain_into(self, out: np.ndarray) -> None:
        n = self._ring.read_into(out)
        if n < len(out):
            out[n:] = 0.0
            self._playing = False  # re-buffer (mid-turn) or wait for the next turn
            if self._eot_gen != self._turn_gen:
                self.stats.underruns += 1
        if n and self._heard_gen != self._turn_gen:
            self._heard_t = time.monotonic()
            self._heard_gen = self._turn_gen
