"""Offline text-to-speech: espeak-ng through ctypes, streamed as 24 kHz PCM16 chunks.

espeak renders at 22 050 Hz in ~37 ms pieces; each piece is resampled to 24 kHz with a soxr stream
and handed to the caller in 40 ms chunks as soon as it exists, so playback can start after the
first chunk. Returning True from the chunk callback aborts synthesis (barge-in).
"""

from __future__ import annotations

import ctypes
import functools
from collections.abc import Callable
from pathlib import Path

from voicecli.audio.pcm import StreamResampler
from voicecli.errors import ConfigError
from voicecli.numbers import is_digits
from voicecli.speech import _espeak

RATE = 24000
CHUNK_MS = 40
CHUNK_BYTES = RATE * CHUNK_MS // 1000 * 2
DEFAULT_VOICE = "en-us"

ChunkCallback = Callable[[bytes], bool | None]

# Gemini prebuilt voices → espeak variants, by the voice's published gender; female voices cycle
# through f1..f5 and male voices through m1..m8 in the order Google lists them.
_FEMALE = ("Zephyr", "Kore", "Leda", "Aoede", "Callirrhoe", "Autonoe", "Despina", "Erinome",
           "Laomedeia", "Achernar", "Gacrux", "Pulcherrima", "Vindemiatrix", "Sulafat")
_MALE = ("Puck", "Charon", "Fenrir", "Orus", "Enceladus", "Iapetus", "Umbriel", "Algieba",
         "Algenib", "Rasalgethi", "Alnilam", "Schedar", "Achird", "Zubenelgenubi", "Sadachbia",
         "Sadaltager")
LIVE_VOICES: dict[str, str] = {
    **{name: f"f{i % 5 + 1}" for i, name in enumerate(_FEMALE)},
    **{name: f"m{i % 8 + 1}" for i, name in enumerate(_MALE)},
}
_LIVE_BY_LOWER = {name.lower(): variant for name, variant in LIVE_VOICES.items()}


def voice_for(live_voice: str | None, language: str | None = None) -> str:
    """Map a Gemini voice name and a BCP-47 language to an espeak voice like ``"en-us+f3"``.

    The language picks the espeak language voice (``de-DE`` → ``de``, ``en-GB`` → ``en``, unknown
    → ``en-us``); the Live voice picks a deterministic male/female variant. Unknown Live voice
    names get no variant.
    """
    base = espeak_language(language)
    variant = _LIVE_BY_LOWER.get((live_voice or "").strip().lower())
    return f"{base}+{variant}" if variant else base


def espeak_language(language: str | None) -> str:
    """The espeak voice for a BCP-47 code (``pt-BR`` → ``pt-br``); ``"en-us"`` when unknown."""
    if not language:
        return DEFAULT_VOICE
    code = language.strip().lower().replace("_", "-")
    table = _language_table()
    return table.get(code) or table.get(code.split("-")[0]) or DEFAULT_VOICE


@functools.cache
def _language_table() -> dict[str, str]:
    """{language code: voice file name} from espeak's ``lang/`` files, best priority wins."""
    best: dict[str, tuple[int, str]] = {}
    root = _espeak.data_dir()
    files = sorted(p for p in (root / "lang").rglob("*") if p.is_file()) if root else []
    for path in files:
        for code, priority in _languages_in(path):
            if code not in best or priority < best[code][0]:
                best[code] = (priority, path.name.lower())
    best.setdefault("en-us", (0, DEFAULT_VOICE))
    return {code: voice for code, (_, voice) in best.items()}


def _languages_in(path: Path) -> list[tuple[str, int]]:
    found = []
    for line in path.read_text("utf-8", errors="replace").splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0] == "language":
            priority = int(parts[2]) if len(parts) > 2 and is_digits(parts[2]) else 5
            found.append((parts[1].lower(), priority))
    return found


class Synthesizer:
    """espeak-ng speech as 24 kHz mono PCM16, streamed in ~40 ms chunks.

    ``voice`` is an espeak voice (``"en-us+f3"``, ``"de"``) or a Gemini voice name (``"Puck"``);
    None means ``"en-us"``. Instances are cheap; espeak itself is initialised once per process and
    every synthesis holds a module lock, so concurrent calls from worker threads run one at a time
    (``on_chunk`` runs under that lock: keep it quick, e.g. put the chunk on a queue).

    espeak carries its pitch-flutter phase from one utterance to the next, so repeating a text
    gives audio of the same words and nearly the same length, but not identical bytes.
    """

    RATE = RATE

    def __init__(self, voice: str | None = None, words_per_minute: int = 175) -> None:
        if not 80 <= words_per_minute <= 450:
            raise ConfigError(f"speech rate must be 80-450 words/minute, got {words_per_minute}")
        name = (voice or DEFAULT_VOICE).strip()
        self.voice = voice_for(name) if name.lower() in _LIVE_BY_LOWER else name
        self.words_per_minute = words_per_minute
        engine = _espeak.engine()
        with _espeak.LOCK:
            if not engine.set_voice(self.voice):
                raise ConfigError(f"espeak-ng has no voice {self.voice!r}")
        self._in_rate = engine.sample_rate

    def synthesize(self, text: str, on_chunk: ChunkCallback) -> None:
        """Speak ``text``, calling ``on_chunk(pcm16)`` with each chunk as soon as it is ready.

        Blocks until done. If ``on_chunk`` returns True, synthesis stops at once and no further
        chunks are delivered. An exception raised by ``on_chunk`` stops synthesis and propagates.
        """
        if not text.strip():
            return
        run = _Run(StreamResampler(self._in_rate, RATE), on_chunk)
        engine = _espeak.engine()
        with _espeak.LOCK:
            engine.set_voice(self.voice)
            engine.synth(text, self.words_per_minute, run.on_audio)
        run.finish()

    def synthesize_bytes(self, text: str) -> bytes:
        """The whole utterance as one PCM16 buffer at 24 kHz."""
        out = bytearray()
        self.synthesize(text, out.extend)
        return bytes(out)


class _Run:
    """State of one synthesis: resampling, re-chunking, abort and error capture."""

    def __init__(self, resampler: StreamResampler, on_chunk: ChunkCallback) -> None:
        self.resampler = resampler
        self.on_chunk = on_chunk
        self.pending = bytearray()
        self.stopped = False
        self.error: BaseException | None = None

    def on_audio(self, address: int, numsamples: int) -> bool:
        """Called from inside espeak; returns True to abort."""
        if self.stopped:
            return True
        try:
            self.pending += self.resampler.process(ctypes.string_at(address, numsamples * 2))
            self._emit(final=False)
        except BaseException as e:  # never let an exception unwind through C
            self.error, self.stopped = e, True
        return self.stopped

    def finish(self) -> None:
        """After espeak returns: re-raise a callback error, else deliver the resampler's tail."""
        if self.error is not None:
            raise self.error
        if not self.stopped:
            self.pending += self.resampler.process(b"", last=True)
            self._emit(final=True)

    def _emit(self, final: bool) -> None:
        while len(self.pending) >= CHUNK_BYTES or (final and self.pending):
            chunk = bytes(self.pending[:CHUNK_BYTES])
            del self.pending[:CHUNK_BYTES]
            if self.on_chunk(chunk):
                self.stopped = True
                return
