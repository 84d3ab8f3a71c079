"""Test files for transcription: espeak sentences separated by known pauses."""

from __future__ import annotations

from dataclasses import dataclass

from tests.speechgen import silence, speech_pcm16

SENTENCES = (
    ("what is the weather like in london today", "weather"),
    ("please open the window", "window"),
    ("the cat sat on the mat", "cat"),
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
