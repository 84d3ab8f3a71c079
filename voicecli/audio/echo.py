"""Echo handling for talking on laptop speakers: `voicecli talk --echo auto|aec|gate|off`.

Everything here runs on the event loop, never in a PortAudio callback. The caller passes

* ``add_far(pcm, played_at)``: exactly the samples sent to the speaker, resampled to 16 kHz,
  with the monotonic time their first sample reaches the DAC;
* ``process_near(pcm, captured_at)``: mic audio (16 kHz) with the monotonic time its first
  sample left the ADC; it returns the same number of bytes with the echo removed or gated.

Both are placed on one sample grid (``_echo_align``), so chunk sizes and call order are free
as long as the far-end audio of a moment is added before the mic audio of that moment is
processed (the speaker is written ahead of the DAC, the mic is read after the ADC, so a loop
that drains both each tick is in order).

Modes:

* ``aec``: WebRTC AEC3 (livekit's AudioProcessingModule, extra ``voicecli[aec]``) with the
  high-pass filter on. ../shared/components.md §5: ~35 dB ERLE, converges at once. WebRTC noise
  suppression is opt-in (``--noise-suppression``): on the simulated echo it adds 0.3-4 dB ERLE and
  no change in false speech, but it garbles speech for a recogniser (pocketsphinx heard "what is
  the weather like in london today" as "what is that where there are eating on kentucky").
* ``gate``: no dependency. A mic frame whose energy is explained by the playback (far-end
  energy x the learned echo-path gain + a margin) is replaced by silence; clearly louder speech
  passes, so barge-in still works when the user talks over the reply.
* ``off``: pass-through (headsets).
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np

from voicecli.audio._echo_align import (
    ACTIVE_DB,
    FRAME,
    RATE,
    AlignedCanceller,
    DelayEstimator,
    EchoStats,
    energy_db,
    pcm_samples,
)
from voicecli.audio.aec_extra import aec_available, aec_missing
from voicecli.errors import UsageError
from voicecli.setting_parts import check_echo_mode


class EchoCanceller(Protocol):
    """What `talk` calls; every method runs on the event loop."""

    mode: str  # the resolved mode: "aec", "gate" or "off"
    stats: EchoStats

    def add_far(self, pcm16_16k: bytes, played_at: float) -> None: ...

    def process_near(self, pcm16_16k: bytes, captured_at: float) -> bytes: ...

    def reset(self, at: float | None = None) -> None: ...


def resolve_mode(mode: str, *, headset: bool = False) -> str:
    """``--echo mode`` → "aec", "gate" or "off". ``auto``: off on a headset (nothing to remove),
    else aec when the extra is installed, else gate.

    Raises:
        ConfigError: an unknown mode (setting_parts.check_echo_mode, a UsageError).
    """
    if check_echo_mode(mode) != "auto":
        return mode
    if headset:
        return "off"
    return "aec" if aec_available() else "gate"


def make_canceller(mode: str, *, headset: bool = False, noise_suppression: bool = False,
                   auto_gain_control: bool = False) -> EchoCanceller:
    """The canceller for ``--echo mode`` (resolve_mode). ``noise_suppression`` and
    ``auto_gain_control`` apply to aec (see AecCanceller); ``auto`` falls back to gate when the
    extra is installed but will not load.

    Raises:
        UsageError: unknown mode, or ``aec`` asked for without the extra installed.
    """
    resolved = resolve_mode(mode, headset=headset)
    if resolved == "aec":
        try:
            return AecCanceller(noise_suppression=noise_suppression,
                                auto_gain_control=auto_gain_control)
        except UsageError:
            if mode != "auto":
                raise
            return GateCanceller()
    return GateCanceller() if resolved == "gate" else NoCanceller()


class NoCanceller:
    """``--echo off``: the mic passes unchanged (headsets)."""

    mode = "off"

    def __init__(self) -> None:
        self.stats = EchoStats()

    def add_far(self, pcm16_16k: bytes, played_at: float) -> None:
        pass

    def process_near(self, pcm16_16k: bytes, captured_at: float) -> bytes:
        self.stats.frames += len(pcm_samples(pcm16_16k)) // FRAME
        return bytes(pcm16_16k)

    def reset(self, at: float | None = None) -> None:
        pass


class AecCanceller(AlignedCanceller):
    """WebRTC AEC3 (livekit AudioProcessingModule) fed the aligned far end as reverse stream.

    For the mic frame at grid position p the reverse frame is the far end at p + ``lead_ms``, and
    the stream delay is set to ``lead_ms``: the reference leads the echo by the lead plus the
    residual delay, which AEC3's own delay estimator finds (it stays causal even when the
    timestamps are up to ``lead_ms`` late). The output lags the input by ≈ 14 ms (AEC3 ≈ 8 ms,
    noise suppression ≈ 6 ms); the first reply of a session may show a convergence dip of ~1 s.

    Raises:
        UsageError: livekit is not installed (the message says how to install it).
    """

    mode = "aec"

    def __init__(self, *, lead_ms: int = 20, noise_suppression: bool = False,
                 high_pass_filter: bool = True, auto_gain_control: bool = False) -> None:
        super().__init__()
        self._rtc = _import_rtc()
        self._apm = self._rtc.AudioProcessingModule(
            echo_cancellation=True, noise_suppression=noise_suppression,
            high_pass_filter=high_pass_filter, auto_gain_control=auto_gain_control)
        self.lead_ms = lead_ms
        self.LEAD = lead_ms * RATE // 1000

    def _cancel(self, pos: int, x: np.ndarray, near_db: float) -> np.ndarray:
        ref = self._far.read(pos + self.LEAD, FRAME)
        self._apm.process_reverse_stream(self._rtc.AudioFrame(ref.tobytes(), RATE, 1, FRAME))
        self._apm.set_stream_delay_ms(self.lead_ms)
        frame = self._rtc.AudioFrame(x.tobytes(), RATE, 1, FRAME)
        self._apm.process_stream(frame)
        return np.frombuffer(frame.data, dtype=np.int16).copy()


def _import_rtc() -> Any:
    try:
        from livekit import rtc
    except ImportError as e:
        raise aec_missing(str(e)) from None
    return rtc


class GateCanceller(AlignedCanceller):
    """Energy echo gate: silence mic frames that the playback explains; pass clear double talk.

    The echo expected in a mic frame is the loudest far-end frame around the estimated delay
    (any delay in -30..+400 ms until one is known), decaying by ``tail_db_per_10ms`` for reverb.
    ``echo_gain_db`` (mic level minus that prediction: the 90th percentile over the last 3 s of
    frames judged echo, so the echo's loud moments are covered, not only its typical ones) is
    learned continuously; a frame is echo when below prediction + gain + ``margin_db``. The gate
    opens after ``open_frames`` frames in a row above that (one loud echo frame is not the user)
    and then stays open ``hangover_frames`` more.
    """

    mode = "gate"
    SPREAD = 2  # frames either side of the estimated delay
    TAIL = 20  # frames of reverb tail considered (200 ms)
    HISTORY = 300  # ratios kept for the gain estimate (3 s of playback)

    def __init__(self, *, margin_db: float = 6.0, tail_db_per_10ms: float = 2.0,
                 initial_gain_db: float = 0.0, hangover_frames: int = 20,
                 open_frames: int = 2) -> None:
        super().__init__()
        self.margin_db = margin_db
        self.hangover_frames = hangover_frames
        self.open_frames = open_frames
        self._above = 0  # consecutive frames above the echo threshold
        self._decay = tail_db_per_10ms * np.arange(self.TAIL + 1, dtype=np.float32)
        self._ratios = np.zeros(self.HISTORY, dtype=np.float32)
        self._n_ratios = 0
        self._initial_gain_db = self._gain_db = initial_gain_db
        self._floor_db = ACTIVE_DB  # the mic's noise floor (tracked)
        self._lag: int | None = None  # the delay the ratios in the history were measured at
        self._hang = 0
        self._open = True  # the previous frame passed

    def _cancel(self, pos: int, x: np.ndarray, near_db: float) -> np.ndarray:
        pred_db = self._predict(pos)
        if pred_db <= ACTIVE_DB:
            return self._pass(x, True)
        ratio = near_db - pred_db
        self._learn(ratio, near_db)
        above = near_db > ACTIVE_DB and ratio > self._gain_db + self.margin_db
        self._above = self._above + 1 if above else 0
        if self._above >= self.open_frames:
            self._hang = self.hangover_frames
            return self._pass(x, True)
        if self._hang > 0:
            self._hang -= 1
            return self._pass(x, True)
        self.stats.gated_frames += 1
        return self._pass(x, False)

    def _predict(self, pos: int) -> float:
        """Far-end level (dB) that could be echoing in the mic frame at ``pos``."""
        lag = self._delay.lag
        lo, hi = ((DelayEstimator.MIN_LAG, DelayEstimator.MAX_LAG) if lag is None
                  else (lag - self.SPREAD, lag + self.SPREAD))
        n = hi - lo + 1 + self.TAIL
        first = pos - (hi + self.TAIL) * FRAME  # frame m (lag lo + m .. ) counted from the newest
        e = energy_db(self._far.read(first, n * FRAME).reshape(n, FRAME))[::-1]
        direct = e[: hi - lo + 1].max()
        tail = e[hi - lo + 1 :] - self._decay[1:]
        return float(max(direct, tail.max()))

    def _learn(self, ratio: float, near_db: float) -> None:
        """Update the echo gain from frames above the noise floor (below it the echo is hidden);
        a new delay estimate restarts the history (ratios depend on the prediction window)."""
        self._floor_db = near_db if near_db < self._floor_db else self._floor_db + 0.05
        lag = self._delay.lag
        if lag != self._lag and (lag is None or self._lag is None or abs(lag - self._lag) > 1):
            self._lag, self._n_ratios = lag, 0
            self._gain_db = max(self._gain_db, self._initial_gain_db)
        learned = self._n_ratios >= 50
        if near_db < self._floor_db + 10.0 or (learned and (self._hang > 0 or ratio > self._gain_db
                                                            + self.margin_db)):
            return  # hidden by noise, or double talk (only the bootstrap learns from everything)
        self._ratios[self._n_ratios % self.HISTORY] = ratio
        self._n_ratios += 1
        if self._n_ratios >= 50:
            kept = self._ratios[: min(self._n_ratios, self.HISTORY)]
            self._gain_db = float(np.percentile(kept, 90))
            self.stats.echo_gain_db = self._gain_db

    def _pass(self, x: np.ndarray, keep: bool) -> np.ndarray:
        was, self._open = self._open, keep
        if keep and was:
            return x
        if not keep and not was:
            return np.zeros_like(x)
        ramp = np.linspace(0.0, 1.0, FRAME, dtype=np.float32)
        gain = ramp if keep else ramp[::-1]
        return np.rint(x * gain).astype(np.int16)
