"""Time alignment for the echo cancellers: far-end history on a sample grid, 10 ms near framing.

Both directions are placed on one grid of 16 kHz sample positions, ``round((t - t0) * 16000)``,
from the monotonic times PortAudio gave for the first sample of each block (DAC time for the
speaker, ADC time for the mic). The speaker's samples go into :class:`FarRing` at their positions
(gaps = silence); the mic's samples are cut into 10 ms frames whose positions say which far-end
samples were in the air at the same moment. Chunk sizes may be anything: small timestamp jitter
(≤ :data:`SNAP` samples) is absorbed so that consecutive blocks stay contiguous.

:class:`DelayEstimator` finds the residual echo delay (what the timestamps do not account for:
the acoustic path, converter latencies PortAudio misreports) by correlating 10 ms log-energy
envelopes of mic input and far end over lags of -30..+400 ms. :class:`AlignedCanceller` ties
these together for the cancellers in ``echo.py`` (framing, late-reference count, ERLE estimate).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

RATE = 16000
FRAME = 160  # 10 ms at 16 kHz: the unit every canceller works in
SNAP = 48  # 3 ms: a block this close to where the previous one ended is taken as contiguous
ACTIVE_DB = 30.0  # 10 ms frames with less mean energy (≈ -60 dBFS) count as silence


def energy_db(frames: np.ndarray) -> np.ndarray:
    """Mean square per row of int16 samples, in dB re 1 LSB² (full-scale sine ≈ 87 dB)."""
    x = frames.astype(np.float32)
    return 10.0 * np.log10(np.einsum("ij,ij->i", x, x) / frames.shape[1] + 1.0)


class Grid:
    """Monotonic seconds → sample positions; the origin is the first time seen."""

    def __init__(self) -> None:
        self.t0: float | None = None

    def pos(self, t: float) -> int:
        if self.t0 is None:
            self.t0 = t
        return round((t - self.t0) * RATE)

    def time(self, pos: int) -> float:
        return (self.t0 or 0.0) + pos / RATE


class FarRing:
    """The last ``seconds`` of far-end samples, addressed by absolute grid position."""

    def __init__(self, seconds: float = 4.0) -> None:
        self._buf = np.zeros(int(seconds * RATE) // FRAME * FRAME, dtype=np.int16)
        self.end: int | None = None  # one past the newest written position

    def write(self, pos: int, samples: np.ndarray) -> None:
        """Store ``samples`` starting at ``pos``; a gap since the previous write becomes silence."""
        if self.end is not None and abs(pos - self.end) <= SNAP:
            pos = self.end
        if self.end is not None and pos > self.end:
            self._put(self.end, np.zeros(min(pos - self.end, self._buf.size), np.int16))
        size = self._buf.size
        if samples.size > size:
            pos, samples = pos + samples.size - size, samples[-size:]
        self._put(pos, samples)
        self.end = pos + samples.size if self.end is None else max(self.end, pos + samples.size)

    def _put(self, pos: int, samples: np.ndarray) -> None:
        i, n = pos % self._buf.size, samples.size
        k = min(n, self._buf.size - i)
        self._buf[i : i + k] = samples[:k]
        self._buf[: n - k] = samples[k:]

    def read(self, pos: int, n: int) -> np.ndarray:
        """``n`` samples from ``pos``; zeros where nothing (recent enough) was written."""
        out = np.zeros(n, dtype=np.int16)
        if self.end is None:
            return out
        size = self._buf.size
        lo, hi = max(pos, self.end - size), min(pos + n, self.end)
        if lo < hi:
            i = lo % size
            k = min(hi - lo, size - i)
            out[lo - pos : lo - pos + k] = self._buf[i : i + k]
            out[lo - pos + k : hi - pos] = self._buf[: hi - lo - k]
        return out

    def covered(self, pos: int) -> bool:
        """Whether far-end audio up to ``pos`` has been written (else it is missing or late)."""
        return self.end is not None and self.end >= pos

    def clear_from(self, pos: int) -> None:
        """Forget audio at ``pos`` and after (it was flushed before reaching the speaker)."""
        if self.end is not None and pos < self.end:
            start = max(pos, self.end - self._buf.size)
            self._put(start, np.zeros(self.end - start, np.int16))
            self.end = max(pos, self.end - self._buf.size)

    def clear(self) -> None:
        self._buf[:] = 0
        self.end = None


class NearFramer:
    """Cuts mic chunks of any length into 10 ms frames with grid positions; output = input length.

    When a chunk does not end on a frame boundary its tail waits for the next chunk, and the output
    is padded at the front once (a constant delay of < 10 ms from then on), so each call returns
    exactly as many bytes as it was given and the stream clock stays right.
    """

    def __init__(self) -> None:
        self._pending = np.zeros(0, dtype=np.int16)
        self._pos = 0  # grid position of _pending[0]
        self._out = bytearray()

    def frames(self, pos: int, samples: np.ndarray) -> list[tuple[int, np.ndarray]]:
        """Add a chunk starting at grid ``pos``; return the complete frames (position, samples)."""
        expected = self._pos + self._pending.size
        if abs(pos - expected) > SNAP:
            self._pos = pos - self._pending.size  # a real jump (overflow, clock step): re-anchor
        data = np.concatenate((self._pending, samples)) if self._pending.size else samples
        n = data.size // FRAME
        out = [(self._pos + i * FRAME, data[i * FRAME : (i + 1) * FRAME]) for i in range(n)]
        self._pending = data[n * FRAME :].copy()
        self._pos += n * FRAME
        return out

    def output(self, processed: bytes, nbytes: int) -> bytes:
        """Queue processed frames; return the oldest ``nbytes`` (front-padded if short)."""
        self._out += processed
        if len(self._out) < nbytes:
            self._out[:0] = bytes(nbytes - len(self._out))
        result = bytes(self._out[:nbytes])
        del self._out[:nbytes]
        return result


class DelayEstimator:
    """Residual echo delay from 10 ms energy envelopes (near input vs far end), every 0.5 s."""

    MIN_LAG, MAX_LAG = -3, 40  # frames: -30 ms (timestamps late) .. +400 ms
    WINDOW, EVERY = 300, 50  # frames of history used (3 s), frames between estimates
    MIN_CORR = 0.5

    def __init__(self) -> None:
        self._near = np.zeros(self.WINDOW, dtype=np.float32)
        self._count = 0
        self._last_pos = 0
        self.lag: int | None = None  # frames; None until an estimate was good enough
        self.corr = 0.0

    def add(self, pos: int, near_db: float, far: FarRing) -> None:
        self._near[self._count % self.WINDOW] = near_db
        self._count += 1
        self._last_pos = pos
        if self._count >= self.WINDOW // 2 and self._count % self.EVERY == 0:
            self._estimate(far)

    def _estimate(self, far: FarRing) -> None:
        n = min(self._count, self.WINDOW)
        near = np.roll(self._near, -(self._count % self.WINDOW))[-n:]
        first = self._last_pos - (n - 1) * FRAME - self.MAX_LAG * FRAME
        span = n + self.MAX_LAG - self.MIN_LAG
        far_db = energy_db(far.read(first, span * FRAME).reshape(span, FRAME))
        if np.mean(far_db > ACTIVE_DB) < 0.3:
            return  # too little playback in the window to tell
        rows = np.lib.stride_tricks.sliding_window_view(far_db, n)[::-1]  # row i = lag MIN_LAG+i
        corr = _pearson(rows, near)
        best = int(np.argmax(corr))
        if corr[best] >= self.MIN_CORR:
            self.lag, self.corr = best + self.MIN_LAG, float(corr[best])


def _pearson(rows: np.ndarray, v: np.ndarray) -> np.ndarray:
    a = rows - rows.mean(axis=1, keepdims=True)
    b = v - v.mean()
    den = np.sqrt(np.einsum("ij,ij->i", a, a) * float(b @ b)) + 1e-9
    return (a @ b) / den


@dataclass
class EchoStats:
    frames: int = 0  # 10 ms mic frames processed
    gated_frames: int = 0  # frames replaced by silence (gate)
    late_far_frames: int = 0  # mic frames whose far-end reference had not been added in time
    delay_ms: float | None = None  # residual echo delay the envelopes show (None: not yet known)
    erle_db: float | None = None  # input/output energy ratio while the far end plays (smoothed)
    echo_gain_db: float | None = None  # gate: learned echo level relative to the far end


def pcm_samples(pcm16: bytes) -> np.ndarray:
    if len(pcm16) % 2:
        raise ValueError(f"PCM16 needs an even number of bytes, got {len(pcm16)}")
    return np.frombuffer(pcm16, dtype="<i2")


class AlignedCanceller:
    """Shared plumbing: the grid, far-end history, 10 ms framing, delay and ERLE estimates."""

    mode = ""
    LEAD = 0  # samples of far end beyond the mic frame that must be known before processing it
    _SMOOTH = 0.02  # ERLE smoothing per frame while the far end plays (≈ 0.5 s)

    def __init__(self) -> None:
        self.stats = EchoStats()
        self._grid = Grid()
        self._far = FarRing()
        self._framer = NearFramer()
        self._delay = DelayEstimator()
        self._e_in = self._e_out = 0.0

    def add_far(self, pcm16_16k: bytes, played_at: float) -> None:
        """Samples sent to the speaker (16 kHz) and when the first one reaches the DAC."""
        samples = pcm_samples(pcm16_16k)
        if samples.size:
            self._far.write(self._grid.pos(played_at), samples)

    def process_near(self, pcm16_16k: bytes, captured_at: float) -> bytes:
        """Mic audio (16 kHz) and when its first sample left the ADC → same length, echo handled."""
        frames = self._framer.frames(self._grid.pos(captured_at), pcm_samples(pcm16_16k))
        out = b"".join(self._frame(pos, x) for pos, x in frames)
        return self._framer.output(out, len(pcm16_16k))

    def reset(self, at: float | None = None) -> None:
        """After a flush: forget far-end audio queued for ``at`` (default: now) or later."""
        self._far.clear_from(self._grid.pos(time.monotonic() if at is None else at))

    def _frame(self, pos: int, x: np.ndarray) -> bytes:
        near_db = float(energy_db(x[None])[0])
        self._delay.add(pos, near_db, self._far)
        self._check_late(pos)
        y = self._cancel(pos, x, near_db)
        self._account(pos, x, y)
        return y.tobytes()

    def _check_late(self, pos: int) -> None:
        end = self._far.end
        if end is not None and pos + FRAME + self.LEAD > end > pos - RATE:
            self.stats.late_far_frames += 1  # playing recently, but this moment is not here yet

    def _account(self, pos: int, x: np.ndarray, y: np.ndarray) -> None:
        st = self.stats
        st.frames += 1
        lag = self._delay.lag
        st.delay_ms = None if lag is None else lag * FRAME * 1000 / RATE
        far = self._far.read(pos - (lag or 0) * FRAME, FRAME)
        if energy_db(far[None])[0] > ACTIVE_DB:
            a = self._SMOOTH
            self._e_in += a * (float(np.mean(np.square(x, dtype=np.float64))) - self._e_in)
            self._e_out += a * (float(np.mean(np.square(y, dtype=np.float64))) - self._e_out)
            st.erle_db = 10 * float(np.log10((self._e_in + 1.0) / (self._e_out + 1.0)))

    def _cancel(self, pos: int, x: np.ndarray, near_db: float) -> np.ndarray:
        raise NotImplementedError
