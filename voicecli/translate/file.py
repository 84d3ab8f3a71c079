"""`voicecli translate --audio FILE`: a recording in, its translation out (speech and text).

The live-translate model works on a continuous stream (§7.1), so the file is streamed as the
microphone would: 100 ms chunks at 1× speed (`pace`), then a second of silence so the last
words are heard out, then `audioStreamEnd` (§3.3). The session ends once the input is sent and
nothing has been said for `quiet_s` with no model turn open — silent audio does not count, since
the model is reported to emit audio through silence [3P, §7.1]. Segments (one per model turn)
give the source and target text; the translated audio goes to `audio_out` as it arrives.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from voicecli.audio.pcm import OUT_RATE, StreamResampler, WavWriter, rms_dbfs
from voicecli.client.backends import connect_options, open_endpoint
from voicecli.client.live import LiveSession
from voicecli.client.ndjson import event_json, turn_complete_json
from voicecli.client.replies import ReplyFile, error_text
from voicecli.client.usage import TokenTally
from voicecli.errors import NetworkError, ServiceRefused
from voicecli.protocol import events as ev
from voicecli.protocol.messages import UsageMetadata
from voicecli.settings import Settings
from voicecli.translate.setup import TranslationOptions, translation_setup

CHUNK_MS = 100
TAIL_SILENCE_MS = 1000  # lets the service's VAD hear the end of the last sentence
QUIET_S = 2.0
SILENT_DBFS = -50.0  # reply audio below this is the model's "silence", not speech
JsonSink = Callable[[dict[str, Any]], None]


@dataclass
class Segment:
    source: str = ""
    target: str = ""


@dataclass
class Translation:
    segments: list[Segment] = field(default_factory=list)
    audio_ms: float = 0.0
    usage: TokenTally = field(default_factory=TokenTally)

    @property
    def source(self) -> str:
        return " ".join(s.source.strip() for s in self.segments if s.source.strip())

    @property
    def target(self) -> str:
        return " ".join(s.target.strip() for s in self.segments if s.target.strip())

    def to_json(self) -> dict[str, Any]:
        return {"type": "translation", "source": self.source, "target": self.target,
                "segments": [{"source": s.source.strip(), "target": s.target.strip()}
                             for s in self.segments if s.source.strip() or s.target.strip()],
                "audio_ms": round(self.audio_ms, 1), "usage": self.usage.to_json()}


async def translate_file(settings: Settings, pcm16: bytes | memoryview,
                         options: TranslationOptions, *,
                         audio_out: Path | None = None, on_json: JsonSink | None = None,
                         notify: Callable[[str], None] | None = None,
                         pace: float = 1.0, quiet_s: float = QUIET_S) -> Translation:
    """Translate 16 kHz mono PCM16 speech; see the module docstring."""
    # Built once, from the settings: bad settings fail before connecting
    setup = translation_setup(settings, settings.model, options)
    async with AsyncExitStack() as stack:
        endpoint = await stack.enter_async_context(open_endpoint(settings, notify, pace=pace))
        setup = endpoint.address(setup)
        writer = stack.enter_context(ReplyFile(audio_out)) if audio_out else None
        live = await stack.enter_async_context(
            LiveSession(endpoint, setup, connect_options(settings)))
        _emit(on_json, event_json(live.setup_complete))
        collector = _Collector(writer, on_json)
        sender = asyncio.create_task(_stream(live, pcm16, pace))
        try:
            await collector.run(live, sender, quiet_s, settings.connection.reply_timeout_s)
        finally:
            sender.cancel()
        return collector.result
    raise AssertionError("unreachable")  # pragma: no cover - the with block returns


async def _stream(live: LiveSession, pcm16: bytes | memoryview, pace: float) -> None:
    step = 16000 * 2 * CHUNK_MS // 1000
    tail = bytes(16000 * 2 * TAIL_SILENCE_MS // 1000)
    total = len(pcm16) + len(tail)
    started = time.monotonic()
    for index, start in enumerate(range(0, total, step)):  # no copy of hours of audio
        await live.send_audio(_slice(pcm16, tail, start, start + step))
        if pace > 0:  # 1×: the model is a live interpreter (§7.1)
            due = started + (index + 1) * CHUNK_MS / 1000 / pace
            await asyncio.sleep(max(0.0, due - time.monotonic()))
    await live.send_audio_stream_end()


def _slice(head: bytes | memoryview, tail: bytes, start: int, end: int) -> bytes:
    """Bytes [start, end) of head + tail, without joining them."""
    return bytes(head[start:end]) + tail[max(0, start - len(head)) : max(0, end - len(head))]


class _Collector:
    def __init__(self, writer: WavWriter | None, on_json: JsonSink | None) -> None:
        self.result = Translation()
        self.writer, self.on_json = writer, on_json
        self.segment = Segment()
        self.in_turn = False
        self.last_activity = time.monotonic()
        self._resamplers: dict[int, StreamResampler] = {}
        self._usage: UsageMetadata | None = None

    async def run(self, live: LiveSession, sender: asyncio.Task[None], quiet_s: float,
                  timeout_s: float) -> None:
        # A reader task and a queue: timing out a wait must not close the event stream.
        queue: asyncio.Queue[object] = asyncio.Queue()
        reader = asyncio.create_task(_read(live, queue))
        try:
            while not self._finished(sender, quiet_s):
                try:
                    async with asyncio.timeout(quiet_s if sender.done() else 0.25):
                        event = await queue.get()
                except TimeoutError:
                    if time.monotonic() - self.last_activity > timeout_s:
                        raise NetworkError(f"no translation within {timeout_s:g} s "
                                           "(--timeout)") from None
                    continue
                if isinstance(event, BaseException):
                    raise event
                self.handle(event)
        finally:
            reader.cancel()
        self._close_segment()
        _emit(self.on_json, self.result.to_json())

    def _finished(self, sender: asyncio.Task[None], quiet_s: float) -> bool:
        if not sender.done():
            return False
        sender.result()  # a failure to send is the session's failure
        return not self.in_turn and time.monotonic() - self.last_activity >= quiet_s

    def handle(self, event: object) -> None:
        match event:
            case ev.InterimInputTranscript():
                self._active()  # speech is being heard: its translation is on its way
            case ev.InputTranscript(text=text):
                if self.segment.target.strip() and not self.in_turn:
                    self._close_segment()  # the next sentence
                self.segment.source += text
                self._active()
            case ev.OutputTranscript(text=text):
                self.segment.target += text
                self.in_turn = True
                self._active()
            case ev.ModelAudio(data=data, rate=rate):
                self._audio(data, rate)
            case ev.Usage(usage=usage):
                self.result.usage.add(usage)
                self._usage = usage
            case ev.ServerErrorPayload():
                raise ServiceRefused(f"the service answered with an error: {error_text(event)}")
        if isinstance(event, ev.TurnComplete):
            self.in_turn = False
            self._close_segment()
            _emit(self.on_json, turn_complete_json(event, self._usage, None))
            self._usage = None
            return
        _emit(self.on_json, event_json(event))

    def _audio(self, data: bytes, rate: int) -> None:
        self.result.audio_ms += len(data) / 2 / rate * 1000
        if rms_dbfs(data) > SILENT_DBFS:
            self.in_turn = True
            self._active()
        if self.writer is not None:
            if rate != OUT_RATE:
                resampler = self._resamplers.setdefault(rate, StreamResampler(rate, OUT_RATE))
                data = resampler.process(data)
            self.writer.write(data)

    def _active(self) -> None:
        self.last_activity = time.monotonic()

    def _close_segment(self) -> None:
        if self.segment.source.strip() or self.segment.target.strip():
            self.result.segments.append(self.segment)
        self.segment = Segment()


async def _read(live: LiveSession, queue: asyncio.Queue[object]) -> None:
    try:
        async for event in live.events():
            queue.put_nowait(event)
    except Exception as exc:  # noqa: BLE001 - handed to the collector, which raises it
        queue.put_nowait(exc)
        return
    queue.put_nowait(NetworkError("the connection ended before the translation was complete"))


def _emit(sink: JsonSink | None, obj: dict[str, Any] | None) -> None:
    if sink is not None and obj is not None:
        sink(obj)
