"""Speaker: 24 kHz PCM16 in, resampled on the loop thread into a ring, played by a callback.

Threads: ``play``/``flush``/``start_turn``/``end_of_turn`` run on the event loop (the ring's
producer); ``_callback`` runs on PortAudio's thread (the consumer). They share only ints and bools,
each stored by one side (see ringbuffer.py for why that is safe). The callback copies, zero-fills,
bumps counters and reads generation numbers; resampling and prebuffer adaptation stay on the loop.

Turns: the first ``play()`` of a turn starts it; playback waits until ``prebuffer_ms`` is
buffered (or ``end_of_turn()`` was called) before draining. The prebuffer starts small (7 ms:
the first reply audio is heard at once) and adapts to the jitter actually seen
(voicecli/audio/prebuffer.py): a ring that runs dry mid-turn is an underrun (the block is
zero-filled, counted, and playback re-buffers), after which ``play()`` grows the prebuffer to the
lateness of the chunk that came after it plus a margin (at most 200 ms); after a long stretch of
clean turns it shrinks slowly, never below the lateness recently seen nor the 7 ms it started
from.

The device stream idles cheaply: once a turn has played out (``idle_stop_s`` of silence after its
end), the callback stops the stream, so nothing runs while nobody speaks; the next turn's audio
starts it again as soon as its prebuffer is there (with the stream stopped, nothing sits in the
device buffer ahead of it). ``flush()`` (barge-in) aborts a running stream, which drops what the
device still holds at once (measured: silence within ~3 ms, whatever the device latency,
benchmarks/bench_bargein.py), and makes ``play()`` drop audio until ``start_turn()`` (or
``end_of_turn()``, which closes the interrupted turn). Without a stream (tests drive
``_callback`` directly) flush makes the next block fade out over 4 ms instead.
With a speaker tap (echo handling needs a continuous far end) the stream never idles.

The device lead (how far ahead of the DAC the stream pulls) is measured by the callback from
PortAudio's DAC times (``_probe_lead``) and a turn's first audio waits that plus the prebuffer.
A small device buffer keeps the lead short; given a ``fallback`` (block, latency), the first
device underflow makes the next turn reopen the stream with that bigger buffer.
"""

from __future__ import annotations

import asyncio
import sys
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import soxr

from voicecli.audio._streams import DeviceStream, close_stream
from voicecli.audio.pcm import OUT_RATE
from voicecli.audio.prebuffer import PREBUFFER_START_MS, PrebufferPolicy
from voicecli.audio.ringbuffer import RingBuffer
from voicecli.audio.timeline import SpeakerTap
from voicecli.errors import AudioDeviceError

FADE_MS = 4.0
IDLE_STOP_S = 0.5
LEAD_PROBES = 24  # callbacks after a (re)start that measure the device lead
MAX_LEAD_S = 1.0  # a reported lead beyond this is not believed


@dataclass
class PlaybackStats:
    underruns: int = 0  # blocks zero-filled mid-turn (callback)
    dropped_frames: int = 0  # device-rate frames refused by a full ring
    late_dropped_frames: int = 0  # input frames played after flush() and before start_turn()
    flushes: int = 0
    device_underflows: int = 0  # PortAudio's output_underflow flag (callback)
    idle_stops: int = 0  # times the stream stopped itself with nothing to play (callback)
    restarts: int = 0  # times play() started it again (loop)
    reopens: int = 0  # times it was reopened on the fallback buffer (an underflow, or a tap)


class Speaker(DeviceStream):
    """AudioOutput on a PortAudio OutputStream (float32 mono, 24 kHz if the device takes it)."""

    kind = "output"
    preferred_rate = OUT_RATE

    def __init__(self, device: str | int | None = None, *, latency: float | str = 0.1,
                 prebuffer_ms: float = PREBUFFER_START_MS, block_ms: float = 10.0,
                 capacity_s: float = 120.0, idle_stop_s: float | None = IDLE_STOP_S,
                 fallback: tuple[float, float | str] | None = None) -> None:
        self.device = device
        self.fallback = fallback  # (block_ms, latency) to reopen with after a device underflow
        self.latency = latency
        self.block_ms = block_ms
        self.capacity_s = capacity_s
        self.idle_stop_s = idle_stop_s  # None: the stream runs until closed
        self.prebuffer = PrebufferPolicy(floor_ms=prebuffer_ms)
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
        self._turn_frames = 0  # device-rate frames queued in the current turn
        self._lead_guess_ms = 0.0  # the lead from the stream's latency (0: no stream, tests)
        self._chunk_ms = 0.0  # the last chunk's length
        # shared: stored by the loop, read by the callback
        self._turn_gen = 0
        self._eot_gen = -1
        self._flush_gen = 0
        self._prebuffer_frames = 0
        self._start_at = float("inf")  # monotonic: a turn held this long may start (devices)
        # shared: stored by the callback, read by the loop
        self._flushed_gen = 0
        self._playing = False
        self._heard_gen = -1
        self._heard_t = 0.0
        self._idle_blocks = 0  # callback-owned: silent blocks since the turn played out
        self._stopped = False  # callback stores True as it stops the stream; the loop clears it
        self._stop_signal: type[BaseException] | None = None  # sounddevice.CallbackStop
        # the device lead as the callback measures it (see _probe_lead)
        self._lead_probes = 0  # callbacks left that measure it: set by the loop, counted down
        self._probe_max_s = 0.0  # callback-owned while probing
        self._measured_lead_s = 0.0  # stored by the callback when a probe ends

    def setup(self, rate: int) -> None:
        """Allocate everything for device ``rate`` (done by open; tests call it without one)."""
        self.rate = rate
        self._ring = RingBuffer(int(self.capacity_s * rate))
        fade = max(1, round(rate * FADE_MS / 1000))
        self._ramp = (0.5 + 0.5 * np.cos(np.linspace(0.0, np.pi, fade))).astype(np.float32)
        self._fade_buf = np.zeros(fade, dtype=np.float32)
        self._set_prebuffer()
        self._set_block_counts()

    def _set_block_counts(self) -> None:
        self._idle_limit = (None if self.idle_stop_s is None
                            else max(1, round(self.idle_stop_s * 1000 / self.block_ms)))
        self._lead_probes = LEAD_PROBES  # the stream starts once this returns

    def open(self) -> None:
        super().open()
        self._stop_signal = sys.modules[type(self._stream).__module__].CallbackStop
        self._lead_guess_ms = device_lead_ms(self._stream, self.block_ms)
        self._set_prebuffer()

    # ---- lifecycle ------------------------------------------------------------------------

    def raise_if_failed(self) -> None:
        if self._failed is None and self._stream is not None and not self._closing:
            if not self._stream.active and not self._stopped:
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
        Call after the stream is open; the caller must `take()` from it regularly. A tapped
        stream never idles, so a short lead buys nothing: it runs on the fallback buffer (fewer
        callbacks) if there is one."""
        if self.tap is None and self.fallback is not None and self._stream is not None:
            self._reopen_with_fallback()
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
        samples = self._resample(pcm16, rate)
        now = time.monotonic()
        self._adapt(len(samples), now)
        self.stats.dropped_frames += len(samples) - self._ring.write(samples)
        if self._stopped and (self._ring.available >= self._prebuffer_frames
                              or now >= self._start_at):
            self._restart()

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
        if self._stopped and self._ring.available:  # a short turn, under the prebuffer
            self._restart()

    def flush(self) -> None:
        """Barge-in: the callback's next block fades out and the ring is emptied; audio passed
        to play() afterwards is dropped until start_turn()."""
        self._ring.clear()
        self._flush_gen += 1
        self._turn_gen += 1  # heard_at -> None; the fade is not the next turn's audio
        self._accepting = self._in_turn = False
        self._resampler, self._carry = None, b""
        self.stats.flushes += 1
        if self._stream is None or self._closing:
            return
        if not self._stopped:
            self._stopped = True
            self._abort()  # what the device holds is dropped now, not played out
        # The callback is not running (aborted, or it stopped itself): do its side of the flush
        # here, so the next turn does not start with a fade of this one.
        self._flushed_gen = self._flush_gen
        self._playing = False
        self._ring.discard_to(self._ring.write_position)

    def start_turn(self) -> None:
        """A new model turn begins: play() is accepted again after a flush(). Optional otherwise
        (the first play() after end_of_turn() starts the next turn by itself)."""
        self._accepting = True
        self._in_turn = False

    def _restart(self) -> None:
        """Start the stopped stream again (the loop; the callback is not running)."""
        stream = self._stream
        if stream is None or self._closing:
            return
        self._abort()  # a stream that stopped itself must be stopped before it starts again
        self._idle_blocks = 0
        self._playing = False
        self._lead_probes, self._probe_max_s = LEAD_PROBES, 0.0  # measured again as it starts
        try:
            stream.start()
        except Exception as exc:  # noqa: BLE001 - PortAudioError; the device is gone
            self._failed = f"it could not be restarted ({' '.join(str(exc).split())})"
            return
        self._stopped = False
        self.stats.restarts += 1

    def _reopen_with_fallback(self) -> None:
        """Reopen the stream once with the fallback's bigger blocks and buffer: as a turn begins
        after the device underflowed (its buffer ran dry: the callback or the sound server was
        late), or for a tap. The small buffer starts replies sooner; this one survives a loaded
        machine. The ring and the turn state stay; the lead is estimated, then measured again."""
        assert self.fallback is not None
        block_ms, latency = self.fallback
        self.fallback = None
        old, self._stream = self._stream, None
        self._stopped = True  # its end is asked for (_on_finished)
        close_stream(old)
        self.block_ms, self.latency = block_ms, latency
        self._measured_lead_s, self._probe_max_s = 0.0, 0.0
        self._idle_blocks, self._playing, self._stopped = 0, False, False
        try:
            self._stream, _ = self._open_stream(self.rate, self._blocks_at)
        except AudioDeviceError as exc:
            self._failed = f"it could not be reopened ({exc})"
            return
        self._lead_guess_ms = device_lead_ms(self._stream, block_ms)
        self._set_prebuffer()
        self.stats.reopens += 1

    def _blocks_at(self, rate: int) -> int:
        """open_stream's prepare for a reopen: the ring stays; only the block counts change."""
        if rate != self.rate:
            raise AudioDeviceError(f"the speaker now runs at {rate} Hz, not {self.rate}")
        self._set_block_counts()
        return self._block_frames(rate)

    def _on_finished(self) -> None:  # PortAudio thread
        if not self._stopped:  # a stop it did not ask for: the device went away
            super()._on_finished()

    def _abort(self) -> None:
        try:
            self._stream.abort()
        except Exception as exc:  # noqa: BLE001 - PortAudioError; the device is gone
            self._failed = f"it could not be stopped ({' '.join(str(exc).split())})"

    @property
    def prebuffer_ms(self) -> float:
        return self.prebuffer.ms

    def _begin_turn(self) -> None:
        if (self.fallback is not None and self.stats.device_underflows and self._stopped
                and self._stream is not None and self.tap is None and not self._closing):
            self._reopen_with_fallback()
        self.prebuffer.begin_turn()
        self._set_prebuffer()
        self._turn_frames = 0
        self._turn_gen += 1
        self._in_turn = True

    def _adapt(self, frames: int, now: float) -> None:
        """Tell the prebuffer policy a chunk of ``frames`` arrived (and whether the ring ran dry
        since the last one); on a device, the turn's first chunk and the first one after an
        underrun start the hold (see hold_ms)."""
        underran = self.stats.underruns != self._underruns_seen
        self._underruns_seen = self.stats.underruns
        first = self._turn_frames == 0
        queued_ms = self._turn_frames * 1000.0 / self.rate if self.rate else 0.0
        self.prebuffer.chunk(now, queued_ms, underran)
        self._turn_frames += frames
        self._chunk_ms = frames * 1000.0 / self.rate if self.rate else 0.0
        self._set_prebuffer()
        if self._lead_ms and (first or underran):
            self._start_at = now + self.hold_ms / 1000
            self._restart_when_due()

    @property
    def _lead_ms(self) -> float:
        """Audio the device pulls ahead of the DAC: measured by the callback once it has been,
        estimated from the stream's latency before (0: no stream, tests)."""
        if self._measured_lead_s and self._lead_guess_ms:
            return self._measured_lead_s * 1000
        return self._lead_guess_ms

    @property
    def hold_ms(self) -> float:
        """How long a turn's audio waits after its first chunk on a device: the jitter allowance
        plus the device lead. A stream that starts pulls ``lead`` at once and then stays that far
        ahead of the DAC, so a reply streamed at 1x plays without gaps only if it starts that
        much (and the lateness of its chunks) after the first chunk arrived."""
        return self.prebuffer.ms + self._lead_ms

    def _set_prebuffer(self) -> None:
        """Frames that start playback at once: the prebuffer (no stream); on a device, enough
        that the next chunk may be a hold late (a backlog, as the service streams at 2x)."""
        backlog_ms = self.hold_ms + self._chunk_ms if self._lead_ms else self.prebuffer.ms
        self._prebuffer_frames = round(backlog_ms * self.rate / 1000)

    def _restart_when_due(self) -> None:
        if not self._stopped:
            return  # the running callback starts playing at _start_at itself
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        loop.call_later(max(0.0, self._start_at - time.monotonic()), self._restart_if_due)

    def _restart_if_due(self) -> None:
        if (self._stopped and self._in_turn and self._ring.available
                and time.monotonic() >= self._start_at - 0.0005):
            self._restart()

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
        if self._lead_probes:
            self._probe_lead(time_info)
        if self._flush_gen != self._flushed_gen:
            self._fade_out(out)
        elif self._playing or self._start_playing():
            self._drain_into(out)
        else:
            out.fill(0.0)
            self._count_idle()
        if self.tap is not None:
            self.tap.record(out, time_info)

    def _probe_lead(self, time_info: Any) -> None:
        """The device lead, measured: how far ahead of the DAC the block being written will play
        (PortAudio's outputBufferDacTime - currentTime). A starting stream fills its buffer in a
        burst (those blocks play sooner), so the largest value of the first LEAD_PROBES
        callbacks is the steady lead. A device that reports no times keeps the estimate."""
        self._lead_probes -= 1
        try:
            ahead = float(time_info.outputBufferDacTime - time_info.currentTime)
        except (AttributeError, TypeError):
            ahead = 0.0
        if 0.0 < ahead < MAX_LEAD_S:
            self._probe_max_s = max(self._probe_max_s, ahead)
        if not self._lead_probes and self._probe_max_s:
            self._measured_lead_s = self._probe_max_s

    def _count_idle(self) -> None:
        """Stop the stream once the turn has played out and silence has gone on for a while:
        PortAudio plays out the (silent) blocks it holds and the stream ends (paComplete)."""
        if self._idle_limit is None or self._stop_signal is None or self.tap is not None:
            return
        if self._eot_gen != self._turn_gen and self._in_turn:
            return  # mid-turn: waiting for more audio (an underrun), not idle
        self._idle_blocks += 1
        if self._idle_blocks >= self._idle_limit:
            self._stopped = True
            self.stats.idle_stops += 1
            raise self._stop_signal

    def _fade_out(self, out: np.ndarray) -> None:
        self._flushed_gen = self._flush_gen
        self._playing = False
        n = self._ring.read_before_clear(self._fade_buf[:len(out)])
        np.multiply(self._fade_buf[:n], self._ramp[:n], out=out[:n])
        out[n:] = 0.0

    def _start_playing(self) -> bool:
        available = self._ring.available
        if available and (available >= self._prebuffer_frames or self._eot_gen == self._turn_gen
                          or time.monotonic() >= self._start_at):
            self._playing = True
        return self._playing

    def _drain_into(self, out: np.ndarray) -> None:
        self._idle_blocks = 0
        n = self._ring.read_into(out)
        if n < len(out):
            out[n:] = 0.0
            self._playing = False  # re-buffer (mid-turn) or wait for the next turn
            if self._eot_gen != self._turn_gen:
                self.stats.underruns += 1
        if n and self._heard_gen != self._turn_gen:
            self._heard_t = time.monotonic()
            self._heard_gen = self._turn_gen


def device_lead_ms(stream: Any, block_ms: float) -> float:
    """How far ahead of the DAC an output stream pulls audio, estimated before the callback has
    measured it (Speaker._probe_lead): its latency plus one block (PulseAudio's ALSA plugin:
    20 ms + 10 ms blocks -> 29.7 ms measured; 13.3 ms + 6.7 ms blocks -> 13.1 ms measured)."""
    try:
        return max(0.0, float(stream.latency) * 1000 + block_ms)
    except (AttributeError, TypeError, ValueError):
        return 0.0
