"""Opening PortAudio streams for Microphone and Speaker, every failure as one AudioDeviceError."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from typing import Any, Self

from voicecli.audio.devices import Kind, import_sounddevice, pick_device, pick_rate
from voicecli.errors import AudioDeviceError

ROLE = {"input": "microphone", "output": "speaker"}


def open_stream(kind: Kind, spec: str | int | None, preferred_rate: int, *,
                latency: float | str, prepare: Callable[[int], int],
                callback: Callable[..., None], finished: Callable[[], None]) -> tuple[Any, str]:
    """Open and start a float32 mono stream; returns (stream, device name).

    The rate is ``preferred_rate`` if the device accepts it, else the device's default.
    ``prepare(rate)`` runs before the stream starts (allocate the ring there) and returns the
    blocksize in frames.
    """
    sd = import_sounddevice()
    device = pick_device(spec, kind)
    rate = pick_rate(device, kind, preferred_rate)
    name = device_name(sd, device, kind)
    cls = sd.InputStream if kind == "input" else sd.OutputStream
    size = prepare(rate)
    # An output stream that starts fills the device buffer from the callback, not with zeros
    # that would play before the first reply audio (the Speaker starts it once audio is there).
    extra = {} if kind == "input" else {"prime_output_buffers_using_stream_callback": True}
    try:
        stream = cls(samplerate=rate, blocksize=size, device=device, channels=1, dtype="float32",
                     latency=latency, callback=callback, finished_callback=finished, **extra)
        stream.start()
    except (sd.PortAudioError, ValueError) as exc:
        raise AudioDeviceError(f"cannot open the {ROLE[kind]} ({name}): {_one_line(exc)}"
                               ) from None
    return stream, name


class DeviceStream:
    """What Microphone and Speaker share: open in a thread, close once, notice a stream that ends
    by itself. Subclasses set ``kind`` and ``preferred_rate`` and provide ``setup(rate)``,
    ``_callback`` and the attributes ``device``, ``latency``, ``block_ms``."""

    kind: Kind
    preferred_rate: int
    device: str | int | None
    latency: float | str
    block_ms: float
    device_name: str = ""
    _stream: Any = None
    _closing: bool = False
    _failed: str | None = None

    def setup(self, rate: int) -> None:
        raise NotImplementedError

    def _callback(self, data: Any, frames: int, time_info: Any, status: Any) -> None:
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        await asyncio.to_thread(self.open)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await asyncio.to_thread(self.close)

    def open(self) -> None:
        """Open and start the stream (blocking; ``async with`` runs it in a thread)."""
        self._stream, self.device_name = self._open_stream(self.preferred_rate, self._prepare)

    def _open_stream(self, rate: int, prepare: Callable[[int], int]) -> tuple[Any, str]:
        return open_stream(self.kind, self.device, rate, latency=self.latency, prepare=prepare,
                           callback=self._callback, finished=self._on_finished)

    def _prepare(self, rate: int) -> int:
        self.setup(rate)
        return self._block_frames(rate)

    def _block_frames(self, rate: int) -> int:
        return max(1, round(rate * self.block_ms / 1000))

    def close(self) -> None:
        self._closing = True
        if self._stream is not None:
            stream, self._stream = self._stream, None
            close_stream(stream)

    def _on_finished(self) -> None:  # PortAudio thread
        if not self._closing:
            self._failed = f"the {self.kind} stream ended unexpectedly"


def device_name(sd: Any, device: int | None, kind: Kind) -> str:
    try:
        return str(sd.query_devices(device, kind=kind)["name"])
    except (sd.PortAudioError, ValueError):
        return "default device" if device is None else f"device {device}"


def close_stream(stream: Any) -> None:
    """Abort and close, ignoring a device that is already gone."""
    sd = sys.modules[type(stream).__module__]  # loaded already; don't re-check the environment
    try:
        stream.abort()
        stream.close()
    except sd.PortAudioError:
        pass


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__
