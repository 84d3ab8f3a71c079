"""voicecli.speech.asr: pocketsphinx on real espeak speech (keywords, not exact text)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import numpy as np
import pytest

from tests.speechgen import silence, speech_pcm16
from voicecli.errors import ConfigError
from voicecli.speech.asr import Recognizer, supports_language

PHRASE = "what is the weather like in london today"


@pytest.fixture(scope="module")
def utterance() -> bytes:
    return silence(300) + speech_pcm16(PHRASE) + silence(300)


@pytest.fixture
def recognizer() -> Iterator[Recognizer]:
    with Recognizer() as r:  # pooled: only the first one loads the model
        yield r


def test_transcribe_finds_the_keywords(recognizer: Recognizer, utterance: bytes) -> None:
    text = recognizer.transcribe(utterance)
    assert text == text.lower() and "  " not in text
    assert {"weather", "london"} <= set(text.split())


def test_streamed_20ms_chunks_give_partials_and_final(recognizer: Recognizer,
                                                      utterance: bytes) -> None:
    recognizer.start()
    partials = [recognizer.feed(utterance[i : i + 640]) for i in range(0, len(utterance), 640)]
    final = recognizer.finish()
    assert {"weather", "london"} <= set(final.split())
    assert partials[0] == ""  # silence first
    heard = [p for p in partials if p]
    assert len(heard) > 20  # hypotheses appear while audio streams in ...
    assert len(set(heard[-1].split()) & set(final.split())) >= 4  # ... and approach the final
    assert recognizer.finish() == ""  # no open utterance any more


def test_odd_sized_chunks_are_fine(recognizer: Recognizer, utterance: bytes) -> None:
    for i in range(0, len(utterance), 4001):
        recognizer.feed(utterance[i : i + 4001])  # auto-starts, odd byte counts carried
    assert "weather" in recognizer.finish().split()


def test_silence_and_noise_give_empty_text(recognizer: Recognizer) -> None:
    assert recognizer.transcribe(silence(1000)) == ""
    quiet = np.random.default_rng(3).normal(0, 30, 16000).astype(np.int16).tobytes()
    assert recognizer.transcribe(quiet) == ""
    assert recognizer.transcribe(b"") == ""


def test_decoders_are_pooled() -> None:
    first = Recognizer()
    first.close()
    first.close()  # idempotent
    start = time.perf_counter()
    second = Recognizer()
    assert time.perf_counter() - start < 0.05  # reused, not reloaded (~0.5 s)
    second.close()
    with pytest.raises(ValueError, match="closed"):
        second.feed(silence(20))


def test_language_support() -> None:
    assert supports_language(None) and supports_language("en-US") and supports_language("en_gb")
    assert not supports_language("de-DE") and not supports_language("fr")
    with pytest.raises(ConfigError, match="only supports English"):
        Recognizer("de-DE")
