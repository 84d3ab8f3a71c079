"""The echo probe behind `voicecli doctor`: play a short sound, hear what the mic makes of it.

1. Listen to the room for ``quiet_s`` (the mic's noise floor; the streams settle meanwhile).
2. Play ``probe_s`` of speech-band noise bursts through the speaker while recording the mic, with
   the speaker's tap (exactly what was played, with DAC times) and the mic's ADC times: the same
   inputs `talk` gives its echo canceller.
3. Place both on one 16 kHz grid and cross-correlate: the echo path delay beyond what the
   timestamps account for, and the echo level relative to what was played.
4. Replay the recording through each canceller (gate, and aec when installed): how much echo each
   removes, and whether aec converges (most of its removal reached within the first second).

Everything runs on the event loop; the device callbacks only copy (style-guide §7).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from voicecli.audio.echo import aec_available, make_canceller
from voicecli.audio.echo_path import EchoPath
from voicecli.audio.pcm import rms_dbfs

if TYPE_CHECKING:
    from voicecli.audio.interfaces import AudioInput, TappedOutput

RATE = 16000
OUT_RATE = 24000
MAX_DELAY_S = 0.6  # echo delays searched beyond the timestamps
NO_ECHO_DB = -45.0  # an echo this far below the playback is none (a headset, or muted speaker)
#: While the probe plays, the mic must be this much louder than its noise floor for an echo:
#: a headset's mic with room noise measures an "echo" at the noise level (-55 dBFS noise: -35 dB)
ECHO_OVER_NOISE_DB = 3.0


@dataclass
class EchoProbe:
    """What the probe measured. Levels in dB; None where nothing could be measured."""

    noise_dbfs: float
    played_dbfs: float
    echo_db: float | None  # echo level relative to the played probe (-10 = 10 dB quieter)
    delay_ms: float | None  # echo delay beyond the device latencies the timestamps report
    correlation: float  # peak normalised cross-correlation (0..1): how clearly echo was found
    erle_db: dict[str, float] = field(default_factory=dict)  # per canceller: echo removed
    erle_first_s_db: dict[str, float] = field(default_factory=dict)  # … in the first second

    @property
    def echo_heard(self) -> bool:
        """Loud enough, and louder than the mic's own noise (a headset hears only its room)."""
        if self.echo_db is None or self.echo_db <= NO_ECHO_DB:
            return False
        return self.played_dbfs + self.echo_db >= self.noise_dbfs + ECHO_OVER_NOISE_DB

    def advice(self) -> str:
        """One line: which --echo mode fits this room."""
        if not self.echo_heard:
            return ("no echo heard (a headset, or the speaker is muted): --echo off costs nothing"
                    " and keeps your voice untouched")
        best = max(self.erle_db.get("aec", -1.0), self.erle_first_s_db.get("aec", -1.0))
        if best >= 20.0:  # reached at once, or over the probe (a path that shifts loses some later)
            return (f"echo cancellation converges ({best:.0f} dB removed): --echo aec"
                    " (auto picks it)")
        aec = self.erle_db.get("aec")
        gate = self.erle_db.get("gate", 0.0)
        if aec is None:
            return (f"the echo gate removes {gate:.0f} dB; for full-duplex barge-in install"
                    " voicecli[aec] (--echo aec)")
        return (f"echo cancellation removes only {aec:.0f} dB here; try --echo gate"
                f" ({gate:.0f} dB) or a headset")


def probe_signal(seconds: float, dbfs: float = -20.0, seed: int = 7) -> np.ndarray:
    """Bursts of 300-3400 Hz noise (150 ms on, 100 ms off) at ``dbfs`` RMS while on, 24 kHz
    PCM16: broadband enough for a sharp correlation, speech-like in level and rhythm."""
    rng = np.random.default_rng(seed)
    n = int(seconds * OUT_RATE)
    spectrum = np.fft.rfft(rng.standard_normal(n))
    freqs = np.fft.rfftfreq(n, 1 / OUT_RATE)
    spectrum[(freqs < 300) | (freqs > 3400)] = 0
    noise = np.fft.irfft(spectrum, n)
    period, on = int(0.25 * OUT_RATE), int(0.15 * OUT_RATE)
    gate = (np.arange(n) % period) < on
    noise *= gate
    rms = np.sqrt(np.mean(noise[gate] ** 2))
    scaled = noise / rms * 32768 * 10 ** (dbfs / 20)
    return np.clip(np.rint(scaled), -32768, 32767).astype(np.int16)


@dataclass
class _Capture:
    """Far end (tap) and near end (mic) as the canceller would get them, with their times."""

    far: list[tuple[bytes, float]] = field(default_factory=list)
    near: list[tuple[bytes, float]] = field(default_factory=list)


class _Recorder:
    """An EchoPath stand-in that keeps what it is given instead of cancelling it."""

    mode = "record"

    def __init__(self, capture: _Capture) -> None:
        self.capture = capture

    def add_far(self, pcm: bytes, played_at: float) -> None:
        self.capture.far.append((pcm, played_at))

    def process_near(self, pcm: bytes, captured_at: float) -> bytes:
        self.capture.near.append((pcm, captured_at))
        return pcm


async def run_probe(mic: AudioInput, speaker: TappedOutput, *, quiet_s: float = 1.5,
                    probe_s: float = 2.5, dbfs: float = -20.0) -> EchoProbe:
    """Measure the echo path with open devices (a Microphone and a Speaker, or stand-ins with
    the same interfaces: voicecli.audio.interfaces AudioInput and TappedOutput)."""
    capture = _Capture()
    path = EchoPath(_Recorder(capture), speaker.enable_tap())  # type: ignore[arg-type]
    quiet: list[bytes] = []
    await _record(mic, path, quiet_s, quiet)
    capture.far.clear()
    capture.near.clear()
    probe = probe_signal(probe_s, dbfs)
    speaker.play(probe.tobytes(), OUT_RATE)
    speaker.end_of_turn()
    await _record(mic, path, probe_s + MAX_DELAY_S + 0.3, [])
    return analyse(capture, b"".join(quiet), played_dbfs=dbfs)


async def _record(mic: AudioInput, path: EchoPath, seconds: float, into: list[bytes]) -> None:
    chunks = int(seconds * 1000 / mic.chunk_ms)
    for _ in range(chunks):
        chunk = await mic.read_chunk()
        into.append(path.process(chunk, mic.chunk_captured_at))
        await asyncio.sleep(0)


def analyse(capture: _Capture, quiet: bytes, played_dbfs: float) -> EchoProbe:
    """Delay, echo level and each canceller's removal from a capture."""
    far, near = _on_grid(capture)
    noise = _dbfs(quiet)
    lag, corr = _best_lag(far, near)
    echo_db = None
    active = np.abs(far) > 0
    if lag is not None and active.any():
        shifted = np.zeros_like(near)
        shifted[lag:] = far[: far.size - lag] if lag else far
        on = np.abs(shifted) > 0
        echo_db = _db(float(np.mean(near[on] ** 2)), float(np.mean(shifted[on] ** 2)))
    result = EchoProbe(noise_dbfs=noise, played_dbfs=played_dbfs, echo_db=echo_db,
                       delay_ms=None if lag is None else lag * 1000 / RATE, correlation=corr)
    if result.echo_heard:
        echo_on = np.zeros(near.size, dtype=bool)  # where the far end's echo is in the mic
        echo_on[lag or 0 :] = active[: near.size - (lag or 0)]
        for mode in ("gate", "aec") if aec_available() else ("gate",):
            total, first = _replay(mode, capture, echo_on)
            result.erle_db[mode], result.erle_first_s_db[mode] = total, first
    return result


def _on_grid(capture: _Capture) -> tuple[np.ndarray, np.ndarray]:
    """Far and near as float arrays on one 16 kHz grid starting at the first near sample."""
    origin = capture.near[0][1]
    end = max(t + len(pcm) / 2 / RATE for pcm, t in capture.near)
    n = int((end - origin) * RATE) + 1
    far, near = np.zeros(n), np.zeros(n)
    for pcm, t, out in [(p, t, far) for p, t in capture.far] + \
                       [(p, t, near) for p, t in capture.near]:
        x = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
        i = round((t - origin) * RATE)
        lo, hi = max(i, 0), min(i + x.size, n)
        if lo < hi:
            out[lo:hi] = x[lo - i : hi - i]
    return far, near


def _best_lag(far: np.ndarray, near: np.ndarray) -> tuple[int | None, float]:
    """The lag (samples, 0..MAX_DELAY_S) at which near best matches far; normalised peak."""
    if not far.any() or not near.any():
        return None, 0.0
    size = 1 << int(np.ceil(np.log2(far.size + near.size)))
    xcorr = np.fft.irfft(np.fft.rfft(near, size) * np.conj(np.fft.rfft(far, size)), size)
    window = xcorr[: int(MAX_DELAY_S * RATE)]
    lag = int(np.argmax(np.abs(window)))
    norm = float(np.sqrt(np.sum(far**2) * np.sum(near**2))) or 1.0
    return lag, float(abs(window[lag]) / norm)


def _replay(mode: str, capture: _Capture, echo_on: np.ndarray) -> tuple[float, float]:
    """Echo removed (dB) by ``mode`` where ``echo_on`` (mic samples on the grid), and in its
    first second."""
    canceller = make_canceller(mode)
    far_i, outs = 0, []
    for pcm, t in capture.near:  # far end first, up to what the talk loop would have had
        while far_i < len(capture.far) and capture.far[far_i][1] <= t + 0.1:
            canceller.add_far(*capture.far[far_i])
            far_i += 1
        outs.append((canceller.process_near(pcm, t), pcm))
    y = np.frombuffer(b"".join(o for o, _ in outs), dtype="<i2").astype(np.float64)
    x = np.frombuffer(b"".join(i for _, i in outs), dtype="<i2").astype(np.float64)
    mask = np.zeros(x.size, dtype=bool)  # the grid may end a few samples short of the mic
    mask[: min(x.size, echo_on.size)] = echo_on[: x.size]
    first = mask & (np.arange(x.size) < np.flatnonzero(mask)[0] + RATE)
    return _erle(x, y, mask), _erle(x, y, first)


def _erle(x: np.ndarray, y: np.ndarray, mask: np.ndarray) -> float:
    if not mask.any():
        return 0.0
    return _db(float(np.mean(x[mask] ** 2)), max(float(np.mean(y[mask] ** 2)), 1.0))


def _dbfs(pcm16: bytes) -> float:
    """rms_dbfs floored at -120 dBFS: digital silence stays a JSON number."""
    return max(-120.0, rms_dbfs(pcm16))


def _db(num: float, den: float) -> float:
    return 10 * float(np.log10(max(num, 1e-9) / max(den, 1e-9)))
