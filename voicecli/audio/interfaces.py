"""What callers need from a microphone and a speaker (docs/talk.md "Audio interfaces").

Real devices: voicecli.audio.capture.Microphone, voicecli.audio.playback.Speaker. No device:
voicecli.audio.fakes.ArrayMicrophone, NullSpeaker (tests, benchmarks). An output that can say
what it played (a `TappableOutput`: Speaker) feeds the echo path (voicecli.audio.echo_path).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from voicecli.audio.capture import CaptureStats
    from voicecli.audio.playback import PlaybackStats
    from voicecli.audio.timeline import SpeakerTap


class AudioInput(Protocol):
    chunk_ms: int
    rate: int  # the device's rate (stats.dropped_frames count at it); 0 until a device opens
    device_name: str  # "" when there is no device
    level_dbfs: float  # RMS of the last chunk read
    stats: CaptureStats
    patience_ms: float  # read_chunk may wait for this much audio (0: one chunk); a hint
    wake_peak: float  # while it waits, a block with a sample beyond this ends the wait

    @property
    def chunk_captured_at(self) -> float | None:
        """ADC time of the last chunk's first sample; None when the input cannot tell."""

    @property
    def chunk_ready(self) -> bool:
        """Whether the next read_chunk returns at once (its audio arrived with the last one's)."""

    async def read_chunk(self) -> bytes: ...

    def raise_if_failed(self) -> None: ...


class AudioOutput(Protocol):
    stats: PlaybackStats

    @property
    def buffered_ms(self) -> float: ...

    @property
    def heard_at(self) -> float | None: ...

    def play(self, pcm16: bytes, rate: int = 24000) -> None: ...

    def flush(self) -> None: ...

    def end_of_turn(self) -> None: ...

    def start_turn(self) -> None: ...

    def raise_if_failed(self) -> None: ...


@runtime_checkable
class TappableOutput(Protocol):
    """An output that reports exactly what it played (the echo canceller's far end)."""

    device_name: str

    def enable_tap(self) -> SpeakerTap: ...


class TappedOutput(AudioOutput, TappableOutput, Protocol):
    """A speaker that plays and reports what it played (the echo probe: voicecli doctor)."""


__all__ = ["AudioInput", "AudioOutput", "TappableOutput", "TappedOutput"]
