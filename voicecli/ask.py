"""One question, one answer: the library behind `voicecli ask` (usable without typer).

    answer = asyncio.run(ask(load_settings(), Question(text="What is the capital of France?")))
    print(answer.text)
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from voicecli.audio.pcm import OUT_RATE, StreamResampler, WavWriter
from voicecli.backends import open_endpoint
from voicecli.client.live import ConnectOptions, LiveSession
from voicecli.client.ndjson import event_json, turn_complete_json
from voicecli.client.setup import SetupOptions, build_setup
from voicecli.errors import NetworkError, ServiceRefused, UsageError
from voicecli.protocol import events as ev
from voicecli.protocol.messages import UsageMetadata
from voicecli.settings import Settings

CHUNK_MS = 100  # audio question chunk size; §6: 20–100 ms chunks, any is accepted
JsonSink = Callable[[dict[str, Any]], None]


@dataclass
class Question:
    text: str | None = None
    audio_pcm16: bytes | None = None  # 16 kHz mono PCM16 (see voicecli.audio.pcm.load_audio)

    def __post_init__(self) -> None:
        if (self.text is None) == (self.audio_pcm16 is None):
            raise UsageError("ask needs either a question text or --audio, not both")
        if self.text is not None and not self.text.strip():
            raise UsageError("the question is empty")


@dataclass
class Answer:
    text: str = ""
    input_transcript: str = ""
    audio_ms: float = 0.0
    usage: UsageMetadata | None = None
    latency_ms: float | None = None
    interrupted: bool = False
    reconnects: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


def connect_options(settings: Settings) -> ConnectOptions:
    return ConnectOptions(
        connect_timeout_s=settings.connect_timeout_s,
        setup_timeout_s=settings.setup_timeout_s,
        ping_interval_s=settings.ping_interval_s,
        ping_timeout_s=settings.ping_timeout_s,
        max_reconnects=settings.max_reconnects,
    )


async def ask(
    settings: Settings,
    question: Question,
    *,
    audio_out: Path | None = None,
    on_json: JsonSink | None = None,
    notify: Callable[[str], None] | None = None,
) -> Answer:
    """Run one turn and return the answer. The reply audio goes to `audio_out` (24 kHz WAV)."""
    options = SetupOptions(
        manual_activity=question.audio_pcm16 is not None,
        input_transcription=question.audio_pcm16 is not None,
        needs_audio_out=audio_out is not None,
    )
    build_setup(settings, settings.model, options)  # refuse a bad setting before starting anything
    async with AsyncExitStack() as stack:
        endpoint = await stack.enter_async_context(open_endpoint(settings, notify, pace=0))
        setup = build_setup(settings, endpoint.model, options)
        writer = stack.enter_context(ReplyFile(audio_out)) if audio_out else None
        live = await stack.enter_async_context(
            LiveSession(endpoint, setup, connect_options(settings))
        )
        _emit(on_json, event_json(live.setup_complete))
        await send_question(live, question)
        return await collect_answer(live, settings, writer, on_json, time.monotonic())
    raise AssertionError("unreachable")  # pragma: no cover - the with block returns


async def send_question(live: LiveSession, question: Question) -> None:
    """Send a text question, or a spoken one between activityStart and activityEnd."""
    if question.text is not None:
        await live.send_text(question.text)
        return
    pcm = question.audio_pcm16 or b""
    step = 16000 * 2 * CHUNK_MS // 1000
    await live.send_activity_start()  # manual activity: the turn is exactly this audio (§5.4)
    for start in range(0, len(pcm), step):
        await live.send_audio(pcm[start : start + step])
    await live.send_activity_end()


async def collect_answer(
    live: LiveSession,
    settings: Settings,
    writer: WavWriter | None,
    on_json: JsonSink | None,
    asked_at: float,
) -> Answer:
    """Collect events up to turnComplete into an Answer (reply audio to `writer`)."""
    answer = Answer()
    to_out_rate = _OutRate()
    texts: list[str] = []
    transcripts: list[str] = []
    first_reply_at: float | None = None
    deadline = asked_at + settings.reply_timeout_s
    async for event in _until(live, deadline, settings.reply_timeout_s):
        if first_reply_at is None and _is_reply_content(event):
            first_reply_at = time.monotonic()
        match event:
            case ev.ModelText():
                texts.append(event.text)
            case ev.OutputTranscript():
                transcripts.append(event.text)
            case ev.InputTranscript():
                answer.input_transcript += event.text
            case ev.ModelAudio():
                answer.audio_ms += len(event.data) / 2 / event.rate * 1000
                if writer is not None:
                    writer.write(to_out_rate.process(event.data, event.rate))
            case ev.Usage():
                answer.usage = event.usage
            case ev.Interrupted():
                answer.interrupted = True
            case ev.ServerErrorPayload():
                raise ServiceRefused(f"the service answered with an error: {error_text(event)}")
        if isinstance(event, ev.TurnComplete):
            if first_reply_at is not None:
                answer.latency_ms = (first_reply_at - asked_at) * 1000
            _emit(on_json, turn_complete_json(event, answer.usage, answer.latency_ms))
            break
        _emit(on_json, event_json(event))
    answer.text = "".join(texts) if texts else "".join(transcripts)
    answer.reconnects = live.reconnects
    return answer


async def _until(
    live: LiveSession, deadline: float, timeout_s: float
) -> AsyncIterator[object]:
    events = live.events()
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise NetworkError(f"no complete reply within {timeout_s:g} s (--timeout)")
        try:
            # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation (Ctrl-C)
            # when the awaited event arrives in the same loop iteration.
            async with asyncio.timeout(remaining):
                event = await anext(events)
        except StopAsyncIteration:
            raise NetworkError("the connection ended before the reply was complete") from None
        except TimeoutError:
            raise NetworkError(f"no complete reply within {timeout_s:g} s (--timeout)") from None
        yield event


def error_text(event: ev.ServerErrorPayload) -> str:
    """§4.8: a frame with none of the known keys may be an error object {code, message}."""
    payload = event.payload.get("error", event.payload)
    if isinstance(payload, dict):
        return " ".join(str(payload.get(k, "")) for k in ("code", "message")).strip() or "unknown"
    return str(payload)[:200]


def _is_reply_content(event: object) -> bool:
    return isinstance(event, ev.ModelAudio | ev.ModelText | ev.OutputTranscript)


class _OutRate:
    """Reply audio at 24 kHz for the WAV; one stream resampler per rate (Vertex omits it, §8)."""

    def __init__(self) -> None:
        self._resamplers: dict[int, StreamResampler] = {}

    def process(self, pcm: bytes, rate: int) -> bytes:
        if rate == OUT_RATE:
            return pcm
        if rate not in self._resamplers:
            self._resamplers[rate] = StreamResampler(rate, OUT_RATE)
        return self._resamplers[rate].process(pcm)


def _emit(sink: JsonSink | None, obj: dict[str, Any] | None) -> None:
    if sink is not None and obj is not None:
        sink(obj)


class ReplyFile:
    """Write the reply to `<path>.part` as it arrives; rename into place when done or stopped.

    The WAV header is kept valid after every write, so even a killed process leaves a playable
    `.part` file with everything received.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.part = path.with_name(path.name + ".part")

    def __enter__(self) -> WavWriter:
        try:
            self.writer = WavWriter(self.part, OUT_RATE)
        except OSError as exc:
            raise UsageError(f"cannot write {self.path}: {exc.strerror or exc}") from None
        return self.writer

    def __exit__(self, *exc_info: object) -> None:
        self.writer.close()
        os.replace(self.part, self.path)
