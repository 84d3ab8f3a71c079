"""Transcribing audio with the Live API's input transcription (live-protocol.md §3.1.6, §5.4).

The audio is split at silences (`split.py`); each utterance is sent as its own activity
(`activityStart` → audio → `activityEnd`, manual activity detection) and its transcript is the
`inputTranscription` the service sends before the turn ends. Every ~10 minutes of audio a new
session starts (§5.7: 15 min of audio per session). When a connection breaks (goAway, 1011,
1006) the session is replaced by a fresh one and the utterance in flight is sent again, from its
start, so nothing is lost or doubled.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace

import numpy as np

from voicecli.ask import connect_options, error_text
from voicecli.backends import open_endpoint, resolve_backend
from voicecli.client.endpoints import Endpoint
from voicecli.client.live import LiveSession, Reconnecting, backoff_delay
from voicecli.client.setup import SetupOptions, build_setup
from voicecli.errors import CapabilityError, NetworkError, ServiceRefused
from voicecli.protocol import Setup
from voicecli.protocol import events as ev
from voicecli.protocol.messages import AudioTranscriptionConfig
from voicecli.protocol.models import model_info
from voicecli.settings import Settings
from voicecli.transcribe.model import Segment, Transcript
from voicecli.transcribe.split import RATE, Span, SplitConfig, group_sessions, split_utterances

CHUNK_MS = 100
CHUNK_BYTES = RATE * 2 * CHUNK_MS // 1000
Progress = Callable[[float, float], None]  # (audio seconds done, total seconds)


@dataclass(frozen=True)
class TranscribeOptions:
    """Tuning; the defaults suit the real service and the local engine."""

    realtime: bool = False  # pace the upload at 1× instead of as fast as accepted
    language: str | None = None  # BCP-47 hint (inputAudioTranscription.languageCodes)
    session_budget_s: float = 600.0  # audio per session before starting a new one (§5.7)
    idle_timeout_s: float | None = None  # silence after activityEnd → done (None: settings)
    split: SplitConfig = SplitConfig()


async def transcribe(
    settings: Settings,
    pcm16_16k: bytes,
    *,
    realtime: bool = False,
    language: str | None = None,
    on_progress: Progress | None = None,
    notify: Callable[[str], None] | None = None,
    options: TranscribeOptions | None = None,
) -> Transcript:
    """Transcribe 16 kHz mono PCM16; starts the embedded local server when no key is set."""
    opts = replace(options or TranscribeOptions(), realtime=realtime, language=language)
    transcription_setup(settings, settings.model, opts.language)  # refuse bad settings first
    async with open_endpoint(settings, notify, pace=0) as endpoint:
        return await transcribe_at(endpoint, settings, pcm16_16k, opts, on_progress)


def transcription_setup(settings: Settings, model: str, language: str | None) -> Setup:
    """Manual activity + input transcription; the language hint where the model takes one."""
    if language and resolve_backend(settings) == "local" and not language.lower().startswith("en"):
        raise CapabilityError(f"the local engine transcribes English only, not {language!r}")
    setup = build_setup(
        settings, model, SetupOptions(manual_activity=True, input_transcription=True)
    )
    info = model_info(model)
    if language and info is not None and info.family == "transcribe":
        setup.input_audio_transcription = AudioTranscriptionConfig(language_codes=[language])
    return setup


async def transcribe_at(
    endpoint: Endpoint,
    settings: Settings,
    pcm16_16k: bytes,
    options: TranscribeOptions | None = None,
    on_progress: Progress | None = None,
) -> Transcript:
    """Transcribe against an endpoint that is already up (one server for many files)."""
    opts = options or TranscribeOptions()
    samples = np.frombuffer(pcm16_16k[: len(pcm16_16k) // 2 * 2], dtype=np.int16)
    transcript = Transcript(duration_s=len(samples) / RATE)
    run = _Run(endpoint, settings, opts, pcm16_16k, transcript, on_progress)
    for group in group_sessions(split_utterances(samples, opts.split), opts.session_budget_s):
        await run.session_group(group)
    if on_progress is not None:
        on_progress(transcript.duration_s, transcript.duration_s)
    return transcript


class _Restart(Exception):
    """The connection went away with an utterance in flight: resend it on a fresh session."""


class _Run:
    def __init__(
        self,
        endpoint: Endpoint,
        settings: Settings,
        opts: TranscribeOptions,
        pcm: bytes,
        transcript: Transcript,
        on_progress: Progress | None,
    ) -> None:
        self.endpoint = endpoint
        self.settings = settings
        self.opts = opts
        self.pcm = pcm
        self.transcript = transcript
        self.on_progress = on_progress
        self.setup = transcription_setup(settings, endpoint.model, opts.language)
        self.idle_s = opts.idle_timeout_s or settings.reply_timeout_s
        self.started = time.monotonic()
        self.sent_s = 0.0  # audio sent so far (for --realtime pacing)

    async def session_group(self, spans: list[Span]) -> None:
        """All `spans` through as few sessions as possible (a new one after each failure)."""
        pending = deque(spans)
        failures = 0
        self.transcript.sessions += 1
        while pending:
            done_before = len(pending)
            try:
                await self._one_session(pending)
            except (_Restart, NetworkError) as error:
                failures = 0 if len(pending) < done_before else failures + 1
                if failures > self.settings.max_reconnects:
                    raise NetworkError(f"transcription stopped: {error}") from None
                self.transcript.restarts += 1
                await asyncio.sleep(backoff_delay(failures, 0.2, 4.0))

    async def _one_session(self, pending: deque[Span]) -> None:
        live = LiveSession(self.endpoint, self.setup, connect_options(self.settings))
        async with live:
            events = live.events()
            try:
                while pending:
                    text, clean = await self._utterance(live, events, pending[0])
                    span = pending.popleft()
                    self._add(Segment(span.start_s, span.end_s, text), span)
                    if not clean:
                        return  # a late turnComplete must not end the next utterance
            finally:
                await events.aclose()

    def _add(self, segment: Segment, span: Span) -> None:
        if segment.text:
            self.transcript.segments.append(segment)
        if self.on_progress is not None:
            self.on_progress(span.send_end / RATE, self.transcript.duration_s)

    async def _utterance(
        self, live: LiveSession, events: AsyncIterator[object], span: Span
    ) -> tuple[str, bool]:
        """Send one utterance as an activity; return (its transcript, ended by turnComplete)."""
        await live.send_activity_start()
        for start in range(span.send_start * 2, span.send_end * 2, CHUNK_BYTES):
            await live.send_audio(self.pcm[start : min(start + CHUNK_BYTES, span.send_end * 2)])
            await self._pace(min(CHUNK_BYTES, span.send_end * 2 - start) / 2 / RATE)
        await live.send_activity_end()
        return await self._collect(events)

    async def _pace(self, seconds: float) -> None:
        self.sent_s += seconds
        if self.opts.realtime:
            ahead = self.started + self.sent_s - time.monotonic()
            if ahead > 0:
                await asyncio.sleep(ahead)

    async def _collect(self, events: AsyncIterator[object]) -> tuple[str, bool]:
        parts: list[str] = []
        while True:
            try:
                async with asyncio.timeout(self.idle_s):
                    event = await anext(events)
            except TimeoutError:
                return _joined(parts), False  # nothing more within the bound: done
            except StopAsyncIteration:
                raise _Restart("the connection ended") from None
            match event:
                case ev.InputTranscript():
                    parts.append(event.text)
                case ev.TurnComplete():
                    return _joined(parts), True
                case Reconnecting():
                    raise _Restart(event.reason)
                case ev.ServerErrorPayload():
                    reason = error_text(event)
                    raise ServiceRefused(f"the service answered with an error: {reason}")


def _joined(parts: list[str]) -> str:
    return " ".join("".join(parts).split())
