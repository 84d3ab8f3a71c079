"""What the conversation needs from a microphone and a speaker (docs/talk.md "Audio interfaces").

Real devices: voicecli.audio.capture.Microphone, voicecli.audio.playback.Speaker. No device:
voicecli.audio.fakes.ArrayMicrophone, NullSpeaker (tests, benchmarks).
"""

from __future__ import annotations

from typing import Any, Protocol


class AudioInput(Protocol):
    chunk_ms: int
    level_dbfs: float
    stats: Any  # .overflows, .dropped_frames (at the device rate, `rate` if it has one)

    async def read_chunk(self) -> bytes: ...

    def raise_if_failed(self) -> None: ...


class AudioOutput(Protocol):
    stats: Any  # .underruns

    @property
    def buffered_ms(self) -> float: ...

    @property
    def heard_at(self) -> float | None: ...

    def play(self, pcm16: bytes, rate: int = 24000) -> None: ...

    def flush(self) -> None: ...

    def end_of_turn(self) -> None: ...

    def start_turn(self) -> None: ...

    def raise_if_failed(self) -> None: ...
