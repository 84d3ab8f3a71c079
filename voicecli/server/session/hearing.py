"""Speech recognition for one session: utterance steps in, recognised text out, in order.

Decoding happens in the shared recognition process (`voicecli.speech.asr_process`): pocketsphinx
holds the GIL while it decodes, which in this process would stall the event loop (barge-in,
audio pacing, every other session). The calls that wait for that process run on the ASR thread
pool (`speech_io.run_in`). The queue between the reader and the recogniser is bounded, so a
client that sends audio faster than it can be decoded is slowed down by TCP backpressure
instead of growing memory.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor

from voicecli.server.session.audio_in import ASR_RATE, Began, Ended, Heard, Step
from voicecli.server.session.speech_io import pool, run_in
from voicecli.speech.asr_process import RemoteRecognizer

log = logging.getLogger("voicecli.server")

MAX_QUEUED_STEPS = 256  # ~5 s of 20 ms chunks
MERGE_BYTES = 16000  # join queued audio into pieces of up to 0.5 s: fewer round trips
BYTES_PER_S = ASR_RATE * 2

OnHeard = Callable[[str, float], Awaitable[None]]
OnTranscript = Callable[[str, bool], None]  # (text so far, finished)


def _open_recognizer(language: str | None, engine: str, model: str | None) -> RemoteRecognizer:
    """A recogniser for `language`; pocketsphinx falls back to English (blocking)."""
    from voicecli.speech.asr import supports_language

    if engine == "pocketsphinx" and not supports_language(language):
        log.debug("no offline recogniser for %s; using English", language)
        language = None
    return RemoteRecognizer(language, engine, model)


class Ears:
    """Feed `Step`s with `put`; `on_heard(text, seconds)` is awaited at the end of each one.

    While the user speaks, `on_transcript(text, False)` receives the recogniser's partial
    hypothesis of the utterance whenever it changes; `on_transcript(text, True)` its final text.

    The recogniser is opened as soon as audio arrives (`prepare`), not at the moment speech
    starts. Its calls never overlap, even when a cancelled task left one running on the pool
    (`RemoteRecognizer` is thread-safe).
    """

    def __init__(
        self, language: str | None, on_heard: OnHeard, on_transcript: OnTranscript | None = None,
        engine: str = "whisper", model: str | None = None,
    ) -> None:
        self.language = language
        self._engine = (engine, model)
        self._on_heard = on_heard
        self._on_transcript = on_transcript
        self._hypothesis = ""
        self._queue: asyncio.Queue[Step] = asyncio.Queue(MAX_QUEUED_STEPS)
        self._loading: asyncio.Future[RemoteRecognizer] | None = None
        self._recognizer: RemoteRecognizer | None = None
        self._open = False
        self._closed = False
        self._bytes = 0

    def prepare(self) -> None:
        """Start opening the recogniser in the background (idempotent; not after `close`)."""
        if self._loading is None and not self._closed:
            loop = asyncio.get_running_loop()
            self._loading = loop.run_in_executor(
                _asr_pool(), _open_recognizer, self.language, *self._engine)

    async def put(self, step: Step) -> None:
        await self._queue.put(step)

    async def run(self) -> None:
        """The recogniser task; cancel it to stop (the recogniser is then closed)."""
        try:
            while True:
                batch = [await self._queue.get()]
                while not self._queue.empty():
                    batch.append(self._queue.get_nowait())
                for step in _merge(batch):
                    await self._handle(step)
        finally:
            self.close()

    def close(self) -> None:
        """Close the recogniser after any call still running on the pool (idempotent). The
        session calls it too: a task cancelled before it ever ran skips `run`'s finally."""
        loading, self._loading, self._closed = self._loading, None, True
        if loading is not None:
            loading.add_done_callback(_close_loaded)

    async def _handle(self, step: Step) -> None:
        if isinstance(step, Began):
            await self._begin(step.preroll)
        elif isinstance(step, Heard):
            if not self._open:
                await self._begin(b"")
            await self._feed(step.pcm)
        elif isinstance(step, Ended) and self._open:
            self._open = False
            text = await run_in("asr", self._rec().finish)
            self._transcribed(text, finished=True)
            await self._on_heard(text, self._bytes / BYTES_PER_S)

    async def _begin(self, preroll: bytes) -> None:
        self.prepare()
        if self._loading is None:
            raise asyncio.CancelledError  # closed: the session is ending
        # shielded: cancelling the wait must not cancel the future, or the recogniser the pool
        # thread is still opening would never be closed (its decoder lost to the process)
        self._recognizer = await asyncio.shield(self._loading)
        await run_in("asr", self._rec().start)
        self._open, self._bytes = True, 0
        self._hypothesis = ""
        await self._feed(preroll)

    async def _feed(self, pcm: bytes) -> None:
        self._bytes += len(pcm)
        if pcm:
            hypothesis = await run_in("asr", self._rec().feed, pcm)
            if hypothesis != self._hypothesis:
                self._hypothesis = hypothesis
                self._transcribed(hypothesis, finished=False)

    def _transcribed(self, text: str, finished: bool) -> None:
        if self._on_transcript is not None:
            self._on_transcript(text, finished)

    def _rec(self) -> RemoteRecognizer:
        assert self._recognizer is not None
        return self._recognizer


def _asr_pool() -> Executor:
    return pool("asr")


def _close_loaded(future: asyncio.Future[RemoteRecognizer]) -> None:
    if future.cancelled() or future.exception() is not None:
        return
    recognizer = future.result()
    try:
        asyncio.get_running_loop().run_in_executor(_asr_pool(), recognizer.close)
    except RuntimeError:  # the loop or the pool is shutting down: the process is ending
        log.debug("recogniser not closed at shutdown")


def _merge(steps: list[Step]) -> list[Step]:
    """Join runs of small `Heard` chunks (up to `MERGE_BYTES`): fewer trips to the process."""
    merged: list[Step] = []
    for step in steps:
        if (isinstance(step, Heard) and merged and isinstance(merged[-1], Heard)
                and len(merged[-1].pcm) + len(step.pcm) <= MERGE_BYTES):
            merged[-1] = Heard(merged[-1].pcm + step.pcm)
        else:
            merged.append(step)
    return merged
