"""The device counters on the status bar, read from the devices' stats."""

from __future__ import annotations

from typing import Any

from voicecli.ui.state import Counters

DEFAULT_MIC_RATE = 16000  # a mic not yet open reports rate 0


def read_device_counters(counters: Counters, mic_stats: Any, mic_rate: int, *,
                         speaker_stats: Any = None, echo_stats: Any = None) -> None:
    """Capture, playback and echo stats (CaptureStats, PlaybackStats, the canceller's) → the
    counters; dropped mic frames are at the device rate."""
    counters.mic_dropped_ms = mic_stats.dropped_frames / (mic_rate or DEFAULT_MIC_RATE) * 1000
    counters.mic_overflows = mic_stats.overflows
    if speaker_stats is not None:
        counters.underruns = speaker_stats.underruns
    if echo_stats is not None:
        counters.echo_erle_db = echo_stats.erle_db


__all__ = ["read_device_counters"]
