"""User audio → utterances (sans-I/O): rate check, resampling to 16 kHz, VAD or manual activity.

`InputAudio` turns `realtimeInput` audio and activity signals into `Began` / `Heard` / `Ended`
steps; the session feeds them to the recogniser and reacts to `Began` (barge-in, §5.3) and
`Ended` (the user's turn is over, §5.4).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass

from voicecli.audio.pcm import StreamResampler
from voicecli.protocol.messages import AutomaticActivityDetection, Blob
from voicecli.speech.vad import (
    SpeechAudio,
    SpeechEnded,
    SpeechSegmenter,
    SpeechStarted,
    VadSettings,
)

log = logging.getLogger("voicecli.server")

ASR_RATE = 16000
DEFAULT_INPUT_RATE = 16000  # §6: "audio/pcm" without a rate is 16 kHz
_RATE = re.compile(r"rate\s*=\s*(\d+)", re.IGNORECASE)


class InvalidArgument(Exception):
    """The client sent something the service rejects with close 1007 and this reason (§5.9)."""

    def __init__(self, reason: str = "Request contains an invalid argument.") -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Began:
    """User speech started; `preroll` is 16 kHz audio from just before the decision."""

    preroll: bytes = b""
    offset_s: float = 0.0


@dataclass(frozen=True)
class Heard:
    pcm: bytes


@dataclass(frozen=True)
class Ended:
    offset_s: float = 0.0


Step = Began | Heard | Ended


def input_rate(mime_type: str | None) -> int:
    """The sample rate declared in `audio/pcm;rate=N` (§6)."""
    match = _RATE.search(mime_type or "")
    if match is None:
        return DEFAULT_INPUT_RATE
    rate = int(match.group(1))
    if not 4000 <= rate <= 192_000:
        raise InvalidArgument()
    return rate


def vad_settings(aad: AutomaticActivityDetection | None) -> VadSettings:
    """§3.1.5 fields → segmenter settings (None = the service's defaults)."""
    aad = aad or AutomaticActivityDetection()
    settings = VadSettings(
        prefix_padding_ms=aad.prefix_padding_ms, silence_duration_ms=aad.silence_duration_ms
    )
    if aad.start_of_speech_sensitivity is not None:
        settings.start_sensitivity = _SENSITIVITY.get(
            aad.start_of_speech_sensitivity, str(aad.start_of_speech_sensitivity)
        )
    if aad.end_of_speech_sensitivity is not None:
        settings.end_sensitivity = _SENSITIVITY.get(
            aad.end_of_speech_sensitivity, str(aad.end_of_speech_sensitivity)
        )
    return settings


#: protobuf JSON also accepts enum numbers (§2): 0 unspecified, 1 high, 2 low
_SENSITIVITY: dict[str | int, str] = {0: "UNSPECIFIED", 1: "HIGH", 2: "LOW"}


class InputAudio:
    """One session's audio input. `manual=True` when automatic activity detection is disabled."""

    def __init__(self, aad: AutomaticActivityDetection | None) -> None:
        self.manual = bool(aad and aad.disabled)
        self._segmenter = None if self.manual else SpeechSegmenter(vad_settings(aad))
        self._rate: int | None = None
        self._resampler: StreamResampler | None = None
        self.active = False  # inside user speech / activity

    def audio(self, blob: Blob) -> list[Step]:
        """A chunk of user audio (`realtimeInput.audio` or a `mediaChunks` entry)."""
        if not blob.data:
            return []  # an empty chunk carries nothing (and must not lock the rate)
        pcm = self._to_16k(blob.mime_type, blob.data)
        if self.manual:
            return [Heard(pcm)] if self.active and pcm else []
        return self._segment(pcm)

    def close(self) -> None:
        """The session is over: its VAD detector goes back to the process pool."""
        if self._segmenter is not None:
            self._segmenter.close()

    def activity_start(self) -> list[Step]:
        if not self.manual:
            log.debug("activityStart ignored: automatic activity detection is on")
            return []
        if self.active:
            return []
        self.active = True
        return [Began()]

    def activity_end(self) -> list[Step]:
        if not self.manual or not self.active:
            return []
        self.active = False
        return [Ended()]

    def stream_end(self) -> list[Step]:
        """`audioStreamEnd` (§3.3): the mic is off; close any open speech."""
        if self._segmenter is None:
            return []
        return self._translate(self._segmenter.flush())

    def _segment(self, pcm: bytes) -> list[Step]:
        assert self._segmenter is not None
        return self._translate(self._segmenter.feed(pcm)) if pcm else []

    def _translate(self, events: Sequence[object]) -> list[Step]:
        steps: list[Step] = []
        for event in events:
            if isinstance(event, SpeechStarted):
                self.active = True
                steps.append(Began(bytes(event.preroll), event.offset_s))
            elif isinstance(event, SpeechAudio):
                steps.append(Heard(bytes(event.pcm)))
            elif isinstance(event, SpeechEnded):
                self.active = False
                steps.append(Ended(event.offset_s))
        return steps

    def _to_16k(self, mime_type: str | None, data: bytes) -> bytes:
        rate = input_rate(mime_type)
        if self._rate is None:
            self._rate = rate
            self._resampler = StreamResampler(rate, ASR_RATE)
        elif rate != self._rate:
            # §5.9, observed wording of the native-audio models
            raise InvalidArgument(
                f"Sample rate changed from previously {self._rate} to {rate}, "
                "which is not supported."
            )
        assert self._resampler is not None
        return self._resampler.process(data)
