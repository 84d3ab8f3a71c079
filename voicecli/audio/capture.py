"""Microphone: PortAudio InputStream → ring (callback only copies) → 16 kHz PCM16 chunks.

The callback (PortAudio's thread) copies each block into a preallocated ring and counts device
overflows and ring-full drops. ``read_chunk()`` (the event loop) polls the ring a few times per
chunk, resamples from the device rate to 16 kHz with a streaming soxr resampler, and returns
exactly ``chunk_ms`` of audio. With ``patience_ms`` set (idle listening), ``read_chunk()`` waits
until that much is there before it wakes, so a caller that reads in a loop runs once per
``patience_ms`` instead of once per chunk; a block louder than ``wake_peak`` ends the wait at once
(the callback wakes the loop), so speech is not delayed. Failures surface as AudioDeviceError:
from ``read_chunk()`` when the stream died or delivers nothing, from ``raise_if_failed()`` also
for a mic that gives only digital zeros (muted, or no permission).
"""

from __future__ import annotations

import asyncio
import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import soxr

from voicecli.audio._streams import DeviceStream
from voicecli.audio.pcm import IN_RATE, rms_dbfs
from voicecli.audio.ringbuffer import RingBuffer
from voicecli.audio.timeline import Timeline
from voicecli.errors import AudioDeviceError

BLOCK_JITTER_S = 0.003  # how late a PortAudio block may come (PulseAudio, loaded machine)


@dataclass
class CaptureStats:
    overflows: int = 0  # blocks PortAudio flagged input_overflow (the device lost samples)
    dropped_frames: int = 0  # device-rate frames refused by a full ring (the loop fell behind)
    silent_s: float = 0.0  # length of the current run of all-zero chunks
    signal_seen: bool = False  # any non-zero sample since the stream opened


def to_pcm16(samples: np.ndarray) -> bytes:
    """float32 [-1, 1) → little-endian PCM16 bytes (clipped)."""
    scaled = np.multiply(samples, np.float32(32768.0), dtype=np.float32)
    np.rint(scaled, out=scaled)
    np.clip(scaled, -32768.0, 32767.0, out=scaled)
    return scaled.astype("<i2").tobytes()


class Microphone(DeviceStream):
    """AudioInput on a PortAudio InputStream (float32 mono, 16 kHz if the device takes it)."""

    kind = "input"
    preferred_rate = IN_RATE

    def __init__(self, device: str | int | None = None, *, chunk_ms: int = 20,
                 latency: float | str = 0.1, silence_timeout_s: float | None = 5.0,
                 stall_timeout_s: float = 3.0, block_ms: float = 10.0,
                 capacity_s: float = 10.0) -> None:
        if not 10 <= chunk_ms <= 100:
            raise ValueError(f"chunk_ms must be 10..100, got {chunk_ms}")
        self.device = device
        self.chunk_ms = chunk_ms
        self.latency = latency
        self.silence_timeout_s = silence_timeout_s
        self.stall_timeout_s = stall_timeout_s
        self.block_ms = block_ms
        self.capacity_s = capacity_s
        self.level_dbfs = -float("inf")
        self.stats = CaptureStats()
        self.rate = 0
        self.device_name = ""
        self._pending = bytearray()
        self._chunk_index: int | None = None  # 16 kHz index of the last chunk's first sample
        self._origin: int | None = None  # ring position of the first device frame read
        self._returned = 0  # 16 kHz samples handed out by read_chunk
        self._chunk_bytes = 2 * IN_RATE * chunk_ms // 1000
        self._last_data = time.monotonic()
        self._block_at = 0.0  # callback-owned: time.monotonic() of the last block delivered
        self.patience_ms = 0.0  # read_chunk waits for this much audio (0: for one chunk)
        self.wake_peak = 0.0  # while it waits, a block with a sample beyond this wakes it
        self._released = False  # the pending chunks may go out without waiting again
        self._waiter: tuple[asyncio.AbstractEventLoop, asyncio.Future[bool]] | None = None

    def setup(self, rate: int) -> None:
        """Allocate everything for device ``rate`` (done by open; tests call it without one)."""
        self.rate = rate
        self._ring = RingBuffer(int(self.capacity_s * rate))
        self._timeline = Timeline(rate)
        self._block = np.zeros(max(1, rate * self.chunk_ms // 1000), dtype=np.float32)
        self._resampler = (None if rate == IN_RATE
                           else soxr.ResampleStream(rate, IN_RATE, 1, dtype="float32"))
        self._last_data = time.monotonic()

    # ---- loop side ------------------------------------------------------------------------

    async def read_chunk(self) -> bytes:
        """The next ``chunk_ms`` of 16 kHz mono PCM16. Waits for it: sleeps until the missing
        part should have been recorded (one wake-up per chunk, not a poll every few ms), then
        takes what the callback delivered. Cancelling is safe: nothing read is lost, it stays
        pending.

        Raises:
            AudioDeviceError: the stream died, or delivered nothing for ``stall_timeout_s``.
        """
        while True:
            while self._pull():
                pass
            pending = len(self._pending)
            if pending >= self._chunk_bytes and (self._released or pending >= self._target_bytes()):
                break
            self._check_alive()
            if await self._wait(self._wait_s()):  # woken by a loud block: no more patience
                self._released = True
        chunk = bytes(self._pending[:self._chunk_bytes])
        del self._pending[:self._chunk_bytes]
        self._released = len(self._pending) >= self._chunk_bytes  # what is left follows at once
        self._chunk_index = self._returned
        self._returned += self._chunk_bytes // 2
        self._account(chunk)
        return chunk

    @property
    def chunk_captured_at(self) -> float | None:
        """ADC time of the last chunk's first sample (worked out when asked: only echo
        handling needs it)."""
        return None if self._chunk_index is None else self._captured_at(self._chunk_index)

    @property
    def chunk_ready(self) -> bool:
        """The next chunk is here already (a block holds several chunks): read_chunk returns
        it without waiting."""
        return len(self._pending) >= self._chunk_bytes

    def _target_bytes(self) -> int:
        """How much read_chunk waits for: one chunk, or ``patience_ms`` in whole chunks."""
        chunks = max(1, round(self.patience_ms / self.chunk_ms))
        return chunks * self._chunk_bytes

    def _wait_s(self) -> float:
        """How long until the target should be complete: the missing samples' duration, but
        not before the next block is due (a block longer than a chunk: waking earlier finds
        nothing new), plus a little (1 ms) so that the block carrying them has been delivered."""
        target = self._chunk_bytes if self._released else self._target_bytes()
        missing = min(max((target - len(self._pending)) / 2 / IN_RATE, 0.0), target / 2 / IN_RATE)
        block_s = self.block_ms / 1000
        next_block = self._block_at + block_s - time.monotonic()
        if missing > block_s and self._block_at:
            # Several blocks away: wake when the block that completes the target is due (plus
            # its jitter), not at the nominal end of the audio, which a block boundary may
            # straddle (a 100 ms target in 40 ms blocks woke at 80 ms to find it short).
            blocks = math.ceil(missing / block_s - 0.05)
            return max(next_block + (blocks - 1) * block_s, 0.0) + BLOCK_JITTER_S
        return max(missing, min(next_block, block_s)) + 0.001

    async def _wait(self, delay: float) -> bool:
        """Sleep ``delay``; while patient, a loud block (the callback) ends it early: True."""
        if self.patience_ms <= self.chunk_ms:
            await asyncio.sleep(delay)
            return False
        loop = asyncio.get_running_loop()
        woken: asyncio.Future[bool] = loop.create_future()
        timer = loop.call_later(delay, _resolve, woken, False)
        self._waiter = (loop, woken)
        try:
            return await woken
        finally:
            self._waiter = None
            timer.cancel()

    def raise_if_failed(self) -> None:
        """AudioDeviceError if the device died, or has given nothing but digital silence since it
        opened for ``silence_timeout_s`` (a mic without permission, or muted in hardware). Once
        any signal was seen, silence is not an error: virtual and noise-gated mics give zeros."""
        self._check_alive()
        limit = self.silence_timeout_s
        if limit is not None and not self.stats.signal_seen and self.stats.silent_s >= limit:
            raise AudioDeviceError(
                f"the microphone ({self.device_name}) has delivered only digital silence for"
                f" {self.stats.silent_s:.0f} s: it is probably muted, or this program lacks"
                " permission to use it (check the system's privacy / microphone settings)")

    def _pull(self) -> bool:
        start = self._ring.read_position
        n = self._ring.read_into(self._block)
        if n == 0:
            return False
        if self._origin is None:
            self._origin = start
        samples = self._block[:n]
        if self._resampler is not None:
            samples = self._resampler.resample_chunk(samples)
        self._pending += to_pcm16(samples)
        self._last_data = time.monotonic()
        return True

    def _captured_at(self, index: int) -> float | None:
        """ADC time of 16 kHz output sample ``index``. From the sample count, not from the pull
        that produced it (the resampler holds back a varying few ms of input), placed by the least
        delayed recent callback (Timeline.earliest_bound): the callback holds the block's last
        frame, so its least delayed mark is that frame's capture plus only what the host adds.

        The stream's reported input latency is not subtracted: PortAudio reports twice the block
        (the whole ALSA buffer), a wait the first frame of a block has but not the last one the
        marks are for, and on the virtual devices the echo then moved 40 ms earlier per 20 ms of
        block (a 120 ms loopback at 80/70/30/-10 ms for 10/20/40/60 ms blocks; without it 110 ms
        at every block size: `voicecli doctor`, tests/e2e/test_echo.py)."""
        if self._origin is None:
            return None
        return self._timeline.earliest_bound(self._origin + round(index * self.rate / IN_RATE))

    def _account(self, chunk: bytes) -> None:
        self.level_dbfs = rms_dbfs(chunk)
        if self.level_dbfs > -math.inf:  # any non-zero sample
            self.stats.silent_s, self.stats.signal_seen = 0.0, True
        else:
            self.stats.silent_s += self.chunk_ms / 1000

    def _check_alive(self) -> None:
        stream = self._stream
        if self._failed is None and stream is not None and not self._closing:
            quiet_s = time.monotonic() - self._last_data
            if quiet_s > 2 * self.block_ms / 1000 and not stream.active:  # asked only when due
                self._failed = "the input stream is no longer running"
            elif quiet_s > self.stall_timeout_s:
                self._failed = f"no audio arrived for {self.stall_timeout_s:.0f} s"
        if self._failed is not None:
            raise AudioDeviceError(f"the microphone ({self.device_name}) stopped: {self._failed};"
                                   " check that it is still connected")

    # ---- PortAudio thread -----------------------------------------------------------------

    def _callback(self, indata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
        if status.input_overflow:
            self.stats.overflows += 1
        block = indata[:, 0]
        self.stats.dropped_frames += frames - self._ring.write(block)
        self._block_at = now = time.monotonic()
        self._timeline.mark(self._ring.write_position, now)  # this block's end
        waiter = self._waiter
        if waiter is not None and (block.max() > self.wake_peak or -block.min() > self.wake_peak):
            self._waiter = None  # one wake-up per wait
            waiter[0].call_soon_threadsafe(_resolve, waiter[1], True)


def _resolve(future: asyncio.Future[bool], loud: bool) -> None:
    if not future.done():
        future.set_result(loud)
