"""Echo handling wired into the conversation: the speaker's played audio in, the mic's audio out.

`EchoPath` sits between `mic.read_chunk()` and the wire. Before each mic chunk is processed it
drains the speaker's tap (exactly the samples the output callback handed to the device, faded
flushes and silence included, with their DAC times), resamples them to 16 kHz and gives them to
the canceller as the far end; then the chunk goes through the canceller with its ADC time. The
tap is written ahead of the DAC and the mic is read after the ADC, so draining the tap first keeps
the canceller's "far end before near end" order (voicecli/audio/echo.py).

``--echo auto`` is resolved by voicecli.audio.echo.resolve_mode, with `looks_like_headset`
telling it whether either device is a headset.
"""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING, Any

import numpy as np
import soxr

from voicecli.audio.echo import EchoCanceller, make_canceller
from voicecli.audio.interfaces import TappableOutput

if TYPE_CHECKING:
    from voicecli.audio.interfaces import AudioInput

RATE = 16000
# The far end must reach the canceller before the echo of it is processed. soxr's HQ stream holds
# back 6-37 ms of input (bursty), more than the output latency leaves; "QQ" holds back nothing.
REFERENCE_QUALITY = "QQ"
# Device names that mean the microphone cannot hear the speaker (or barely): no canceller needed.
_HEADSET = re.compile(r"head ?set|head ?phone|ear ?phone|ear ?bud|airpods|hands-?free|\bbuds\b",
                      re.IGNORECASE)


def looks_like_headset(*device_names: str) -> bool:
    return any(_HEADSET.search(name or "") for name in device_names)


class EchoPath:
    """A canceller fed from a speaker tap (voicecli.audio.timeline.SpeakerTap)."""

    def __init__(self, canceller: EchoCanceller, tap: Any) -> None:
        self.canceller = canceller
        self.mode = canceller.mode
        self._tap = tap
        self._resampler = (soxr.ResampleStream(tap.rate, RATE, 1, dtype="float32",
                                               quality=REFERENCE_QUALITY)
                           if tap.rate != RATE else None)
        self._taken = 0  # device-rate samples taken from the tap so far
        self._given = 0  # 16 kHz samples given to the canceller so far

    @classmethod
    def for_devices(cls, mode: str, mic: AudioInput, speaker: object, *,
                    noise_suppression: bool = False,
                    auto_gain_control: bool = False) -> EchoPath | None:
        """The path for ``--echo mode`` and these devices; None when nothing is to be done
        (mode off, text replies, or a speaker that cannot report what it played: not a
        `TappableOutput`)."""
        if not isinstance(speaker, TappableOutput):
            return None
        headset = looks_like_headset(mic.device_name, speaker.device_name)
        canceller = make_canceller(mode, headset=headset, noise_suppression=noise_suppression,
                                   auto_gain_control=auto_gain_control)
        return None if canceller.mode == "off" else cls(canceller, speaker.enable_tap())

    @property
    def stats(self) -> Any:
        return self.canceller.stats

    def process(self, chunk: bytes, captured_at: float | None) -> bytes:
        """The mic chunk (16 kHz PCM16) with the echo removed (aec) or gated (gate)."""
        self._drain_far()
        if captured_at is None:  # a device without timestamps: it was just captured
            captured_at = time.monotonic() - len(chunk) / 2 / RATE
        return self.canceller.process_near(chunk, captured_at)

    def _drain_far(self) -> None:
        """The resampler holds samples back, so its output starts earlier in the stream than the
        block just taken: the output's DAC time is found from the sample counts, not assumed."""
        samples, played_at = self._tap.take()
        if not samples.size or played_at is None:
            return
        first_taken, self._taken = self._taken, self._taken + samples.size
        if self._resampler is not None:
            samples = self._resampler.resample_chunk(samples)
        if not samples.size:
            return
        pcm = np.clip(np.rint(samples * 32767.0), -32768, 32767).astype("<i2").tobytes()
        first_given = self._given * self._tap.rate / RATE  # as a device-rate sample index
        self._given += len(pcm) // 2
        self.canceller.add_far(pcm, played_at + (first_given - first_taken) / self._tap.rate)
