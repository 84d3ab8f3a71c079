"""When samples met the converter: PortAudio timestamps carried from the callback to the loop.

Echo cancellation needs the time each speaker sample reached the DAC and each mic sample left the
ADC. The callback knows both (``time_info``); it stores one (frame position, monotonic time) mark
per block into preallocated arrays, a few scalar stores and nothing more (style-guide §7). The
loop side then asks for the time of any recent frame position.

``SpeakerTap`` adds a copy of exactly what was played, for the canceller's far-end (reference)
stream.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from voicecli.audio.ringbuffer import RingBuffer

MARKS = 1024  # ≈ 10 s of 10 ms blocks


class Timeline:
    """Marks (position, time) written by one thread, read by another (single producer)."""

    def __init__(self, rate: int, marks: int = MARKS) -> None:
        self.rate = rate
        self._pos = np.zeros(marks, dtype=np.int64)
        self._t = np.zeros(marks, dtype=np.float64)
        self._k = 0  # producer-owned: marks ever written; stored after the slot is filled

    def mark(self, position: int, at: float) -> None:
        """Producer (PortAudio thread): frame `position` met the converter at `at` (monotonic)."""
        slot = self._k % len(self._pos)
        self._pos[slot] = position
        self._t[slot] = at
        self._k += 1

    def time_of(self, position: int) -> float | None:
        """Consumer: the monotonic time of frame `position`, from the latest mark at or before it
        (or the oldest mark after it); None before any mark."""
        newest = self._k
        oldest = max(0, newest - len(self._pos) + 1)  # a slot being rewritten is skipped
        for k in range(newest - 1, oldest - 1, -1):
            slot = k % len(self._pos)
            if self._pos[slot] <= position or k == oldest:
                return float(self._t[slot]) + (position - int(self._pos[slot])) / self.rate
        return None

    def earliest_bound(self, position: int, window: int = 100) -> float | None:
        """The time of frame ``position`` from the least delayed of the last ``window`` marks:
        ``min(t_k - pos_k / rate) + position / rate``. For marks made when a block's last frame
        was already in hand (input callbacks), each mark bounds that moment from above and the
        least delayed one is the tightest; scheduling delays and PortAudio's latency estimates,
        which PulseAudio's ALSA plugin lets drift by tens of ms after a stream opens, drop out."""
        newest = self._k
        count = min(window, newest, len(self._pos) - 1)
        if count <= 0:
            return None
        slots = np.arange(newest - count, newest) % len(self._pos)
        offsets = self._t[slots] - self._pos[slots] / self.rate
        return float(offsets.min()) + position / self.rate


def dac_time(time_info: Any) -> float:
    """Monotonic time at which this output block will be heard (callback side)."""
    now = time.monotonic()
    try:
        ahead = float(time_info.outputBufferDacTime) - float(time_info.currentTime)
    except (AttributeError, TypeError, ValueError):
        return now
    return now + ahead if 0.0 <= ahead < 2.0 else now


def adc_time(time_info: Any) -> float:
    """Monotonic time at which the first sample of this input block was captured."""
    now = time.monotonic()
    try:
        behind = float(time_info.currentTime) - float(time_info.inputBufferAdcTime)
    except (AttributeError, TypeError, ValueError):
        return now
    return now - behind if 0.0 <= behind < 2.0 else now


class SpeakerTap:
    """A copy of every block the speaker played (silence included), with its DAC times."""

    def __init__(self, rate: int, seconds: float = 5.0) -> None:
        self.rate = rate
        self.ring = RingBuffer(int(rate * seconds))
        self.timeline = Timeline(rate)

    def record(self, block: np.ndarray, time_info: Any) -> None:
        """PortAudio thread: one copy and one mark."""
        self.timeline.mark(self.ring.write_position, dac_time(time_info))
        self.ring.write(block)

    def take(self) -> tuple[np.ndarray, float | None]:
        """Loop side: everything played since the last take, and the DAC time of its first
        sample."""
        start = self.ring.read_position
        out = np.empty(self.ring.available, dtype=np.float32)
        n = self.ring.read_into(out)
        return out[:n], self.timeline.time_of(start)
