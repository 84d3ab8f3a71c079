"""Transcribing audio with the Live API's input transcription (live-protocol.md §3.1.6, §5.4).

The audio is split at silences (`split.py`); each utterance is sent as its own activity
(`activityStart` → audio → `activityEnd`, manual activity detection) and its transcript is the
`inputTranscription` the service sends before the turn ends (`session.py`). After every ~10
minutes of *sent* audio a new session starts (§5.7: 15 min of audio per session; the silences
between utterances are never sent and cost nothing). A `goAway` lets the utterance in flight
finish and the rest continue on a fresh session; when a connection breaks (1011, 1006, a broken
frame) a fresh session sends the utterance in flight again, from its start, so nothing is lost
or doubled.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

import numpy as np

from voicecli.client.backends import open_endpoint, resolve_backend
from voicecli.client.endpoints import Endpoint
from voicecli.client.live import backoff_delay
from voicecli.client.setup import SetupOptions, build_setup
from voicecli.errors import CapabilityError, NetworkError
from voicecli.protocol import Setup
from voicecli.protocol.messages import AudioTranscriptionConfig
from voicecli.protocol.models import model_info
from voicecli.settings import Settings
from voicecli.settings import replace as settings_replace
from voicecli.transcribe.model import Segment, Transcript
from voicecli.transcribe.session import RESTARTABLE, Restart, TranscriptionSession
from voicecli.transcribe.split import RATE, Span, SplitConfig, group_sessions, split_utterances

CHUNK_MS = 100
CHUNK_BYTES = RATE * 2 * CHUNK_MS // 1000
NO_PROGRESS_S = 15.0  # no utterance done for this long across fresh sessions: give up
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
    pcm16_16k: bytes | memoryview,
    *,
    realtime: bool = False,
    language: str | None = None,
    on_progress: Progress | None = None,
    notify: Callable[[str], None] | None = None,
    options: TranscribeOptions | None = None,
) -> Transcript:
    """Transcribe 16 kHz mono PCM16; starts the embedded local server when no key is set."""
    opts = replace(options or TranscribeOptions(), realtime=realtime, language=language)
    setup = transcription_setup(settings, settings.model, opts.language)  # bad settings fail here
    async with open_endpoint(settings, notify, pace=0, transcribing=True) as endpoint:
        return await transcribe_at(endpoint, settings, pcm16_16k, opts, on_progress, setup)


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
    pcm16_16k: bytes | memoryview,
    options: TranscribeOptions | None = None,
    on_progress: Progress | None = None,
    setup: Setup | None = None,
) -> Transcript:
    """Transcribe against an endpoint that is already up (one server for many files). `setup`:
    the one `transcription_setup` built from the settings (built here when not given)."""
    opts = options or TranscribeOptions()
    setup = setup or transcription_setup(settings, settings.model, opts.language)
    samples = np.frombuffer(pcm16_16k[: len(pcm16_16k) // 2 * 2], dtype=np.int16)
    transcript = Transcript(duration_s=len(samples) / RATE)
    run = _Run(endpoint, settings, opts, pcm16_16k, transcript, on_progress, setup)
    try:
        for group in group_sessions(split_utterances(samples, opts.split), opts.session_budget_s):
            await run.session_group(group)
    except NetworkError as error:  # what is done is kept (the caller writes it) and said
        raise TranscriptionStopped(error, transcript, run.done_s) from None
    if on_progress is not None:
        on_progress(transcript.duration_s, transcript.duration_s)
    return transcript


class TranscriptionStopped(NetworkError):
    """A fatal failure mid-file; `transcript` holds the segments done, up to `stopped_at_s`."""

    def __init__(self, error: NetworkError, transcript: Transcript, stopped_at_s: float) -> None:
        super().__init__(f"{error} (stopped at {stopped_at_s:.1f} s of "
                         f"{transcript.duration_s:.1f} s; the segments before are kept)")
        self.transcript = transcript
        self.stopped_at_s = stopped_at_s


class _Run:
    def __init__(
        self,
        endpoint: Endpoint,
        settings: Settings,
        opts: TranscribeOptions,
        pcm: bytes | memoryview,
        transcript: Transcript,
        on_progress: Progress | None,
        setup: Setup,
    ) -> None:
        self.endpoint = endpoint
        self.settings = settings
        self.opts = opts
        self.pcm = pcm
        self.transcript = transcript
        self.on_progress = on_progress
        self.setup = endpoint.address(setup)
        self.idle_s = opts.idle_timeout_s or settings.connection.reply_timeout_s
        self.started = time.monotonic()
        self.sent_s = 0.0  # audio sent so far (for --realtime pacing)
        self.done_s = 0.0  # the file is transcribed up to here

    async def session_group(self, spans: list[Span]) -> None:
        """All `spans` through as few sessions as possible (a new one after each failure)."""
        pending = deque(spans)
        failures = 0
        progress_at = time.monotonic()
        while pending:
            done_before = len(pending)
            try:
                await self._one_session(pending, progress_at + NO_PROGRESS_S)
            except (Restart, *RESTARTABLE) as error:
                if len(pending) < done_before:
                    failures, progress_at = 0, time.monotonic()
                else:
                    failures += 1
                stuck = time.monotonic() - progress_at >= NO_PROGRESS_S
                if failures > self.settings.connection.max_reconnects or stuck:
                    raise NetworkError(f"transcription stopped: {error}") from None
                self.transcript.restarts += 1
                await asyncio.sleep(backoff_delay(failures, 0.2, 4.0))
            else:
                self.transcript.restarts += bool(pending)  # retired by goAway or a late turn

    async def _one_session(self, pending: deque[Span], give_up_at: float) -> None:
        """Utterances from `pending` until it is empty or the session must be retired. A
        server that never answers setup is given only until `give_up_at`."""
        left = max(0.5, give_up_at - time.monotonic())
        connection = self.settings.connection
        settings = settings_replace(self.settings,
                                    setup_timeout_s=min(connection.setup_timeout_s, left),
                                    connect_timeout_s=min(connection.connect_timeout_s, left))
        session = await TranscriptionSession.open(self.endpoint, self.setup, settings,
                                                  self.idle_s)
        async with session:
            self.transcript.sessions += 1
            while pending and session.usable:
                span = pending[0]
                text = await session.utterance(self._chunks(span), self._pace)
                pending.popleft()
                self._add(Segment(span.start_s, span.end_s, text), span)

    def _chunks(self, span: Span) -> Iterator[bytes]:
        end = span.send_end * 2
        for start in range(span.send_start * 2, end, CHUNK_BYTES):
            yield bytes(self.pcm[start : min(start + CHUNK_BYTES, end)])  # a memoryview too

    def _add(self, segment: Segment, span: Span) -> None:
        self.done_s = span.end_s
        if segment.text:
            self.transcript.segments.append(segment)
        if self.on_progress is not None:
            self.on_progress(span.send_end / RATE, self.transcript.duration_s)

    async def _pace(self, seconds: float) -> None:
        self.sent_s += seconds
        if self.opts.realtime:
            ahead = self.started + self.sent_s - time.monotonic()
            if ahead > 0:
                await asyncio.sleep(ahead)
