"""Test files for transcription: espeak sentences separated by known pauses."""

from __future__ import annotations

import random
from dataclasses import dataclass

from tests.speechgen import silence, speech_pcm16

#: Sentences the local engine's recogniser (Whisper tiny.en) hears word for word, spoken by
#: speechgen's default espeak voice (probed; "the cat sat on the mat" is "look at the shirt on
#: the mat" to it), with a keyword each.
SENTENCES = (
    ("what is the weather like in london today", "weather"),
    ("please open the window", "window"),
    ("lock the front door", "door"),
)


@dataclass(frozen=True)
class Spoken:
    pcm: bytes
    truth: list[tuple[float, float]]  # (start, end) of each sentence in seconds


def spoken(sentences: list[str], lead_ms: int = 500, gap_ms: int = 1200) -> Spoken:
    """The sentences one after the other, `gap_ms` apart, with `lead_ms` of silence first."""
    pcm = silence(lead_ms)
    truth: list[tuple[float, float]] = []
    for text in sentences:
        start = len(pcm) / 32000
        pcm += speech_pcm16(text)
        truth.append((start, len(pcm) / 32000))
        pcm += silence(gap_ms)
    return Spoken(pcm, truth)


#: Short phrases Whisper tiny.en hears word for word right after digital silence (probed: single
#: words such as "music", "chicago", "yesterday" and "window" are often heard as other words).
TILE_PHRASES = ("london", "hello", "thank you", "new york", "good morning", "monday",
                "united states", "good night", "what time is it", "tell me a joke")


@dataclass(frozen=True)
class Tiled:
    pcm: bytes
    phrases: list[str]  # what is said, in order
    starts: list[float]  # where each phrase starts (seconds)


def tiled(total_s: float, period_s: float, seed: int = 4) -> Tiled:
    """`total_s` of audio: after 2 s of lead-in, one phrase from TILE_PHRASES (in a fixed
    pseudo-random order) every `period_s` seconds. Each phrase is synthesised once and reused,
    and the silences (never sent) cost nothing, so an hour is cheap to build and to transcribe."""
    rng = random.Random(seed)
    order = [rng.choice(TILE_PHRASES) for _ in range(int((total_s - 2.0) // period_s))]
    speech = {p: speech_pcm16(p) for p in TILE_PHRASES}
    parts, starts = [silence(2000)], []
    for i, phrase in enumerate(order):
        starts.append(2.0 + i * period_s)
        parts += [speech[phrase], silence(period_s * 1000 - len(speech[phrase]) / 32)]
    pcm = b"".join(parts)
    return Tiled(pcm + silence(total_s * 1000 - len(pcm) / 32), order, starts)
