from __future__ import annotations

import time
from types import SimpleNamespace

import numpy as np

from voicecli.audio.timeline import SpeakerTap, Timeline, adc_time, dac_time


def test_time_of_interpolates_from_the_latest_mark() -> None:
    line = Timeline(rate=1000, marks=4)
    assert line.time_of(0) is None
    line.mark(0, 10.0)
    line.mark(100, 10.1)
    assert line.time_of(150) == 10.15
    assert line.time_of(100) == 10.1
    for k in range(2, 8):  # wrap around: only the newest marks are kept
        line.mark(100 * k, 10.0 + k / 10)
    assert abs(line.time_of(750) - 10.75) < 1e-9
    assert abs(line.time_of(0) - 10.0) < 1e-9  # older than every mark: extrapolated


def test_converter_times_follow_portaudio_offsets() -> None:
    info = SimpleNamespace(currentTime=5.0, outputBufferDacTime=5.03, inputBufferAdcTime=4.98)
    now = time.monotonic()
    assert abs(dac_time(info) - (now + 0.03)) < 0.01
    assert abs(adc_time(info) - (now - 0.02)) < 0.01
    broken = SimpleNamespace(currentTime=0.0, outputBufferDacTime=99.0, inputBufferAdcTime=0.0)
    assert abs(dac_time(broken) - time.monotonic()) < 0.01  # nonsense offsets are ignored
    assert abs(dac_time(None) - time.monotonic()) < 0.01


def test_speaker_tap_returns_exactly_what_was_played_with_its_time() -> None:
    tap = SpeakerTap(rate=1000)
    blocks = [np.full(10, i, dtype=np.float32) for i in range(3)]
    for block in blocks:
        tap.record(block, SimpleNamespace(currentTime=1.0, outputBufferDacTime=1.05))
    played, at = tap.take()
    assert np.array_equal(played, np.concatenate(blocks))
    assert at is not None and abs(at - (time.monotonic() + 0.05)) < 0.05
    assert tap.take()[0].size == 0
